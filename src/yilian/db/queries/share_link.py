"""Patient share links and their access log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import share_accesses, share_links
from yilian.domain.share_link import MAX_FAILED_ATTEMPTS, locked_until


async def get_link(conn: AsyncConnection, link_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    q = select(share_links).where(share_links.c.id == link_id)
    row = (await conn.execute(q.with_for_update() if for_update else q)).mappings().first()
    return dict(row) if row else None


async def links_for(conn: AsyncConnection, referral_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(share_links).where(share_links.c.referral_id == referral_id).order_by(share_links.c.created_at)
    )
    return [dict(r) for r in rows.mappings()]


async def create_link(
    conn: AsyncConnection, *, link_id: str, referral_id: str, patient_ref: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(share_links).values(
            id=link_id, referral_id=referral_id, patient_ref=patient_ref, created_at=now, expires_at=expires_at
        )
    )


async def revoke(conn: AsyncConnection, link_id: str, by: str, now: datetime) -> None:
    await conn.execute(
        update(share_links)
        .where(share_links.c.id == link_id, share_links.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by)
    )


async def log_access(conn: AsyncConnection, link_id: str, now: datetime, outcome: str, client: str) -> None:
    await conn.execute(insert(share_accesses).values(link_id=link_id, at=now, outcome=outcome, client=client))


async def record_failure(conn: AsyncConnection, link_id: str, now: datetime) -> datetime | None:
    """Count a wrong birth date; after MAX_FAILED_ATTEMPTS the link locks, longer each time and at last for good
    (domain.share_link.locked_until). Called before this attempt is logged, under the link's row lock.
    Returns when the lock it just set ends, or None when this attempt locked nothing."""
    found = (
        await conn.execute(
            update(share_links)
            .where(share_links.c.id == link_id)
            .values(failed_attempts=share_links.c.failed_attempts + 1)
            .returning(share_links.c.failed_attempts, share_links.c.expires_at)
        )
    ).first()
    if found is not None and found.failed_attempts >= MAX_FAILED_ATTEMPTS:
        earlier = await conn.scalar(
            select(func.count())
            .select_from(share_accesses)
            .where(share_accesses.c.link_id == link_id, share_accesses.c.outcome == "wrong_birth_date")
        )
        until = locked_until(int(earlier or 0) + 1, now, found.expires_at)
        await conn.execute(
            update(share_links).where(share_links.c.id == link_id).values(locked_until=until, failed_attempts=0)
        )
        return until
    return None


async def record_success(conn: AsyncConnection, link_id: str) -> None:
    await conn.execute(update(share_links).where(share_links.c.id == link_id).values(failed_attempts=0))


async def accesses(conn: AsyncConnection, link_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(share_accesses).where(share_accesses.c.link_id == link_id).order_by(share_accesses.c.id)
    )
    return [dict(r) for r in rows.mappings()]
