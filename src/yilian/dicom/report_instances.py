"""A signed report as DICOM for a county PACS: an Encapsulated PDF (PS3.3 A.45.1) and a Basic Text SR (PS3.3 A.35.1)
in the original study (same Study Instance UID, a series of their own), with UIDs derived from the report so that a
retry, or a second rendering of the same version, names the very same instances."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.11"
# Far above any modality's series numbers, so a PACS lists the report series after the images.
PDF_SERIES_NUMBER = 9901
SR_SERIES_NUMBER = 9902
UTF8 = "ISO_IR 192"

# Codes (PS3.16): LOINC 18748-4 is the document title of a diagnostic imaging report (CID 7000); the DCM codes name
# the SR's content items (CID 7001 headings, observer context of TID 1003).
REPORT_TITLE = ("18748-4", "LN", "Diagnostic Imaging Report")
FINDING = ("121071", "DCM", "Finding")
IMPRESSION = ("121073", "DCM", "Impression")
PERSON_OBSERVER = ("121008", "DCM", "Person Observer Name")

# The Patient and General Study modules (PS3.3 C.7.1.1, C.7.2.1) are copied from the study the report is about; the
# type 2 ones are present even when empty.
_TYPE_2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName",
    "StudyID", "AccessionNumber",
)  # fmt: skip
_OPTIONAL = ("IssuerOfPatientID", "StudyDescription")


@dataclass(frozen=True)
class ReportUids:
    """The report's series (one per kind for the referral) and this version's two instances."""

    pdf_series: str
    pdf_instance: str
    sr_series: str
    sr_instance: str


def report_uids(study_instance_uid: str, referral_id: str, version: int) -> ReportUids:
    """Derived (PS3.5 B.2, by hashing; pydicom's generate_uid with entropy sources), never random: the same report
    version always has the same UIDs, so a re-sent instance replaces itself in the PACS instead of doubling."""

    def derive(*parts: str) -> str:
        return str(generate_uid(entropy_srcs=[study_instance_uid, referral_id, *parts]))

    v = str(version)
    return ReportUids(derive("pdf-series"), derive("pdf", v), derive("sr-series"), derive("sr", v))


@dataclass(frozen=True)
class SignedReport:
    """One signed version (the final report or an addendum) and who answers for it."""

    referral_id: str
    version: int
    title: str  # the document title in the alliance's language
    signed_at: datetime
    author: str  # who wrote this version (the reader; an addendum's author)
    signer: str  # who signed it (the second reader, or the reader when there is none)
    organisation: str  # the reading hospital
    findings: str
    impression: str


def study_header(attributes_json: str) -> Dataset:
    """The Patient and Study module attributes from the archive's DICOM JSON of the study (PS3.18 F.2)."""
    source = Dataset.from_json(json.loads(attributes_json))
    header = Dataset()
    for keyword in (*_TYPE_2, *_OPTIONAL, "StudyInstanceUID"):
        if keyword in source:
            setattr(header, keyword, source[keyword].value)
    return header


def encapsulated_pdf(study: Dataset, report: SignedReport, uids: ReportUids, pdf: bytes) -> bytes:
    """Encapsulated PDF IOD (PS3.3 A.45.1): Encapsulated Document Series, SC Equipment and Encapsulated Document."""
    ds = _common(study, report, ENCAPSULATED_PDF_STORAGE, uids.pdf_instance)
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = uids.pdf_series
    ds.SeriesNumber = PDF_SERIES_NUMBER
    ds.SeriesDescription = report.title
    ds.ConversionType = "WSD"  # workstation: made by software, not scanned
    ds.BurnedInAnnotation = "YES"  # the patient's name is printed on the page
    ds.DocumentTitle = report.title
    ds.ConceptNameCodeSequence = [_code(REPORT_TITLE)]
    ds.AcquisitionDateTime = _dt(report.signed_at)
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")  # OB values have even length (PS3.5 7.1.1)
    return _part10(ds)


def basic_text_sr(study: Dataset, report: SignedReport, uids: ReportUids, predecessor: ReportUids | None) -> bytes:
    """Basic Text SR IOD (PS3.3 A.35.1): verified by the signer, the findings and impression as TEXT items; an
    addendum names the SR of the version before it as its predecessor (PS3.3 C.17.2)."""
    ds = _common(study, report, BASIC_TEXT_SR_STORAGE, uids.sr_instance)
    ds.Modality = "SR"
    ds.SeriesInstanceUID = uids.sr_series
    ds.SeriesNumber = SR_SERIES_NUMBER
    ds.SeriesDescription = report.title
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    observer = Dataset()
    observer.VerifyingObserverName = report.signer
    observer.VerifyingObserverIdentificationCodeSequence = []
    observer.VerifyingOrganization = report.organisation
    observer.VerificationDateTime = _dt(report.signed_at)
    ds.VerifyingObserverSequence = [observer]
    ds.PerformedProcedureCodeSequence = []
    if predecessor is not None:
        ds.PredecessorDocumentsSequence = [_reference(study, predecessor)]
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code(REPORT_TITLE)]
    ds.ContinuityOfContent = "SEPARATE"
    author = _item("HAS OBS CONTEXT", "PNAME", PERSON_OBSERVER)
    author.PersonName = report.author
    findings = _item("CONTAINS", "TEXT", FINDING)
    findings.TextValue = report.findings
    impression = _item("CONTAINS", "TEXT", IMPRESSION)
    impression.TextValue = report.impression
    ds.ContentSequence = [author, findings, impression]
    return _part10(ds)


def _common(study: Dataset, report: SignedReport, sop_class: str, sop_instance: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = UTF8  # Chinese names and text, whatever the study was sent in
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    for keyword in _TYPE_2:
        setattr(ds, keyword, study[keyword].value if keyword in study else None)
    for keyword in _OPTIONAL:
        if keyword in study:
            setattr(ds, keyword, study[keyword].value)
    ds.StudyInstanceUID = study.StudyInstanceUID
    ds.Manufacturer = "Yilian"
    ds.InstanceNumber = report.version
    # Every date comes from the signature, none from the clock: the same version always encodes the same bytes.
    signed = report.signed_at.astimezone(UTC)
    ds.InstanceCreationDate = ds.ContentDate = ds.SeriesDate = f"{signed:%Y%m%d}"
    ds.InstanceCreationTime = ds.ContentTime = ds.SeriesTime = f"{signed:%H%M%S}"
    ds.TimezoneOffsetFromUTC = "+0000"
    return ds


def _part10(ds: Dataset) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _code(code: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return item


def _item(relationship: str, value_type: str, concept: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [_code(concept)]
    return item


def _reference(study: Dataset, uids: ReportUids) -> Dataset:
    """A Hierarchical SOP Instance Reference (PS3.3 C.17.2.1) to a version's SR."""
    sop = Dataset()
    sop.ReferencedSOPClassUID = BASIC_TEXT_SR_STORAGE
    sop.ReferencedSOPInstanceUID = uids.sr_instance
    series = Dataset()
    series.SeriesInstanceUID = uids.sr_series
    series.ReferencedSOPSequence = [sop]
    ref = Dataset()
    ref.StudyInstanceUID = study.StudyInstanceUID
    ref.ReferencedSeriesSequence = [series]
    return ref


def _dt(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%d%H%M%S}+0000"
