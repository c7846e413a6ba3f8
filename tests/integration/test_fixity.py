"""Fixity end to end on the real dev server: the worker's daily schedule, triggered now, finds a corrupted blob,
records it, tells the coordinators, and doctor says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.archive import store_study
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.schema import dicom_instances, fixity_failures, fixity_runs, notifications
from yilian.imaging.blob import FilesystemBlobStore
from yilian.runtime import doctor
from yilian.worker import ensure_fixity_schedule

pytestmark = pytest.mark.integration


async def _instance(engine: AsyncEngine, study_uid: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(dicom_instances).where(dicom_instances.c.study_instance_uid == study_uid))
        ).mappings().one()  # fmt: skip
    return dict(row)


async def test_the_daily_schedule_finds_a_corrupted_blob(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> None:
    root = Path(settings.storage_url.removeprefix("file://"))
    corrupted_study = await store_study(engine, root, "h-anping", patient_id="FIX-1")
    healthy_study = await store_study(engine, root, "h-anping", patient_id="FIX-2")
    corrupted, healthy = await _instance(engine, corrupted_study), await _instance(engine, healthy_study)
    path = FilesystemBlobStore(root).path(corrupted["blob_key"])
    stored = path.read_bytes()
    path.write_bytes(stored[:-1] + bytes([stored[-1] ^ 0xFF]))  # one byte flipped on disk, behind the archive's back

    everything = settings.model_copy(update={"fixity_sample_size": 1_000_000})
    handle = await ensure_fixity_schedule(temporal_client, everything)
    assert handle is not None
    try:
        assert await ensure_fixity_schedule(temporal_client, everything) is not None  # a second worker: no error
        described = await handle.describe()
        [interval] = described.schedule.spec.intervals
        assert interval.every == timedelta(days=1)
        await handle.trigger()
        run = await wait_until(
            lambda: _failure(engine, corrupted["sop_instance_uid"]), "the fixity run to record the corrupted blob"
        )
    finally:
        await handle.delete()

    assert run["expected_sha256"] == corrupted["sha256"] and run["found_sha256"] not in (None, corrupted["sha256"])
    assert await _failure(engine, healthy["sop_instance_uid"]) is None
    async with engine.connect() as conn:
        recorded = (await conn.execute(select(fixity_runs).where(fixity_runs.c.run_id == run["run_id"]))).one()
        told = (
            await conn.execute(
                select(notifications.c.recipient_id, notifications.c.params)
                .where(notifications.c.kind == "fixity_mismatch")
            )
        ).all()  # fmt: skip
        checked_at = (await _instance(engine, healthy_study))["fixity_checked_at"]
    assert recorded.checked >= 2 and recorded.failed >= 1 and checked_at is not None
    assert ("liu.coord", run["run_id"]) in {(r[0], r[1]["run_id"]) for r in told}

    [fixity] = [c for c in await doctor.check(settings) if c.name == "Fixity"]
    assert not fixity.ok and "no longer match the SHA-256 recorded at ingest" in fixity.detail


async def _failure(engine: AsyncEngine, sop_instance_uid: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(fixity_failures).where(fixity_failures.c.sop_instance_uid == sop_instance_uid))
        ).mappings().first()  # fmt: skip
    return dict(row) if row else None
