"""Values that cross the Temporal boundary: workflow input, Update arguments, activity inputs/results.

Plain frozen dataclasses (lists, not sets) so Temporal's JSON converter round-trips them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from yilian.domain.agreement import Agreement, CaseTerms, Priority
from yilian.domain.in_house import InHousePolicy, in_house_policy_id
from yilian.domain.notice import NoticeKind
from yilian.domain.referral import AuditEvent, Given, ReferralCase, ReferralState
from yilian.domain.report import Discrepancy, ReportContent, ReportKind
from yilian.domain.roles import Actor, Role
from yilian.domain.routing import ExpertCandidate
from yilian.domain.sla import SlaClock


@dataclass(frozen=True, kw_only=True)
class ReferralPolicy(CaseTerms):
    """The agreement's case terms, snapshotted at submission so later edits do not change a running case.

    Its JSON is flat (the CaseTerms fields beside agreement_id) as running workflows' histories hold it.
    """

    agreement_id: str
    amendment_window_days: int = 30
    share_link_days: int = 30

    @classmethod
    def from_agreement(cls, a: Agreement, *, share_link_days: int) -> ReferralPolicy:
        """The agreement's case terms and the deployment's share-link lifetime (Settings.share_link_days)."""
        terms = {f.name: getattr(a.terms, f.name) for f in fields(CaseTerms)}
        return cls(agreement_id=a.id, share_link_days=share_link_days, **terms)

    @classmethod
    def from_in_house(cls, p: InHousePolicy, *, share_link_days: int) -> ReferralPolicy:
        """An in-house case's terms: its hospital's policy (named by `in_house_policy_id`, never an agreement)."""
        terms = {f.name: getattr(p.terms, f.name) for f in fields(CaseTerms)}
        return cls(agreement_id=in_house_policy_id(p.hospital_id), share_link_days=share_link_days, **terms)


@dataclass(frozen=True)
class CaseFacts:
    """What the referral is about; does not change over the case's life."""

    referral_id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    patient_ref: str  # patients.id, never a name
    study_instance_uid: str
    modality: str
    body_part: str
    clinical_question: str
    priority: Priority
    difficult: bool
    submitted_by: Actor
    overflow: bool = False  # sent under a half-hosting agreement's overflow rule
    # Made by the archive from the images' order (domain/auto_referral.py), not sent by `submitted_by`, who answers
    # for it: the sending hospital's doctors are told what concerns the sender.
    auto: bool = False


@dataclass(frozen=True)
class CaseProgress:
    """Everything the workflow carries between runs (continue-as-new, or a restart to add an addendum)."""

    case: ReferralCase
    clock: SlaClock
    warned: bool = False
    breached: bool = False
    auto_reassigns: int = 0
    escalated: bool = False
    excluded_readers: list[str] = field(default_factory=list)
    report: ReportContent | None = None
    report_version: int = 0
    needs_second_reading: bool | None = None
    critical_open: bool = False
    critical_notified_at: datetime | None = None
    preliminary_at: datetime | None = None
    final_at: datetime | None = None
    closed_at: datetime | None = None
    signer_id: str | None = None
    discrepancy: Discrepancy | None = None
    info_request: str = ""
    junior_readers: list[str] = field(default_factory=list)  # whose reports the junior-reader policy reviews
    images_checked: bool = False  # the archive was found to hold the study (or the case predates the check)
    consult_steps: list[str] = field(default_factory=list)  # "<consult id>/<seq>" of consult steps recorded here


@dataclass(frozen=True)
class ReferralInput:
    facts: CaseFacts
    policy: ReferralPolicy
    progress: CaseProgress | None = None  # None: a new referral


@dataclass(frozen=True)
class ActorInput:
    actor: Actor
    comment: str = ""

    def given(self) -> Given:
        return Given(comment=self.comment)


@dataclass(frozen=True)
class ReportInput:
    actor: Actor
    content: ReportContent

    def given(self) -> Given:
        return Given(report=self.content)


@dataclass(frozen=True)
class ReviewInput:
    actor: Actor
    discrepancy: Discrepancy
    comments: str = ""

    def given(self) -> Given:
        return Given(comment=self.comments, discrepancy=self.discrepancy)


@dataclass(frozen=True)
class ReassignInput:
    actor: Actor
    expert_id: str | None  # None: back to automatic routing
    reason: str = ""
    expert_is_junior: bool = False

    def given(self) -> Given:
        return Given(comment=self.reason, target=self.expert_id)


@dataclass(frozen=True)
class QualityInput:
    """The reader's grade of the study's technical quality (domain/quality.py checks it against the modality)."""

    actor: Actor
    grade: str
    reasons: list[str] = field(default_factory=list)

    def given(self) -> Given:
        return Given()


@dataclass(frozen=True)
class RetakeInput:
    """The reader sends the study back for a retake: the defect reasons (domain/quality.DefectReason) and what to do."""

    actor: Actor
    reasons: list[str]
    comment: str

    def given(self) -> Given:
        return Given(comment=self.comment)


PersonInput = ActorInput | ReportInput | ReviewInput | ReassignInput | QualityInput | RetakeInput


@dataclass(frozen=True)
class ActionResult:
    referral_id: str
    state: ReferralState
    seq: int
    # The projection row as this action wrote it, so the API need not read it back. None when the step's
    # activity did not move the row (a retry, or a newer step got there first) and in histories from before.
    row: RecordedRow | None = None


@dataclass(frozen=True)
class ProjectionSnapshot:
    """The worklist/dashboard row, written whole with every event so replays are idempotent."""

    facts: CaseFacts
    agreement_id: str
    state: ReferralState
    offered_to: str | None
    reader_id: str | None
    second_reader_id: str | None
    sla_target_minutes: int
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    sla_paused: bool
    warned: bool
    breached: bool
    escalated: bool
    critical_open: bool
    critical: bool
    report_version: int
    preliminary_at: datetime | None
    final_at: datetime | None
    closed_at: datetime | None
    signer_id: str | None
    discrepancy: Discrepancy | None


@dataclass(frozen=True)
class RecordedRow:
    """A projection row as one step wrote it: the snapshot, the step's audit seq and time, the submission time."""

    snapshot: ProjectionSnapshot
    seq: int
    at: datetime
    submitted_at: datetime


@dataclass(frozen=True)
class ReportVersionInput:
    referral_id: str
    version: int
    kind: ReportKind
    author: Actor
    content: ReportContent
    at: datetime


@dataclass(frozen=True)
class FindCandidatesInput:
    referral_id: str
    reading_hospital_id: str
    requesting_hospital_id: str
    modality: str
    body_part: str
    patient_ref: str
    exclude: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FindCandidatesResult:
    ranked: list[ExpertCandidate]


@dataclass(frozen=True)
class Audience:
    user_ids: list[str] = field(default_factory=list)
    role: Role | None = None  # everyone with this role ...
    hospital_id: str | None = None  # ... at this hospital


@dataclass(frozen=True)
class NotifyInput:
    """A notice to record with a step: its kind and parameters; channels put it into words (notify/messages.py)."""

    key: str  # idempotency key: a retried activity never notifies twice
    referral_id: str
    kind: NoticeKind
    audience: Audience
    at: datetime
    params: dict[str, str] = field(default_factory=dict)
    # Only in activities scheduled before notices had kinds and parameters: the English text they carried then.
    title: str = ""
    body: str = ""


@dataclass(frozen=True)
class NotifyResult:
    kind: str
    recipients: list[str]
    channels: list[str]


@dataclass(frozen=True)
class ShareLinkInput:
    referral_id: str
    patient_ref: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class QualityRecordInput:
    """One quality grade as the scorecards read it; a later grade of the same referral replaces it."""

    referral_id: str
    requesting_hospital_id: str
    study_instance_uid: str
    modality: str
    scale: str
    grade: str
    good: bool
    reasons: list[str]
    reader_id: str
    at: datetime


@dataclass(frozen=True)
class RecordStepInput:
    """Everything one step of a case changes, written in one transaction by one activity.

    One activity per step (not one per side effect) keeps a referral's history short and its steps
    atomic: the audit event, the report version, the share link, the projection and the inbox rows
    commit together or not at all.
    """

    event: AuditEvent
    snapshot: ProjectionSnapshot
    details: dict[str, Any] = field(default_factory=dict)
    report: ReportVersionInput | None = None
    share_link: ShareLinkInput | None = None
    notifications: list[NotifyInput] = field(default_factory=list)
    quality: QualityRecordInput | None = None


@dataclass(frozen=True)
class RecordStepResult:
    recorded: bool  # False: a retry of a step already recorded
    notified: list[NotifyResult] = field(default_factory=list)
    submitted_at: datetime | None = None  # the projection row's, when this step moved the row


class ActivityName:
    """Names shared by the workflow (which calls them) and activities/ (which implements them)."""

    RECORD_STEP = "record_step"
    FIND_CANDIDATES = "find_candidates"
    STUDY_ARRIVED = "study_arrived"
    INDEX_REPORT = "index_report"
    QUEUE_REPORT_FOR_PACS = "queue_report_for_pacs"


@dataclass(frozen=True)
class StudyArrivedInput:
    study_instance_uid: str
    requesting_hospital_id: str


@dataclass(frozen=True)
class IndexReportInput:
    """Index the referral's signed report (final or addendum `report_version`) for search."""

    referral_id: str
    report_version: int


@dataclass(frozen=True)
class IndexReportResult:
    indexed: bool  # False: search is not configured, or the index already held a newer version
    report_version: int = 0  # the version the index now holds (read from PostgreSQL, never older than asked)


@dataclass(frozen=True)
class PacsReportInput:
    """Make the signed version `report_version` into DICOM (PDF and SR) for the sending hospital's PACS."""

    referral_id: str
    report_version: int


@dataclass(frozen=True)
class PacsReportResult:
    queued: int  # instances made for the gateway (0: made before, no archived study, or no gateway with a PACS)
    reason: str = ""
