"""The de-identified copy through the real archive (PostgreSQL and the file blob store): stored under new UIDs and
the patient's pseudonym, idempotent, burned-in risk flagged, and the leak scan over what the archive now holds
finds nothing, until one leak is planted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage, UltrasoundImageStorage, generate_uid
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import dicom_gen
from tests.support.deid_corpus import CLINICAL_QUESTION, DIRECTORY, PATIENT_ID, REPORT, hostile_study
from yilian.db.queries import imaging as queries
from yilian.deid.identifiers import KnownIdentifiers, merge_known
from yilian.deid.text import redact_text
from yilian.imaging.blob import FilesystemBlobStore
from yilian.imaging.deid_copy import (
    BurnedInReason,
    DeidCopyError,
    DeidCopyRequest,
    DeidCopyResult,
    deidentify_study,
    scan_copy,
)
from yilian.imaging.ingest import IncomingInstance, Origin, store_instance

pytestmark = pytest.mark.integration

SECRET = "alliance-deid-secret-for-tests"
COUNTY, TERTIARY = "h-anping", "h-provincial"


async def _archive(engine: AsyncEngine, blobs: FilesystemBlobStore, instances: list[Dataset]) -> str:
    for ds in instances:
        result = await store_instance(
            engine, blobs, IncomingInstance(dicom_gen.to_bytes(ds), Origin.UPLOAD, COUNTY, "test-setup")
        )
        assert result.accepted, result
    return str(instances[0].StudyInstanceUID)


def _request(study: str, case: str = "case-1", patient_id: str = PATIENT_ID) -> DeidCopyRequest:
    return DeidCopyRequest(
        source_study_instance_uid=study, case_key=case, secret=SECRET, patient_issuer="COUNTY-HOSPITAL",
        patient_id=patient_id, hospital_id=TERTIARY,
    )  # fmt: skip


def _known(base: KnownIdentifiers, copy: DeidCopyResult) -> KnownIdentifiers:
    """What the referral knows plus everything the source instances carried."""
    return merge_known([base, copy.source_known])


@pytest.mark.parametrize("charset", ["ISO_IR 192", "GB18030"])
async def test_a_hostile_study_is_copied_and_the_scan_finds_nothing(
    engine: AsyncEngine, tmp_path: Path, charset: str
) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    hostile = hostile_study(charset)
    source = await _archive(engine, blobs, hostile.instances)

    copy = await deidentify_study(engine, blobs, _request(source))

    assert copy.study_instance_uid != source and copy.study_instance_uid.startswith("2.25.")
    assert copy.instance_count == 3 and copy.burned_in == () and copy.skipped_documents == 0
    assert -3650 <= copy.date_shift_days <= -1
    assert set(copy.source_uids) >= {str(ds.SOPInstanceUID) for ds in hostile.instances}
    assert "Li^Si=李^四" in copy.source_known.other_names and "ANPING-CT1" in copy.source_known.ids
    async with engine.connect() as conn:
        rows = await queries.instances_of(conn, copy.study_instance_uid)
        assert await queries.study_owner(conn, copy.study_instance_uid) == TERTIARY
    assert len(rows) == 3
    stored = dcmread(blobs.path(rows[0]["blob_key"]))
    assert stored.PatientID == copy.pseudonym.patient_id and str(stored.PatientName) == copy.pseudonym.patient_name
    assert stored.PatientSex == "M" and stored.PatientAge == "075Y"  # 76 at the study, in a 5-year band
    assert stored.PatientIdentityRemoved == "YES" and stored.LongitudinalTemporalInformationModified == "MODIFIED"
    assert stored.StudyDate != hostile.instances[0].StudyDate
    assert not any(element.tag.is_private for element in stored.iterall())
    assert stored.SeriesDescription == "CHEST 5mm"  # Clean Descriptors: nothing identifying in it, kept
    assert "StudyDescription" not in stored  # "张三丰 胸部CT平扫" names the patient: removed
    codes = [item.CodeValue for item in stored.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107", "113108", "113105"]

    texts = {
        name: redact_text(text, known=hostile.known, directory=DIRECTORY, date_shift_days=copy.date_shift_days).text
        for name, text in (("clinical_question", CLINICAL_QUESTION), ("report", REPORT))
    }
    allowed = [copy.pseudonym.patient_id, copy.pseudonym.patient_name]
    known = _known(hostile.known, copy)
    report = await scan_copy(
        engine, blobs, copy.study_instance_uid, known=known, directory=DIRECTORY, texts=texts, allowed=allowed
    )
    assert report.findings == () and not report.blocks_publication
    assert report.instances_scanned == 3 and report.texts_scanned == 2

    # The same scan over the source finds plenty: the scan is not blind.
    source_scan = await scan_copy(engine, blobs, source, known=known, directory=DIRECTORY, allowed=allowed)
    assert len(source_scan.findings) > 50


async def test_a_planted_leak_in_the_archived_copy_is_found_and_blocks(engine: AsyncEngine, tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    hostile = hostile_study("GB18030")
    copy = await deidentify_study(engine, blobs, _request(await _archive(engine, blobs, hostile.instances)))
    async with engine.connect() as conn:
        [first, *_] = await queries.instances_of(conn, copy.study_instance_uid)
    planted = dcmread(blobs.path(first["blob_key"]))
    planted.SOPInstanceUID = planted.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    planted.InstitutionName = "安平县人民医院"  # one tag left with the hospital's name
    buffer = io.BytesIO()
    planted.save_as(buffer, enforce_file_format=True)
    assert (
        await store_instance(engine, blobs, IncomingInstance(buffer.getvalue(), Origin.DEID, TERTIARY, "t"))
    ).accepted

    allowed = [copy.pseudonym.patient_id, copy.pseudonym.patient_name]
    report = await scan_copy(
        engine, blobs, copy.study_instance_uid, known=_known(hostile.known, copy), directory=DIRECTORY, allowed=allowed
    )
    assert report.blocks_publication
    assert {(f.kind, f.where.split(" ", 2)[2]) for f in report.findings} == {
        ("hospital", "(0008,0080) InstitutionName")
    }


async def test_a_retry_gives_the_same_copy_and_stores_nothing_twice(engine: AsyncEngine, tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    source = await _archive(engine, blobs, hostile_study().instances)
    first = await deidentify_study(engine, blobs, _request(source))
    again = await deidentify_study(engine, blobs, _request(source))
    assert again == first
    async with engine.connect() as conn:
        assert len(await queries.instances_of(conn, first.study_instance_uid)) == 3

    other_case = await deidentify_study(engine, blobs, _request(source, case="case-2"))
    assert other_case.study_instance_uid != first.study_instance_uid
    assert other_case.pseudonym == first.pseudonym  # the same patient, whatever the case


async def test_a_later_study_of_the_same_patient_gets_the_same_pseudonym(engine: AsyncEngine, tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    first = await deidentify_study(engine, blobs, _request(await _archive(engine, blobs, hostile_study().instances)))
    later = await _archive(engine, blobs, dicom_gen.dx_image(rows=16, cols=16, patient_id=PATIENT_ID))
    follow_up = await deidentify_study(engine, blobs, _request(later, case="case-follow-up"))
    assert follow_up.pseudonym == first.pseudonym
    stranger = await _archive(engine, blobs, dicom_gen.dx_image(rows=16, cols=16, patient_id="SOMEONE-ELSE"))
    other = await deidentify_study(engine, blobs, _request(stranger, case="case-3", patient_id="SOMEONE-ELSE"))
    assert other.pseudonym != first.pseudonym


def _variant(sop_class: str, modality: str, burned_in: str | None, study: str) -> Dataset:
    [ds] = dicom_gen.dx_image(rows=16, cols=16, study_uid=study)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.Modality = modality
    if burned_in is None:
        del ds.BurnedInAnnotation
    else:
        ds.BurnedInAnnotation = burned_in
    return ds


async def test_burned_in_risk_is_flagged_not_passed(engine: AsyncEngine, tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    study = generate_uid()
    dx = str(dicom_gen.dx_image(rows=1, cols=1)[0].SOPClassUID)
    cases = [
        (UltrasoundImageStorage, "US", "NO", BurnedInReason.PRONE_SOP_CLASS),
        (SecondaryCaptureImageStorage, "OT", None, BurnedInReason.PRONE_SOP_CLASS),
        (dx, "DX", "YES", BurnedInReason.FLAG_YES),
        (dx, "DX", None, BurnedInReason.FLAG_ABSENT),
        (dx, "DX", "NO", None),
    ]
    await _archive(engine, blobs, [_variant(c, m, b, study) for c, m, b, _ in cases])
    copy = await deidentify_study(engine, blobs, _request(study, case="case-burned-in"))
    assert copy.instance_count == 5 and copy.needs_pixel_review
    assert sorted(f.reason for f in copy.burned_in) == sorted(r for *_, r in cases if r is not None)


async def test_documents_without_pixels_are_not_copied_and_no_study_is_an_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    blobs = FilesystemBlobStore(tmp_path)
    hostile = hostile_study(n_slices=2)
    source = hostile.instances[0]
    document = dicom_gen.dx_image(rows=16, cols=16, study_uid=str(source.StudyInstanceUID), patient_id=PATIENT_ID)[0]
    document.SOPClassUID = document.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic SR
    document.Modality = "SR"
    for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                    "SamplesPerPixel", "PhotometricInterpretation"):  # fmt: skip
        if keyword in document:
            delattr(document, keyword)
    await _archive(engine, blobs, [*hostile.instances, document])
    copy = await deidentify_study(engine, blobs, _request(str(source.StudyInstanceUID), case="case-sr"))
    assert copy.instance_count == 2 and copy.skipped_documents == 1

    with pytest.raises(DeidCopyError):
        await deidentify_study(engine, blobs, _request(generate_uid()))
