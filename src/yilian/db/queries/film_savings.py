"""Cloud film's savings for the coordinator's dashboard (domain/film_savings.py): first deliveries of each study to
its patient, cross-hospital views, and the stored studies of the patients those views name."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import agreements, dicom_series, dicom_studies, film_accesses, patient_index, patients
from yilian.domain.cloud_film import Viewer
from yilian.domain.film_savings import DELIVERY_ACTIONS, DELIVERY_VIEWERS

ZONE = "Asia/Shanghai"  # the alliance's months and days, as the quality scorecards count them
a, st, se = film_accesses.c, dicom_studies.c, dicom_series.c


def _month(at: Any) -> Any:
    return func.to_char(func.timezone(ZONE, at), "YYYY-MM")


async def partner_hospitals(conn: AsyncConnection, hospital_id: str) -> list[str]:
    """The hospital and every hospital it has an agreement with, either way: what its coordinator oversees."""
    ag = agreements.c
    rows = await conn.scalars(
        select(ag.requesting_hospital_id)
        .where(ag.reading_hospital_id == hospital_id)
        .union(select(ag.reading_hospital_id).where(ag.requesting_hospital_id == hospital_id))
    )
    return sorted({hospital_id, *rows.all()})


async def films_not_printed(conn: AsyncConnection, hospitals: Collection[str], since: datetime) -> list[dict[str, Any]]:
    """(hospital_id, month, count): studies of these hospitals first delivered as cloud film in each month."""
    first = (
        select(a.study_instance_uid, func.min(a.at).label("first_at"))
        .where(
            a.viewer.in_([str(v) for v in DELIVERY_VIEWERS]),
            a.action.in_(DELIVERY_ACTIONS),
            a.study_instance_uid.is_not(None),
        )
        .group_by(a.study_instance_uid)
        .subquery()
    )
    month = _month(first.c.first_at)
    rows = await conn.execute(
        select(st.hospital_id, month.label("month"), func.count().label("count"))
        .select_from(first.join(dicom_studies, st.study_instance_uid == first.c.study_instance_uid))
        .where(st.hospital_id.in_(sorted(hospitals)), first.c.first_at >= since)
        .group_by(st.hospital_id, month)
    )
    return [dict(r) for r in rows.mappings()]


async def cross_views(conn: AsyncConnection, hospitals: Collection[str], since: datetime) -> list[dict[str, Any]]:
    """Doctors of these hospitals opening another hospital's study of a patient (检查结果互认), oldest first."""
    rows = await conn.execute(
        select(
            a.regional_patient_id,
            a.study_instance_uid,
            a.viewer_hospital_id.label("hospital_id"),
            a.at,
            cast(func.timezone(ZONE, a.at), Date).label("day"),
            _month(a.at).label("month"),
        )
        .select_from(film_accesses.join(dicom_studies, st.study_instance_uid == a.study_instance_uid))
        .where(
            a.viewer == str(Viewer.DOCTOR),
            a.action == "opened",
            a.viewer_hospital_id.in_(sorted(hospitals)),
            a.viewer_hospital_id != st.hospital_id,
            a.at >= since,
        )
        .order_by(a.at, a.id)
    )
    return [dict(r) for r in rows.mappings()]


async def exams_of(conn: AsyncConnection, regional_ids: Collection[str]) -> list[dict[str, Any]]:
    """Every series of every stored study of these regional patients: (regional_patient_id, study_instance_uid,
    hospital_id, study_date, modality, body_part). A study is a patient's when the hospital that stored it holds a
    record of theirs under its Patient ID (as cloud_film.of_patient)."""
    if not regional_ids:
        return []
    body_part = func.coalesce(
        func.jsonb_extract_path_text(cast(se.attributes, JSONB), "00180015", "Value", "0"), ""
    )  # BodyPartExamined (0018,0015) of the series, from its General Series attributes
    rows = await conn.execute(
        select(
            patient_index.c.regional_patient_id,
            st.study_instance_uid,
            st.hospital_id,
            st.study_date,
            se.modality,
            func.upper(body_part).label("body_part"),
        )
        .select_from(
            patient_index.join(patients, patients.c.id == patient_index.c.patient_ref)
            .join(dicom_studies, (st.hospital_id == patients.c.hospital_id) & (st.patient_id == patients.c.patient_id))
            .outerjoin(dicom_series, se.study_instance_uid == st.study_instance_uid)
        )
        .where(patient_index.c.regional_patient_id.in_(sorted(regional_ids)))
    )
    return [dict(r) for r in rows.mappings()]
