"""The Notifier port and the message it carries: a notice's kind and parameters, put into words by each channel
(notify/messages.py for server channels; the web app renders the in-app inbox itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.domain.notice import NoticeKind


@dataclass(frozen=True)
class Message:
    key: str  # idempotency key
    referral_id: str | None
    kind: NoticeKind
    params: dict[str, str]
    at: datetime
    # Only for notices recorded before they had kinds and parameters: the English text they carried.
    legacy_title: str | None = None
    legacy_body: str | None = None


@dataclass(frozen=True)
class Recipient:
    user_id: str
    hospital_id: str | None


class Notifier(Protocol):
    """A channel. `deliver` runs inside the caller's transaction so a message is never half-sent."""

    channel: str

    async def deliver(self, conn: AsyncConnection, message: Message, recipients: list[Recipient]) -> bool: ...
