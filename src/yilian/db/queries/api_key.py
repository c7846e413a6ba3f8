"""Hospital API keys (the gateway's credential): issue, look up, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import api_keys, hospitals


async def insert_key(
    conn: AsyncConnection,
    *,
    key_id: str,
    hospital_id: str,
    label: str,
    secret_sha256: str,
    scope: str,
    created_by: str,
    now: datetime,
) -> None:
    await conn.execute(
        api_keys.insert().values(
            id=key_id, hospital_id=hospital_id, label=label, secret_sha256=secret_sha256, scope=scope,
            created_by=created_by, created_at=now,
        )
    )  # fmt: skip


async def active_key(conn: AsyncConnection, key_id: str) -> dict[str, Any] | None:
    row = (
        (await conn.execute(select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def keys_of(conn: AsyncConnection, hospital_id: str) -> list[dict[str, Any]]:
    query = (
        select(
            api_keys.c.id,
            api_keys.c.label,
            api_keys.c.scope,
            api_keys.c.created_by,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        )
        .where(api_keys.c.hospital_id == hospital_id)
        .order_by(api_keys.c.created_at)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def revoke(conn: AsyncConnection, hospital_id: str, key_id: str, now: datetime) -> bool:
    done = await conn.scalar(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.hospital_id == hospital_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(api_keys.c.id)
    )
    return done is not None


async def hospital_exists(conn: AsyncConnection, hospital_id: str) -> bool:
    return await conn.scalar(select(hospitals.c.id).where(hospitals.c.id == hospital_id)) is not None
