"""Patients' one-time sign-in codes and the local SMS outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import patient_sign_in_codes, sms_outbox

c = patient_sign_in_codes.c


async def recent_codes(conn: AsyncConnection, phone: str, now: datetime) -> list[datetime]:
    """When codes went to this phone in the last hour."""
    rows = await conn.execute(
        select(c.created_at).where(c.phone == phone, c.created_at > now - timedelta(hours=1)).order_by(c.created_at)
    )
    return [r.created_at for r in rows]


async def add_code(conn: AsyncConnection, phone: str, code_hmac: str, now: datetime, expires_at: datetime) -> None:
    await conn.execute(insert(patient_sign_in_codes).values(phone=phone, code_hmac=code_hmac, created_at=now,
                                                            expires_at=expires_at))  # fmt: skip


async def newest_code(conn: AsyncConnection, phone: str) -> dict[str, Any] | None:
    """The phone's last code, locked: only the newest code counts, and tries of it are counted one by one."""
    q = select(patient_sign_in_codes).where(c.phone == phone).order_by(c.id.desc()).limit(1).with_for_update()
    row = (await conn.execute(q)).mappings().first()
    return dict(row) if row else None


async def count_failure(conn: AsyncConnection, code_id: int) -> None:
    await conn.execute(
        update(patient_sign_in_codes).where(c.id == code_id).values(failed_attempts=c.failed_attempts + 1)
    )


async def use_code(conn: AsyncConnection, code_id: int, now: datetime) -> None:
    await conn.execute(update(patient_sign_in_codes).where(c.id == code_id).values(used_at=now))


async def record_sms(conn: AsyncConnection, phone: str, body: str, now: datetime) -> None:
    await conn.execute(insert(sms_outbox).values(phone=phone, body=body, sent_at=now))


async def outbox(conn: AsyncConnection, phone: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(sms_outbox).where(sms_outbox.c.phone == phone).order_by(sms_outbox.c.id.desc()).limit(limit)
    )
    return [dict(r) for r in rows.mappings()]
