"""A referral as the API shows it: the projection row, who may see it, and its SLA status in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.queries import referral as q
from yilian.domain.access import Principal, ReferralScope, can_view
from yilian.domain.errors import ErrorCode, YilianError
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


def referral_out(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "last_seq"}
    out["seq"] = row["last_seq"]
    out["sla_status"] = sla_status(sla_record(row), now or datetime.now(UTC))
    return out


async def visible_referral(engine: AsyncEngine, principal: Principal, referral_id: str) -> dict[str, Any]:
    """The projection row if the caller may see it; 404 otherwise, so ids of others' cases leak nothing."""
    async with engine.connect() as conn:
        row = await q.get_referral(conn, referral_id)
    if row is None or not can_view(principal, referral_scope(row)):
        raise YilianError(ErrorCode.NOT_FOUND, f"no referral {referral_id} that you can see")
    return row
