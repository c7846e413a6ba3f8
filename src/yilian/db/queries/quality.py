"""Image quality control: the grades readers give (written by the referral's step) and the scorecards' rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import dicom_instances, quality_grades, referrals
from yilian.domain.referral_io import QualityRecordInput

OPERATORS_NAME = "00081070"


async def _technician(conn: AsyncConnection, study_instance_uid: str) -> str:
    """Operators' Name (0008,1070) of the study's first instance that carries one; '' when none does."""
    rows = await conn.scalars(
        select(dicom_instances.c.metadata).where(dicom_instances.c.study_instance_uid == study_instance_uid).limit(20)
    )
    for raw in rows:
        attrs = raw if isinstance(raw, dict) else json.loads(raw or "{}")
        for value in attrs.get(OPERATORS_NAME, {}).get("Value") or []:
            name = value.get("Alphabetic", "") if isinstance(value, dict) else str(value)
            if name.strip():
                return name.replace("^", " ").strip()
    return ""


async def save_grade(conn: AsyncConnection, q: QualityRecordInput) -> None:
    """Write the case's grade; a newer one replaces it, a retried older one does not."""
    values = {
        "referral_id": q.referral_id,
        "requesting_hospital_id": q.requesting_hospital_id,
        "study_instance_uid": q.study_instance_uid,
        "technician": await _technician(conn, q.study_instance_uid),
        "modality": q.modality,
        "scale": q.scale,
        "grade": q.grade,
        "good": q.good,
        "reasons": q.reasons,
        "reader_id": q.reader_id,
        "graded_at": q.at,
    }
    stmt = insert(quality_grades).values(values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[quality_grades.c.referral_id],
            set_={k: stmt.excluded[k] for k in values if k != "referral_id"},
            where=quality_grades.c.graded_at <= stmt.excluded.graded_at,
        )
    )


async def grade_rows(
    conn: AsyncConnection, scope: ColumnElement[bool], by: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """(subject, month, good, reasons) of the grades of the cases in `scope`; subject is the sending hospital, or
    'hospital / technician' with `by='technician'`."""
    g = quality_grades.c
    subject = g.requesting_hospital_id if by == "hospital" else g.requesting_hospital_id + " / " + g.technician
    rows = await conn.execute(
        select(
            subject.label("subject"),
            func.to_char(func.timezone("Asia/Shanghai", g.graded_at), "YYYY-MM").label("month"),
            g.good,
            g.reasons,
        )
        .select_from(quality_grades.join(referrals, referrals.c.id == g.referral_id))
        .where(scope, g.graded_at >= since, g.graded_at < until)
    )
    return [dict(r) for r in rows.mappings()]
