"""Helpers for the authorization matrix and the bad-input tests: callers, case walks, and state snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import REPORT, Api
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.schema import audit_events, referrals

CRITICAL_REPORT = {**REPORT, "critical": True, "critical_note": "张力性气胸 / tension pneumothorax"}
# The states a walk can bring a fresh referral to; "critical" is a preliminary report with an open critical finding.
WALK_STATES = ("offered", "in_reading", "needs_info", "preliminary", "critical", "returned")


# ---- who calls ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """A column of the matrix: a demo person, or a request without a usable token."""

    key: str
    username: str | None = None  # signs in with the demo password
    token: str | None = None  # "bad" | "expired" | None (no Authorization header)

    async def headers(self, api: Api, settings: Settings) -> dict[str, str]:
        if self.username:
            return {"Authorization": f"Bearer {await api.token(self.username)}"}
        if self.token == "bad":
            return {"Authorization": "Bearer not-a-jwt.at-all.sorry"}
        if self.token == "expired":
            return {"Authorization": f"Bearer {expired_token(settings, 'zhao.anping')}"}
        return {}


def expired_token(settings: Settings, user_id: str) -> str:
    """A token signed with the real secret for a real user, which expired an hour ago."""
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "role": "county_doctor",
        "hospital_id": "h-anping",
        "iat": now - timedelta(hours=2),
        "exp": now - timedelta(hours=1),
        "gen": 0,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def parse_codes(codes: str, n: int) -> tuple[int, ...]:
    """'401 401 | 200 404' -> (401, 401, 200, 404); the bars only group columns for the reader."""
    out = tuple(int(c) for c in codes.replace("|", " ").split())
    assert len(out) == n, f"{codes!r} has {len(out)} cells, the matrix has {n} columns"
    return out


def api_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every API route of the app, included routers and all."""
    try:  # FastAPI >= 0.165 keeps included routers as nodes of app.routes
        from fastapi.routing import iter_route_contexts

        found = [(rc.original_route, rc.path, rc.methods) for rc in iter_route_contexts(app.routes)]
    except ImportError:  # older FastAPI: app.routes is already flat
        found = [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    return {
        (m, str(path))
        for route, path, methods in found
        if isinstance(route, APIRoute)
        for m in (methods or ())
        if m != "HEAD"
    }


# ---- walking a referral to a state --------------------------------------------------------------
async def _projection(engine: AsyncEngine, referral_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(referrals).where(referrals.c.id == referral_id))).mappings().first()
    return dict(row) if row else None


async def _reached(engine: AsyncEngine, referral_id: str, state: str) -> dict[str, Any]:
    """Poll the projection table itself: cheaper than the API when many walks run in the test's event loop."""

    row: dict[str, Any] = await wait_until(
        lambda: _projection(engine, referral_id),
        f"{referral_id} to be {state}",
        ok=lambda r: r is not None and r["state"] == state,
    )
    return row


async def walk(api: Api, engine: AsyncEngine, to: str, *, doctor: str = "zhao.anping", **submit: Any) -> str:
    """Submit a CT chest case (always offered to wang.expert, the CT chest subspecialist) and act it to `to`."""
    assert to in WALK_STATES, to
    rid: str = (await api.submit(doctor, **submit))["id"]
    offered = await _reached(engine, rid, "offered")
    assert offered["offered_to"] == "wang.expert", offered
    if to == "offered":
        return rid
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/accept", json={})
    if to == "in_reading":
        return rid
    if to == "needs_info":
        await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/request-info", json={"comment": "history please"})
        return rid
    critical = to == "critical"
    report = CRITICAL_REPORT if critical else REPORT
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=report)
    if critical:
        # The follow-up records its first notification on its own; wait so the case stands still afterwards.
        async def notified() -> int:
            async with engine.connect() as conn:
                n = await conn.scalar(
                    select(func.count())
                    .select_from(audit_events)
                    .where(audit_events.c.referral_id == rid, audit_events.c.action == "notify_critical")
                )
            return int(n or 0)

        await wait_until(notified, f"{rid} critical notification (notify_critical events)")
        return rid
    if to == "preliminary":
        return rid
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})
    await _reached(engine, rid, "returned")
    return rid


async def warm_tokens(api: Api, usernames: Iterable[str]) -> None:
    for username in usernames:
        await api.token(username)


async def walk_many(
    api: Api, engine: AsyncEngine, wanted: list[str], *, concurrency: int = 8, **submit: Any
) -> list[str]:
    """Walk several referrals at once (same order as `wanted`)."""
    # Sign in once per person first: concurrent first calls would each verify the argon2 hash on the one event loop.
    await warm_tokens(api, (str(submit.get("doctor", "zhao.anping")), "wang.expert", "chen.senior", "admin"))
    gate = asyncio.Semaphore(concurrency)

    async def one(state: str) -> str:
        async with gate:
            return await walk(api, engine, state, **submit)

    return list(await asyncio.gather(*(one(s) for s in wanted)))


# ---- what must not change -----------------------------------------------------------------------
async def referral_count(engine: AsyncEngine, hospital_id: str) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(
            select(func.count()).select_from(referrals).where(referrals.c.requesting_hospital_id == hospital_id)
        )
    return int(n or 0)


async def seq_and_state(engine: AsyncEngine, referral_id: str) -> tuple[str, int, int]:
    """(state, projection seq, audit events): cheap enough to take around every matrix cell."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(referrals.c.state, referrals.c.last_seq).where(referrals.c.id == referral_id))
        ).first()
        events = await conn.scalar(
            select(func.count()).select_from(audit_events).where(audit_events.c.referral_id == referral_id)
        )
    assert row is not None, referral_id
    return str(row[0]), int(row[1]), int(events or 0)


async def observe(api: Api, referral_id: str) -> tuple[dict[str, Any], int]:
    """The projection row as the API shows it (to an admin) and the length of the case's audit trail."""
    row = await api.ok("admin", "GET", f"/api/referrals/{referral_id}")
    row.pop("sla_status", None)  # computed from the clock at read time, not stored
    trail = (await api.ok("admin", "GET", f"/api/referrals/{referral_id}/audit"))["items"]
    return row, len(trail)


@asynccontextmanager
async def nothing_changes(
    api: Api, engine: AsyncEngine, *, referral_id: str | None = None, hospital_ids: tuple[str, ...] = ()
) -> Any:
    """Assert that the block leaves the referral (projection and audit trail) and the hospitals' counts alone."""
    before_case = await observe(api, referral_id) if referral_id else None
    before_counts = [await referral_count(engine, h) for h in hospital_ids]
    yield
    if referral_id:
        after_case = await observe(api, referral_id)
        assert after_case[0] == before_case[0], "the referral's projection changed"  # type: ignore[index]
        assert after_case[1] == before_case[1], "the referral's audit trail grew"  # type: ignore[index]
    assert [await referral_count(engine, h) for h in hospital_ids] == before_counts, "a referral row was created"
