"""How long a study's images are kept, and when they may be deleted (docs/retention.md).

The record rules (《医疗机构病历管理规定》 art. 29) keep outpatient and emergency records at least 15 years and
inpatient records at least 30, images included; the alliance's cloud-storage promise is 15 years for everything. A
policy is set per encounter type for the whole alliance and may be raised per hospital, never below those floors. A
study whose encounter type nobody recorded is kept as inpatient: the longest, so nothing goes too early. A legal
hold suspends deletion whatever the dates say, until it is released.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

CLOUD_PROMISE_YEARS = 15
MAX_YEARS = 100
ALLIANCE = "*"  # the scope of an alliance-wide policy; any other scope is a hospital id


class EncounterType(StrEnum):
    OUTPATIENT = "outpatient"  # 门诊
    EMERGENCY = "emergency"  # 急诊: kept like outpatient records (门(急)诊病历)
    INPATIENT = "inpatient"  # 住院


LEGAL_MINIMUM_YEARS: Mapping[EncounterType, int] = {
    EncounterType.OUTPATIENT: 15,
    EncounterType.EMERGENCY: 15,
    EncounterType.INPATIENT: 30,
}
UNKNOWN_ENCOUNTER = EncounterType.INPATIENT


class PolicySource(StrEnum):
    DEFAULT = "default"  # the floor, nobody set anything
    ALLIANCE = "alliance"
    HOSPITAL = "hospital"


def minimum_years(encounter: EncounterType) -> int:
    return max(LEGAL_MINIMUM_YEARS[encounter], CLOUD_PROMISE_YEARS)


def check_policy(encounter: EncounterType, years: int) -> None:
    """A policy may raise the floor, never lower it."""
    floor = minimum_years(encounter)
    if years < floor:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"{encounter} images are kept at least {floor} years",
            [{"field": "body.years", "problem": f"at least {floor} for {encounter}"}],
        )
    if years > MAX_YEARS:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"at most {MAX_YEARS} years",
            [{"field": "body.years", "problem": f"at most {MAX_YEARS}"}],
        )


@dataclass(frozen=True)
class Effective:
    years: int
    source: PolicySource


def effective_policy(
    encounter: EncounterType, hospital_id: str, set_policies: Mapping[tuple[str, str], int]
) -> Effective:
    """The hospital's own policy, else the alliance's, else the floor (`set_policies`: (scope, encounter) -> years)."""
    if (own := set_policies.get((hospital_id, encounter))) is not None:
        return Effective(own, PolicySource.HOSPITAL)
    if (alliance := set_policies.get((ALLIANCE, encounter))) is not None:
        return Effective(alliance, PolicySource.ALLIANCE)
    return Effective(minimum_years(encounter), PolicySource.DEFAULT)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def anchor_date(study_date: str, received: date) -> date:
    """The day retention counts from: the study's date (DICOM DA) or the day the archive received it, whichever
    is later, so a wrong or back-dated StudyDate can never bring a deletion forward."""
    try:
        studied = date(int(study_date[:4]), int(study_date[4:6]), int(study_date[6:8]))
    except ValueError:
        return received
    return max(studied, received)


@dataclass(frozen=True)
class StudyFacts:
    """What decides a study's retention, read in the deleting transaction."""

    study_instance_uid: str
    hospital_id: str
    encounter_type: EncounterType | None  # None: nobody recorded it
    study_date: str
    received: date
    active_holds: Sequence[str]  # ids of the legal holds not released
    open_referrals: int  # referrals of the study still in progress

    def encounter(self) -> EncounterType:
        return self.encounter_type or UNKNOWN_ENCOUNTER

    def anchor(self) -> date:
        return anchor_date(self.study_date, self.received)


@dataclass(frozen=True)
class Retention:
    encounter_type: EncounterType
    years: int
    source: PolicySource
    anchor: date
    retain_until: date
    blocked_by: tuple[ErrorCode, ...]  # why it may not be deleted today; empty: it may


def assess(facts: StudyFacts, policy: Effective, today: date) -> Retention:
    until = add_years(facts.anchor(), policy.years)
    blocked: list[ErrorCode] = []
    if facts.active_holds:
        blocked.append(ErrorCode.LEGAL_HOLD_ACTIVE)
    if today < until:
        blocked.append(ErrorCode.RETENTION_NOT_EXPIRED)
    if facts.open_referrals:
        blocked.append(ErrorCode.CONFLICT)
    return Retention(facts.encounter(), policy.years, policy.source, facts.anchor(), until, tuple(blocked))


def check_deletion(facts: StudyFacts, retention: Retention) -> None:
    """Raise the first reason the study may not be deleted, with what the caller needs to know in `details`."""
    if ErrorCode.LEGAL_HOLD_ACTIVE in retention.blocked_by:
        raise YilianError(
            ErrorCode.LEGAL_HOLD_ACTIVE,
            "the study is under legal hold: release every hold first",
            {"holds": list(facts.active_holds)},
        )
    if ErrorCode.RETENTION_NOT_EXPIRED in retention.blocked_by:
        raise YilianError(
            ErrorCode.RETENTION_NOT_EXPIRED,
            f"the study must be kept until {retention.retain_until.isoformat()}",
            {
                "retain_until": retention.retain_until.isoformat(),
                "encounter_type": str(retention.encounter_type),
                "years": retention.years,
                "policy": str(retention.source),
                "counted_from": retention.anchor.isoformat(),
            },
        )
    if ErrorCode.CONFLICT in retention.blocked_by:
        raise YilianError(
            ErrorCode.CONFLICT,
            "the study belongs to a referral still in progress",
            {"open_referrals": facts.open_referrals},
        )


def check_may_delete(role: Role, hospital_id: str | None, study_hospital_id: str) -> None:
    """An admin, or the coordinator of the hospital that owns the images; nobody else deletes them."""
    if role is Role.ADMIN or (role is Role.COORDINATOR and hospital_id == study_hospital_id):
        return
    raise YilianError(ErrorCode.FORBIDDEN, "only an admin or the owning hospital's coordinator deletes a study")
