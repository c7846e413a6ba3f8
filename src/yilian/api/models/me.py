"""The signed-in person: who the API takes them for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from yilian.api.schemas import ApiModel
from yilian.domain.roles import Role


class StaffRole(StrEnum):
    """The roles a person's account can have; patients, gateways and the system are not accounts."""

    COUNTY_DOCTOR = Role.COUNTY_DOCTOR.value
    EXPERT = Role.EXPERT.value
    SENIOR = Role.SENIOR.value
    COORDINATOR = Role.COORDINATOR.value
    ADMIN = Role.ADMIN.value
    EDUCATOR = Role.EDUCATOR.value


class SignedInUser(ApiModel):
    id: str
    name: str
    role: StaffRole
    hospital_id: str | None


class Me(SignedInUser):
    title: str
    on_duty: bool = Field(description="readers: whether new cases are offered to them")
    licensed_for: list[str] = Field(description="readers: the hospitals they may read for")
    reads_in_house: list[str] = Field(
        description="the modalities the caller's hospital reads itself (本院写片): its doctors' cases of these stay "
        "in the hospital; empty: none"
    )


class LoginResponse(ApiModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token runs out")
    user: SignedInUser
