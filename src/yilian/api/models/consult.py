"""An MDT consult as the API shows it: the consult, its people and cases, its chat, attendance and trail."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yilian.api.models.me import StaffRole
from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.agreement import Priority
from yilian.domain.consult import ConsultPersonAction, ConsultState
from yilian.domain.referral import ReferralState


class ConsultConclusion(ApiModel):
    participants: list[str] = Field(description="user ids of who took part, as the host wrote it")
    discussion: str
    recommendation: str


class Consult(ApiModel):
    """One consult as its projection row holds it, with what the caller may do to it now."""

    id: str
    title: str
    state: ConsultState
    referral_id: str | None = Field(description="the case it was requested from; null for a tumour board")
    case_ids: list[str] = Field(description="the referrals it discusses, in their order")
    hospital_ids: list[str]
    created_by: str
    requested_by: str | None
    host_id: str | None
    invitee_ids: list[str]
    starts_at: Timestamp | None
    duration_minutes: int | None
    agenda: str
    conclusion: ConsultConclusion | None
    cancel_reason: str
    seq: int = Field(description="the number of the consult's latest audit event: a newer view has a larger one")
    created_at: Timestamp
    updated_at: Timestamp
    allowed_actions: list[ConsultPersonAction] = Field(
        default_factory=list, description="what the caller may do now (domain.consult.allowed_actions)"
    )


class Person(ApiModel):
    """Someone of the alliance who may be invited to a consult."""

    id: str
    display_name: str
    role: StaffRole
    hospital_id: str | None
    title: str
    specialty: str = Field(description="e.g. radiology, thoracic_surgery, oncology; empty when not recorded")


class ConsultCase(ApiModel):
    """A case the consult discusses, as far as the caller may see it (hidden cases are left out)."""

    id: str
    requesting_hospital_id: str
    study_instance_uid: str
    modality: str
    body_part: str
    clinical_question: str
    priority: Priority
    state: ReferralState


class Attendance(ApiModel):
    """One stay in the room: who, from when to when (left_at null: still there)."""

    user_id: str
    display_name: str
    joined_at: Timestamp
    left_at: Timestamp | None


class ConsultDetail(Consult):
    host: Person | None
    invitees: list[Person]
    cases: list[ConsultCase]
    attendance: list[Attendance]


class ConsultMessage(ApiModel):
    id: int
    consult_id: str
    author_id: str
    author_name: str
    body: str
    at: Timestamp


class ConsultEvent(ApiModel):
    """One step of a consult: who, what, when, from which state to which."""

    consult_id: str
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_hospital_id: str | None
    actor_name: str | None = None
    at: Timestamp
    details: dict[str, Any]


class ConsultRecordingFile(ApiModel):
    """One WebM the room wrote: one publisher's camera and microphone (or screen) while everyone consented."""

    name: str = Field(description="play it at /api/consults/{consult_id}/recordings/{name}")
    user_id: str = Field(description="whose camera, microphone or screen it holds")
    bytes: int
    modified_at: Timestamp


class ConsultRecordings(ApiModel):
    """Who consents to the room being recorded, and what it recorded (for its participants to play, and to pick
    from later as teaching material)."""

    consented: list[str] = Field(description="user ids whose latest word is yes")
    declined: list[str] = Field(description="user ids whose latest word is no")
    files: list[ConsultRecordingFile]
