"""The in-app inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select, update

from yilian.api.deps import CurrentPrincipal, Engine
from yilian.db.schema import notifications
from yilian.domain.errors import ErrorCode, YilianError

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("")
async def inbox(
    engine: Engine,
    principal: CurrentPrincipal,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    n = notifications.c
    q = select(notifications).where(n.recipient_id == principal.user_id)
    if unread:
        q = q.where(n.read_at.is_(None))
    async with engine.connect() as conn:
        rows = (await conn.execute(q.order_by(n.id.desc()).limit(limit))).mappings().all()
    return {
        "items": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "referral_id": r["referral_id"],
                "title": r["title"],
                "body": r["body"],
                "created_at": r["created_at"].isoformat(),
                "read_at": r["read_at"].isoformat() if r["read_at"] else None,
            }
            for r in rows
        ]
    }


@router.post("/{notification_id}/read")
async def mark_read(notification_id: int, engine: Engine, principal: CurrentPrincipal) -> dict[str, Any]:
    n = notifications.c
    async with engine.begin() as conn:
        found = await conn.scalar(
            update(notifications)
            .where(n.id == notification_id, n.recipient_id == principal.user_id)
            .values(read_at=datetime.now(UTC))
            .returning(n.id)
        )
    if found is None:
        raise YilianError(ErrorCode.NOT_FOUND, "no such notification in your inbox")
    return {"id": notification_id, "read": True}
