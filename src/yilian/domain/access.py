"""Who may see a referral: by role, by hospital, and by the reader's licence for the sending hospital."""

from __future__ import annotations

from dataclasses import dataclass, field

from yilian.domain.roles import Actor, Role


@dataclass(frozen=True)
class Principal:
    """A signed-in person as the API knows them."""

    user_id: str
    role: Role
    hospital_id: str | None
    name: str
    licensed_for: frozenset[str] = field(default_factory=frozenset)  # hospitals a reader may read for

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.hospital_id, self.name)


@dataclass(frozen=True)
class ReferralScope:
    requesting_hospital_id: str
    reading_hospital_id: str
    offered_to: str | None
    reader_id: str | None


def can_view(p: Principal, r: ReferralScope) -> bool:
    if p.role is Role.ADMIN:
        return True
    if p.role is Role.COUNTY_DOCTOR:
        return p.hospital_id == r.requesting_hospital_id
    if p.role is Role.COORDINATOR:
        return p.hospital_id in (r.requesting_hospital_id, r.reading_hospital_id)
    if p.role in (Role.EXPERT, Role.SENIOR):
        if p.user_id in (r.offered_to, r.reader_id):
            return True
        return p.hospital_id == r.reading_hospital_id and r.requesting_hospital_id in p.licensed_for
    return False


def sees_drafts(p: Principal, r: ReferralScope) -> bool:
    """Drafts and preliminary versions stay on the reading side; the county sees signed reports."""
    return (
        p.role in (Role.EXPERT, Role.SENIOR)
        or (p.role is Role.COORDINATOR and p.hospital_id == r.reading_hospital_id)
        or p.role is Role.ADMIN
    )


def can_manage_hospital(p: Principal, hospital_id: str) -> bool:
    """Hospital settings such as its gateway API keys: an admin, or that hospital's coordinator."""
    return p.role is Role.ADMIN or (p.role is Role.COORDINATOR and p.hospital_id == hospital_id)
