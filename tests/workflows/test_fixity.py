"""FixityWorkflow on the time-skipping server with the real activity, PostgreSQL and the session's blob store."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from tests.support.archive import store_study
from tests.workflows.conftest import Harness
from yilian.config import Settings
from yilian.db.schema import dicom_instances, fixity_runs
from yilian.domain.fixity import FixityInput, FixityOutcome
from yilian.imaging.blob import FilesystemBlobStore
from yilian.workflows.fixity import FixityWorkflow


async def test_a_missing_blob_is_found_once_and_a_rerun_of_the_same_run_does_not_sample_again(
    harness: Harness, settings: Settings
) -> None:
    root = Path(settings.storage_url.removeprefix("file://"))
    study = await store_study(harness.engine, root, "h-anping", patient_id="FIX-TS")
    async with harness.engine.connect() as conn:
        sop, key = (
            await conn.execute(
                select(dicom_instances.c.sop_instance_uid, dicom_instances.c.blob_key)
                .where(dicom_instances.c.study_instance_uid == study)
            )
        ).one()  # fmt: skip
        total = await conn.scalar(select(func.count()).select_from(dicom_instances))
    FilesystemBlobStore(root).delete(key)

    run_id = f"fixity-{uuid.uuid4().hex[:8]}"
    client = harness.env.client
    first: FixityOutcome = await client.execute_workflow(
        FixityWorkflow.run, FixityInput(total or 1), id=run_id, task_queue=harness.task_queue
    )
    assert first.run_id == run_id and first.checked == total and sop in first.failed
    # The same run again (a retried activity, or the workflow id reused): the record stands, nothing re-sampled.
    again: FixityOutcome = await client.execute_workflow(
        FixityWorkflow.run, FixityInput(1), id=run_id, task_queue=harness.task_queue
    )
    assert again == first
    async with harness.engine.connect() as conn:
        runs = select(func.count()).select_from(fixity_runs).where(fixity_runs.c.run_id == run_id)
        assert await conn.scalar(runs) == 1
