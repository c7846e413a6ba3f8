"""The webhook outbox: deliveries queued with a notice, and the delivery loop's reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import webhook_deliveries, webhooks


async def queue_deliveries(conn: AsyncConnection, hospital_ids: list[str], key: str) -> bool:
    """One delivery of notice `key` per active webhook of these hospitals (once: a retry queues none); any?"""
    hooks = (
        await conn.scalars(select(webhooks.c.id).where(webhooks.c.hospital_id.in_(hospital_ids), webhooks.c.active))
    ).all()
    for hook_id in hooks:
        await conn.execute(insert(webhook_deliveries).values(webhook_id=hook_id, key=key).on_conflict_do_nothing())
    return bool(hooks)


async def pending(conn: AsyncConnection, *, max_attempts: int, limit: int) -> list[dict[str, Any]]:
    """Deliveries not yet made and not given up, with their webhook's address, secret and hospital."""
    d = webhook_deliveries.c
    rows = await conn.execute(
        select(webhook_deliveries, webhooks.c.url, webhooks.c.secret, webhooks.c.hospital_id)
        .join(webhooks, webhooks.c.id == d.webhook_id)
        .where(d.delivered_at.is_(None), d.attempts < max_attempts)
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


async def record_attempt(
    conn: AsyncConnection, webhook_id: str, key: str, *, status: int | None, error: str | None, at: datetime
) -> None:
    """Count one attempt; delivered when it had no error."""
    d = webhook_deliveries.c
    await conn.execute(
        update(webhook_deliveries)
        .where(and_(d.webhook_id == webhook_id, d.key == key))
        .values(status=status, attempts=d.attempts + 1, last_error=error, delivered_at=at if error is None else None)
    )
