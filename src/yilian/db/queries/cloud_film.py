"""Cloud film: a regional patient's studies at every alliance hospital, their signed reports, the QR grants and the
access log. A study is the patient's when the hospital that stored it holds a record of theirs under its Patient ID."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import (
    dicom_instances,
    dicom_series,
    dicom_studies,
    film_accesses,
    film_consents,
    film_grants,
    hospitals,
    patient_index,
    patients,
    referrals,
)
from yilian.domain.referral import REPORTED_STATES

st, r = dicom_studies.c, referrals.c


def of_patient(regional_id: str) -> ColumnElement[bool]:
    """dicom_studies rows of the regional patient: stored by a hospital under a Patient ID of one of their records."""
    return exists(
        select(1)
        .select_from(patient_index.join(patients, patients.c.id == patient_index.c.patient_ref))
        .where(
            patient_index.c.regional_patient_id == regional_id,
            patients.c.hospital_id == st.hospital_id,
            patients.c.patient_id == st.patient_id,
        )
    )


def _signed_referral() -> Any:
    """The newest reported referral that names the study, as its sending hospital stored it."""
    return (
        select(r.id)
        .where(
            r.study_instance_uid == st.study_instance_uid,
            r.requesting_hospital_id == st.hospital_id,
            r.state.in_(sorted(REPORTED_STATES)),
        )
        .order_by(r.final_at.desc().nulls_last())
        .limit(1)
        .scalar_subquery()
    )


def _study_columns() -> list[Any]:
    return [
        st.study_instance_uid, st.hospital_id, hospitals.c.name.label("hospital_name"), st.study_date, st.study_time,
        st.study_description, st.modalities, st.number_of_series, st.number_of_instances,
        _signed_referral().label("referral_id"),
    ]  # fmt: skip


async def studies(
    conn: AsyncConnection, regional_id: str, only: str | None = None, visible: ColumnElement[bool] | None = None
) -> list[dict[str, Any]]:
    """The patient's studies, newest first (or the one named `only`, if it is theirs); `visible`: only those a
    caller may open (db/queries/access.visible_studies)."""
    q = (
        select(*_study_columns())
        .select_from(dicom_studies.join(hospitals, hospitals.c.id == st.hospital_id))
        .where(of_patient(regional_id))
        .order_by(st.study_date.desc(), st.study_time.desc(), st.study_instance_uid)
    )
    if only is not None:
        q = q.where(st.study_instance_uid == only)
    if visible is not None:
        q = q.where(visible)
    return [dict(row) for row in (await conn.execute(q)).mappings()]


async def study_uids(conn: AsyncConnection, regional_id: str) -> list[str]:
    return list((await conn.scalars(select(st.study_instance_uid).where(of_patient(regional_id)))).all())


async def series_images(conn: AsyncConnection, study_instance_uid: str) -> list[dict[str, Any]]:
    """Every instance of the study with its series, in series number then instance number order."""
    se, i = dicom_series.c, dicom_instances.c
    rows = await conn.execute(
        select(se.series_instance_uid, se.series_number, se.series_description, se.modality, i.sop_instance_uid)
        .select_from(dicom_series.join(dicom_instances, i.series_instance_uid == se.series_instance_uid))
        .where(se.study_instance_uid == study_instance_uid)
        .order_by(
            se.series_number.nulls_last(), se.series_instance_uid, i.instance_number.nulls_last(), i.sop_instance_uid
        )
    )
    return [dict(row) for row in rows.mappings()]


async def instance_blob(
    conn: AsyncConnection, regional_id: str, study_instance_uid: str, sop_instance_uid: str
) -> str | None:
    """The stored file of an instance of one of the patient's studies (None: not theirs, or no such instance)."""
    i = dicom_instances.c
    found = await conn.scalar(
        select(i.blob_key)
        .select_from(dicom_instances.join(dicom_studies, st.study_instance_uid == i.study_instance_uid))
        .where(
            i.study_instance_uid == study_instance_uid, i.sop_instance_uid == sop_instance_uid, of_patient(regional_id)
        )  # fmt: skip
    )
    return str(found) if found is not None else None


# --- QR grants ------------------------------------------------------------------------------------------------
async def create_grant(
    conn: AsyncConnection, grant_id: str, regional_id: str, study: str | None, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(film_grants).values(
            id=grant_id,
            regional_patient_id=regional_id,
            study_instance_uid=study,
            created_at=now,
            expires_at=expires_at,
        )  # fmt: skip
    )


async def get_grant(conn: AsyncConnection, grant_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(film_grants).where(film_grants.c.id == grant_id))).mappings().first()
    return dict(row) if row else None


async def grants_of(conn: AsyncConnection, regional_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(film_grants)
        .where(film_grants.c.regional_patient_id == regional_id)
        .order_by(film_grants.c.created_at.desc())
    )
    return [dict(row) for row in rows.mappings()]


async def revoke_grant(conn: AsyncConnection, grant_id: str, regional_id: str, now: datetime) -> bool:
    found = await conn.execute(
        update(film_grants)
        .where(
            film_grants.c.id == grant_id,
            film_grants.c.regional_patient_id == regional_id,
            film_grants.c.revoked_at.is_(None),
        )  # fmt: skip
        .values(revoked_at=now)
    )
    return bool(found.rowcount)


async def grant_studies(conn: AsyncConnection, grant: dict[str, Any]) -> list[str]:
    """The studies a grant opens: its one study, or all of the patient's (as they are now)."""
    uids = await study_uids(conn, str(grant["regional_patient_id"]))
    study = grant["study_instance_uid"]
    return [u for u in uids if u == study] if study is not None else uids


# --- the access log --------------------------------------------------------------------------------------------
async def log_access(
    conn: AsyncConnection,
    *,
    regional_id: str,
    study_instance_uid: str | None,
    viewer: str,
    label: str,
    action: str,
    now: datetime,
    grant_id: str | None = None,
    viewer_hospital_id: str | None = None,
) -> None:
    await conn.execute(
        insert(film_accesses).values(
            regional_patient_id=regional_id,
            study_instance_uid=study_instance_uid,
            viewer=viewer,
            viewer_label=label,
            viewer_hospital_id=viewer_hospital_id,
            grant_id=grant_id,
            action=action,
            at=now,
        )  # fmt: skip
    )


async def accesses(conn: AsyncConnection, regional_id: str, limit: int = 200) -> list[dict[str, Any]]:
    a = film_accesses.c
    rows = await conn.execute(
        select(film_accesses, st.study_description, hospitals.c.name.label("hospital_name"))
        .select_from(
            film_accesses.outerjoin(dicom_studies, st.study_instance_uid == a.study_instance_uid).outerjoin(
                hospitals, hospitals.c.id == st.hospital_id
            )
        )
        .where(and_(a.regional_patient_id == regional_id))
        .order_by(a.at.desc(), a.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in rows.mappings()]


# --- consent to 检查结果互认 ---------------------------------------------------------------------------------------
async def get_consent(conn: AsyncConnection, regional_id: str) -> dict[str, Any] | None:
    row = await conn.execute(select(film_consents).where(film_consents.c.regional_patient_id == regional_id))
    found = row.mappings().first()
    return dict(found) if found else None


async def grant_consent(conn: AsyncConnection, regional_id: str, via: str, now: datetime) -> None:
    await conn.execute(
        pg_insert(film_consents)
        .values(regional_patient_id=regional_id, granted_at=now, granted_via=via, revoked_at=None)
        .on_conflict_do_update(
            index_elements=[film_consents.c.regional_patient_id],
            set_={"granted_at": now, "granted_via": via, "revoked_at": None},
        )
    )


async def revoke_consent(conn: AsyncConnection, regional_id: str, now: datetime) -> None:
    await conn.execute(
        update(film_consents)
        .where(film_consents.c.regional_patient_id == regional_id, film_consents.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def recognised_elsewhere(conn: AsyncConnection, regional_id: str, hospital_id: str) -> list[dict[str, Any]]:
    """The patient's studies stored by other hospitals, if they consent (else none), newest first."""
    consent = await get_consent(conn, regional_id)
    if consent is None or consent["revoked_at"] is not None:
        return []
    return [s for s in await studies(conn, regional_id) if s["hospital_id"] != hospital_id]
