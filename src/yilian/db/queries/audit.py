"""The audit trail across cases, limited to the referrals the reader may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.access import visible_referrals
from yilian.db.schema import audit_events, referrals
from yilian.domain.access import Principal


@dataclass(frozen=True)
class AuditFilter:
    referral_id: str | None = None
    actor_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 200


async def search_events(conn: AsyncConnection, p: Principal, f: AuditFilter) -> list[dict[str, Any]]:
    """Events of the cases `p` may see (the one access rule), oldest first."""
    a, r = audit_events.c, referrals.c
    q = select(audit_events).join(referrals, r.id == a.referral_id).where(visible_referrals(p))
    if f.referral_id:
        q = q.where(a.referral_id == f.referral_id)
    if f.actor_id:
        q = q.where(a.actor_id == f.actor_id)
    if f.action:
        q = q.where(a.action == f.action)
    if f.since:
        q = q.where(a.at >= f.since)
    if f.until:
        q = q.where(a.at < f.until)
    rows = await conn.execute(q.order_by(a.at, a.referral_id, a.seq).limit(f.limit))
    return [dict(row) for row in rows.mappings()]
