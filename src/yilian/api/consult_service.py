"""What making a consult takes beyond one query: its cases (each one the caller may see), its hospitals, the
invited (active people of the alliance), the domain's check, then the workflow's start."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.referral_view import referral_scope
from yilian.api.workflow_client import ConsultCommands
from yilian.db.engine import reading
from yilian.db.queries import consult as q
from yilian.domain.access import Principal, can_view
from yilian.domain.consult import ConsultAction, ConsultCase, ReferralParties, Schedule, validate
from yilian.domain.consult_io import ConsultFacts, ConsultInput, OpenInput
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

INVITABLE_ROLES = [str(r) for r in (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR)]


@dataclass(frozen=True)
class NewConsult:
    title: str
    referral_id: str | None
    case_ids: list[str]
    comment: str
    schedule: Schedule | None


async def check_invitees(engine: AsyncEngine, schedule: Schedule | None) -> None:
    """Everyone invited must be an active person of the alliance who can take part (not an admin account)."""
    if schedule is None:
        return
    async with reading(engine) as conn:
        known = await q.active_people(conn, list(schedule.invitee_ids), INVITABLE_ROLES)
    unknown = sorted(set(schedule.invitee_ids) - known)
    if unknown:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"cannot invite {', '.join(unknown)}: no such active person",
            [{"field": "schedule.invitee_ids", "problem": "unknown or inactive", "ids": unknown}],
        )


async def make(
    engine: AsyncEngine, commands: ConsultCommands, principal: Principal, new: NewConsult, now: datetime
) -> str:
    """Request (no schedule) or schedule a new consult; its id once the first step is recorded."""
    case_ids = list(dict.fromkeys([*([new.referral_id] if new.referral_id else []), *new.case_ids]))
    if not case_ids:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            "a consult discusses at least one case: give referral_id or case_ids",
            [{"field": "case_ids", "problem": "empty"}],
        )
    if new.schedule is None and new.referral_id is None:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            "a request is made from a case: give its referral_id (or schedule the consult)",
            [{"field": "referral_id", "problem": "missing"}],
        )
    async with reading(engine) as conn:
        rows = {r["id"]: r for r in await q.case_rows(conn, case_ids)}
    for cid in case_ids:
        if cid not in rows or not can_view(principal, referral_scope(rows[cid])):
            raise YilianError(ErrorCode.NOT_FOUND, f"no referral {cid} that you can see")
    await check_invitees(engine, new.schedule)
    referral = None
    if new.referral_id is not None:
        r = rows[new.referral_id]
        referral = ReferralParties(
            r["id"],
            r["requesting_hospital_id"],
            r["reading_hospital_id"],
            r["reader_id"],
            r["second_reader_id"],
            r["submitted_by"],
        )
        hospitals = [r["requesting_hospital_id"], r["reading_hospital_id"]]
    else:
        found = {h for c in rows.values() for h in (c["requesting_hospital_id"], c["reading_hospital_id"])}
        hospitals = sorted(found | ({principal.hospital_id} if principal.hospital_id else set()))
    consult_id = f"con-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    facts = ConsultFacts(consult_id, new.title, case_ids, hospitals, referral, principal.actor)
    opening = OpenInput(principal.actor, new.schedule, new.comment)
    action = ConsultAction.REQUEST if new.schedule is None else ConsultAction.SCHEDULE
    # The workflow checks it again; checked here first so a refused consult leaves no workflow behind.
    validate(ConsultCase(consult_id, tuple(hospitals), referral), action, principal.actor, opening.given(now))
    await commands.start(ConsultInput(facts, opening))
    return consult_id
