"""Querying the audit trail across cases (coordinators and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import or_, select

from yilian.api.deps import Engine, require_role
from yilian.db.schema import audit_events, referrals
from yilian.domain.access import Principal
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/audit-events", tags=["audit"])


@router.get("")
async def search_audit(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.COORDINATOR, Role.ADMIN))],
    referral_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    a, r = audit_events.c, referrals.c
    q = select(audit_events).join(referrals, r.id == a.referral_id)
    if principal.role is Role.COORDINATOR:
        q = q.where(
            or_(r.reading_hospital_id == principal.hospital_id, r.requesting_hospital_id == principal.hospital_id)
        )
    if referral_id:
        q = q.where(a.referral_id == referral_id)
    if actor_id:
        q = q.where(a.actor_id == actor_id)
    if action:
        q = q.where(a.action == action)
    if since:
        q = q.where(a.at >= since)
    if until:
        q = q.where(a.at < until)
    async with engine.connect() as conn:
        rows = (await conn.execute(q.order_by(a.at, a.referral_id, a.seq).limit(limit))).mappings().all()
    return {
        "items": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "id"} for row in rows
        ]
    }
