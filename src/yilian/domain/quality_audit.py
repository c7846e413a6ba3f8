"""Quality audit sampling (影像质控抽检): a coordinator draws graded studies of one sending hospital and month, at
random or the worst first, and records for each whether the reader's grade stands.

Pure rules and the values that cross the Temporal boundary; QualityAuditWorkflow (workflows/quality_audit.py) is the
single writer of an audit. docs/reading-service.md §3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.quality import GRADES, QualityGrade, QualityScale, grade_of
from yilian.domain.roles import Actor, Role

QUALITY_AUDIT_WORKFLOW = "QualityAuditWorkflow"  # by name: the API imports no workflow but the referral's
MAX_SAMPLE = 50
MONTH_ZONE = ZoneInfo("Asia/Shanghai")  # the scorecards' months


class SampleMode(StrEnum):
    RANDOM = "random"  # N graded studies drawn at random
    WORST = "worst"  # the N worst grades (ties: the latest graded first)


class Verdict(StrEnum):
    CONFIRMED = "confirmed"  # the reader's grade stands
    REGRADED = "regraded"  # the auditor grades the study otherwise (a grade of its own, with reasons and a comment)


class AuditState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"  # every sampled study has its outcome


class AuditAction(StrEnum):
    """The audit's events (quality_audit_events.action)."""

    SAMPLED = "sampled"
    OUTCOME = "outcome"
    COMPLETED = "completed"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM month in the scorecards' time zone, as UTC instants."""
    try:
        year, mon = int(month[:4]), int(month[5:7])
        if len(month) != 7 or month[4] != "-":
            raise ValueError(month)
        start = datetime(year, mon, 1, tzinfo=MONTH_ZONE)
        end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=MONTH_ZONE)
    except ValueError as exc:
        raise YilianError(ErrorCode.VALIDATION_FAILED, f"{month!r} is no month (YYYY-MM)", {"field": "month"}) from exc
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class AuditItem:
    """A sampled study as the reader graded it."""

    referral_id: str
    modality: str
    scale: str  # domain.quality.QualityScale
    grade: str
    reasons: list[str] = field(default_factory=list)
    technician: str = ""
    graded_at: datetime | None = None

    @property
    def severity(self) -> int:
        """0 for the best grade of its scale, higher for worse."""
        grades = GRADES[QualityScale(self.scale)]
        return grades.index(self.grade) if self.grade in grades else len(grades)


def draw(graded: Sequence[AuditItem], size: int, mode: SampleMode, seed: str) -> list[AuditItem]:
    """The sample: `size` of `graded`, the worst first or at random. Random is a hash of the audit's id with each case,
    so the same audit draws the same studies however often it is drawn."""
    if mode is SampleMode.WORST:
        latest_first = sorted(graded, key=lambda g: g.graded_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        ordered = sorted(latest_first, key=lambda g: -g.severity)  # stable: ties stay latest first
    else:
        ordered = sorted(graded, key=lambda g: hashlib.sha256(f"{seed}/{g.referral_id}".encode()).hexdigest())
    return ordered[:size]


# ---- values that cross the Temporal boundary -----------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFacts:
    audit_id: str
    auditor_hospital_id: str  # the coordinator's hospital: its coordinators see and record the audit
    hospital_id: str  # the sending hospital whose studies are audited
    month: str  # YYYY-MM
    mode: SampleMode
    requested: int  # the sample size asked for (the sample may be smaller)
    requested_by: Actor
    requested_at: datetime
    items: list[AuditItem]


@dataclass(frozen=True)
class OutcomeInput:
    """An auditor's outcome for one sampled study."""

    actor: Actor
    referral_id: str
    verdict: str
    grade: str = ""
    reasons: list[str] = field(default_factory=list)
    comment: str = ""


@dataclass(frozen=True)
class RecordOutcomeInput:
    audit_id: str
    seq: int
    referral_id: str
    verdict: Verdict
    grade: str  # the auditor's grade ('' when the reader's stands)
    reasons: list[str]
    comment: str
    actor: Actor
    at: datetime
    completed: bool  # the last outcome: the audit completes in the same transaction (event seq + 1)


@dataclass(frozen=True)
class AuditResult:
    audit_id: str
    state: AuditState
    recorded: int
    total: int


class AuditActivity:
    RECORD_SAMPLE = "record_audit_sample"
    RECORD_OUTCOME = "record_audit_outcome"


def check_outcome(
    facts: AuditFacts, recorded: frozenset[str], inp: OutcomeInput
) -> tuple[Verdict, QualityGrade | None]:
    """Who may record what: a coordinator of the auditing hospital, once per sampled study; a regrade is a valid grade
    other than the reader's, with its reasons and a comment. Returns the verdict and the auditor's grade."""
    actor = inp.actor
    if actor.role is not Role.COORDINATOR or actor.hospital_id != facts.auditor_hospital_id:
        raise YilianError(
            ErrorCode.FORBIDDEN,
            f"{actor.role} {actor.user_id} may not record outcomes of this audit",
            {"required": "coordinator of the auditing hospital"},
        )
    item = next((i for i in facts.items if i.referral_id == inp.referral_id), None)
    if item is None:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED, f"{inp.referral_id} is not in this audit's sample", {"field": "referral_id"}
        )
    if inp.referral_id in recorded:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"the outcome of {inp.referral_id} is already recorded",
            {"referral_id": inp.referral_id},
        )
    try:
        verdict = Verdict(inp.verdict)
    except ValueError as exc:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"the verdict is one of {', '.join(Verdict)}",
            {"field": "verdict", "allowed": list(Verdict)},
        ) from exc
    if verdict is Verdict.CONFIRMED:
        return verdict, None
    regrade = grade_of(item.modality, inp.grade, inp.reasons)
    if regrade.grade == item.grade:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            "a regrade differs from the reader's grade (else confirm it)",
            {"field": "grade"},
        )
    if not inp.comment.strip():
        raise YilianError(ErrorCode.VALIDATION_FAILED, "a regrade says why", {"field": "comment"})
    return verdict, regrade
