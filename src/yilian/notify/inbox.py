"""The in-app inbox: one row per recipient, read through /api/notifications."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries import notification as notification_queries
from yilian.notify.port import Message, Recipient


class InAppNotifier:
    channel = "in_app"

    async def deliver(self, conn: AsyncConnection, message: Message, recipients: list[Recipient]) -> bool:
        if not recipients:
            return False
        await notification_queries.add_to_inboxes(
            conn,
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
            ],
        )
        return True
