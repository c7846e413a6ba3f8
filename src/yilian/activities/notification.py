"""The notify activity: resolve the audience, then hand the message to every channel in one transaction."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.schema import users
from yilian.domain.messages import ActivityName, NotifyInput, NotifyResult
from yilian.notify.port import Message, Notifier, Recipient


class NotificationActivities:
    def __init__(self, engine: AsyncEngine, notifiers: list[Notifier]) -> None:
        self._engine = engine
        self._notifiers = notifiers

    @activity.defn(name=ActivityName.NOTIFY)
    async def notify(self, inp: NotifyInput) -> NotifyResult:
        a = inp.audience
        conditions = []
        if a.user_ids:
            conditions.append(users.c.id.in_(a.user_ids))
        if a.role is not None:
            cond = users.c.role == str(a.role)
            if a.hospital_id is not None:
                cond = cond & (users.c.hospital_id == a.hospital_id)
            conditions.append(cond)
        message = Message(inp.key, inp.referral_id, inp.kind, inp.title, inp.body, inp.at)
        async with self._engine.begin() as conn:
            rows = (
                (
                    await conn.execute(select(users.c.id, users.c.hospital_id).where(or_(*conditions), users.c.active))
                ).all()
                if conditions
                else []
            )
            recipients = [Recipient(user_id=r[0], hospital_id=r[1]) for r in rows]
            channels = [n.channel for n in self._notifiers if await n.deliver(conn, message, recipients)]
        return NotifyResult(recipients=sorted(r.user_id for r in recipients), channels=channels)
