"""Notifications: who an audience is, the in-app inbox (adding, listing, marking read), a notice by its key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.events import announce_notifications
from yilian.db.schema import notifications, users


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


async def audience(
    conn: AsyncConnection, user_ids: list[str], role: str | None, hospital_id: str | None
) -> list[tuple[str, str | None]]:
    """(user id, hospital id) of the active users named, or holding `role` (at `hospital_id`, if given)."""
    conditions: list[ColumnElement[bool]] = []
    if user_ids:
        conditions.append(users.c.id.in_(user_ids))
    if role is not None:
        cond = users.c.role == role
        if hospital_id is not None:
            cond = cond & (users.c.hospital_id == hospital_id)
        conditions.append(cond)
    if not conditions:
        return []
    rows = await conn.execute(select(users.c.id, users.c.hospital_id).where(or_(*conditions), users.c.active))
    return [(r[0], r[1]) for r in rows]


async def add_to_inboxes(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Insert one inbox row per recipient; (recipient, id) of those really added (a retry adds none), announced
    to live listeners at commit."""
    added = await conn.execute(
        insert(notifications)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_notification_key_recipient")
        .returning(notifications.c.recipient_id, notifications.c.id)
    )
    new = [(r.recipient_id, r.id) for r in added]
    await announce_notifications(conn, new)
    return new


async def by_key(conn: AsyncConnection, key: str) -> dict[str, Any] | None:
    """What a webhook delivery of this notice carries (any one recipient's row: they share key and content)."""
    n = notifications.c
    row = (
        (
            await conn.execute(
                select(n.referral_id, n.kind, n.params, n.title, n.body, n.created_at).where(n.key == key).limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
