"""Auto-referral: the study as the order describes it, the hospital's doctors, and the decision on each study."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import (
    agreements,
    auto_referrals,
    dicom_instances,
    dicom_series,
    dicom_studies,
    in_house_readings,
    referrals,
    users,
)
from yilian.domain.auto_referral import AUTO_MODES, AutoOutcome, RecordAutoInput
from yilian.domain.roles import Role


async def study_of(
    conn: AsyncConnection, hospital_id: str, study_instance_uid: str
) -> tuple[dict[str, Any], list[str]]:
    """One instance's DICOM JSON (the first of the first series) and the series' modalities in series order, of a
    study the hospital sent; ({}, []) when the archive holds none of it."""
    series = (
        select(dicom_series.c.series_instance_uid, dicom_series.c.modality)
        .select_from(
            dicom_series.join(dicom_studies, dicom_studies.c.study_instance_uid == dicom_series.c.study_instance_uid)
        )
        .where(dicom_studies.c.study_instance_uid == study_instance_uid, dicom_studies.c.hospital_id == hospital_id)
        .order_by(dicom_series.c.series_number.nulls_last(), dicom_series.c.series_instance_uid)
    )
    rows = (await conn.execute(series)).all()
    if not rows:
        return {}, []
    first = await conn.scalar(
        select(dicom_instances.c.metadata)
        .where(dicom_instances.c.series_instance_uid == rows[0][0])
        .order_by(dicom_instances.c.instance_number.nulls_last(), dicom_instances.c.sop_instance_uid)
        .limit(1)
    )
    attrs = first if isinstance(first, dict) else json.loads(first or "{}")
    return attrs, [str(r[1] or "") for r in rows]


async def referral_of_study(conn: AsyncConnection, hospital_id: str, study_instance_uid: str) -> str | None:
    """A referral the hospital already sent for this study (by hand, or an earlier auto-referral)."""
    found = await conn.scalar(
        select(referrals.c.id)
        .where(referrals.c.requesting_hospital_id == hospital_id, referrals.c.study_instance_uid == study_instance_uid)
        .limit(1)
    )
    if found is not None:
        return str(found)
    earlier = await conn.scalar(
        select(auto_referrals.c.referral_id).where(
            auto_referrals.c.hospital_id == hospital_id,
            auto_referrals.c.study_instance_uid == study_instance_uid,
            auto_referrals.c.referral_id.is_not(None),
        )
    )
    return None if earlier is None else str(earlier)


async def county_doctors(conn: AsyncConnection, hospital_id: str) -> list[dict[str, Any]]:
    """The hospital's active county doctors, in id order: who may answer for an auto-referred case."""
    rows = await conn.execute(
        select(users.c.id, users.c.username, users.c.display_name)
        .where(users.c.hospital_id == hospital_id, users.c.role == str(Role.COUNTY_DOCTOR), users.c.active.is_(True))
        .order_by(users.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def record_decision(conn: AsyncConnection, d: RecordAutoInput) -> bool:
    """The decision on one study, written once (a retried activity changes nothing); True if it was new."""
    stmt = (
        insert(auto_referrals)
        .values(
            hospital_id=d.hospital_id,
            study_instance_uid=d.study_instance_uid,
            outcome=str(d.outcome),
            referral_id=d.referral_id if d.outcome is AutoOutcome.REFERRED else None,
            agreement_id=d.agreement_id,
            batches=d.batches,
            decided_at=d.at,
            details=d.details or {},
        )
        .on_conflict_do_nothing()
        .returning(auto_referrals.c.study_instance_uid)
    )
    return (await conn.execute(stmt)).first() is not None


async def decisions(conn: AsyncConnection, hospital_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The hospital's latest decisions, newest first."""
    rows = await conn.execute(
        select(auto_referrals)
        .where(auto_referrals.c.hospital_id == hospital_id)
        .order_by(auto_referrals.c.decided_at.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


async def unreferred_studies(
    conn: AsyncConnection,
    *,
    quiet_before: datetime,
    stored_since: datetime,
    limit: int,
    hospital_id: str | None = None,
) -> list[tuple[str, str]]:
    """(hospital, study) of studies with no auto-referral decision and no referral, of hospitals with an active hosting
    agreement, or an in-house reading policy that reads arriving studies, made before the study arrived: first stored
    since `stored_since`, nothing more of them since `quiet_before`; the oldest first."""
    s, a, ar, r = dicom_studies.c, agreements.c, auto_referrals.c, referrals.c
    hosted = exists(
        select(1).where(
            a.requesting_hospital_id == s.hospital_id,
            a.active.is_(True),
            a.service_mode.in_(sorted(str(m) for m in AUTO_MODES)),
            a.created_at <= s.created_at,
        )
    )
    ih = in_house_readings.c
    reads_itself = exists(
        select(1).where(
            ih.hospital_id == s.hospital_id, ih.enabled.is_(True), ih.auto_read.is_(True), ih.created_at <= s.created_at
        )
    )
    decided = exists(select(1).where(ar.hospital_id == s.hospital_id, ar.study_instance_uid == s.study_instance_uid))
    sent = exists(
        select(1).where(r.requesting_hospital_id == s.hospital_id, r.study_instance_uid == s.study_instance_uid)
    )
    stmt = select(s.hospital_id, s.study_instance_uid).where(
        or_(hosted, reads_itself), ~decided, ~sent, s.updated_at < quiet_before, s.created_at >= stored_since
    )
    if hospital_id is not None:
        stmt = stmt.where(s.hospital_id == hospital_id)
    rows = await conn.execute(stmt.order_by(s.created_at, s.study_instance_uid).limit(limit))
    return [(str(h), str(uid)) for h, uid in rows]
