"""Fixity: the daily sample, the run's record and its findings, and what doctor reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import dicom_instances, dicom_studies, fixity_failures, fixity_runs


async def sample(conn: AsyncConnection, size: int) -> list[dict[str, Any]]:
    """The `size` instances checked least recently (never checked first), random among equals."""
    rows = await conn.execute(
        select(
            dicom_instances.c.sop_instance_uid,
            dicom_instances.c.study_instance_uid,
            dicom_instances.c.blob_key,
            dicom_instances.c.sha256,
            dicom_studies.c.hospital_id,
        )
        .join(dicom_studies, dicom_studies.c.study_instance_uid == dicom_instances.c.study_instance_uid)
        .order_by(dicom_instances.c.fixity_checked_at.asc().nulls_first(), func.random())
        .limit(size)
    )
    return [dict(r) for r in rows.mappings()]


async def run(conn: AsyncConnection, run_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(fixity_runs).where(fixity_runs.c.run_id == run_id))).mappings().first()
    return dict(row) if row else None


async def failures_of(conn: AsyncConnection, run_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(fixity_failures).where(fixity_failures.c.run_id == run_id).order_by(fixity_failures.c.sop_instance_uid)
    )
    return [dict(r) for r in rows.mappings()]


async def record_run(
    conn: AsyncConnection, run_id: str, at: datetime, checked: list[str], failures: list[dict[str, Any]]
) -> bool:
    """The run, its failures and each checked instance's time, in the caller's transaction; False if the run was
    recorded already (a retried activity)."""
    inserted = await conn.execute(
        insert(fixity_runs)
        .values(run_id=run_id, started_at=at, checked=len(checked), failed=len(failures))
        .on_conflict_do_nothing()
        .returning(fixity_runs.c.run_id)
    )
    if inserted.first() is None:
        return False
    if failures:
        await conn.execute(insert(fixity_failures), [{"run_id": run_id, "detected_at": at, **f} for f in failures])
    if checked:
        await conn.execute(
            update(dicom_instances).where(dicom_instances.c.sop_instance_uid.in_(checked)).values(fixity_checked_at=at)
        )
    return True


async def latest_run(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(select(fixity_runs).order_by(fixity_runs.c.started_at.desc()).limit(1))).mappings()
    found = row.first()
    return dict(found) if found else None


async def still_failing(conn: AsyncConnection) -> int:
    """Instances whose latest check failed (a later good check clears them)."""
    last = (
        select(fixity_failures.c.sop_instance_uid, func.max(fixity_failures.c.detected_at).label("at"))
        .group_by(fixity_failures.c.sop_instance_uid)
        .subquery()
    )
    count = await conn.scalar(
        select(func.count())
        .select_from(last.join(dicom_instances, dicom_instances.c.sop_instance_uid == last.c.sop_instance_uid))
        .where((dicom_instances.c.fixity_checked_at.is_(None)) | (dicom_instances.c.fixity_checked_at <= last.c.at))
    )
    return int(count or 0)
