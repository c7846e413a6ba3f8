"""In-house reading (本院写片) under time skipping: a hospital's own readers read its own cases under its policy.

Cases are submitted through the API's submission service (which picks the policy or an agreement) and arrive through
the archive's door (auto_read), on the real worker, activities and PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from tests.support.api import REPORT
from tests.support.archive import store_ordered_study, store_study
from tests.support.in_house import ReadsItself, make_reads_itself, set_policy
from tests.support.wait import wait_until
from tests.workflows.conftest import CHEN, Harness
from yilian.api import referral_service as service
from yilian.api.workflow_client import ReferralCommands, refer_arrived
from yilian.config import Settings
from yilian.domain.agreement import CaseTerms, Priority, SecondReadingPolicy, SlaTargets
from yilian.domain.errors import YilianError
from yilian.domain.in_house import InHousePolicy
from yilian.domain.referral_io import ActorInput, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.workflows.referral import ReferralWorkflow

CONTENT = ReportContent(REPORT["findings"], REPORT["impression"], dict(REPORT["structured"]))
# Routine in-house reads are due in an hour here (agreements' default: a day), and a case is nobody's else to take.
TERMS = CaseTerms(sla=SlaTargets(15, 30, 60), offer_timeout_minutes=10, auto_reassign=False)
QUIET = 60


def _submission(study: str, modality: str = "CT", **overrides: Any) -> service.Submission:
    patient = service.PatientDetails(f"IH-{uuid.uuid4().hex[:8]}", None, "孙权 Sun Quan", date(1970, 2, 3), "M")
    base: dict[str, Any] = dict(
        patient=patient, study_instance_uid=study, modality=modality, body_part="CHEST",
        clinical_question="胸痛 chest pain", priority=Priority.ROUTINE, difficult=False, overflow=False,
        reading_hospital_id=None,
    )  # fmt: skip
    base.update(overrides)
    return service.Submission(**base)


async def _submit(h: Harness, who: ReadsItself, sub: service.Submission) -> WorkflowHandle[Any, Any]:
    result = await service.submit(
        h.engine, ReferralCommands(h.env.client, h.task_queue), who.doctor, sub, datetime.now(UTC), share_link_days=30
    )
    handle = h.env.client.get_workflow_handle(result.referral_id)
    h.started.append(handle)
    return handle


@pytest.fixture
async def reads_itself(harness: Harness) -> ReadsItself:
    return await make_reads_itself(harness.engine)


async def test_an_in_house_case_is_read_and_second_read_by_the_hospitals_own_people(
    harness: Harness, reads_itself: ReadsItself
) -> None:
    h, ih = harness, reads_itself
    # Only the generalist is named: routing would otherwise offer a chest CT to the chest subspecialist first.
    await set_policy(
        h.engine,
        InHousePolicy(ih.hospital, modalities=frozenset({"CT"}), reader_ids=(ih.generalist.user_id,), terms=TERMS),
    )
    study = await store_study(h.engine, h.blob_root, ih.hospital)
    handle = await _submit(h, ih, _submission(study))
    rid = handle.id
    assert await h.offered(rid) == ih.generalist.user_id
    row = await h.row(rid)
    assert (row["requesting_hospital_id"], row["reading_hospital_id"], row["agreement_id"]) == (
        ih.hospital, ih.hospital, None
    )  # fmt: skip
    assert row["sla_target_minutes"] == 60  # the policy's routine target, not an agreement's
    await h.accept(handle, ih.generalist)

    # The policy's SLA slips: warned at 45 minutes, breached at 60, and the hospital's coordinator is told.
    await h.sleep(minutes=44)
    assert not (await h.row(rid))["warned"]
    await h.sleep(minutes=2)
    assert (await h.row(rid))["warned"]
    assert "sla_warning" in await h.inbox(rid, ih.generalist.user_id)
    await h.sleep(minutes=15)
    row = await h.row(rid)
    assert row["breached"] and row["reader_id"] == ih.generalist.user_id
    assert "sla_breach" in await h.inbox(rid, ih.coordinator.user_id)
    assert "sla_breach" not in await h.inbox(rid, "liu.coord")  # the alliance's coordinator elsewhere is not

    await h.update(handle, ReferralWorkflow.submit_preliminary, ReportInput(ih.generalist, CONTENT))
    await h.wait_state(rid, "preliminary")
    assert "second_reading" in await h.inbox(rid, ih.senior.user_id)
    # A senior of another hospital is no second reader of this hospital's own case.
    with pytest.raises(WorkflowUpdateFailedError):
        await h.update(handle, ReferralWorkflow.approve, ReviewInput(CHEN, Discrepancy.AGREE))
    await h.update(handle, ReferralWorkflow.approve, ReviewInput(ih.senior, Discrepancy.AGREE))
    row = await h.wait_state(rid, "returned")
    assert row["second_reader_id"] == ih.senior.user_id and row["signer_id"] == ih.senior.user_id
    assert "report_ready" in await h.inbox(rid, ih.doctor.user_id)
    assert await h.actions(rid) == [
        "submit", "offer", "accept", "sla_warn", "sla_breach", "submit_preliminary", "approve", "return"
    ]  # fmt: skip
    await h.update(handle, ReferralWorkflow.acknowledge_receipt, ActorInput(ih.doctor))
    assert (await h.row(rid))["state"] == "closed"


async def test_the_policys_second_reading_rule_decides(harness: Harness, reads_itself: ReadsItself) -> None:
    h, ih = harness, reads_itself
    never = replace(TERMS, second_reading=SecondReadingPolicy.NEVER)
    await set_policy(h.engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT", "MR"}), terms=never))
    handle = await _submit(h, ih, _submission(await store_study(h.engine, h.blob_root, ih.hospital)))
    reader = await h.offered(handle.id)
    assert reader == ih.chest.user_id  # nobody named: every reader of the hospital, the best fit first
    await h.accept(handle, ih.chest)
    await h.update(handle, ReferralWorkflow.submit_preliminary, ReportInput(ih.chest, CONTENT))
    row = await h.wait_state(handle.id, "returned")
    assert row["signer_id"] == ih.chest.user_id and row["second_reader_id"] is None
    assert await h.actions(handle.id) == ["submit", "offer", "accept", "submit_preliminary", "finalize", "return"]


async def test_a_modality_the_policy_does_not_cover_is_no_in_house_case(
    harness: Harness, reads_itself: ReadsItself
) -> None:
    h, ih = harness, reads_itself
    await set_policy(h.engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"}), terms=TERMS))
    study = await store_study(h.engine, h.blob_root, ih.hospital)
    with pytest.raises(YilianError) as refused:  # a tertiary hospital without agreements: nothing else reads MR
        await _submit(h, ih, _submission(study, "MR"))
    assert refused.value.code == "not_covered_by_agreement"
    with pytest.raises(YilianError) as named:  # naming their own hospital does not make it one
        await _submit(h, ih, _submission(study, "MR", reading_hospital_id=ih.hospital))
    assert "does not read MR in-house" in named.value.message
    await set_policy(h.engine, InHousePolicy(ih.hospital, enabled=False, modalities=frozenset({"CT"}), terms=TERMS))
    with pytest.raises(YilianError):  # switched off: CT is not read in-house either
        await _submit(h, ih, _submission(study, "CT"))


async def test_the_policy_wins_for_its_modalities_unless_the_doctor_refers_out(harness: Harness) -> None:
    h = harness
    ih = await make_reads_itself(h.engine, level="county", agreement_mode="full_hosting")
    await set_policy(h.engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"}), terms=TERMS))
    study = await store_study(h.engine, h.blob_root, ih.hospital)

    cases = {
        "CT": _submission(study),  # the policy's modality: read in-house
        "CT named out": _submission(study, reading_hospital_id="h-provincial"),  # the doctor refers it out
        "CT overflow": _submission(study, overflow=True),  # "our own readers are overloaded"
        "DX": _submission(study, "DX"),  # not the policy's: the full-hosting agreement sends it out
    }
    rows = {}
    for name, sub in cases.items():
        handle = await _submit(h, ih, sub)
        rows[name] = await h.row(handle.id)  # written with the submission: where it is read, and under what
    assert (rows["CT"]["reading_hospital_id"], rows["CT"]["agreement_id"]) == (ih.hospital, None)
    for name in ("CT named out", "CT overflow", "DX"):
        assert (rows[name]["reading_hospital_id"], rows[name]["agreement_id"]) == ("h-provincial", ih.agreement), name


async def test_auto_read_makes_covered_arrivals_in_house_cases_and_leaves_the_rest(
    harness: Harness, reads_itself: ReadsItself, settings: Settings
) -> None:
    h, ih = harness, reads_itself
    auto = settings.model_copy(
        update={"task_queue": h.task_queue, "auto_referral": True, "auto_referral_quiet_seconds": QUIET}
    )
    await set_policy(
        h.engine,
        InHousePolicy(ih.hospital, modalities=frozenset({"CT"}), reader_ids=(ih.generalist.user_id,), terms=TERMS,
                      auto_read=True),
    )  # fmt: skip
    order = {"RequestingPhysician": "Lin", "ReasonForTheRequestedProcedure": "胸痛 chest pain"}
    ct = await store_ordered_study(h.engine, h.blob_root, ih.hospital, patient_id="IH-CT", Modality="CT", **order)
    dx = await store_ordered_study(h.engine, h.blob_root, ih.hospital, patient_id="IH-DX", **order)
    await refer_arrived(h.engine, h.env.client, auto, ih.hospital, {ct, dx})
    await h.sleep(seconds=QUIET + 5)

    decided = await wait_until(
        lambda: _decisions(h, ih.hospital), "both auto-referral decisions", ok=lambda d: len(d) == 2, within=15
    )
    by_study = {d["study_instance_uid"]: d for d in decided}
    assert by_study[dx]["outcome"] == "not_covered" and by_study[dx]["referral_id"] is None
    assert by_study[ct]["outcome"] == "referred" and by_study[ct]["agreement_id"] is None
    assert by_study[ct]["details"]["in_house"] == "auto_read"
    rid = by_study[ct]["referral_id"]
    h.started.append(h.env.client.get_workflow_handle(rid))
    assert await h.offered(rid) == ih.generalist.user_id
    row = await h.row(rid)
    assert (row["reading_hospital_id"], row["submitted_by"], row["modality"]) == (ih.hospital, ih.doctor.user_id, "CT")


async def test_without_auto_read_arrivals_wait_for_a_doctor(harness: Harness, settings: Settings) -> None:
    """A county that reads CT itself and has full hosting: its CT studies do not go out by themselves."""
    h = harness
    ih = await make_reads_itself(h.engine, level="county", agreement_mode="full_hosting")
    auto = settings.model_copy(
        update={"task_queue": h.task_queue, "auto_referral": True, "auto_referral_quiet_seconds": QUIET}
    )
    await set_policy(h.engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"}), terms=TERMS))
    ct = await store_ordered_study(h.engine, h.blob_root, ih.hospital, patient_id="IH-CT2", Modality="CT")
    await refer_arrived(h.engine, h.env.client, auto, ih.hospital, {ct})
    await h.sleep(seconds=QUIET + 5)
    [decision] = await wait_until(lambda: _decisions(h, ih.hospital), "the decision", ok=bool, within=15)
    assert decision["outcome"] == "not_covered" and decision["details"]["in_house"] == "on_request"


async def _decisions(h: Harness, hospital_id: str) -> list[dict[str, Any]]:
    from yilian.db.queries.auto_referral import decisions

    async with h.engine.connect() as conn:
        return await decisions(conn, hospital_id)
