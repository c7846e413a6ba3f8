"""The alliance's directory: hospitals and the agreements a hospital is party to (a case's readers: reader.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import agreements, hospitals


async def hospital_names(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every hospital of the alliance: names are no secret inside it."""
    h = hospitals.c
    rows = await conn.execute(select(h.id, h.name, h.level).order_by(h.id))
    return [dict(r) for r in rows.mappings()]


async def agreement_rows(conn: AsyncConnection, party: str | None = None) -> list[dict[str, Any]]:
    """Agreement rows with both parties' names; only those `party` is a side of, unless it is None (all)."""
    requesting, reading = hospitals.alias("requesting"), hospitals.alias("reading")
    a = agreements.c
    query = (
        select(
            agreements,
            requesting.c.name.label("requesting_hospital_name"),
            reading.c.name.label("reading_hospital_name"),
        )
        .join_from(agreements, requesting, requesting.c.id == a.requesting_hospital_id)
        .join(reading, reading.c.id == a.reading_hospital_id)
        .order_by(a.id)
    )
    if party is not None:
        query = query.where(or_(a.requesting_hospital_id == party, a.reading_hospital_id == party))
    return [dict(r) for r in (await conn.execute(query)).mappings()]
