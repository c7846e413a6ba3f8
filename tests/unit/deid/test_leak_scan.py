"""The leak scan over instances and text: the hostile corpus is full of findings before de-identification and has
none after it (UTF-8, GB18030, ISO 2022 IR 58); a single planted leak is found and blocks; findings never carry
the identifier."""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import replace

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support import dicom_gen
from tests.support.deid_corpus import (
    CLINICAL_QUESTION,
    DIRECTORY,
    PATIENT_ID,
    PHONE,
    REPORT,
    RESIDENT_ID,
    HostileStudy,
    hostile_study,
)
from yilian.deid.leak_scan import IDENTITY_NOT_REMOVED, PRIVATE_TAG, LeakReport, leak_scan
from yilian.deid.pseudonym import case_date_shift, case_uid_salt, patient_pseudonym
from yilian.deid.text import redact_text
from yilian.dicom.deid import DeidOptions, UidMap, deidentify

SECRET = "alliance-secret-for-tests"
PSEUDONYM = patient_pseudonym(SECRET, "COUNTY-HOSPITAL", PATIENT_ID)
CHARSETS = ["ISO_IR 192", "GB18030", ["ISO 2022 IR 58"]]


def _deidentified(study: HostileStudy) -> list[Dataset]:
    options = DeidOptions(
        date_shift_days=case_date_shift(SECRET, "case-1"),
        retain_patient_characteristics=True,
        patient_name=PSEUDONYM.patient_name,
        patient_id=PSEUDONYM.patient_id,
    )
    uid_map = UidMap(case_uid_salt(SECRET, "case-1"))
    return [deidentify(ds, uid_map=uid_map, options=options) for ds in study.instances]


def _scan(study: HostileStudy, instances: Seq[Dataset | bytes], texts: dict[str, str] | None = None) -> LeakReport:
    return leak_scan(
        known=study.known, directory=DIRECTORY, instances=instances, texts=texts,
        allowed=[PSEUDONYM.patient_id, PSEUDONYM.patient_name],
    )  # fmt: skip


def _bytes(instances: Seq[Dataset]) -> list[bytes]:
    return [dicom_gen.to_bytes(ds) for ds in instances]


@pytest.mark.parametrize("charset", CHARSETS)
def test_the_source_is_full_of_leaks(charset: str) -> None:
    study = hostile_study(charset)
    report = _scan(study, _bytes(study.instances), {"question": CLINICAL_QUESTION, "report": REPORT})
    assert report.blocks_publication
    kinds = report.counts()
    for kind in ("patient_name", "person_name", "doctor_name", "hospital", "record_id", "resident_id", "phone",
                 "address", "birth_date", "uid", PRIVATE_TAG, IDENTITY_NOT_REMOVED):  # fmt: skip
        assert kinds.get(kind, 0) > 0, (kind, kinds)


@pytest.mark.parametrize("charset", CHARSETS)
def test_after_deidentification_nothing_is_found(charset: str) -> None:
    study = hostile_study(charset)
    shift = case_date_shift(SECRET, "case-1")
    texts = {
        name: redact_text(text, known=study.known, directory=DIRECTORY, date_shift_days=shift).text
        for name, text in (("question", CLINICAL_QUESTION), ("report", REPORT))
    }
    report = _scan(study, _bytes(_deidentified(study)), texts)
    assert report.findings == ()
    assert not report.blocks_publication
    assert report.instances_scanned == 3 and report.texts_scanned == 2
    assert report.elements_scanned > 150  # every element, File Meta and sequence items included


def _planted(study: HostileStudy, plant: str) -> list[Dataset]:
    clean = _deidentified(study)
    target = clean[1]
    if plant == "tag left":
        target.ReferringPhysicianName = "Li^Si=李^四"
    elif plant == "kept attribute":
        target.ContentDescription = "张三丰 复查"  # (0070,0081) is not in the Basic Profile table: kept
    elif plant == "nested":
        target.ProcedureCodeSequence[0].CodeMeaning = f"胸部CT 电话{PHONE}"
    elif plant == "mislabelled bytes":  # GB18030 bytes whatever the declared character set says
        target.add_new(0x00700081, "LO", "复查 张三丰".encode("gb18030"))
    elif plant == "private gb18030":
        target.add_new(0x00431001, "OB", "张三丰".encode("gb18030"))
    elif plant == "original uid":
        target.ReferencedImageSequence[0].ReferencedSOPInstanceUID = study.instances[0].SOPInstanceUID
    elif plant == "birth date":
        target.PatientBirthDate = "19491231"
    elif plant == "resident id":
        target.add_new(0x00204000, "LT", f"证件 {RESIDENT_ID}")  # ImageComments written back
    elif plant == "identity flag":
        del target.PatientIdentityRemoved
    return clean


@pytest.mark.parametrize(
    ("plant", "kind", "tag"),
    [
        ("tag left", "person_name", "(0008,0090)"),
        ("kept attribute", "patient_name", "(0070,0081)"),
        ("nested", "phone", "(0008,1032) ProcedureCodeSequence[0] (0008,0104)"),
        ("private gb18030", "patient_name", "(0043,1001)"),
        ("mislabelled bytes", "patient_name", "(0070,0081)"),
        ("original uid", "uid", "(0008,1140) ReferencedImageSequence[0] (0008,1155)"),
        ("birth date", "birth_date", "(0010,0030)"),
        ("resident id", "resident_id", "(0020,4000)"),
        ("identity flag", IDENTITY_NOT_REMOVED, "(0012,0062)"),
    ],
)
@pytest.mark.parametrize("charset", ["ISO_IR 192", "GB18030"])
@pytest.mark.filterwarnings("ignore:Failed to decode byte string")  # pydicom on the mislabelled bytes: expected
def test_a_planted_leak_in_one_tag_is_found_and_blocks(charset: str, plant: str, kind: str, tag: str) -> None:
    study = hostile_study(charset)
    report = _scan(study, _bytes(_planted(study, plant)))
    assert report.blocks_publication
    assert any(f.kind == kind and f.where.startswith(f"instance 1 {tag}") for f in report.findings), report.findings


def test_a_planted_name_in_the_text_is_found_and_blocks() -> None:
    study = hostile_study()
    redacted = redact_text(REPORT, known=study.known, directory=DIRECTORY, date_shift_days=-9).text
    report = _scan(study, _bytes(_deidentified(study)), {"report": redacted, "teaching_points": "本例张三丰提示…"})
    assert [(f.kind, f.where) for f in report.findings] == [("patient_name", "text teaching_points[2:5]")]


def test_an_unshifted_exact_date_of_the_source_is_a_finding() -> None:
    study = hostile_study()
    kept_dates = redact_text(REPORT, known=study.known, directory=DIRECTORY).text  # no shift asked for
    report = _scan(study, [], {"report": kept_dates})
    assert {f.kind for f in report.findings} == {"date"}


def test_findings_never_carry_the_identifier() -> None:
    study = hostile_study("GB18030")
    report = _scan(study, _bytes(study.instances), {"question": CLINICAL_QUESTION, "report": REPORT})
    shown = repr(report)
    known = study.known
    for value in (*known.ids, *known.phones, *known.addresses, *known.uids, "张三丰", "Zhang", "李四", "安平"):
        assert value not in shown


def test_a_short_known_id_is_found_only_as_a_whole_value() -> None:
    study = hostile_study()
    known = replace(study.known, ids=(*study.known.ids, "77"))
    clean = _deidentified(study)
    quiet = leak_scan(known=known, instances=clean, allowed=[PSEUDONYM.patient_id, PSEUDONYM.patient_name])
    assert quiet.findings == ()  # "77" inside other values is not a leak
    clean[0].AccessionNumber = "77"
    loud = leak_scan(known=known, instances=clean, allowed=[PSEUDONYM.patient_id, PSEUDONYM.patient_name])
    assert [f.rule for f in loud.findings] == ["known_short_id"]


def test_unreadable_bytes_are_a_finding_not_a_pass() -> None:
    report = leak_scan(known=hostile_study().known, instances=[b"not dicom at all"])
    assert [f.kind for f in report.findings] == ["unreadable"]


def test_pseudonyms_are_keyed_and_stable() -> None:
    again = patient_pseudonym(SECRET, "COUNTY-HOSPITAL", PATIENT_ID)
    assert again == PSEUDONYM
    assert patient_pseudonym(SECRET, "OTHER-HOSPITAL", PATIENT_ID) != PSEUDONYM
    assert patient_pseudonym("another-secret", "COUNTY-HOSPITAL", PATIENT_ID) != PSEUDONYM
    assert PATIENT_ID not in PSEUDONYM.patient_id and len(PSEUDONYM.patient_id) <= 64
    assert case_date_shift(SECRET, "case-1") == case_date_shift(SECRET, "case-1")
    assert case_uid_salt(SECRET, "case-1") != case_uid_salt(SECRET, "case-2")
    with pytest.raises(ValueError):
        patient_pseudonym("", "X", "Y")


def test_a_sequence_item_is_walked_however_deep() -> None:
    study = hostile_study()
    clean = _deidentified(study)
    inner = Dataset()
    inner.TextValue = "Seen at Anping County Hospital"
    outer = Dataset()
    outer.ContentSequence = Sequence([inner])
    clean[2].AcquisitionContextSequence = Sequence([outer])
    report = _scan(study, clean)
    assert [f.where for f in report.findings if f.rule == "known_hospital"] == [
        "instance 2 (0040,0555) AcquisitionContextSequence[0] (0040,A730) ContentSequence[0] (0040,A160) TextValue"
    ]
