"""Who may see a referral and a study: one rule, written as data, read here and compiled to SQL in db/queries/access.py.

A referral is visible through any one of the caller's role's grants; a grant holds when each of its matches
holds (a party of the referral equals the caller, the caller's hospital, or one of the hospitals the caller is
licensed to read for). A study is visible by role: everything, the studies the caller's hospital stored, or the
studies of referrals the caller may see (sent by the hospital that stored them), with that patient's priors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from yilian.domain.roles import READER_ROLES, Actor, Role
from yilian.domain.teaching import TeachingState, Visibility, can_see


@dataclass(frozen=True)
class Principal:
    """A signed-in person as the API knows them."""

    user_id: str
    role: Role
    hospital_id: str | None
    name: str
    licensed_for: frozenset[str] = field(default_factory=frozenset)  # hospitals a reader may read for
    # Set only for a clinician holding a patient's QR (cloud film): exactly these studies, nothing else.
    studies: frozenset[str] | None = None
    # Set only for a gateway whose API key has the store_retrieve scope: its hospital's own studies (C-FIND/C-MOVE).
    may_retrieve: bool = False

    @cached_property
    def actor(self) -> Actor:  # cached: a worklist asks for it once per row
        return Actor(self.user_id, self.role, self.hospital_id, self.name)


@dataclass(frozen=True)
class ReferralScope:
    requesting_hospital_id: str
    reading_hospital_id: str
    offered_to: str | None
    reader_id: str | None


class Party(StrEnum):
    """Who a referral names; the values are the projection's column names."""

    REQUESTING_HOSPITAL = "requesting_hospital_id"
    READING_HOSPITAL = "reading_hospital_id"
    OFFERED_TO = "offered_to"
    READER = "reader_id"


class Mine(StrEnum):
    """What of the caller a party is matched with."""

    USER = "user_id"  # the caller themself
    HOSPITAL = "hospital_id"  # the caller's hospital (a caller without one matches nothing)
    LICENCES = "licensed_for"  # any hospital the caller may read for (多机构执业备案)


@dataclass(frozen=True)
class Match:
    party: Party
    mine: Mine


Grant = tuple[Match, ...]  # every match must hold; the empty grant holds for every referral

_READER_GRANTS: tuple[Grant, ...] = (
    (Match(Party.OFFERED_TO, Mine.USER),),
    (Match(Party.READER, Mine.USER),),
    # Any case sent to the reader's hospital by a hospital they are licensed to read for.
    (Match(Party.READING_HOSPITAL, Mine.HOSPITAL), Match(Party.REQUESTING_HOSPITAL, Mine.LICENCES)),
    # 本院写片: an in-house case (sent and read by the reader's own hospital), licence or not (domain/in_house.py).
    (Match(Party.READING_HOSPITAL, Mine.HOSPITAL), Match(Party.REQUESTING_HOSPITAL, Mine.HOSPITAL)),
)

REFERRAL_GRANTS: Mapping[Role, tuple[Grant, ...]] = {
    Role.ADMIN: ((),),
    Role.COUNTY_DOCTOR: ((Match(Party.REQUESTING_HOSPITAL, Mine.HOSPITAL),),),
    Role.COORDINATOR: (
        (Match(Party.REQUESTING_HOSPITAL, Mine.HOSPITAL),),
        (Match(Party.READING_HOSPITAL, Mine.HOSPITAL),),
    ),
    **{role: _READER_GRANTS for role in READER_ROLES},
}  # any role not named (patient, gateway, system) sees no referral


class StudyReach(StrEnum):
    """How far a visible referral opens the archive."""

    CASE = "case"  # the study the referral names
    PRIORS = "priors"  # and that patient's other studies from the same hospital


@dataclass(frozen=True)
class StudyGrant:
    everything: bool = False
    own_hospital: bool = False  # studies the caller's hospital stored
    through_referrals: StudyReach | None = None  # studies of referrals the caller may see
    # 检查结果互认 (cloud film): another hospital's studies of a patient who consented and of whom the caller's
    # hospital holds a record in the regional patient index.
    recognised: bool = False
    # 检查结果互认 for readers: a consenting patient's studies at any hospital, through the cases of that patient (in
    # the regional index) the caller may see: the tertiary hospital's reader sees the priors of the case they read.
    recognised_through_referrals: bool = False


STUDY_GRANTS: Mapping[Role, StudyGrant] = {
    Role.ADMIN: StudyGrant(everything=True),
    Role.COUNTY_DOCTOR: StudyGrant(own_hospital=True, recognised=True),
    Role.COORDINATOR: StudyGrant(own_hospital=True, through_referrals=StudyReach.CASE, recognised=True),
    **{
        role: StudyGrant(through_referrals=StudyReach.PRIORS, recognised_through_referrals=True)
        for role in READER_ROLES
    },
}  # a gateway stores; it searches and retrieves only with a retrieving key (RETRIEVING_GATEWAY)
# A gateway's key issued with the store_retrieve scope: the studies its hospital sent, for the county's workstations.
RETRIEVING_GATEWAY = StudyGrant(own_hospital=True)


def study_grant(p: Principal) -> StudyGrant | None:
    """How far the archive opens to `p`: its role's grant, or for a gateway, its key's."""
    if p.role is Role.GATEWAY:
        return RETRIEVING_GATEWAY if p.may_retrieve else None
    return STUDY_GRANTS.get(p.role)


def party(r: ReferralScope, which: Party) -> str | None:
    return {
        Party.REQUESTING_HOSPITAL: r.requesting_hospital_id,
        Party.READING_HOSPITAL: r.reading_hospital_id,
        Party.OFFERED_TO: r.offered_to,
        Party.READER: r.reader_id,
    }[which]


def mine(p: Principal, which: Mine) -> str | frozenset[str] | None:
    """The caller's side of a match: one value, a set of hospitals, or None (matches nothing)."""
    if which is Mine.USER:
        return p.user_id
    if which is Mine.HOSPITAL:
        return p.hospital_id
    return p.licensed_for


def holds(m: Match, p: Principal, r: ReferralScope) -> bool:
    theirs, ours = party(r, m.party), mine(p, m.mine)
    if theirs is None or ours is None:
        return False
    return theirs in ours if isinstance(ours, frozenset) else theirs == ours


def can_view(p: Principal, r: ReferralScope) -> bool:
    return any(all(holds(m, p, r) for m in grant) for grant in REFERRAL_GRANTS.get(p.role, ()))


@dataclass(frozen=True)
class TeachingCopy:
    """A study that is a teaching case's de-identified copy: the case's state and visibility decide who sees it."""

    state: TeachingState
    visibility: Visibility


@dataclass(frozen=True)
class StudyScope:
    """A study as the archive holds it: who stored it, and the Patient ID it was stored under."""

    study_instance_uid: str
    hospital_id: str
    patient_id: str


@dataclass(frozen=True)
class ReferralStudy:
    """What a referral says about the archive: its scope, the study it names and its patient's Patient ID."""

    scope: ReferralScope
    study_instance_uid: str
    patient_id: str


def reaches(reach: StudyReach, r: ReferralStudy, s: StudyScope) -> bool:
    """A referral names a study UID; only the sending hospital's own study of that UID (or, for priors, of that
    patient: a hospital's Patient IDs are one namespace) is reached."""
    if r.scope.requesting_hospital_id != s.hospital_id:
        return False
    return r.study_instance_uid == s.study_instance_uid or (reach is StudyReach.PRIORS and r.patient_id == s.patient_id)


def can_view_study(
    p: Principal,
    s: StudyScope,
    referrals: Iterable[ReferralStudy],
    teaching_copy: TeachingCopy | None = None,
    consult_cases: Iterable[ReferralStudy] = (),
    recognised_at: frozenset[str] = frozenset(),
    recognised_cases: Iterable[ReferralScope] = (),
) -> bool:
    """`referrals`: at least every referral of the study's hospital (others never reach it). `teaching_copy`: the
    teaching case whose de-identified copy the study is, if it is one: whoever may see the case sees its images.
    `consult_cases`: the cases of the MDT consults `p` hosts or is invited to (not cancelled): an invited surgeon
    opens the case's study in the room's viewer without being a party to the referral. `recognised_at`: while the
    study's patient consents to 检查结果互认, the hospitals holding a record of theirs in the regional index.
    `recognised_cases`: while they consent, the cases (at any hospital) whose patient is, in the regional index, the
    study's patient."""
    if p.studies is not None:
        return s.study_instance_uid in p.studies
    if teaching_copy is not None and can_see(p.role, teaching_copy.state, teaching_copy.visibility):
        return True
    grant = study_grant(p)
    if grant is None:
        return False
    if grant.everything:
        return True
    if any(reaches(StudyReach.CASE, r, s) for r in consult_cases):
        return True
    if grant.own_hospital and p.hospital_id is not None and s.hospital_id == p.hospital_id:
        return True
    if grant.recognised and p.hospital_id is not None and p.hospital_id in recognised_at:
        return True
    if grant.recognised_through_referrals and any(can_view(p, r) for r in recognised_cases):
        return True
    reach = grant.through_referrals
    return reach is not None and any(reaches(reach, r, s) and can_view(p, r.scope) for r in referrals)


def sees_drafts(p: Principal, r: ReferralScope) -> bool:
    """Drafts and preliminary versions stay on the reading side; the county sees signed reports."""
    return (
        p.role in READER_ROLES
        or (p.role is Role.COORDINATOR and p.hospital_id == r.reading_hospital_id)
        or p.role is Role.ADMIN
    )


def can_manage_hospital(p: Principal, hospital_id: str) -> bool:
    """Hospital settings such as its gateway API keys: an admin, or that hospital's coordinator."""
    return p.role is Role.ADMIN or (p.role is Role.COORDINATOR and p.hospital_id == hospital_id)
