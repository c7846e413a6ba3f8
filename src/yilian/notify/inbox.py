"""The in-app inbox: one row per recipient, read through /api/notifications."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.events import announce_notifications
from yilian.db.schema import notifications
from yilian.notify.port import Message, Recipient


class InAppNotifier:
    channel = "in_app"

    async def deliver(self, conn: AsyncConnection, message: Message, recipients: list[Recipient]) -> bool:
        if not recipients:
            return False
        added = await conn.execute(
            insert(notifications)
            .values(
                [
                    {
                        "key": message.key,
                        "recipient_id": r.user_id,
                        "referral_id": message.referral_id,
                        "kind": message.kind,
                        "params": message.params,
                        "title": message.legacy_title,
                        "body": message.legacy_body,
                        "created_at": message.at,
                    }
                    for r in recipients
                ]
            )
            .on_conflict_do_nothing(constraint="uq_notification_key_recipient")
            .returning(notifications.c.recipient_id)
        )
        # Only rows really added (a retried activity adds none): the bell updates once per notification.
        await announce_notifications(conn, added.scalars().all())
        return True
