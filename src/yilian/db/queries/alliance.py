"""Hospitals, agreements, users and patients: the alliance's reference data."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, String, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import agreements, hospitals, patients, reader_licences, reader_subspecialties, referrals, users
from yilian.domain.agreement import Agreement, AgreementTerms, ServiceMode


def agreement_from_row(row: Any) -> Agreement:
    return Agreement(
        id=row["id"],
        requesting_hospital_id=row["requesting_hospital_id"],
        reading_hospital_id=row["reading_hospital_id"],
        service_mode=ServiceMode(row["service_mode"]),
        terms=AgreementTerms.from_json(row["terms"]),
        active=row["active"],
    )


async def agreements_for(conn: AsyncConnection, requesting_hospital_id: str) -> list[Agreement]:
    rows = await conn.execute(
        select(agreements)
        .where(agreements.c.requesting_hospital_id == requesting_hospital_id)
        .order_by(agreements.c.id)
    )
    return [agreement_from_row(r) for r in rows.mappings()]


async def overflow_used(conn: AsyncConnection, hospital_id: str, since: datetime) -> int:
    """Referrals this hospital sent as declared overflow since `since` (start of its local day)."""
    from yilian.db.schema import audit_events

    n = await conn.scalar(
        select(func.count())
        .select_from(
            referrals.join(audit_events, (audit_events.c.referral_id == referrals.c.id) & (audit_events.c.seq == 1))
        )
        .where(
            referrals.c.requesting_hospital_id == hospital_id,
            referrals.c.submitted_at >= since,
            audit_events.c.details["overflow"].astext == "true",
        )
    )
    return int(n or 0)


async def get_user(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
    return dict(row) if row else None


async def get_user_by_username(conn: AsyncConnection, username: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(users).where(users.c.username == username))).mappings().first()
    return dict(row) if row else None


def licensed_for_column() -> Any:
    """The hospitals a user may read for, as a (possibly empty) sorted text array."""
    rl = reader_licences.c
    agg = func.array_agg(aggregate_order_by(rl.hospital_id, rl.hospital_id))
    return (
        select(func.coalesce(agg, literal([], ARRAY(String))))
        .where(rl.user_id == users.c.id)
        .scalar_subquery()
        .label("licensed_for")
    )


def subspecialties_column() -> Any:
    """A user's subspecialties as a JSON list of {modality, body_part}, in a stable order."""
    rs = reader_subspecialties.c
    pair = func.jsonb_build_object("modality", rs.modality, "body_part", rs.body_part)
    pairs = func.jsonb_agg(aggregate_order_by(pair, rs.modality, rs.body_part))
    return (
        select(func.coalesce(pairs, literal([], JSONB)))
        .where(rs.user_id == users.c.id)
        .scalar_subquery()
        .label("subspecialties")
    )


# Built once (it runs on every request): the statement's compiled form is cached, and no query is rebuilt.
PRINCIPAL_ROW = select(users, licensed_for_column()).where(users.c.id == bindparam("user_id"))


async def principal_row(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    """The user and the hospitals they may read for, in one query (it runs on every request)."""
    row = (await conn.execute(PRINCIPAL_ROW, {"user_id": user_id})).mappings()
    found = row.first()
    return dict(found) if found else None


async def set_on_duty(conn: AsyncConnection, user_id: str, on_duty: bool) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(on_duty=on_duty))


async def patient_id_issuer(conn: AsyncConnection, hospital_id: str) -> str:
    return str(await conn.scalar(select(hospitals.c.patient_id_issuer).where(hospitals.c.id == hospital_id)))


async def find_patient(conn: AsyncConnection, hospital_id: str, issuer: str, patient_id: str) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                select(patients).where(
                    patients.c.hospital_id == hospital_id,
                    patients.c.issuer == issuer,
                    patients.c.patient_id == patient_id,
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def register_patient(
    conn: AsyncConnection,
    *,
    hospital_id: str,
    issuer: str,
    patient_id: str,
    name: str,
    birth_date: date,
    sex: str,
    now: datetime,
) -> str:
    """Insert the patient if new and return their id; matching is by Patient ID + issuer, never by name."""
    new_id = f"pat-{uuid.uuid4().hex[:16]}"
    await conn.execute(
        insert(patients)
        .values(
            id=new_id,
            hospital_id=hospital_id,
            issuer=issuer,
            patient_id=patient_id,
            name=name,
            birth_date=birth_date,
            sex=sex,
            created_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_patient_per_hospital")
    )
    found = await find_patient(conn, hospital_id, issuer, patient_id)
    assert found is not None
    return str(found["id"])


GET_PATIENT = select(patients).where(patients.c.id == bindparam("patient_ref"))  # built once: every case detail


async def get_patient(conn: AsyncConnection, patient_ref: str) -> dict[str, Any] | None:
    row = (await conn.execute(GET_PATIENT, {"patient_ref": patient_ref})).mappings().first()
    return dict(row) if row else None
