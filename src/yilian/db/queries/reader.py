"""Readers as routing, reassignment and the directory see them: who works where, licences, subspecialties, load.

Who may read a case is `domain.routing.may_read`; these queries only fetch the people it decides on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.alliance import licensed_for_column, subspecialties_column
from yilian.db.queries.referral import OPEN_STATE_VALUES
from yilian.db.schema import referrals, users
from yilian.domain.roles import Role
from yilian.domain.routing import Reader, may_read


def _readers() -> Select[Any]:
    u, r = users.c, referrals.c
    open_load = (
        select(func.count())
        .select_from(referrals)
        .where(or_(r.reader_id == u.id, r.offered_to == u.id), r.state.in_(OPEN_STATE_VALUES))
        .scalar_subquery()
        .label("open_load")
    )
    return select(
        u.id, u.display_name, u.role, u.hospital_id, u.active, u.on_duty, u.is_junior, u.title,
        licensed_for_column(), subspecialties_column(), open_load,
    ).order_by(u.display_name, u.id)  # fmt: skip


def _reader(row: Any) -> Reader:
    return Reader(
        user_id=row["id"],
        name=row["display_name"],
        role=Role(row["role"]),
        hospital_id=row["hospital_id"],
        active=row["active"],
        on_duty=row["on_duty"],
        is_junior=row["is_junior"],
        licensed_for=frozenset(row["licensed_for"] or ()),
        subspecialties=tuple((s["modality"], s["body_part"]) for s in row["subspecialties"] or ()),
        title=row["title"],
        open_load=int(row["open_load"]),
    )


async def people_of(conn: AsyncConnection, hospital_id: str) -> list[Reader]:
    """Everyone of a hospital, by name; `may_read` picks the readers of a case among them."""
    rows = await conn.execute(_readers().where(users.c.hospital_id == hospital_id))
    return [_reader(row) for row in rows.mappings()]


async def person(conn: AsyncConnection, user_id: str) -> Reader | None:
    row = (await conn.execute(_readers().where(users.c.id == user_id))).mappings().first()
    return _reader(row) if row else None


async def readers_of(conn: AsyncConnection, reading_hospital_id: str, requesting_hospital_id: str) -> list[Reader]:
    """Who may read a case of these hospitals (on duty or not), by name."""
    return [
        r
        for r in await people_of(conn, reading_hospital_id)
        if may_read(r, reading_hospital_id, requesting_hospital_id)
    ]


async def read_patient_before(conn: AsyncConnection, patient_ref: str, referral_id: str) -> frozenset[str]:
    """The readers of this patient's other cases (continuity: the same reader reads the follow-up)."""
    r = referrals.c
    query = (
        select(r.reader_id)
        .where(r.patient_ref == patient_ref, r.id != referral_id, r.reader_id.is_not(None))
        .distinct()
    )
    return frozenset(str(x) for x in (await conn.scalars(query)).all())
