"""The alliance's reference data as the admin API shows it, and the log of every change made through it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yilian.api.models.agreement import AgreementTerms
from yilian.api.models.directory import Subspecialty
from yilian.api.models.me import StaffRole
from yilian.api.schemas import ApiModel, Timestamp
from yilian.db.queries.admin import AdminAction, AdminEntity
from yilian.domain.agreement import ServiceMode
from yilian.domain.alliance import HospitalLevel


class AdminHospital(ApiModel):
    id: str
    name: str
    level: HospitalLevel
    patient_id_issuer: str
    created_at: Timestamp


class AdminAgreement(AgreementTerms):
    """The agreement as it is stored and accepted back (PUT takes the same fields but the id and created_at)."""

    id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    service_mode: ServiceMode
    active: bool
    created_at: Timestamp


class AdminUser(ApiModel):
    id: str
    username: str
    display_name: str
    role: StaffRole
    hospital_id: str | None
    title: str
    is_junior: bool
    on_duty: bool
    active: bool
    created_at: Timestamp
    licensed_for: list[str]
    subspecialties: list[Subspecialty]


class AdminChange(ApiModel):
    id: int
    at: Timestamp
    actor_id: str
    entity: AdminEntity
    entity_id: str
    action: AdminAction
    before: dict[str, Any] | None = Field(description="the entity as this API showed it before; null on create")
    after: dict[str, Any] | None = Field(description="and after; null for a password change")
