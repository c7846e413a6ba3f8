"""A referral submitted before its images arrive waits for them, SLA paused, then routes on its own."""

from __future__ import annotations

from typing import Any

from pydicom.uid import generate_uid
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from tests.support.archive import store_study
from tests.support.wait import wait_until
from tests.workflows.conftest import Harness
from yilian.domain.referral_io import ActivityName
from yilian.workflows.referral import IMAGES_RECHECK, ReferralWorkflow


async def test_waits_for_its_images_then_routes_when_signalled(harness: Harness) -> None:
    study = generate_uid()
    h = await harness.start(routed=False, study_instance_uid=study)
    row = await harness.wait_state(h.id, "awaiting_images")
    assert row["sla_paused"] is True and row["offered_to"] is None
    await harness.sleep(hours=30)  # no warning, no breach: there is nothing to read yet
    assert (await harness.row(h.id))["warned"] is False

    await store_study(harness.engine, harness.blob_root, "h-anping", study_uid=study)
    await h.signal(ReferralWorkflow.images_arrived)
    row = await harness.wait_state(h.id, "offered")
    assert row["sla_paused"] is False
    assert (await harness.actions(h.id))[:4] == ["submit", "await_images", "images_arrived", "offer"]


async def test_a_lost_signal_only_delays_routing_until_the_recheck(harness: Harness) -> None:
    study = generate_uid()
    h = await harness.start(routed=False, study_instance_uid=study)
    await harness.wait_state(h.id, "awaiting_images")
    await store_study(harness.engine, harness.blob_root, "h-anping", study_uid=study)  # and no signal
    assert (await harness.row(h.id))["state"] == "awaiting_images"  # nothing told the case yet
    await harness.sleep(seconds=IMAGES_RECHECK.total_seconds() + 1)
    row = await harness.wait_state(h.id, "offered")
    assert row["offered_to"] == "wang.expert" and row["sla_paused"] is False
    assert (await harness.actions(h.id))[:4] == ["submit", "await_images", "images_arrived", "offer"]


async def test_another_hospitals_study_of_that_uid_does_not_count(harness: Harness) -> None:
    study = generate_uid()
    await store_study(harness.engine, harness.blob_root, "h-qingshan", study_uid=study)
    h = await harness.start(routed=False, study_instance_uid=study)  # the case is from h-anping
    await harness.wait_state(h.id, "awaiting_images")
    # The archive signals every case waiting for that UID, whoever stored it: the case looks again and must
    # still find no study of its own hospital.
    await h.signal(ReferralWorkflow.images_arrived)
    checks, scheduled_since = await wait_until(
        lambda: _images_checks(h), "the case to act on a second images check", ok=lambda c: c[0] >= 2, within=10
    )
    assert checks == 2 and scheduled_since == []  # no step recorded, no routing
    row = await harness.row(h.id)
    assert row["state"] == "awaiting_images" and row["sla_paused"] is True and row["offered_to"] is None
    assert await harness.actions(h.id) == ["submit", "await_images"]


async def _images_checks(handle: WorkflowHandle[Any, Any]) -> tuple[int, list[str]]:
    """How many `study_arrived` answers the workflow has acted on (a workflow task completed after the
    answer), and the activities it scheduled since it acted on the last one."""
    checks, answered, since = 0, False, []
    names: dict[int, str] = {}
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
            since.append(names[e.event_id])
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = e.activity_task_completed_event_attributes.scheduled_event_id
            answered = answered or names[scheduled] == ActivityName.STUDY_ARRIVED
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and answered:
            checks, answered, since = checks + 1, False, []
    return checks, since
