"""In-house reading policies (本院写片): read by submission, auto-referral and routing; written by the admin API with
its change log row in the same transaction (db/queries/admin.record_change)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.admin import AdminAction, AdminEntity, record_change
from yilian.db.schema import hospitals, in_house_readings
from yilian.domain.alliance import HospitalLevel
from yilian.domain.in_house import InHousePolicy, terms_from_json


def _policy(row: Any) -> InHousePolicy:
    return InHousePolicy(
        hospital_id=row["hospital_id"],
        enabled=row["enabled"],
        modalities=frozenset(row["modalities"] or ()),
        reader_ids=tuple(row["reader_ids"] or ()),
        terms=terms_from_json(row["terms"] or {}),
        auto_read=row["auto_read"],
    )


def policy_view(p: InHousePolicy) -> dict[str, Any]:
    """The policy as the admin API shows it and accepts it back (PUT), and as the change log keeps it."""
    return {
        "hospital_id": p.hospital_id,
        "enabled": p.enabled,
        "modalities": sorted(p.modalities),
        "reader_ids": list(p.reader_ids),
        **p.terms_json(),
        "auto_read": p.auto_read,
    }


async def policy_of(conn: AsyncConnection, hospital_id: str) -> InHousePolicy | None:
    row = (
        (await conn.execute(select(in_house_readings).where(in_house_readings.c.hospital_id == hospital_id)))
        .mappings()
        .first()
    )
    return _policy(row) if row else None


async def shown(conn: AsyncConnection, hospital_id: str) -> dict[str, Any] | None:
    """The policy with its times, or None."""
    row = (
        (await conn.execute(select(in_house_readings).where(in_house_readings.c.hospital_id == hospital_id)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return {**policy_view(_policy(row)), "created_at": row["created_at"], "updated_at": row["updated_at"]}


async def put_policy(
    conn: AsyncConnection, p: InHousePolicy, *, actor_id: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Create or replace the hospital's policy and log the change; (the policy as shown, whether it was new). The
    caller holds the hospital's row (`hospital_for_update`), so concurrent writes log their changes in order."""
    before = await policy_of(conn, p.hospital_id)
    columns = {
        "enabled": p.enabled,
        "modalities": sorted(p.modalities),
        "reader_ids": list(p.reader_ids),
        "terms": p.terms_json(),
        "auto_read": p.auto_read,
        "updated_at": now,
    }
    stmt = insert(in_house_readings).values(hospital_id=p.hospital_id, created_at=now, **columns)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["hospital_id"], set_=columns))
    after = await shown(conn, p.hospital_id)
    assert after is not None
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.IN_HOUSE_READING, entity_id=p.hospital_id,
        action=AdminAction.CREATE if before is None else AdminAction.UPDATE,
        before=None if before is None else policy_view(before), after=policy_view(p), now=now,
    )  # fmt: skip
    return after, before is None


async def delete_policy(conn: AsyncConnection, hospital_id: str, *, actor_id: str, now: datetime) -> bool:
    """Remove the policy (its running cases keep the terms they were sent with) and log it; False if there was none."""
    t = in_house_readings
    gone = (await conn.execute(delete(t).where(t.c.hospital_id == hospital_id).returning(*t.c))).mappings().first()
    if gone is None:
        return False
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.IN_HOUSE_READING, entity_id=hospital_id,
        action=AdminAction.DELETE, before=policy_view(_policy(gone)), after=None, now=now,
    )  # fmt: skip
    return True


async def hospital_for_update(conn: AsyncConnection, hospital_id: str) -> HospitalLevel | None:
    """The hospital's level, its row locked until the transaction ends (one policy write at a time); None if there is
    no such hospital."""
    level = await conn.scalar(select(hospitals.c.level).where(hospitals.c.id == hospital_id).with_for_update())
    return None if level is None else HospitalLevel(level)
