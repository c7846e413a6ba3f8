"""Live-update announcements: PostgreSQL NOTIFY on the writer's transaction, so they go out exactly at commit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

REFERRALS_CHANNEL = "yilian_referrals"  # payload: the referral id whose projection row changed
NOTIFICATIONS_CHANNEL = "yilian_notifications"  # payload: {"user_id", "id"} of a new in-app notification (JSON)

_NOTIFY_EACH = text("SELECT pg_notify(:channel, u) FROM unnest(:ids) AS u").bindparams(
    bindparam("ids", type_=ARRAY(Text))
)


def announcement(referral_id: ColumnElement[str]) -> ColumnElement[Any]:
    """The expression that tells listeners the referral's projection row changed (sent at commit)."""
    return func.pg_notify(REFERRALS_CHANNEL, referral_id)


async def announce_notifications(conn: AsyncConnection, added: Iterable[tuple[str, int]]) -> None:
    """Tell listeners these (recipient, notification id) rows are new in people's inboxes."""
    payloads = [json.dumps({"user_id": user_id, "id": nid}) for user_id, nid in sorted(set(added))]
    if payloads:
        await conn.execute(_NOTIFY_EACH, {"channel": NOTIFICATIONS_CHANNEL, "ids": payloads})


def heard_notification(payload: str) -> tuple[str, int | None]:
    """The recipient and notification id an announcement names (an id-less user id from an older writer)."""
    try:
        heard = json.loads(payload)
        return str(heard["user_id"]), int(heard["id"])
    except (ValueError, KeyError, TypeError):
        return payload, None
