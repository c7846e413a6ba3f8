"""Live-update announcements: PostgreSQL NOTIFY on the writer's transaction, so they go out exactly at commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Text, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

REFERRALS_CHANNEL = "yilian_referrals"  # payload: the referral id whose projection row changed
NOTIFICATIONS_CHANNEL = "yilian_notifications"  # payload: the user id with a new in-app notification

_NOTIFY_EACH = text("SELECT pg_notify(:channel, u) FROM unnest(:ids) AS u").bindparams(
    bindparam("ids", type_=ARRAY(Text))
)


async def announce_referral(conn: AsyncConnection, referral_id: str) -> None:
    """Tell listeners the referral's projection row changed; delivered only if the transaction commits."""
    await conn.execute(select(func.pg_notify(REFERRALS_CHANNEL, referral_id)))


async def announce_notifications(conn: AsyncConnection, user_ids: Iterable[str]) -> None:
    """Tell listeners these people have something new in their inbox (PostgreSQL folds duplicates)."""
    ids = sorted(set(user_ids))
    if ids:
        await conn.execute(_NOTIFY_EACH, {"channel": NOTIFICATIONS_CHANNEL, "ids": ids})
