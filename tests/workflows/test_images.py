"""A referral submitted before its images arrive waits for them, SLA paused, then routes on its own."""

from __future__ import annotations

from pydicom.uid import generate_uid

from tests.support.archive import store_study
from tests.workflows.conftest import Harness
from yilian.workflows.referral import IMAGES_RECHECK, ReferralWorkflow


async def test_waits_for_its_images_then_routes_when_signalled(harness: Harness) -> None:
    study = generate_uid()
    h = await harness.start(routed=False, study_instance_uid=study)
    row = await harness.wait_row(h.id, lambda r: r["state"] == "awaiting_images")
    assert row["sla_paused"] is True and row["offered_to"] is None
    await harness.sleep(hours=30)  # no warning, no breach: there is nothing to read yet
    assert (await harness.row(h.id))["warned"] is False

    await store_study(harness.engine, harness.blob_root, "h-anping", study_uid=study)
    await h.signal(ReferralWorkflow.images_arrived)
    row = await harness.wait_row(h.id, lambda r: r["state"] == "offered")
    assert row["sla_paused"] is False
    assert (await harness.actions(h.id))[:4] == ["submit", "await_images", "images_arrived", "offer"]


async def test_a_lost_signal_only_delays_routing_until_the_recheck(harness: Harness) -> None:
    study = generate_uid()
    h = await harness.start(routed=False, study_instance_uid=study)
    await harness.wait_row(h.id, lambda r: r["state"] == "awaiting_images")
    await store_study(harness.engine, harness.blob_root, "h-anping", study_uid=study)  # and no signal
    await harness.sleep(seconds=IMAGES_RECHECK.total_seconds() + 1)
    await harness.wait_row(h.id, lambda r: r["state"] == "offered")


async def test_another_hospitals_study_of_that_uid_does_not_count(harness: Harness) -> None:
    study = generate_uid()
    await store_study(harness.engine, harness.blob_root, "h-qingshan", study_uid=study)
    h = await harness.start(routed=False, study_instance_uid=study)  # the case is from h-anping
    await harness.wait_row(h.id, lambda r: r["state"] == "awaiting_images")
