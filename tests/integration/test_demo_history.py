"""The demo's ninety days of history (`yilian seed-demo`, `yilian up`): loaded once, finished, consistent, and shown;
and Anping's in-house reading, loaded with it."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.demo import ANPING, DEMO_IN_HOUSE_POLICY, QINGSHAN, TERTIARY, migrate_and_seed, seed_demo
from yilian.db.engine import make_engine
from yilian.db.queries.in_house import policy_of
from yilian.db.queries.reader import people_of
from yilian.db.schema import (
    admin_changes,
    audit_events,
    in_house_readings,
    patients,
    referrals,
    report_versions,
    users,
)
from yilian.domain.alliance import HospitalLevel
from yilian.domain.in_house import check_policy
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def history_url(pg_server: EmbeddedPostgres) -> str:
    """A fresh database loaded as `yilian seed-demo` loads it."""
    url = pg_server.create_database(f"hist_{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    added = migrate_and_seed(url, history=True, in_house=True)
    print(f"migrate and seed with history: {time.monotonic() - started:.2f} s, {added}")
    assert added is not None and 1900 <= added.referrals <= 2100
    return url


@pytest.fixture(scope="module")
async def history_engine(history_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(history_url, pool_size=2)
    yield engine
    await engine.dispose()


async def _counts(engine: AsyncEngine) -> tuple[int, ...]:
    async with engine.connect() as conn:
        return tuple(
            [
                int(await conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in (referrals, audit_events, report_versions, patients, users, in_house_readings, admin_changes)
            ]
        )


async def test_seeding_again_adds_nothing(history_engine: AsyncEngine) -> None:
    before = await _counts(history_engine)
    again = await seed_demo(history_engine, history=True, in_house=True)
    assert again.referrals == 0
    assert await _counts(history_engine) == before


async def test_history_is_finished_and_every_trail_matches_its_row(history_engine: AsyncEngine) -> None:
    async with history_engine.connect() as conn:
        states = dict((await conn.execute(text("SELECT state, count(*) FROM referrals GROUP BY state"))).all())
        # Nothing that would offer someone an action on a case without a running workflow.
        assert set(states) == {"closed", "cancelled"} and states["closed"] > 1800
        mismatched = await conn.scalar(
            text(
                "SELECT count(*) FROM referrals r JOIN (SELECT referral_id, count(*) n, max(seq) top, max(at) last"
                " FROM audit_events GROUP BY referral_id) a ON a.referral_id = r.id"
                " WHERE a.n <> r.last_seq OR a.top <> r.last_seq OR a.last <> r.updated_at"
            )
        )
        assert mismatched == 0
        unreported = await conn.scalar(
            text(
                "SELECT count(*) FROM referrals r WHERE r.state = 'closed' AND r.report_version <>"
                " (SELECT max(version) FROM report_versions v WHERE v.referral_id = r.id AND v.kind = 'final')"
            )
        )
        assert unreported == 0
        unsigned = await conn.scalar(
            text(
                "SELECT count(*) FROM referrals WHERE state = 'closed' AND (reader_id IS NULL OR offered_to IS NOT NULL"
                " OR second_reader_id <> 'chen.senior' OR signer_id <> 'chen.senior' OR discrepancy IS NULL"
                " OR closed_at IS NULL OR NOT (submitted_at < preliminary_at AND preliminary_at < final_at"
                " AND final_at < closed_at))"
            )
        )
        assert unsigned == 0
        figures = (
            await conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE breached), count(*) FILTER (WHERE critical),"
                    " count(*) FILTER (WHERE critical_open), count(DISTINCT modality),"
                    " count(DISTINCT requesting_hospital_id), array_agg(DISTINCT discrepancy),"
                    " min(submitted_at), max(updated_at) FROM referrals"
                )
            )
        ).one()
    breached, critical, critical_open, modalities, hospitals, grades, first, last = figures
    assert 40 <= breached <= 200 and critical >= 20 and critical_open == 0
    assert modalities >= 4 and hospitals == 2
    assert {"agree", "minor", "major"} <= set(grades)
    now = datetime.now(UTC)
    assert now - timedelta(days=92) < first < now - timedelta(days=80) and last < now


async def test_the_demo_patients_prior_was_read_by_the_chest_expert(history_engine: AsyncEngine) -> None:
    """README: 刘备's new CT chest is still offered to the chest expert (same patient, same reader)."""
    async with history_engine.connect() as conn:
        readers = await conn.scalars(select(referrals.c.reader_id).where(referrals.c.patient_ref == "pat-anping-1"))
        assert list(readers) == ["wang.expert"]


async def test_dashboard_and_worklists_show_the_history(
    history_url: str, history_engine: AsyncEngine, settings: Settings, temporal_client: Client
) -> None:
    app = create_app(settings.model_copy(update={"database_url": history_url}), history_engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        api = Api(client)
        since = (datetime.now(UTC) - timedelta(days=91)).isoformat()
        board = await api.ok("liu.coord", "GET", "/api/dashboard", params={"from": since})
        assert sum(c["count"] for c in board["counts"]) >= 1900
        assert board["at_risk"] == [] and len(board["breaches"]) >= 40
        assert {(t["priority"], t["requesting_hospital_id"]) for t in board["turnaround"]} == {
            (p, h) for p in ("stat", "urgent", "routine") for h in ("h-anping", "h-qingshan")
        }
        routine = next(t for t in board["turnaround"] if t["priority"] == "routine")
        assert 60 < routine["p50_minutes"] < 24 * 60
        worklist = await api.ok("wang.expert", "GET", "/api/referrals", params={"limit": 500})
        assert worklist["items"] and all(r["state"] in ("closed", "cancelled") for r in worklist["items"])
        # Finished cases by recency: the expert's last case first, not his oldest.
        submitted = [r["submitted_at"] for r in worklist["items"]]
        assert submitted == sorted(submitted, reverse=True)
        one = worklist["items"][0]["id"]
        trail = (await api.ok("liu.coord", "GET", f"/api/referrals/{one}/audit"))["items"]
        assert trail[0]["action"] == "submit" and trail[-1]["to_state"] == worklist["items"][0]["state"]


async def test_an_addendum_on_a_seeded_case_is_refused_clearly_and_writes_nothing(
    history_url: str, history_engine: AsyncEngine, settings: Settings, temporal_client: Client
) -> None:
    """A seeded case has no workflow to reopen: its signer is still offered `add_addendum` (the rule the projection
    row satisfies), and sending it answers 409 invalid_transition, not a 500 from the missing workflow."""
    async with history_engine.connect() as conn:
        closed = select(referrals.c.id).where(referrals.c.state == "closed", referrals.c.signer_id == "chen.senior")
        rid = await conn.scalar(closed.limit(1))

    async def written() -> tuple[object, ...]:
        async with history_engine.connect() as conn:
            row = (await conn.execute(select(referrals).where(referrals.c.id == rid))).mappings().one()
            audit = await conn.scalar(select(func.count()).where(audit_events.c.referral_id == rid))
            versions = await conn.scalar(select(func.count()).where(report_versions.c.referral_id == rid))
        return row["state"], row["last_seq"], row["updated_at"], row["report_version"], audit, versions

    before = await written()
    app = create_app(settings.model_copy(update={"database_url": history_url}), history_engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        api = Api(client)
        shown = await api.ok("chen.senior", "GET", f"/api/referrals/{rid}")
        assert "add_addendum" in shown["allowed_actions"]
        addendum = {"findings": "补充：右肺上叶结节复核。", "impression": "补充报告。"}
        refused = await api.call("chen.senior", "POST", f"/api/referrals/{rid}/addenda", json=addendum)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "invalid_transition" and body["details"] == {"referral_id": rid}
    assert "finished" in body["message"]
    assert await written() == before


async def test_anping_reads_its_own_radiographs(history_engine: AsyncEngine) -> None:
    """本院写片 in the demo: Anping's DX policy, named reader ma.anping (valid as the admin API checks it), made once by
    admin in the change log; Qingshan and the provincial hospital have none."""
    async with history_engine.connect() as conn:
        policy = await policy_of(conn, ANPING)
        people = {p.user_id: p for p in await people_of(conn, ANPING)}
        assert await policy_of(conn, QINGSHAN) is None and await policy_of(conn, TERTIARY) is None
        logged = (
            await conn.execute(
                select(admin_changes.c.actor_id, admin_changes.c.action).where(
                    admin_changes.c.entity == "in_house_reading"
                )
            )
        ).all()
    assert policy == DEMO_IN_HOUSE_POLICY and policy.covers("DX") and not policy.covers("CT")
    assert check_policy(policy, HospitalLevel.COUNTY, people) == []
    assert [tuple(row) for row in logged] == [("admin", "create")]
