"""Outgoing webhooks signed with HMAC-SHA256: queued in the transaction, sent by a delivery loop.

A delivery carries the notice's kind and parameters, and its words in both languages (notify/messages.py):
a hospital's system cannot be asked which one its reader prefers. `title`/`body` are the zh-CN words.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import notification as notification_queries
from yilian.db.queries import webhook as webhook_queries
from yilian.domain.notice import NoticeKind
from yilian.notify.messages import DEFAULT_LANGUAGE, Language, Text, render_all
from yilian.notify.port import Message, Recipient

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Yilian-Signature"
MAX_ATTEMPTS = 12


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)


class WebhookNotifier:
    """Queues one delivery per active webhook of each recipient's hospital (an outbox, not a live call).

    Sending inside the activity would let one slow hospital endpoint stall a referral; the outbox keeps
    the workflow moving and `deliver_pending` retries with backoff.
    """

    channel = "webhook"

    async def deliver(self, conn: AsyncConnection, message: Message, recipients: list[Recipient]) -> bool:
        hospitals = sorted({r.hospital_id for r in recipients if r.hospital_id})
        if not hospitals:
            return False
        return await webhook_queries.queue_deliveries(conn, hospitals, message.key)


def delivery_body(key: str, hospital_id: str, note: Mapping[str, Any]) -> dict[str, Any]:
    """What a hospital receives: the notice as kind and parameters, and in words in every language."""
    if note["title"] is not None and not note["params"]:
        # Recorded before notices had parameters: only the English text it was written with exists.
        texts = {Language.EN: Text(note["title"], note["body"] or "")}
    else:
        texts = render_all(NoticeKind(note["kind"]), note["params"])
    default = texts.get(DEFAULT_LANGUAGE) or texts[Language.EN]
    return {
        "key": key,
        "hospital_id": hospital_id,
        "referral_id": note["referral_id"],
        "kind": note["kind"],
        "params": note["params"],
        "title": default.title,
        "body": default.body,
        "text": {str(lang): {"title": t.title, "body": t.body} for lang, t in texts.items()},
        "at": note["created_at"].isoformat(),
    }


async def deliver_pending(engine: AsyncEngine, client: httpx.AsyncClient, limit: int = 50) -> int:
    """Send queued deliveries once; returns how many succeeded."""
    now = datetime.now(UTC)
    async with reading(engine) as conn:
        rows = await webhook_queries.pending(conn, max_attempts=MAX_ATTEMPTS, limit=limit)
    sent = 0
    for row in rows:
        async with reading(engine) as conn:
            note = await notification_queries.by_key(conn, row["key"])
        if note is None:
            continue
        body = json.dumps(delivery_body(row["key"], row["hospital_id"], note), ensure_ascii=False).encode()
        status, error = None, None
        try:
            resp = await client.post(
                row["url"],
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(row["secret"], body),
                    "X-Yilian-Delivery": row["key"],
                },
            )
            status = resp.status_code
            if resp.status_code >= 300:
                error = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        async with engine.begin() as conn:
            await webhook_queries.record_attempt(
                conn, row["webhook_id"], row["key"], status=status, error=error, at=now
            )
        if error is None:
            sent += 1
        else:
            log.warning("webhook %s delivery %s failed: %s", row["webhook_id"], row["key"], error)
    return sent


async def delivery_loop(engine: AsyncEngine, interval: timedelta = timedelta(seconds=2)) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                await deliver_pending(engine, client)
            except Exception:  # the loop must survive a database blip
                log.exception("webhook delivery pass failed")
            await asyncio.sleep(interval.total_seconds())
