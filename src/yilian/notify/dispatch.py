"""Resolving who a notification is for and handing it to every channel, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries import notification as notification_queries
from yilian.domain.referral_io import NotifyInput, NotifyResult
from yilian.notify.port import Message, Notifier, Recipient


async def recipients(conn: AsyncConnection, inp: NotifyInput) -> list[Recipient]:
    a = inp.audience
    role = str(a.role) if a.role is not None else None
    members = await notification_queries.audience(conn, list(a.user_ids), role, a.hospital_id)
    return sorted((Recipient(user_id=u, hospital_id=h) for u, h in members), key=lambda r: r.user_id)


async def deliver(
    conn: AsyncConnection, notifiers: list[Notifier], inp: NotifyInput, to: list[Recipient]
) -> NotifyResult:
    message = Message(
        inp.key, inp.referral_id or None, inp.kind, dict(inp.params), inp.at, inp.title or None, inp.body or None
    )
    channels = [n.channel for n in notifiers if await n.deliver(conn, message, to)]
    return NotifyResult(kind=inp.kind, recipients=[r.user_id for r in to], channels=channels)


async def notify(conn: AsyncConnection, notifiers: list[Notifier], inp: NotifyInput) -> NotifyResult:
    """Deliver `inp` to whoever its audience is now."""
    return await deliver(conn, notifiers, inp, await recipients(conn, inp))


async def notify_all(
    conn: AsyncConnection, notifiers: list[Notifier], notices: Iterable[NotifyInput]
) -> list[dict[str, Any]]:
    """Deliver each notice in turn: who was told of what, by which channels, as an audit event's `notified`."""
    told = []
    for inp in notices:
        sent = await notify(conn, notifiers, inp)
        told.append({"kind": sent.kind, "to": sent.recipients, "method": sent.channels})
    return told
