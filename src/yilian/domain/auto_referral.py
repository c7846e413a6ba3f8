"""Auto-referral (全托管免填单): a study that arrives under a hosting agreement becomes a referral by itself.

Pure rules: which agreements refer on their own, what the DICOM order attributes say about the case (PS3.3 C.4.10
Imaging Service Request, C.4.11 Requested Procedure, C.7.1.1 Patient, C.7.2.2 Patient Study), and the ids that
make it happen at most once per study. The workflow is workflows/auto_referral.py; docs/reading-service.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from yilian.domain.agreement import Agreement, CoverageRequest, Priority, ServiceMode
from yilian.domain.in_house import InHousePolicy
from yilian.domain.referral_io import ReferralInput
from yilian.domain.routing import choose_agreement

# Only these modes read a hospital's studies without a request from its doctors.
AUTO_MODES = frozenset({ServiceMode.FULL_HOSTING, ServiceMode.HALF_HOSTING})
AUTO_REFERRAL_WORKFLOW = "AutoReferralWorkflow"  # by name, so the API needs no reference to the class
INSTANCES_STORED = "instances_stored"  # the signal the archive sends with each stored batch
# Modalities that are no images to read (structured reports, presentation states, key objects, documents).
NON_IMAGE_MODALITIES = frozenset({"SR", "PR", "KO", "DOC", "REG", "SEG", "RWV", "OT"})
UNSPECIFIED_BODY_PART = "UNSPECIFIED"


class AutoOutcome(StrEnum):
    """What became of one arrived study (the auto_referrals row and its audit)."""

    REFERRED = "referred"
    NOT_COVERED = "not_covered"  # no full or half hosting agreement covers it: left alone
    ALREADY_REFERRED = "already_referred"  # a doctor (or an earlier run) already sent this study
    INCOMPLETE = "incomplete"  # the images carry no patient identity to register
    IDENTITY_MISMATCH = "identity_mismatch"  # the Patient ID is registered with another birth date or sex
    NO_SENDER = "no_sender"  # the hospital has no county doctor to answer for the case


def refers_automatically(agreements: Iterable[Agreement], in_house: InHousePolicy | None = None) -> bool:
    """Whether any of a hospital's agreements, or its in-house reading policy, may turn its arriving studies into
    referrals."""
    if in_house is not None and in_house.enabled and in_house.auto_read:
        return True
    return any(a.active and a.service_mode in AUTO_MODES for a in agreements)


def auto_agreement(agreements: Sequence[Agreement], modality: str, body_part: str, at: datetime) -> Agreement | None:
    """The first full or half hosting agreement that covers the study as it arrived (no declared overflow, no
    difficulty flag: those are a doctor's decisions, made by sending the case by hand)."""
    hosting = [a for a in agreements if a.service_mode in AUTO_MODES]
    request = CoverageRequest(modality, body_part, Priority.ROUTINE, False, at)
    return choose_agreement(hosting, request, {}).chosen


def workflow_id(hospital_id: str, study_instance_uid: str) -> str:
    """One auto-referral workflow per study and sending hospital: a second start is refused by Temporal."""
    return f"auto-referral/{hospital_id}/{study_instance_uid}"


def referral_id(hospital_id: str, study_instance_uid: str, at: datetime) -> str:
    """The referral's id, derived from the study so a retried start names the same workflow (same shape as a
    submitted referral's id)."""
    digest = hashlib.sha256(f"{hospital_id}/{study_instance_uid}".encode()).hexdigest()[:10]
    return f"ref-{at:%Y%m%d}-{digest}"


# ---- what the order says ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFacts:
    """The case as the images' order attributes describe it (DICOM JSON of one instance of the study)."""

    patient_id: str
    issuer: str | None
    patient_name: str
    birth_date: date | None
    birth_date_estimated: bool  # from Patient's Age at the study date: the images carried no birth date
    sex: str
    modality: str
    body_part: str
    priority: Priority
    clinical_question: str
    requesting_physician: str


def _values(attrs: Mapping[str, Any], tag: str) -> list[Any]:
    return list(attrs.get(tag, {}).get("Value") or [])


def _text(attrs: Mapping[str, Any], tag: str) -> str:
    values = _values(attrs, tag)
    if not values or values[0] is None:
        return ""
    value = values[0]
    if isinstance(value, dict):  # PN: the groups that are present, ideographic first (中文 name, then pinyin)
        groups = [value.get(g, "") for g in ("Ideographic", "Alphabetic")]
        return " ".join(g.replace("^", " ").strip() for g in groups if g).strip()
    return str(value).strip()


def _requested(attrs: Mapping[str, Any], tag: str) -> str:
    """An order attribute, top level or in the first item of the Request Attributes Sequence (0040,0275)."""
    if found := _text(attrs, tag):
        return found
    for item in _values(attrs, "00400275"):
        if isinstance(item, dict) and (found := _text(item, tag)):
            return found
    return ""


def _date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) >= 8 else None
    except ValueError:
        return None


_AGE_UNITS = {"D": 1, "W": 7, "M": 30.4375, "Y": 365.25}


def birth_from_age(age: str, on: date) -> date | None:
    """An estimate from Patient's Age (AS, PS3.5 6.2: nnnD/W/M/Y) on the study date; None if unreadable."""
    if len(age) != 4 or not age[:3].isdigit() or age[3] not in _AGE_UNITS:
        return None
    return on - timedelta(days=round(int(age[:3]) * _AGE_UNITS[age[3]]))


def priority_of(value: str) -> Priority:
    """Requested Procedure Priority (0040,1003): STAT, HIGH, ROUTINE, MEDIUM, LOW."""
    return {"STAT": Priority.STAT, "HIGH": Priority.URGENT}.get(value.upper(), Priority.ROUTINE)


def clinical_question(attrs: Mapping[str, Any]) -> str:
    """Requested Procedure Description, Reason for the Requested Procedure and Admitting Diagnoses Description, in
    that order, each once; the Study Description when the order carries none of them."""
    parts: list[str] = []
    for tag in ("00321060", "00401002", "00081080"):
        if (found := _requested(attrs, tag)) and found not in parts:
            parts.append(found)
    return "; ".join(parts) or _text(attrs, "00081030")


def order_facts(attrs: Mapping[str, Any], modalities: Sequence[str], received: date) -> OrderFacts:
    """The facts of one study from one of its instances' attributes; `modalities` in series order."""
    images = [m for m in modalities if m and m not in NON_IMAGE_MODALITIES]
    study_date = _date(_text(attrs, "00080020")) or received
    birth = _date(_text(attrs, "00100030"))
    estimated = birth is None and (birth := birth_from_age(_text(attrs, "00101010"), study_date)) is not None
    sex = _text(attrs, "00100040").upper()
    return OrderFacts(
        patient_id=_text(attrs, "00100020"),
        issuer=_text(attrs, "00100021") or None,
        patient_name=_text(attrs, "00100010"),
        birth_date=birth,
        birth_date_estimated=estimated,
        sex=sex if sex in ("M", "F") else "O",
        modality=(images or list(modalities) or [""])[0] or _text(attrs, "00080060"),
        body_part=_text(attrs, "00180015").upper() or UNSPECIFIED_BODY_PART,
        priority=priority_of(_requested(attrs, "00401003")),
        clinical_question=clinical_question(attrs),
        requesting_physician=_text(attrs, "00321032"),
    )


def same_person(physician: str, display_name: str, username: str) -> bool:
    """Whether the order's Requesting Physician names this doctor (by display name, either script, or username)."""
    wanted = physician.replace("^", " ").split()
    if not wanted:
        return False
    shown = display_name.replace("^", " ")
    return username == physician or " ".join(wanted) in shown or all(part in shown for part in wanted)


# ---- values that cross the Temporal boundary -----------------------------------------------------------------------
@dataclass(frozen=True)
class AutoReferralInput:
    hospital_id: str
    study_instance_uid: str
    quiet_seconds: int  # wait this long after the last stored batch for the rest of the study
    share_link_days: int = 30
    swept: bool = False  # started by the sweep (its archive signal was lost), not by the archive's door


@dataclass(frozen=True)
class PlanInput:
    hospital_id: str
    study_instance_uid: str
    share_link_days: int
    at: datetime


@dataclass(frozen=True)
class Plan:
    """The decision on one study; `referral` when it is referred."""

    outcome: AutoOutcome
    referral: ReferralInput | None = None
    agreement_id: str | None = None
    details: dict[str, Any] | None = None  # what the decision rested on, for the audit row


@dataclass(frozen=True)
class RecordAutoInput:
    hospital_id: str
    study_instance_uid: str
    outcome: AutoOutcome
    batches: int  # how many stored batches signalled the workflow
    at: datetime
    referral_id: str | None = None
    agreement_id: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class AutoReferralResult:
    outcome: AutoOutcome
    referral_id: str | None = None


class AutoActivity:
    PLAN = "plan_auto_referral"
    RECORD = "record_auto_referral"
    FIND_UNREFERRED = "find_unreferred_studies"


# ---- the sweep: studies whose signal was lost ----------------------------------------------------------------------
AUTO_REFERRAL_SWEEP_SCHEDULE_ID = "yilian-auto-referral-sweep"


@dataclass(frozen=True)
class SweepInput:
    """A sweep for covered studies that have no auto-referral decision (their signal was lost: Temporal was down when
    they were stored). Only studies quiet for `quiet_seconds`, stored within `lookback_hours`, at most `limit` a run."""

    quiet_seconds: int
    lookback_hours: int = 72
    limit: int = 200
    share_link_days: int = 30
    hospital_id: str | None = None  # one hospital only (None: all with a hosting agreement)


@dataclass(frozen=True)
class FindUnreferredInput:
    quiet_seconds: int
    lookback_hours: int
    limit: int
    hospital_id: str | None = None


@dataclass(frozen=True)
class ArrivedStudy:
    hospital_id: str
    study_instance_uid: str


@dataclass(frozen=True)
class SweepResult:
    found: int
    started: list[str] = field(default_factory=list)  # auto-referral workflow ids the sweep started
    running: list[str] = field(default_factory=list)  # already started (by the archive's signal): left to run
