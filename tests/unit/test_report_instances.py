"""The report's DICOM instances for a county PACS: valid IODs (DCMTK's dsrdump and dcm2pdf read them), in the
original study, Chinese intact, and derived UIDs that make a retry the same instance."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from yilian.dicom.report_instances import (
    BASIC_TEXT_SR_STORAGE,
    ENCAPSULATED_PDF_STORAGE,
    SignedReport,
    basic_text_sr,
    encapsulated_pdf,
    report_uids,
    study_header,
)

STUDY = "1.2.826.0.1.3680043.8.498.77"
PDF = b"%PDF-1.4\n% a tiny stand-in, odd length\n%%EOF"
REPORT = SignedReport(
    referral_id="ref-1", version=1, title="影像检查报告", signed_at=datetime(2026, 12, 7, 9, 14, tzinfo=UTC),
    author="王磊", signer="陈审核", organisation="省人民医院", findings="右肺上叶见磨玻璃结节。",
    impression="建议3个月复查。",
)  # fmt: skip


def _study() -> Dataset:
    source = Dataset()
    source.SpecificCharacterSet = "ISO_IR 192"
    source.PatientName = "Zhang^San=张^三"
    source.PatientID = "AP0001"
    source.PatientBirthDate = "19610314"
    source.PatientSex = "M"
    source.StudyInstanceUID = STUDY
    source.StudyDate = "20261206"
    source.AccessionNumber = "ACC1"
    source.StudyDescription = "CT 胸部"
    source.Modality = "CT"  # not copied: the report series have their own
    return study_header(source.to_json())


def test_the_pdf_and_sr_are_in_the_original_study_with_new_series_and_derived_uids() -> None:
    uids = report_uids(STUDY, "ref-1", 1)
    assert uids == report_uids(STUDY, "ref-1", 1), "the same version always names the same instances"
    assert len({uids.pdf_series, uids.sr_series, uids.pdf_instance, uids.sr_instance}) == 4
    v2 = report_uids(STUDY, "ref-1", 2)
    assert (v2.pdf_series, v2.sr_series) == (uids.pdf_series, uids.sr_series)
    assert v2.sr_instance != uids.sr_instance

    pdf = dcmread(io.BytesIO(encapsulated_pdf(_study(), REPORT, uids, PDF)))
    assert pdf.SOPClassUID == ENCAPSULATED_PDF_STORAGE and pdf.Modality == "DOC"
    assert (pdf.StudyInstanceUID, pdf.SeriesInstanceUID, pdf.SOPInstanceUID) == (
        STUDY, uids.pdf_series, uids.pdf_instance,
    )  # fmt: skip
    assert pdf.EncapsulatedDocument[: len(PDF)] == PDF and pdf.EncapsulatedDocumentLength == len(PDF)
    assert str(pdf.PatientName) == "Zhang^San=张^三" and pdf.StudyDescription == "CT 胸部"

    sr_bytes = basic_text_sr(_study(), REPORT, uids, None)
    assert sr_bytes == basic_text_sr(_study(), REPORT, uids, None), "an SR re-made on retry is byte for byte the same"
    sr = dcmread(io.BytesIO(sr_bytes))
    assert sr.SOPClassUID == BASIC_TEXT_SR_STORAGE and sr.Modality == "SR" and sr.StudyInstanceUID == STUDY
    assert [item.TextValue for item in sr.ContentSequence[1:]] == [REPORT.findings, REPORT.impression]
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == "陈审核"
    assert "PredecessorDocumentsSequence" not in sr

    addendum = basic_text_sr(_study(), REPORT, v2, uids)
    ref = dcmread(io.BytesIO(addendum)).PredecessorDocumentsSequence[0]
    assert ref.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == uids.sr_instance


@pytest.mark.skipif(shutil.which("dsrdump") is None, reason="DCMTK is not installed")
def test_dcmtk_reads_the_sr_as_basic_text_sr_and_extracts_the_pdf(tmp_path: Path) -> None:
    uids = report_uids(STUDY, "ref-1", 1)
    sr_path, pdf_path = tmp_path / "sr.dcm", tmp_path / "pdf.dcm"
    sr_path.write_bytes(basic_text_sr(_study(), REPORT, uids, None))
    pdf_path.write_bytes(encapsulated_pdf(_study(), REPORT, uids, PDF))

    # Strict: no option relaxes the Basic Text SR's relationship constraints or the content items' values.
    dumped = subprocess.run(["dsrdump", "+Pl", str(sr_path)], capture_output=True, text=True, timeout=30)
    assert dumped.returncode == 0, dumped.stderr
    assert "Basic Text SR Document" in dumped.stdout and REPORT.findings in dumped.stdout, dumped.stdout
    assert "VERIFIED" in dumped.stdout and "陈审核" in dumped.stdout
    # DCMTK's VR checker cannot check UTF-8 values and says so; anything else it says is a defect.
    complaints = [line for line in dumped.stderr.splitlines() if "does not support this Specific Character" not in line]
    assert complaints == [], dumped.stderr

    out = tmp_path / "out.pdf"
    extracted = subprocess.run(["dcm2pdf", str(pdf_path), str(out)], capture_output=True, text=True, timeout=30)
    assert extracted.returncode == 0, extracted.stderr
    assert out.read_bytes()[: len(PDF)] == PDF
