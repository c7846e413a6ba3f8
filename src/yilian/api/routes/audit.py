"""Querying the audit trail across cases (coordinators and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from yilian.api.deps import Engine, require_role
from yilian.api.models.referral import AuditEvent
from yilian.api.schemas import Page
from yilian.db.engine import reading
from yilian.db.queries import audit as queries
from yilian.db.queries.audit import AuditFilter
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
) -> Page[AuditEvent]:
    filters = AuditFilter(referral_id, actor_id, action, since, until, limit)
    async with reading(engine) as conn:
        rows = await queries.search_events(conn, principal, filters)
    return Page[AuditEvent].of([AuditEvent.model_validate(row) for row in rows], limit=limit)
