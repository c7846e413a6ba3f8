"""Auto-referral rules: what the order attributes say, which agreements refer by themselves, the ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydicom.dataset import Dataset

from tests.support.archive import with_order
from tests.support.dicom_gen import dx_image
from yilian.dicom.json import to_dicom_json
from yilian.domain.agreement import Agreement, AgreementTerms, HalfHostingRules, Priority, ServiceMode
from yilian.domain.auto_referral import (
    auto_agreement,
    birth_from_age,
    order_facts,
    priority_of,
    referral_id,
    refers_automatically,
    same_person,
    workflow_id,
)

AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Asia/Shanghai


def _attrs(**order: str) -> dict[str, object]:
    [ds] = dx_image(rows=8, cols=8, patient_id="P-ORDER", study_uid="1.2.3.99")
    return to_dicom_json(with_order(ds, **order))


def test_the_question_joins_the_order_attributes_once_each() -> None:
    attrs = _attrs(
        RequestedProcedureDescription="胸部CT平扫 Chest CT",
        ReasonForTheRequestedProcedure="咯血 haemoptysis",
        AdmittingDiagnosesDescription="咯血 haemoptysis",
        RequestingPhysician="Zhao^Qiang=赵^强",
        RequestedProcedurePriority="STAT",
    )
    facts = order_facts(attrs, ["DX"], AT.date())
    assert facts.clinical_question == "胸部CT平扫 Chest CT; 咯血 haemoptysis"
    assert facts.priority is Priority.STAT
    assert (facts.patient_id, facts.issuer, facts.sex, facts.birth_date) == (
        "P-ORDER", "COUNTY-HOSPITAL", "M", date(1965, 4, 12)
    )  # fmt: skip
    assert (facts.modality, facts.body_part) == ("DX", "CHEST")
    assert facts.requesting_physician == "赵 强 Zhao Qiang"
    assert same_person(facts.requesting_physician, "赵强 Zhao Qiang", "zhao.anping")
    assert not same_person(facts.requesting_physician, "孙丽 Sun Li", "sun.qingshan")
    assert not same_person("", "孙丽 Sun Li", "sun.qingshan")


def test_order_attributes_inside_the_request_attributes_sequence_count() -> None:
    item = Dataset()
    item.ReasonForTheRequestedProcedure = "头痛 headache"
    [ds] = dx_image(rows=8, cols=8)
    ds.RequestAttributesSequence = [item]
    assert order_facts(to_dicom_json(ds), ["DX"], AT.date()).clinical_question == "头痛 headache"


def test_without_an_order_the_study_description_is_the_question_and_priority_routine() -> None:
    facts = order_facts(_attrs(), ["SR", "CT"], AT.date())
    assert facts.clinical_question == "DX CHEST"  # the generator's Study Description
    assert facts.priority is Priority.ROUTINE
    assert facts.modality == "CT"  # the first series that holds images


def test_a_missing_birth_date_is_estimated_from_the_age() -> None:
    facts = order_facts(_attrs(PatientBirthDate="", PatientAge="045Y"), ["DX"], AT.date())
    assert facts.birth_date_estimated and facts.birth_date is not None
    assert facts.birth_date.year in (1980, 1981)  # 45 years before the study date 2026-11-23
    assert birth_from_age("006M", date(2026, 12, 1)) == date(2026, 6, 1)
    assert birth_from_age("45Y", date(2026, 12, 1)) is None
    assert order_facts(_attrs(PatientBirthDate=""), ["DX"], AT.date()).birth_date is None


def test_priorities() -> None:
    assert [priority_of(v) for v in ("STAT", "HIGH", "ROUTINE", "MEDIUM", "LOW", "", "high")] == [
        Priority.STAT, Priority.URGENT, Priority.ROUTINE, Priority.ROUTINE, Priority.ROUTINE, Priority.ROUTINE,
        Priority.URGENT,
    ]  # fmt: skip


def _agreement(mode: ServiceMode, terms: AgreementTerms | None = None, *, active: bool = True) -> Agreement:
    return Agreement(f"agr-{mode}", "h-county", "h-tertiary", mode, terms or AgreementTerms(), active)


def test_only_full_and_half_hosting_refer_by_themselves() -> None:
    full = _agreement(ServiceMode.FULL_HOSTING)
    difficult = _agreement(ServiceMode.DIFFICULT_ONLY)
    cooperation = _agreement(ServiceMode.COOPERATION)
    assert refers_automatically([difficult, full])
    assert not refers_automatically([difficult, cooperation])
    assert not refers_automatically([_agreement(ServiceMode.FULL_HOSTING, active=False)])
    assert auto_agreement([difficult, cooperation, full], "CT", "CHEST", AT) == full
    assert auto_agreement([difficult, cooperation], "CT", "CHEST", AT) is None


def test_half_hosting_refers_only_what_it_covers() -> None:
    nights = AgreementTerms(half_hosting=HalfHostingRules(frozenset({"CT"}), time(18), time(8)))
    half = _agreement(ServiceMode.HALF_HOSTING, nights)
    assert auto_agreement([half], "CT", "CHEST", AT) == half
    assert auto_agreement([half], "DX", "CHEST", AT) is None  # 11:00 local, not a CT
    assert auto_agreement([half], "DX", "CHEST", datetime(2026, 12, 7, 14, 0, tzinfo=UTC)) == half  # 22:00 local


def test_ids_come_from_the_study_and_the_hospital() -> None:
    assert workflow_id("h-a", "1.2.3") == "auto-referral/h-a/1.2.3"
    rid = referral_id("h-a", "1.2.3", AT)
    assert rid == referral_id("h-a", "1.2.3", AT) and rid.startswith("ref-20261207-") and len(rid) == 23
    assert rid != referral_id("h-b", "1.2.3", AT)
