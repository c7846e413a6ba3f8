"""The alliance's directory: hospitals, the agreements a hospital is party to, and the readers of a case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.alliance import subspecialties_column
from yilian.db.queries.referral import OPEN_STATE_VALUES
from yilian.db.schema import agreements, hospitals, reader_licences, referrals, users
from yilian.domain.roles import READER_ROLES


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


async def readers_of(
    conn: AsyncConnection, reading_hospital_id: str, requesting_hospital_id: str
) -> list[dict[str, Any]]:
    """Active experts and seniors of the reading hospital licensed for the requesting one, with their open load."""
    u, r = users.c, referrals.c
    licensed = exists().where(
        and_(reader_licences.c.user_id == u.id, reader_licences.c.hospital_id == requesting_hospital_id)
    )
    open_cases = (
        select(func.count())
        .select_from(referrals)
        .where(or_(r.reader_id == u.id, r.offered_to == u.id), r.state.in_(OPEN_STATE_VALUES))
        .scalar_subquery()
        .label("open_cases")
    )
    query = (
        select(u.id, u.display_name, u.role, u.title, u.is_junior, u.on_duty, subspecialties_column(), open_cases)
        .where(
            u.hospital_id == reading_hospital_id,
            u.role.in_(READER_ROLES),
            u.active == literal(True),
            licensed,
        )
        .order_by(u.display_name, u.id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]
