"""The regional patient index: regional patients, which hospital records they hold, the review queue and its log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import (
    hospitals,
    patient_index,
    patient_index_events,
    patient_link_reviews,
    patients,
    regional_patients,
)
from yilian.domain.patient_index import Demographics, IndexAction, IndexEntry, LinkHow, ReviewState
from yilian.domain.roles import Actor


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


async def create_regional_patient(conn: AsyncConnection, who: Demographics, phone: str | None, now: datetime) -> str:
    rid = new_id("rp")
    await conn.execute(
        insert(regional_patients).values(
            id=rid, name=who.name, sex=who.sex, birth_date=who.birth_date, phone=phone, created_at=now
        )
    )
    return rid


async def get_regional_patient(conn: AsyncConnection, regional_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(regional_patients).where(regional_patients.c.id == regional_id))).mappings()
    found = row.first()
    return dict(found) if found else None


async def regional_by_phone(conn: AsyncConnection, phone: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(regional_patients).where(regional_patients.c.phone == phone))).mappings()
    found = row.first()
    return dict(found) if found else None


async def set_phone(conn: AsyncConnection, regional_id: str, phone: str | None) -> None:
    await conn.execute(update(regional_patients).where(regional_patients.c.id == regional_id).values(phone=phone))


async def entry(conn: AsyncConnection, patient_ref: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """A hospital record's place in the index (None: never enrolled)."""
    q = select(patient_index).where(patient_index.c.patient_ref == patient_ref)
    found = (await conn.execute(q.with_for_update() if for_update else q)).mappings().first()
    return dict(found) if found else None


async def candidates(
    conn: AsyncConnection, national_hash: str | None, birth_date: date, exclude_ref: str
) -> list[IndexEntry]:
    """Every indexed record that could match: the same national ID hash, or the same birth date."""
    p, i = patients.c, patient_index.c
    same = p.birth_date == birth_date
    if national_hash is not None:
        same = or_(same, i.national_id_hash == national_hash)
    rows = await conn.execute(
        select(i.regional_patient_id, i.national_id_hash, p.name, p.sex, p.birth_date)
        .select_from(patient_index.join(patients, p.id == i.patient_ref))
        .where(same, i.patient_ref != exclude_ref)
        .order_by(i.linked_at, i.patient_ref)
    )
    return [
        IndexEntry(r.regional_patient_id, Demographics(r.name, r.sex, r.birth_date), r.national_id_hash) for r in rows
    ]


async def put_entry(
    conn: AsyncConnection, patient_ref: str, regional_id: str, national_hash: str | None, how: LinkHow, now: datetime
) -> None:
    await conn.execute(
        insert(patient_index)
        .values(
            patient_ref=patient_ref,
            regional_patient_id=regional_id,
            national_id_hash=national_hash,
            how=how,
            linked_at=now,
        )  # fmt: skip
        .on_conflict_do_update(
            index_elements=[patient_index.c.patient_ref],
            set_={"regional_patient_id": regional_id, "how": str(how), "linked_at": now},
        )
    )


async def record_event(
    conn: AsyncConnection,
    *,
    patient_ref: str,
    regional_id: str,
    from_regional_id: str | None,
    action: IndexAction,
    actor: Actor,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        insert(patient_index_events).values(
            patient_ref=patient_ref,
            regional_patient_id=regional_id,
            from_regional_id=from_regional_id,
            action=str(action),
            actor_id=actor.user_id,
            actor_role=str(actor.role),
            at=now,
            details=details or {},
        )
    )


async def open_review(conn: AsyncConnection, patient_ref: str, candidate_id: str, reason: str, now: datetime) -> str:
    review_id = new_id("rv")
    await conn.execute(
        insert(patient_link_reviews).values(
            id=review_id,
            patient_ref=patient_ref,
            candidate_id=candidate_id,
            reason=reason,
            state=str(ReviewState.OPEN),
            opened_at=now,
        )  # fmt: skip
    )
    return review_id


async def get_review(conn: AsyncConnection, review_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    q = select(patient_link_reviews).where(patient_link_reviews.c.id == review_id)
    found = (await conn.execute(q.with_for_update() if for_update else q)).mappings().first()
    return dict(found) if found else None


async def close_review(conn: AsyncConnection, review_id: str, state: ReviewState, by: str, now: datetime) -> None:
    await conn.execute(
        update(patient_link_reviews)
        .where(patient_link_reviews.c.id == review_id)
        .values(state=str(state), decided_by=by, decided_at=now)
    )


async def open_reviews_of(conn: AsyncConnection, patient_ref: str) -> list[str]:
    rows = await conn.execute(
        select(patient_link_reviews.c.id).where(
            patient_link_reviews.c.patient_ref == patient_ref, patient_link_reviews.c.state == str(ReviewState.OPEN)
        )
    )
    return [r.id for r in rows]


def _record_columns() -> list[Any]:
    p, h = patients.c, hospitals.c
    return [
        p.id.label("patient_ref"), p.hospital_id, h.name.label("hospital_name"), p.patient_id, p.name, p.sex,
        p.birth_date,
    ]  # fmt: skip


async def reviews(conn: AsyncConnection, state: ReviewState, limit: int = 100) -> list[dict[str, Any]]:
    """The queue: each review with the record under review and its candidate regional patient."""
    r, rp = patient_link_reviews.c, regional_patients.c
    rows = await conn.execute(
        select(
            r.id,
            r.reason,
            r.state,
            r.opened_at,
            r.decided_by,
            r.decided_at,
            r.candidate_id,
            rp.name.label("candidate_name"),
            rp.sex.label("candidate_sex"),
            rp.birth_date.label("candidate_birth_date"),
            *_record_columns(),
        )  # fmt: skip
        .select_from(
            patient_link_reviews.join(patients, patients.c.id == r.patient_ref)
            .join(hospitals, hospitals.c.id == patients.c.hospital_id)
            .join(regional_patients, rp.id == r.candidate_id)
        )
        .where(r.state == str(state))
        .order_by(r.opened_at, r.id)
        .limit(limit)
    )
    return [dict(row) for row in rows.mappings()]


async def records_of(conn: AsyncConnection, regional_id: str) -> list[dict[str, Any]]:
    """The hospital records a regional patient holds."""
    i = patient_index.c
    rows = await conn.execute(
        select(*_record_columns(), i.how, i.linked_at, (i.national_id_hash.is_not(None)).label("has_national_id"))
        .select_from(
            patient_index.join(patients, patients.c.id == i.patient_ref).join(
                hospitals, hospitals.c.id == patients.c.hospital_id
            )
        )
        .where(i.regional_patient_id == regional_id)
        .order_by(i.linked_at, i.patient_ref)
    )
    return [dict(r) for r in rows.mappings()]


async def events_of(conn: AsyncConnection, regional_id: str) -> list[dict[str, Any]]:
    """Every event that brought a record to this regional patient or took one away."""
    e = patient_index_events.c
    rows = await conn.execute(
        select(patient_index_events)
        .where(or_(e.regional_patient_id == regional_id, e.from_regional_id == regional_id))
        .order_by(e.id)
    )
    return [dict(r) for r in rows.mappings()]


async def count_records(conn: AsyncConnection, regional_id: str) -> int:
    found = await conn.scalar(
        select(func.count()).select_from(patient_index).where(patient_index.c.regional_patient_id == regional_id)
    )
    return int(found or 0)
