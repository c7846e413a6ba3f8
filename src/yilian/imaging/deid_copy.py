"""A de-identified copy of an archived study for teaching, stored through the one ingest pipeline; and its leak scan.

Entry points (stable, called by the teaching-case activities):

    deidentify_study(engine, blobs, DeidCopyRequest(...)) -> DeidCopyResult
    scan_copy(engine, blobs, study_instance_uid, known=..., directory=..., texts=..., allowed=...) -> LeakReport

Each instance goes through the PS3.15 Basic Profile (`dicom.deid`) with Retain Longitudinal Temporal Information
with Modified Dates (the case's shift, `deid.pseudonym.case_date_shift`) Retain Patient Characteristics (sex
and an age band stay; ethnic group goes) and Clean Descriptors (a study or series description is kept only
when nothing identifying is found in it), every private element removed, new UIDs from a per-case keyed map,
and the patient replaced by the keyed pseudonym of the source patient (the same for every case of that
patient: the teaching capability finds follow-ups by it). The copy is filed in the archive like any study, under
`hospital_id`, with origin `deid`.

Idempotent: the same source and case give the same UIDs and the same bytes, so a retry stores nothing twice
(the ingest pipeline answers `duplicate`). Pixels are copied, not cleaned: an instance that may carry
burned-in text (BurnedInAnnotation YES; ultrasound, secondary capture and photographs; projection images
that do not say NO) is copied and flagged, so a person reviews it before publication. Documents without
pixels (SR, encapsulated PDF, presentation states, key object selections) are not copied: their content is
text the profile cannot clean.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.queries import imaging as queries
from yilian.deid.identifiers import Directory, KnownIdentifiers, KnownMatcher, merge_known
from yilian.deid.leak_scan import LeakReport, leak_scan
from yilian.deid.pseudonym import Pseudonym, case_date_shift, case_uid_salt, patient_pseudonym
from yilian.deid.source import known_from_instances
from yilian.deid.text import redact_text
from yilian.dicom.deid import BURNED_IN_PRONE_SOP_CLASSES, DeidOptions, UidMap, deidentify
from yilian.imaging.blob import BlobStore
from yilian.imaging.ingest import IncomingInstance, Origin, Outcome, store_instance

# Modalities whose images often carry text in their pixels (PS3.15 E.3.1 notes; DEID-04): always reviewed.
BURNED_IN_PRONE_MODALITIES = frozenset({"US", "SC", "XC", "ES", "OT", "DOC", "GM", "SM", "IVUS", "OP"})
# Projection radiography: text is often burned in by the console; reviewed unless the image says NO.
PROJECTION_MODALITIES = frozenset({"CR", "DX", "MG", "RF", "XA", "PX", "IO"})
AGE_BAND_YEARS = 5
OLDEST_AGE_SHOWN = 90  # older ages are few enough to identify: shown as 90 (the HIPAA Safe Harbor ceiling)


class BurnedInReason(StrEnum):
    FLAG_YES = "burned_in_annotation_yes"
    PRONE_SOP_CLASS = "prone_sop_class"
    PRONE_MODALITY = "prone_modality"
    FLAG_ABSENT = "burned_in_annotation_absent"


@dataclass(frozen=True)
class BurnedInFlag:
    """One copied instance whose pixels a person must look at (identified by its new UIDs)."""

    series_instance_uid: str
    sop_instance_uid: str
    reason: BurnedInReason


@dataclass(frozen=True)
class DeidCopyRequest:
    """What to copy and under which keys.

    `patient_issuer` / `patient_id`: the source patient as the referral names it (its patient row), so the
    pseudonym is the same for every study of that patient. `case_key`: the teaching case (new UIDs and the
    date shift are per case). `secret`: the alliance's de-identification secret. `hospital_id`: the archive
    owner of the copy.
    """

    source_study_instance_uid: str
    case_key: str
    secret: str
    patient_issuer: str
    patient_id: str
    hospital_id: str
    received_by: str = "teaching-deid"


@dataclass(frozen=True)
class DeidCopyResult:
    study_instance_uid: str
    instance_count: int  # instances in the copy (stored now or already there from an earlier try)
    skipped_documents: int  # source instances without pixels, not copied
    pseudonym: Pseudonym
    date_shift_days: int
    burned_in: tuple[BurnedInFlag, ...]
    source_known: KnownIdentifiers  # every identifier the source instances carried: what the scan must not find

    @property
    def needs_pixel_review(self) -> bool:
        return bool(self.burned_in)

    @property
    def source_uids(self) -> tuple[str, ...]:
        return self.source_known.uids


class DeidCopyError(RuntimeError):
    """The copy could not be made (no such study, an instance the archive refused); says why, names no patient."""


async def deidentify_study(engine: AsyncEngine, blobs: BlobStore, request: DeidCopyRequest) -> DeidCopyResult:
    """Copy the study through the Basic Profile into the archive under new UIDs; see the module docstring."""
    async with engine.connect() as conn:
        rows = await queries.instances_of(conn, request.source_study_instance_uid)
    if not rows:
        raise DeidCopyError(f"study {request.source_study_instance_uid} is not in the archive")
    pseudonym = patient_pseudonym(request.secret, request.patient_issuer, request.patient_id)
    shift = case_date_shift(request.secret, request.case_key)
    uid_map = UidMap(case_uid_salt(request.secret, request.case_key))
    options = DeidOptions(
        date_shift_days=shift,
        retain_patient_characteristics=True,
        patient_name=pseudonym.patient_name,
        patient_id=pseudonym.patient_id,
        allow_burned_in=True,  # copied and flagged below, never passed silently
    )
    flags: list[BurnedInFlag] = []
    source_known: list[KnownIdentifiers] = []
    stored = skipped = 0
    new_study = uid_map(request.source_study_instance_uid)
    for row in rows:
        copy = await asyncio.to_thread(_copy_instance, blobs, str(row["blob_key"]), uid_map, options)
        if copy is None:
            skipped += 1
            continue
        data, reason, known = copy
        source_known.append(known)
        result = await store_instance(
            engine, blobs, IncomingInstance(data, Origin.DEID, request.hospital_id, request.received_by)
        )
        if result.outcome is Outcome.REJECTED:
            raise DeidCopyError(f"the archive refused a de-identified instance: {result.reason}")
        stored += 1
        if reason is not None:
            flags.append(BurnedInFlag(result.series_instance_uid, result.sop_instance_uid, reason))
    if stored == 0:
        raise DeidCopyError(f"study {request.source_study_instance_uid} has no images to copy")
    return DeidCopyResult(
        study_instance_uid=new_study,
        instance_count=stored,
        skipped_documents=skipped,
        pseudonym=pseudonym,
        date_shift_days=shift,
        burned_in=tuple(flags),
        source_known=merge_known(source_known),
    )


def _copy_instance(
    blobs: BlobStore, key: str, uid_map: UidMap, options: DeidOptions
) -> tuple[bytes, BurnedInReason | None, KnownIdentifiers] | None:
    with blobs.open(key) as f:
        ds = dcmread(f)
    if "PixelData" not in ds:
        return None
    reason = burned_in_risk(ds)
    known = known_from_instances([ds])
    options = replace(options, clean_descriptor=descriptor_cleaner(known))
    out = deidentify(ds, uid_map=uid_map, options=options)
    _band_patient_characteristics(out, source=ds)
    buffer = io.BytesIO()
    dcmwrite(buffer, out, enforce_file_format=True)
    return buffer.getvalue(), reason, known


def descriptor_cleaner(known: KnownIdentifiers) -> Callable[[str], str | None]:
    """Clean Descriptors (PS3.15 E.3.5) as strictly as it gets: a description ("CHEST 5mm", "T1 SE AX") is kept
    only when neither the instance's own identifiers nor a generic pattern find anything in it, dates included."""
    matcher = KnownMatcher(known)

    def clean(text: str) -> str | None:
        redaction = redact_text(text, known=known, matcher=matcher, date_shift_days=0)
        return text if not redaction.changed else None

    return clean


def burned_in_risk(ds: Dataset) -> BurnedInReason | None:
    """Why a person should look at this image's pixels before it is shared, or None (PS3.15 E.3.1; DEID-04)."""
    flag = str(ds.get("BurnedInAnnotation", "")).strip().upper()
    if flag == "YES":
        return BurnedInReason.FLAG_YES
    if str(ds.get("SOPClassUID", "")) in BURNED_IN_PRONE_SOP_CLASSES:
        return BurnedInReason.PRONE_SOP_CLASS
    modality = str(ds.get("Modality", "")).strip().upper()
    if modality in BURNED_IN_PRONE_MODALITIES:
        return BurnedInReason.PRONE_MODALITY
    if modality in PROJECTION_MODALITIES and flag != "NO":
        return BurnedInReason.FLAG_ABSENT
    return None


_AGE = re.compile(r"^(\d{3})([DWMY])$")


def _band_patient_characteristics(out: Dataset, *, source: Dataset) -> None:
    """Keep sex and an age band; drop what narrows a person in a small county (ethnic group)."""
    for keyword in ("EthnicGroup", "EthnicGroupCodeSequence"):
        if keyword in out:
            delattr(out, keyword)
    age = str(out.get("PatientAge", "") or _age_at_study(source)).strip()
    match = _AGE.match(age)
    if not match:
        if "PatientAge" in out:
            out.PatientAge = ""
        return
    value, unit = int(match.group(1)), match.group(2)
    if unit == "Y":
        value = min(OLDEST_AGE_SHOWN, value - value % AGE_BAND_YEARS)
    out.PatientAge = f"{value:03d}{unit}"


def _age_at_study(ds: Dataset) -> str:
    """Age in whole years from the source's birth and study dates, when the modality did not write PatientAge."""
    birth, study = str(ds.get("PatientBirthDate", "")), str(ds.get("StudyDate", ""))
    if len(birth) != 8 or len(study) != 8 or not (birth.isdigit() and study.isdigit()):
        return ""
    years = int(study[:4]) - int(birth[:4]) - (1 if study[4:] < birth[4:] else 0)
    return f"{years:03d}Y" if 0 <= years < 1000 else ""


async def scan_copy(
    engine: AsyncEngine,
    blobs: BlobStore,
    study_instance_uid: str,
    *,
    known: KnownIdentifiers,
    directory: Directory | None = None,
    texts: Mapping[str, str] | None = None,
    allowed: Iterable[str] = (),
) -> LeakReport:
    """The leak scan over every stored instance of the copy (as the archive serves them) and the case's texts."""
    async with engine.connect() as conn:
        rows = await queries.instances_of(conn, study_instance_uid)
    keys = [str(r["blob_key"]) for r in rows]
    instances = (_read_all(blobs, key) for key in keys)  # one file in memory at a time
    return await asyncio.to_thread(
        lambda: leak_scan(known=known, directory=directory, instances=instances, texts=texts, allowed=allowed)
    )


def _read_all(blobs: BlobStore, key: str) -> bytes:
    with blobs.open(key) as f:
        return f.read()
