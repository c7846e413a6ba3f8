"""The in-app inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from yilian.api.deps import CurrentPrincipal, Engine
from yilian.api.models.notification import Notification, NotificationRead
from yilian.api.schemas import Page
from yilian.db.engine import reading
from yilian.db.queries import notification as queries
from yilian.domain.errors import ErrorCode, YilianError

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("")
async def inbox(
    engine: Engine,
    principal: CurrentPrincipal,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[Notification]:
    async with reading(engine) as conn:
        rows = await queries.inbox(conn, principal.user_id, unread=unread, limit=limit)
    return Page[Notification].of([Notification.model_validate(r) for r in rows], limit=limit)


@router.post("/{notification_id}/read")
async def mark_read(notification_id: int, engine: Engine, principal: CurrentPrincipal) -> NotificationRead:
    async with engine.begin() as conn:
        found = await queries.mark_read(conn, notification_id, principal.user_id, datetime.now(UTC))
    if not found:
        raise YilianError(ErrorCode.NOT_FOUND, "no such notification in your inbox")
    return NotificationRead(id=notification_id, read=True)
