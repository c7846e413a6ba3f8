"""Failed sign-ins per account and address, and the security events they are audited as."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import security_events, sign_in_attempts


async def attempts(conn: AsyncConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    rows = (await conn.execute(select(sign_in_attempts).where(sign_in_attempts.c.key.in_(keys)))).mappings()
    return {row["key"]: dict(row) for row in rows}


async def record_failure(
    conn: AsyncConnection, key: str, failures: int, now: datetime, locked_until: datetime | None
) -> None:
    values = {"key": key, "failures": failures, "last_failure_at": now, "locked_until": locked_until}
    stmt = pg_insert(sign_in_attempts).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"})
    )


async def forget(conn: AsyncConnection, key: str) -> None:
    await conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.key == key))


async def record_event(
    conn: AsyncConnection, kind: str, subject: str, address: str | None, now: datetime, details: dict[str, Any]
) -> None:
    await conn.execute(
        insert(security_events).values(at=now, kind=kind, subject=subject, address=address, details=details)
    )
