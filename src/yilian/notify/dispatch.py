"""Resolving who a notification is for and handing it to every channel, inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import users
from yilian.domain.referral_io import NotifyInput, NotifyResult
from yilian.notify.port import Message, Notifier, Recipient


async def recipients(conn: AsyncConnection, inp: NotifyInput) -> list[Recipient]:
    a = inp.audience
    conditions: list[ColumnElement[bool]] = []
    if a.user_ids:
        conditions.append(users.c.id.in_(a.user_ids))
    if a.role is not None:
        cond = users.c.role == str(a.role)
        if a.hospital_id is not None:
            cond = cond & (users.c.hospital_id == a.hospital_id)
        conditions.append(cond)
    if not conditions:
        return []
    rows = (await conn.execute(select(users.c.id, users.c.hospital_id).where(or_(*conditions), users.c.active))).all()
    return sorted((Recipient(user_id=r[0], hospital_id=r[1]) for r in rows), key=lambda r: r.user_id)


async def deliver(
    conn: AsyncConnection, notifiers: list[Notifier], inp: NotifyInput, to: list[Recipient]
) -> NotifyResult:
    message = Message(inp.key, inp.referral_id, inp.kind, dict(inp.params), inp.at, inp.title or None, inp.body or None)
    channels = [n.channel for n in notifiers if await n.deliver(conn, message, to)]
    return NotifyResult(kind=inp.kind, recipients=[r.user_id for r in to], channels=channels)
