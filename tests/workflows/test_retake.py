"""A retake (影像质控): the reader sends the study back with defect reasons; the SLA pauses until the county answers,
and the new images join the same study, so the same referral reads them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError

from tests.support.archive import store_ordered_study
from tests.workflows.conftest import WANG, ZHAO, Harness
from yilian.db.schema import dicom_instances, notifications
from yilian.domain.referral_io import ActorInput, RetakeInput
from yilian.workflows.referral import ReferralWorkflow


async def _instances(h: Harness, study: str) -> int:
    async with h.engine.connect() as conn:
        n = await conn.scalar(
            select(func.count()).select_from(dicom_instances).where(dicom_instances.c.study_instance_uid == study)
        )
    return int(n or 0)


async def test_a_retake_pauses_the_clock_and_the_new_images_join_the_same_referral(harness: Harness) -> None:
    h = harness
    handle = await h.start()
    rid = handle.id
    study = (await h.row(rid))["study_instance_uid"]
    await h.accept(handle, WANG)
    await h.sleep(hours=12)
    for bad in (
        RetakeInput(WANG, [], "retake"),
        RetakeInput(WANG, ["blur"], "retake"),
        RetakeInput(WANG, ["motion"], " "),
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await h.update(handle, ReferralWorkflow.request_retake, bad)
    with pytest.raises(WorkflowUpdateFailedError):  # only the reader sends it back
        await h.update(handle, ReferralWorkflow.request_retake, RetakeInput(ZHAO, ["motion"], "retake"))

    ask = "请屏气后重拍 / retake holding the breath"
    result = await h.update(handle, ReferralWorkflow.request_retake, RetakeInput(WANG, ["motion", "positioning"], ask))
    assert result.state == "needs_info"
    row = await h.row(rid)
    assert row["sla_paused"] and row["sla_due_at"] is None
    [event] = await h.events(rid, "request_retake")
    assert event["details"]["reasons"] == ["motion", "positioning"] and event["details"]["request"] == ask
    async with h.engine.connect() as conn:
        params = await conn.scalar(
            select(notifications.c.params).where(
                notifications.c.referral_id == rid, notifications.c.kind == "retake_requested",
                notifications.c.recipient_id == "zhao.anping",
            )
        )  # fmt: skip
    assert params is not None and params["reasons"] == "motion,positioning" and params["study_instance_uid"] == study

    await h.sleep(hours=48)  # the county shoots again two days later: no warning while paused
    assert not (await h.row(rid))["warned"]
    before = await _instances(h, study)
    await store_ordered_study(h.engine, h.blob_root, "h-anping", study)  # the new images, same study
    await h.update(handle, ReferralWorkflow.provide_info, ActorInput(ZHAO, "已重拍 / retaken"))
    row = await h.row(rid)
    assert row["state"] == "in_reading" and not row["sla_paused"] and row["reader_id"] == "wang.expert"
    assert row["study_instance_uid"] == study and await _instances(h, study) == before + 1
    await h.sleep(hours=5, minutes=58)  # 17:58 of running time: the paused two days did not count
    assert not (await h.row(rid))["warned"]
    await h.sleep(minutes=3)
    assert (await h.row(rid))["warned"]
