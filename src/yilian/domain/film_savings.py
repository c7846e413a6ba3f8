"""What cloud film saves the alliance (issue 17), for the coordinator's dashboard: film not printed and repeat
examinations avoided, per hospital and month. Pure rules over what the patients' access log recorded
(db/queries/film_savings.py reads it); docs/cloud-film.md explains the two counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from yilian.domain.cloud_film import Viewer

# A study reaches the patient as cloud film (instead of printed film) the first time the patient opens it on the
# phone or downloads its report, or a clinician opens it through the patient's QR code.
DELIVERY_VIEWERS = (Viewer.PATIENT, Viewer.CLINICIAN)
DELIVERY_ACTIONS = ("opened", "report_pdf")
# 检查结果互认: a study at most this old when another hospital's doctor opens it stands in for a new one.
REPEAT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Exam:
    """A stored study of a regional patient, as the rule needs it."""

    study_instance_uid: str
    hospital_id: str
    taken_on: date | None  # StudyDate; None when the study has none (it then stands in for nothing)
    kinds: frozenset[tuple[str, str]]  # (modality, body part examined) of its series


@dataclass(frozen=True)
class CrossView:
    """A doctor of `hospital_id` opened another hospital's study of a consenting patient (检查结果互认)."""

    regional_patient_id: str
    study_instance_uid: str
    hospital_id: str
    at: datetime
    day: date  # the alliance's calendar day of `at`
    month: str  # YYYY-MM of `at` in the alliance's time zone


def same_kind(a: Exam, b: Exam) -> bool:
    """The same examination: a modality and body part in common."""
    return bool(a.kinds & b.kinds)


def repeat_avoided(view: CrossView, viewed: Exam, patient_exams: Iterable[Exam]) -> bool:
    """The view stood in for a new exam: the study, of another hospital, was taken at most REPEAT_WINDOW before the
    view, and the viewing hospital stored no study of the same kind of the patient within REPEAT_WINDOW after it
    (had it, the exam was repeated after all)."""
    taken = viewed.taken_on
    if taken is None or viewed.hospital_id == view.hospital_id:
        return False
    if not timedelta(0) <= view.day - taken <= REPEAT_WINDOW:
        return False
    return not any(
        e.hospital_id == view.hospital_id
        and e.taken_on is not None
        and taken <= e.taken_on <= taken + REPEAT_WINDOW
        and same_kind(e, viewed)
        for e in patient_exams
    )


def repeats_avoided(views: Iterable[CrossView], exams_of: Mapping[str, Sequence[Exam]]) -> Counter[tuple[str, str]]:
    """(viewing hospital, month) -> repeats avoided: each (hospital, study) once, in the month of its first view
    that avoided a repeat. `exams_of`: every stored study of each regional patient the views name."""
    counted: set[tuple[str, str]] = set()
    out: Counter[tuple[str, str]] = Counter()
    for view in sorted(views, key=lambda v: v.at):
        key = (view.hospital_id, view.study_instance_uid)
        exams = exams_of.get(view.regional_patient_id, ())
        viewed = next((e for e in exams if e.study_instance_uid == view.study_instance_uid), None)
        if key in counted or viewed is None or not repeat_avoided(view, viewed, exams):
            continue
        counted.add(key)
        out[(view.hospital_id, view.month)] += 1
    return out


def study_day(value: str) -> date | None:
    """A DICOM DA (YYYYMMDD) as a date; None when empty or not a date."""
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) == 8 else None
    except ValueError:
        return None
