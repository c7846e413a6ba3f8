"""Auto-referral under hosting agreements (time-skipping): quiet period, once per study, uncovered studies left alone,
the county's correction before reading. The archive's door (`refer_arrived`) starts the workflows, as the API does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from tests.support.archive import store_ordered_study
from tests.support.wait import wait_until
from tests.workflows.conftest import LIU, WANG, ZHAO, Harness
from yilian.api.workflow_client import refer_arrived
from yilian.config import Settings
from yilian.db.schema import agreements, auto_referrals, hospitals, referrals, users
from yilian.domain.auto_referral import workflow_id
from yilian.domain.referral_io import ActorInput
from yilian.domain.roles import Actor, Role
from yilian.workflows.referral import ReferralWorkflow

QUIET = 60  # seconds
# A county hospital whose half-hosting agreement covers CT only: its DX studies are its own to read.
HALF = "h-autoref-half"
HALF_DOCTOR = "ma.autoref"
ORDER = {
    "RequestedProcedureDescription": "胸部正位片 Chest PA",
    "ReasonForTheRequestedProcedure": "咳嗽三周 cough for 3 weeks",
    "AdmittingDiagnosesDescription": "肺炎? pneumonia?",
    "RequestingPhysician": "Zhao^Qiang=赵^强",
    "RequestedProcedurePriority": "HIGH",
}


@pytest.fixture
def auto_settings(settings: Settings, harness: Harness) -> Settings:
    return settings.model_copy(
        update={"task_queue": harness.task_queue, "auto_referral": True, "auto_referral_quiet_seconds": QUIET}
    )


@pytest.fixture
async def half_hosted(engine: AsyncEngine) -> str:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(hospitals)
            .values(id=HALF, name="半托管县医院 Half County", level="county", patient_id_issuer="HALF", created_at=now)
            .on_conflict_do_nothing()
        )
        terms = {"half_hosting": {"modalities": ["CT"]}}
        await conn.execute(
            insert(agreements)
            .values(
                id="agr-autoref-half",
                requesting_hospital_id=HALF,
                reading_hospital_id="h-provincial",
                service_mode="half_hosting",
                terms=terms,
                created_at=now,
            )  # fmt: skip
            .on_conflict_do_nothing()
        )
        await conn.execute(
            insert(users)
            .values(
                id=HALF_DOCTOR,
                username=HALF_DOCTOR,
                password_hash="x",
                display_name="马超 Ma Chao",
                role="county_doctor",
                hospital_id=HALF,
                created_at=now,
            )  # fmt: skip
            .on_conflict_do_nothing()
        )
    return HALF


async def _referrals_of(engine: AsyncEngine, study: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(referrals).where(referrals.c.study_instance_uid == study))
    return [dict(r) for r in rows.mappings()]


async def _decision(engine: AsyncEngine, hospital_id: str, study: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(auto_referrals).where(
                        auto_referrals.c.hospital_id == hospital_id, auto_referrals.c.study_instance_uid == study
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def _decided(h: Harness, hospital_id: str, study: str) -> dict[str, Any]:
    row: dict[str, Any] = await wait_until(
        lambda: _decision(h.engine, hospital_id, study), f"the auto-referral decision on {study}", within=15
    )
    return row


def _patient() -> str:
    return f"AUTO-{uuid.uuid4().hex[:8]}"


async def test_refers_after_the_quiet_period_with_the_order_as_its_question(
    harness: Harness, auto_settings: Settings
) -> None:
    h = harness
    study = await store_ordered_study(h.engine, h.blob_root, "h-anping", patient_id=_patient(), **ORDER)
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-anping", {study})
    await h.sleep(seconds=QUIET - 10)
    # More of the study arrives before the quiet period ends: the wait starts again from here.
    await store_ordered_study(h.engine, h.blob_root, "h-anping", study, patient_id="ignored", **ORDER)
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-anping", {study})
    await h.sleep(seconds=QUIET - 10)
    assert await _referrals_of(h.engine, study) == []  # 100 s after the first batch, 50 s after the last
    assert await _decision(h.engine, "h-anping", study) is None

    await h.sleep(seconds=20)
    decision = await _decided(h, "h-anping", study)
    assert decision["outcome"] == "referred" and decision["batches"] == 2
    assert decision["agreement_id"] == "agr-anping" and decision["details"]["sender_named_in_order"] is True
    [ref] = await _referrals_of(h.engine, study)
    assert ref["id"] == decision["referral_id"]
    assert ref["clinical_question"] == "胸部正位片 Chest PA; 咳嗽三周 cough for 3 weeks; 肺炎? pneumonia?"
    assert (ref["modality"], ref["body_part"], ref["priority"]) == ("DX", "CHEST", "urgent")
    assert ref["submitted_by"] == "zhao.anping"  # the Requesting Physician, a doctor of the sending hospital
    h.started.append(h.env.client.get_workflow_handle(ref["id"]))  # ended with the test, as the harness does
    assert await h.offered(ref["id"])
    [submit] = await h.events(ref["id"], "submit")
    assert submit["actor_role"] == "system" and submit["details"]["auto"] is True
    assert "auto_referred" in await h.inbox(ref["id"], "zhao.anping")


async def test_never_twice_for_the_same_study(harness: Harness, auto_settings: Settings) -> None:
    h = harness
    study = await store_ordered_study(h.engine, h.blob_root, "h-anping", patient_id=_patient(), **ORDER)
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-anping", {study})
    await h.sleep(seconds=QUIET + 1)
    first = await _decided(h, "h-anping", study)
    h.started.append(h.env.client.get_workflow_handle(first["referral_id"]))
    await wait_until(
        lambda: _closed(h, workflow_id("h-anping", study)), "the auto-referral workflow to finish", within=15
    )
    # The same study again (a resend from the gateway): Temporal refuses a second run of the same id.
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-anping", {study})
    await h.sleep(seconds=QUIET + 1)
    assert len(await _referrals_of(h.engine, study)) == 1
    assert await _decision(h.engine, "h-anping", study) == first

    # A study the county already sent by hand is not sent again.
    by_hand = await store_ordered_study(h.engine, h.blob_root, "h-anping", patient_id=_patient(), **ORDER)
    await h.start(routed=False, study_instance_uid=by_hand)
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-anping", {by_hand})
    await h.sleep(seconds=QUIET + 1)
    assert (await _decided(h, "h-anping", by_hand))["outcome"] == "already_referred"
    assert len(await _referrals_of(h.engine, by_hand)) == 1


async def _closed(h: Harness, wid: str) -> bool:
    desc = await h.env.client.get_workflow_handle(wid).describe()
    return desc.close_time is not None


async def test_studies_the_agreement_does_not_cover_are_left_alone(
    harness: Harness, auto_settings: Settings, half_hosted: str
) -> None:
    h = harness
    dx = await store_ordered_study(h.engine, h.blob_root, half_hosted, patient_id=_patient(), **ORDER)
    await refer_arrived(h.engine, h.env.client, auto_settings, half_hosted, {dx})
    await h.sleep(seconds=QUIET + 1)
    decision = await _decided(h, half_hosted, dx)
    assert decision["outcome"] == "not_covered" and decision["referral_id"] is None
    assert decision["details"]["modality"] == "DX"
    assert await _referrals_of(h.engine, dx) == []

    # A hospital whose only agreement is difficult-only starts no workflow at all.
    qs = await store_ordered_study(h.engine, h.blob_root, "h-qingshan", patient_id=_patient(), **ORDER)
    await refer_arrived(h.engine, h.env.client, auto_settings, "h-qingshan", {qs})
    with pytest.raises(RPCError):
        await h.env.client.get_workflow_handle(workflow_id("h-qingshan", qs)).describe()
    async with h.engine.connect() as conn:
        n = await conn.scalar(
            select(func.count()).select_from(auto_referrals).where(auto_referrals.c.hospital_id == "h-qingshan")
        )
    assert n == 0


async def test_the_county_corrects_the_question_before_reading_starts(harness: Harness) -> None:
    h = harness
    handle = await h.start()  # offered to an expert, nobody reads it yet
    other = Actor("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan", "Sun")
    for outsider in (other, WANG, LIU):
        with pytest.raises(WorkflowUpdateFailedError):
            await h.update(handle, ReferralWorkflow.correct_question, ActorInput(outsider, "not theirs to change"))
    with pytest.raises(WorkflowUpdateFailedError):  # a question is needed
        await h.update(handle, ReferralWorkflow.correct_question, ActorInput(ZHAO, "  "))
    corrected = "咳嗽三周，发热 cough for 3 weeks, fever; 既往结核 past TB"
    result = await h.update(handle, ReferralWorkflow.correct_question, ActorInput(ZHAO, corrected))
    assert result.state == "offered"
    assert (await h.row(handle.id))["clinical_question"] == corrected
    [event] = await h.events(handle.id, "correct_question")
    assert event["details"] == {"previous": "cough", "question": corrected}

    await h.accept(handle, WANG)  # reading starts: the question is what the reader has
    with pytest.raises(WorkflowUpdateFailedError):
        await h.update(handle, ReferralWorkflow.correct_question, ActorInput(ZHAO, "too late"))
    assert (await h.row(handle.id))["clinical_question"] == corrected
