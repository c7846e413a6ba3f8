"""What the demo's start-up reads: whether the alliance has any open case (then `yilian up` starts no new ones)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.referral import OPEN_STATE_VALUES
from yilian.db.schema import referrals


async def open_referral_count(conn: AsyncConnection) -> int:
    """Referrals in any open state, across the alliance."""
    count = await conn.scalar(
        select(func.count()).select_from(referrals).where(referrals.c.state.in_(OPEN_STATE_VALUES))
    )
    return int(count or 0)
