"""Values that cross the Temporal boundary for teaching cases: workflow input, Update arguments, activity I/O.

Plain frozen dataclasses (lists, not sets) so Temporal's JSON converter round-trips them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from yilian.domain.referral_io import NotifyInput
from yilian.domain.roles import Actor
from yilian.domain.teaching import Curation, Given, TeachingCase, TeachingEvent, TeachingState

TEACHING_WORKFLOW = "TeachingCaseWorkflow"  # the workflow type, so the API starts it by name


class TeachingActivity(StrEnum):
    RECORD_STEP = "teaching.record_step"
    DEIDENTIFY = "teaching.deidentify"
    LEAK_SCAN = "teaching.leak_scan"


@dataclass(frozen=True)
class TeachingFacts:
    """Where the case came from; does not change."""

    case_id: str
    referral_id: str
    study_instance_uid: str  # the source study (identifying: never shown to learners)
    requesting_hospital_id: str
    patient_ref: str  # the source patient, kept so a later signed referral can tell the curator
    modality: str
    body_part: str
    nominated_by: Actor
    reason: str  # "flag" (one click) or a ProposalReason value


@dataclass(frozen=True)
class TeachingInput:
    facts: TeachingFacts
    case: TeachingCase | None = None  # carried over continue-as-new
    deidentified: bool = False


@dataclass(frozen=True)
class EducatorInput:
    actor: Actor
    comment: str = ""

    def given(self) -> Given:
        return Given(comment=self.comment)


@dataclass(frozen=True)
class CurationInput:
    actor: Actor
    curation: Curation
    comment: str = ""

    def given(self) -> Given:
        return Given(curation=self.curation, comment=self.comment)


@dataclass(frozen=True)
class LeakFinding:
    """Something identifying left in the copy: where (a tag keyword or a text field) and what kind of thing."""

    where: str
    kind: str
    excerpt: str = ""  # masked: enough for the educator to find it, never the whole identifier


@dataclass(frozen=True)
class TeachingResult:
    case_id: str
    state: TeachingState
    seq: int
    version: int
    leaks: list[LeakFinding] = field(default_factory=list)  # a blocked publish: what the scan found


@dataclass(frozen=True)
class TeachingSnapshot:
    """What the projection row holds after a step."""

    facts: TeachingFacts
    state: TeachingState
    curator_id: str | None
    curation: Curation
    version: int


@dataclass(frozen=True)
class RecordTeachingStepInput:
    event: TeachingEvent
    snapshot: TeachingSnapshot
    details: dict[str, Any] = field(default_factory=dict)
    curation_version: bool = False  # the step made a new curation version
    notifications: list[NotifyInput] = field(default_factory=list)


@dataclass(frozen=True)
class DeidentifyInput:
    case_id: str
    referral_id: str
    study_instance_uid: str
    requesting_hospital_id: str
    patient_ref: str


@dataclass(frozen=True)
class DeidentifyResult:
    study_instance_uid: str  # the de-identified copy's new UID
    instances: int
    flagged: int  # instances whose pixels may carry burned-in text (a person must look)
    redactions: int  # text replacements made
    # The redacted texts: the first curation's history, findings and impression (the educator corrects them).
    history: str = ""
    findings: str = ""
    impression: str = ""


@dataclass(frozen=True)
class CaseRef:
    case_id: str
