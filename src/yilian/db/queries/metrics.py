"""The worker's /metrics reads: open referrals by SLA state and priority (no patient data, only counts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.referral import OPEN_STATE_VALUES
from yilian.db.schema import referrals
from yilian.domain.sla import SlaStatus

r = referrals.c


async def open_sla_counts(conn: AsyncConnection, now: datetime) -> dict[tuple[str, str], int]:
    """(sla status, priority) -> open referrals, with the badge rule of domain/sla.py `sla_status` in SQL."""
    status = case(
        (r.breached, literal(SlaStatus.BREACHED.value)),
        (r.sla_paused, literal(SlaStatus.PAUSED.value)),
        (r.sla_due_at <= now, literal(SlaStatus.BREACHED.value)),
        ((r.warned) | (r.sla_warn_at <= now), literal(SlaStatus.AT_RISK.value)),
        else_=literal(SlaStatus.ON_TRACK.value),
    ).label("sla")
    rows = await conn.execute(
        select(status, r.priority, func.count().label("n"))
        .where(r.state.in_(OPEN_STATE_VALUES))
        .group_by(status, r.priority)
    )
    return {(str(row.sla), str(row.priority)): int(row.n) for row in rows}
