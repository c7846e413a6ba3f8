"""The auto-referral sweep (time-skipping): a covered study whose signal was lost (stored while Temporal was down) is
found once it has been quiet, started and signalled as the archive would have, and referred once; a study whose
workflow already runs, a study still arriving, one stored before the lookback and an uncovered hospital's are not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.archive import store_ordered_study
from tests.support.wait import wait_until
from tests.workflows.conftest import Harness
from yilian.api.workflow_client import refer_arrived
from yilian.config import Settings
from yilian.db.schema import agreements, auto_referrals, dicom_studies, hospitals, referrals, users
from yilian.domain.auto_referral import SweepInput, SweepResult, workflow_id
from yilian.workflows.auto_referral_sweep import AutoReferralSweepWorkflow

QUIET = 60  # seconds; the sweep reads the archive's (wall) clock, the auto-referral workflows the test server's
SWEEP = "h-autoref-sweep"
ORDER = {"RequestedProcedureDescription": "胸部正位片 Chest PA", "RequestingPhysician": "Niu^Jin=牛^金"}


@pytest.fixture
async def hosted(engine: AsyncEngine) -> str:
    """A fully hosted county (its agreement a day old) with one doctor."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(hospitals)
            .values(id=SWEEP, name="扫描县医院 Sweep County", level="county", patient_id_issuer="SWEEP", created_at=now)
            .on_conflict_do_nothing()
        )
        await conn.execute(
            insert(agreements)
            .values(
                id="agr-autoref-sweep",
                requesting_hospital_id=SWEEP,
                reading_hospital_id="h-provincial",
                service_mode="full_hosting",
                terms={},
                created_at=now - timedelta(days=1),
            )  # fmt: skip
            .on_conflict_do_nothing()
        )
        await conn.execute(
            insert(users)
            .values(
                id="niu.sweep",
                username="niu.sweep",
                password_hash="x",
                display_name="牛金 Niu Jin",
                role="county_doctor",
                hospital_id=SWEEP,
                created_at=now,
            )  # fmt: skip
            .on_conflict_do_nothing()
        )
    return SWEEP


async def _study(h: Harness, hospital_id: str, *, stored_ago: timedelta) -> str:
    """A study of the hospital as if its last instance had arrived `stored_ago` ago."""
    uid = await store_ordered_study(
        h.engine, h.blob_root, hospital_id, patient_id=f"SW-{uuid.uuid4().hex[:8]}", **ORDER
    )
    then = datetime.now(UTC) - stored_ago
    async with h.engine.begin() as conn:
        await conn.execute(
            update(dicom_studies)
            .where(dicom_studies.c.study_instance_uid == uid)
            .values(created_at=then, updated_at=then)
        )
    return uid


async def _decision(engine: AsyncEngine, hospital_id: str, uid: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(auto_referrals).where(
                        auto_referrals.c.hospital_id == hospital_id, auto_referrals.c.study_instance_uid == uid
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def _referrals_of(engine: AsyncEngine, uid: str) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(select(referrals.c.id).where(referrals.c.study_instance_uid == uid)))


async def _sweep(h: Harness, hospital_id: str) -> SweepResult:
    result: SweepResult = await h.env.client.execute_workflow(
        AutoReferralSweepWorkflow.run,
        SweepInput(QUIET, lookback_hours=72, hospital_id=hospital_id),
        id=f"sweep-{uuid.uuid4().hex[:8]}",
        task_queue=h.task_queue,
        result_type=SweepResult,
    )
    return result


async def test_a_study_whose_signal_was_lost_is_swept_up_once(
    harness: Harness, settings: Settings, hosted: str
) -> None:
    h = harness
    auto = settings.model_copy(update={"task_queue": h.task_queue, "auto_referral": True,
                                       "auto_referral_quiet_seconds": QUIET})  # fmt: skip
    lost = await _study(h, hosted, stored_ago=timedelta(minutes=10))  # Temporal was down: nothing was signalled
    signalled = await _study(h, hosted, stored_ago=timedelta(minutes=5))
    await refer_arrived(h.engine, h.env.client, auto, hosted, {signalled})  # its workflow runs, not yet decided
    arriving = await _study(h, hosted, stored_ago=timedelta(seconds=1))  # still within the quiet period
    too_old = await _study(h, hosted, stored_ago=timedelta(days=5))  # before the sweep's lookback
    uncovered = await _study(h, "h-qingshan", stored_ago=timedelta(minutes=10))  # difficult-only: never automatic

    first = await _sweep(h, hosted)
    h.started.append(h.env.client.get_workflow_handle(workflow_id(hosted, lost)))
    assert first.started == [workflow_id(hosted, lost)]
    assert first.running == [workflow_id(hosted, signalled)] and first.found == 2
    assert workflow_id(hosted, arriving) not in first.started  # nor the one still arriving, nor the too old one
    assert (await _sweep(h, "h-qingshan")).found == 0

    await h.sleep(seconds=QUIET + 1)
    swept = await wait_until(lambda: _decision(h.engine, hosted, lost), f"the decision on the swept study {lost}")
    assert swept["outcome"] == "referred" and swept["batches"] == 1 and swept["details"]["swept"] is True
    door = await wait_until(lambda: _decision(h.engine, hosted, signalled), f"the decision on {signalled}")
    assert door["outcome"] == "referred" and door["batches"] == 1 and "swept" not in door["details"]
    for uid in (lost, signalled):
        [rid] = await _referrals_of(h.engine, uid)
        h.started.append(h.env.client.get_workflow_handle(rid))

    # Swept again: the decided studies are not found, nothing is started twice. (The study that was still arriving
    # may be quiet by now on a slow machine, and then rightly swept: only the first sweep says it was left alone.)
    again = await _sweep(h, hosted)
    h.started.extend(h.env.client.get_workflow_handle(wid) for wid in again.started)
    assert not {workflow_id(hosted, lost), workflow_id(hosted, signalled)} & {*again.started, *again.running}
    for uid in (lost, signalled):
        assert len(await _referrals_of(h.engine, uid)) == 1
    assert await _decision(h.engine, hosted, too_old) is None and await _referrals_of(h.engine, too_old) == []
    assert await _decision(h.engine, "h-qingshan", uncovered) is None
