"""Retention policies, a study's retention, legal holds, the retention audit trail (docs/retention.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.db.queries.retention import RetentionAction
from yilian.domain.retention import EncounterType, PolicySource


class RetentionPolicy(ApiModel):
    """The years a scope keeps one encounter type's images, and where that figure comes from."""

    hospital_id: str | None = Field(description="null: the alliance-wide policy")
    encounter_type: EncounterType
    years: int
    minimum_years: int = Field(description="the floor no policy may go under (record rules, cloud promise)")
    source: PolicySource


class LegalHold(ApiModel):
    id: str
    study_instance_uid: str
    reason: str
    case_reference: str
    placed_by: str
    placed_at: Timestamp
    released_by: str | None
    released_at: Timestamp | None
    release_reason: str | None
    active: bool


class StudyRetention(ApiModel):
    study_instance_uid: str
    hospital_id: str
    encounter_type: EncounterType
    encounter_type_recorded: bool = Field(description="false: nobody recorded it; kept as inpatient (the longest)")
    years: int
    policy: PolicySource
    counted_from: date = Field(description="the later of the study's date and the day the archive received it")
    retain_until: date
    deletable: bool
    blocked_by: list[str] = Field(description="error codes that a deletion today would answer; empty if none")
    instances: int
    bytes: int
    holds: list[LegalHold]


class RetentionEvent(ApiModel):
    id: int
    at: Timestamp
    actor_id: str
    actor_role: str
    action: RetentionAction
    study_instance_uid: str | None
    hospital_id: str | None
    details: dict[str, Any]


class StudyDeleted(ApiModel):
    study_instance_uid: str
    instances: int
    blobs_deleted: int
