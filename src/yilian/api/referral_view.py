"""A referral as the API shows it: the projection row, who may see it, and its SLA status in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.queries import referral as q
from yilian.domain.access import Principal, ReferralScope, can_view
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.sla import SlaStatus


def referral_scope(row: dict[str, Any]) -> ReferralScope:
    """Who the projection row says is involved: what `can_view` and `sees_drafts` decide on."""
    return ReferralScope(row["requesting_hospital_id"], row["reading_hospital_id"], row["offered_to"], row["reader_id"])


def sla_status(row: dict[str, Any], now: datetime) -> str:
    if row["breached"]:
        return SlaStatus.BREACHED
    if row["state"] not in q.OPEN_STATE_VALUES:
        return "met" if row["final_at"] else "n/a"
    if row["sla_paused"]:
        return "paused"
    if row["warned"] or (row["sla_warn_at"] and now >= row["sla_warn_at"]):
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK


def referral_out(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "last_seq"}
    out["seq"] = row["last_seq"]
    out["sla_status"] = sla_status(row, now or datetime.now(UTC))
    return out


async def visible_referral(engine: AsyncEngine, principal: Principal, referral_id: str) -> dict[str, Any]:
    """The projection row if the caller may see it; 404 otherwise, so ids of others' cases leak nothing."""
    async with engine.connect() as conn:
        row = await q.get_referral(conn, referral_id)
    if row is None or not can_view(principal, referral_scope(row)):
        raise YilianError(ErrorCode.NOT_FOUND, f"no referral {referral_id} that you can see")
    return row
