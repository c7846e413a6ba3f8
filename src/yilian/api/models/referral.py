"""A referral as the API shows it: the worklist row, the case with its patient and reports, its trail and priors."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.agreement import Priority
from yilian.domain.referral import PersonAction, ReferralState
from yilian.domain.report import Discrepancy, ReportKind
from yilian.domain.sla import SlaStatus


class Referral(ApiModel):
    """One case as its projection row holds it, with the caller's view of it (SLA badge, what they may do)."""

    id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    agreement_id: str | None = Field(description="the agreement it was sent under; null for an in-house case")
    in_house: bool = Field(description="本院写片: sent and read by one hospital, under its in-house reading policy")
    patient_ref: str
    study_instance_uid: str
    modality: str
    body_part: str
    clinical_question: str
    priority: Priority
    difficult: bool
    submitted_by: str
    submitted_at: Timestamp
    state: ReferralState
    offered_to: str | None
    reader_id: str | None
    second_reader_id: str | None
    sla_target_minutes: int
    sla_due_at: Timestamp | None
    sla_warn_at: Timestamp | None
    sla_paused: bool
    warned: bool
    breached: bool
    escalated: bool
    critical: bool
    critical_open: bool
    report_version: int
    preliminary_at: Timestamp | None
    final_at: Timestamp | None
    closed_at: Timestamp | None
    signer_id: str | None
    discrepancy: Discrepancy | None
    seq: int = Field(description="the number of the case's latest audit event: a newer view has a larger one")
    updated_at: Timestamp
    sla_status: SlaStatus
    allowed_actions: list[PersonAction] = Field(
        default_factory=list,
        description="the actions the caller may take on the case now (domain.referral.allowed_actions)",
    )


class Patient(ApiModel):
    patient_id: str
    issuer: str
    name: str
    birth_date: date
    sex: Literal["M", "F", "O"]


class ReportVersion(ApiModel):
    """One version of the report; drafts are shown only to the readers."""

    referral_id: str
    version: int
    kind: ReportKind
    author_id: str
    author_role: str
    author_name: str
    findings: str
    impression: str
    structured: dict[str, str]
    critical: bool
    critical_note: str
    created_at: Timestamp


class ReferralDetail(Referral):
    patient: Patient
    reports: list[ReportVersion]


class PriorCase(ApiModel):
    """An earlier case of the same patient with its latest signed report (none yet: null findings)."""

    id: str
    study_instance_uid: str
    modality: str
    body_part: str
    clinical_question: str
    state: ReferralState
    submitted_at: Timestamp
    final_at: Timestamp | None
    reader_id: str | None
    findings: str | None
    impression: str | None


class AuditEvent(ApiModel):
    """One transition of a case: who, what, when, from which state to which."""

    referral_id: str
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_hospital_id: str | None
    actor_name: str | None = Field(default=None, description="the actor's display name, where they are a user")
    at: Timestamp
    details: dict[str, Any]
