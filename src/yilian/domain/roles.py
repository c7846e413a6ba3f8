"""Who people are in the alliance, and the actor value every action carries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    COUNTY_DOCTOR = "county_doctor"
    EXPERT = "expert"
    SENIOR = "senior"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    # Curates teaching cases (and, later, lectures): a teaching role of its own, not a reading permission, because
    # the people who run an alliance's teaching are named for it and need not read cases (docs/teaching.md).
    EDUCATOR = "educator"
    PATIENT = "patient"
    GATEWAY = "gateway"  # a hospital's gateway, signed in with the hospital's API key: it may only store images
    SYSTEM = "system"


READER_ROLES = frozenset({Role.EXPERT, Role.SENIOR})


@dataclass(frozen=True)
class Actor:
    """Who did something: recorded on every transition and audit event."""

    user_id: str
    role: Role
    hospital_id: str | None
    name: str = ""


SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM, hospital_id=None, name="Yilian")
