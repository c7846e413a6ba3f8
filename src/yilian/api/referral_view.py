"""A referral as the API shows it: the projection row, who may see it, its SLA status and the caller's actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.models.referral import Referral
from yilian.db.engine import reading
from yilian.db.queries import referral as q
from yilian.domain.access import Principal, ReferralScope, can_view
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.in_house import is_in_house
from yilian.domain.referral import ReferralCase, ReferralState, allowed_actions, conditions
from yilian.domain.referral_io import ActionResult
from yilian.domain.sla import SlaRecord, sla_status


def referral_scope(row: dict[str, Any]) -> ReferralScope:
    """Who the projection row says is involved: what `can_view` and `sees_drafts` decide on."""
    return ReferralScope(row["requesting_hospital_id"], row["reading_hospital_id"], row["offered_to"], row["reader_id"])


def sla_record(row: dict[str, Any]) -> SlaRecord:
    """The SLA columns of the projection row, for domain `sla_status`."""
    return SlaRecord(
        open=row["state"] in q.OPEN_STATE_VALUES,
        reported=row["final_at"] is not None,
        paused=row["sla_paused"],
        warned=row["warned"],
        breached=row["breached"],
        warn_at=row["sla_warn_at"],
        due_at=row["sla_due_at"],
    )


def referral_case(row: dict[str, Any]) -> ReferralCase:
    """The projection row as the transition table reads it."""
    return ReferralCase(
        referral_id=row["id"],
        requesting_hospital_id=row["requesting_hospital_id"],
        reading_hospital_id=row["reading_hospital_id"],
        state=ReferralState(row["state"]),
        offered_to=row["offered_to"],
        reader_id=row["reader_id"],
        second_reader_id=row["second_reader_id"],
        seq=row["last_seq"],
    )


def allowed_for(row: dict[str, Any], principal: Principal) -> list[str]:
    """What `principal` may do to the case now (domain `allowed_actions`): the buttons the web app shows."""
    holding = conditions(critical_open=row["critical_open"])
    return [str(a) for a in allowed_actions(referral_case(row), principal.actor, holding)]


def referral_out(row: dict[str, Any], principal: Principal, now: datetime | None = None) -> Referral:
    """The row as `principal` sees it: with its SLA badge and the actions they may take."""
    status = sla_status(sla_record(row), now or datetime.now(UTC))
    return Referral.model_validate(
        {
            **row,
            "seq": row["last_seq"],
            "in_house": is_in_house(row["requesting_hospital_id"], row["reading_hospital_id"]),
            "sla_status": status,
            "allowed_actions": allowed_for(row, principal),
        }
    )


async def visible_referral(engine: AsyncEngine, principal: Principal, referral_id: str) -> dict[str, Any]:
    """The projection row if the caller may see it; 404 otherwise, so ids of others' cases leak nothing."""
    async with reading(engine) as conn:
        row = await q.get_referral(conn, referral_id)
    return seen(principal, referral_id, row)


def seen(principal: Principal, referral_id: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """`row` if it exists and the caller may see it; 404 otherwise (the same answer for both)."""
    if row is None or not can_view(principal, referral_scope(row)):
        raise YilianError(ErrorCode.NOT_FOUND, f"no referral {referral_id} that you can see")
    return row


async def acted_referral(engine: AsyncEngine, principal: Principal, result: ActionResult) -> dict[str, Any]:
    """The projection row an action wrote, as its Update carried it (read again only when it did not); 404 when
    the caller may no longer see the case (an expert who declined it)."""
    written = result.row
    if written is None:
        return await visible_referral(engine, principal, result.referral_id)
    row = q.projection_row(written.snapshot, written.seq, written.at)
    row["submitted_at"] = written.submitted_at
    return seen(principal, result.referral_id, row)
