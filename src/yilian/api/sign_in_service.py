"""Signing in with a password, throttled per account and per address (domain/sign_in.py), every failure audited."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.security import DUMMY_HASH, verify_password
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import sign_in as q
from yilian.domain import sign_in
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.sign_in import Subject


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str
    address: str | None
    now: datetime


def _keys(attempt: Attempt) -> dict[Subject, str]:
    keys = {Subject.ACCOUNT: sign_in.key(Subject.ACCOUNT, attempt.username)}
    if attempt.address:
        keys[Subject.ADDRESS] = sign_in.key(Subject.ADDRESS, attempt.address)
    return keys


def _locked(seconds: float, subject: Subject) -> YilianError:
    wait = max(1, math.ceil(seconds))
    return YilianError(
        ErrorCode.SIGN_IN_LOCKED,
        f"too many wrong passwords: try again in {wait} seconds",
        {"retry_after_seconds": wait, "subject": subject.value},
    )


async def sign_in_user(engine: AsyncEngine, attempt: Attempt) -> dict[str, Any]:
    """The user whose password this is; SIGN_IN_LOCKED while the account or address waits (the password is then
    not checked), UNAUTHENTICATED for a wrong one (counted and audited)."""
    keys = _keys(attempt)
    async with reading(engine) as conn:
        rows = await q.attempts(conn, list(keys.values()))
        user = await alliance.get_user_by_username(conn, attempt.username)
    for subject, key in keys.items():
        until = (rows.get(key) or {}).get("locked_until")
        if until is not None and until > attempt.now:
            async with engine.begin() as conn:
                await q.record_event(conn, "sign_in_refused", key, attempt.address, attempt.now, {})
            raise _locked((until - attempt.now).total_seconds(), subject)
    # argon2 is slow on purpose: off the event loop, so other requests go on meanwhile.
    ok = await asyncio.to_thread(verify_password, user["password_hash"] if user else DUMMY_HASH, attempt.password)
    if user is not None and ok and user["active"]:
        if keys[Subject.ACCOUNT] in rows:  # a right password forgets the account's failures (no write otherwise)
            async with engine.begin() as conn:
                await q.forget(conn, keys[Subject.ACCOUNT])
        return user
    waits = await _record_failure(engine, attempt, keys, rows)
    if waits:
        subject, wait = max(waits.items(), key=lambda kv: kv[1])
        raise _locked(wait.total_seconds(), subject)
    raise YilianError(ErrorCode.UNAUTHENTICATED, "wrong username or password")


async def _record_failure(
    engine: AsyncEngine, attempt: Attempt, keys: dict[Subject, str], rows: dict[str, dict[str, Any]]
) -> dict[Subject, timedelta]:
    """Counts the failure for the account and the address; the waits it starts, each audited."""
    waits: dict[Subject, timedelta] = {}
    async with engine.begin() as conn:
        for subject, key in keys.items():
            row = rows.get(key) or {}
            failures = sign_in.failures_so_far(row.get("failures", 0), row.get("last_failure_at"), attempt.now) + 1
            wait = sign_in.wait_after(subject, failures)
            await q.record_failure(conn, key, failures, attempt.now, attempt.now + wait if wait else None)
            details: dict[str, Any] = {"failures": failures}
            await q.record_event(conn, "sign_in_failed", key, attempt.address, attempt.now, details)
            if wait is not None:
                waits[subject] = wait
                details = {**details, "wait_seconds": int(wait.total_seconds())}
                await q.record_event(conn, "sign_in_locked", key, attempt.address, attempt.now, details)
    return waits
