"""The regional patient index as its keepers see it: enrolments, the review queue, a regional patient's records."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.patient_index import IndexAction, LinkHow, ReviewState, Uncertainty


class Enrolment(ApiModel):
    patient_ref: str
    regional_patient_id: str
    outcome: Literal["linked", "review", "own"] = Field(
        description="linked: an exact match; review: something uncertain matched (a coordinator decides); "
        "own: nothing matched"
    )
    review_id: str | None


class HospitalRecord(ApiModel):
    patient_ref: str
    hospital_id: str
    hospital_name: str
    patient_id: str
    name: str
    sex: str
    birth_date: date


class LinkReview(ApiModel):
    id: str
    reason: Uncertainty
    state: ReviewState
    opened_at: Timestamp
    decided_by: str | None
    decided_at: Timestamp | None
    record: HospitalRecord = Field(description="the hospital record under review")
    candidate_id: str
    candidate_name: str
    candidate_sex: str
    candidate_birth_date: date


class IndexedRecord(HospitalRecord):
    how: LinkHow
    linked_at: Timestamp
    has_national_id: bool = Field(description="whether a national ID hash was given (the number is never stored)")


class IndexEvent(ApiModel):
    at: Timestamp
    action: IndexAction
    patient_ref: str
    regional_patient_id: str
    from_regional_id: str | None
    actor_id: str
    actor_role: str
    details: dict[str, Any]


class RegionalPatient(ApiModel):
    id: str
    name: str
    sex: str
    birth_date: date
    has_phone: bool
    records: list[IndexedRecord]
    events: list[IndexEvent] = Field(description="every link, unlink and review that touched it, oldest first")
