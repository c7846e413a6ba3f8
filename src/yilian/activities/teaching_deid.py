"""The teaching activities' side of de-identification: what the case's source says about who it identifies, handed to
the deid package (image copy, text redaction, leak scan), and what comes back, shaped for the review and the scan.

No de-identification rule lives here: the PS3.15 copy is `imaging.deid_copy`, the text is `deid.text`, the scan is
`deid.leak_scan`; this module only gathers their inputs from the case and records their outputs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.deid.identifiers import Directory, KnownIdentifiers, merge_known
from yilian.deid.text import redact_text
from yilian.domain.teaching_io import DeidentifyInput, LeakFinding
from yilian.imaging.blob import BlobStore
from yilian.imaging.deid_copy import (
    AGE_BAND_YEARS,
    OLDEST_AGE_SHOWN,
    DeidCopyRequest,
    deidentify_study,
    scan_copy,
)

# Every text of the curation a learner reads: the de-identified history and report as the educator left them, and
# what the educator wrote. All scanned on every publish.
CURATION_TEXTS = ("history", "findings", "impression", "title", "diagnosis", "teaching_points", "differential", "tags")
UNREVIEWED = "burned_in_unreviewed"  # a finding of ours: a flagged image nobody has looked at yet


def known_identifiers(known: dict[str, Any]) -> tuple[KnownIdentifiers, Directory]:
    """The case's patient and people (db.queries.teaching.identifiers_of), and the alliance's directory."""
    birth: date | None = known.get("birth_date")
    ids = [known["patient_id"], *(x for x in (known.get("accession_number"), known.get("dicom_patient_id")) if x)]
    identifiers = KnownIdentifiers(
        patient_names=tuple(n for n in (known["name"], known.get("dicom_patient_name")) if n),
        other_names=tuple(known["case_people"]),
        ids=tuple(dict.fromkeys(ids)),
        birth_dates=(birth,) if birth else (),
        exact_dates=tuple(known.get("study_dates", ())),
        hospitals=tuple(known["hospitals"]),
        uids=(known["study_instance_uid"],),
    )
    return identifiers, Directory(hospitals=tuple(known["hospitals"]), doctors=tuple(known["doctors"]))


async def deidentify_case(
    engine: AsyncEngine,
    blobs: BlobStore,
    secret: str,
    inp: DeidentifyInput,
    source: dict[str, Any],
    known: dict[str, Any],
) -> dict[str, Any]:
    """The image copy (filed under the sending hospital, which holds the original anyway) and the redacted texts
    with their replacements, as the teaching_deid row stores them. The texts move by the copy's date shift."""
    referral_known, directory = known_identifiers(known)
    copy = await deidentify_study(
        engine,
        blobs,
        DeidCopyRequest(
            source_study_instance_uid=inp.study_instance_uid,
            case_key=inp.case_id,
            secret=secret,
            patient_issuer=known["issuer"],
            patient_id=known["patient_id"],
            hospital_id=inp.requesting_hospital_id,
        ),
    )
    # What the referral names and what the source's instances carried: removed from the text, sought by the scan.
    identifiers = merge_known([referral_known, copy.source_known])
    report = source["report"] or {}
    originals = {
        "clinical_question": source["clinical_question"],
        "findings": report.get("findings", ""),
        "impression": report.get("impression", ""),
    }
    text: dict[str, dict[str, str]] = {}
    changes: list[dict[str, Any]] = []
    for name, original in originals.items():
        redaction = redact_text(original, known=identifiers, directory=directory, date_shift_days=copy.date_shift_days)
        text[name] = {"original": original, "redacted": redaction.text}
        changes += [
            {
                "field": name,
                "kind": str(r.kind),
                "original": r.original,
                "replacement": r.replacement,
                "start": r.start,
                "end": r.end,
                "new_start": r.new_start,
                "new_end": r.new_end,
            }
            for r in redaction.replacements
        ]
    return {
        "study_instance_uid": copy.study_instance_uid,
        "text": text,
        "replacements": changes,
        "image_flags": [{"sop_instance_uid": f.sop_instance_uid, "reason": str(f.reason)} for f in copy.burned_in],
        "instances": copy.instance_count,
        "source_known": known_to_json(copy.source_known),
        "patient": {
            "pseudonym": copy.pseudonym.patient_id,
            "pseudonym_name": copy.pseudonym.patient_name,  # as the copy's PatientName holds it
            "age_band": age_band(known.get("birth_date"), known.get("study_dates") or []),
            "sex": known.get("sex", ""),
        },
    }


def age_band(birth: date | None, study_dates: list[date]) -> str:
    """The patient's age at the study in the copy's bands ("60-64"; the oldest together, "90+")."""
    if birth is None or not study_dates:
        return ""
    day = study_dates[0]
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    if years < 0:
        return ""
    if years >= OLDEST_AGE_SHOWN:
        return f"{OLDEST_AGE_SHOWN}+"
    low = years - years % AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


_DATES = ("birth_dates", "exact_dates")


def known_to_json(known: KnownIdentifiers) -> dict[str, list[str]]:
    """The source's identifiers as the teaching_deid row keeps them (for the scan at every later publish)."""
    return {f: [v.isoformat() if isinstance(v, date) else str(v) for v in getattr(known, f)] for f in _FIELDS}


def known_from_json(stored: dict[str, list[str]]) -> KnownIdentifiers:
    values = {f: tuple(date.fromisoformat(v) if f in _DATES else v for v in stored.get(f, [])) for f in _FIELDS}
    return KnownIdentifiers(**values)  # type: ignore[arg-type]


_FIELDS = tuple(KnownIdentifiers.__dataclass_fields__)
_TEXT_WHERE = re.compile(r"^text (\w+)\[")


async def scan_case(
    engine: AsyncEngine, blobs: BlobStore, case: dict[str, Any], deid: dict[str, Any], known: dict[str, Any]
) -> list[LeakFinding]:
    """Every tag of the copy and every text a learner reads (the redacted history and report, the curation):
    the findings that block publishing, each saying where and what kind, never the value."""
    referral_known, directory = known_identifiers(known)
    identifiers = merge_known([referral_known, known_from_json(deid["source_known"])])
    texts: dict[str, str] = {}
    for name in CURATION_TEXTS:
        value = case[name]
        texts[name] = "\n".join(value) if isinstance(value, list) else str(value)
    # The pseudonym written into the copy is the one name and ID allowed to remain.
    allowed = [deid["patient"].get("pseudonym", ""), deid["patient"].get("pseudonym_name", "")]
    report = await scan_copy(
        engine, blobs, deid["study_instance_uid"], known=identifiers, directory=directory, texts=texts, allowed=allowed
    )
    reviewed = set(case["reviewed_images"])
    out = [
        LeakFinding(where=flag["sop_instance_uid"], kind=UNREVIEWED, excerpt=flag["reason"])
        for flag in deid["image_flags"]
        if flag["sop_instance_uid"] not in reviewed
    ]
    for f in report.findings:
        field = _TEXT_WHERE.match(f.where)
        out.append(LeakFinding(where=field.group(1) if field else f.where, kind=f.kind, excerpt=f.rule))
    return out
