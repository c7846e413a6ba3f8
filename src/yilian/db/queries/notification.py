"""A person's in-app inbox: listing it and marking a notification read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import notifications


async def inbox(conn: AsyncConnection, recipient_id: str, *, unread: bool, limit: int) -> list[dict[str, Any]]:
    """The recipient's notifications, newest first."""
    n = notifications.c
    q = select(notifications).where(n.recipient_id == recipient_id)
    if unread:
        q = q.where(n.read_at.is_(None))
    rows = await conn.execute(q.order_by(n.id.desc()).limit(limit))
    return [dict(row) for row in rows.mappings()]


async def get(conn: AsyncConnection, notification_id: int) -> dict[str, Any] | None:
    """One notification by id (the live stream's copy of a new inbox row)."""
    row = (await conn.execute(select(notifications).where(notifications.c.id == notification_id))).mappings().first()
    return dict(row) if row is not None else None


async def mark_read(conn: AsyncConnection, notification_id: int, recipient_id: str, at: datetime) -> bool:
    """False when the recipient has no such notification (someone else's reads exactly as a missing one)."""
    n = notifications.c
    found = await conn.scalar(
        update(notifications)
        .where(n.id == notification_id, n.recipient_id == recipient_id)
        .values(read_at=at)
        .returning(n.id)
    )
    return found is not None
