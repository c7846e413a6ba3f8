"""The Notifier port and the message it carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Message:
    key: str  # idempotency key
    referral_id: str | None
    kind: str
    title: str
    body: str
    at: datetime


@dataclass(frozen=True)
class Recipient:
    user_id: str
    hospital_id: str | None


class Notifier(Protocol):
    """A channel. `deliver` runs inside the caller's transaction so a message is never half-sent."""

    channel: str

    async def deliver(self, conn: AsyncConnection, message: Message, recipients: list[Recipient]) -> bool: ...
