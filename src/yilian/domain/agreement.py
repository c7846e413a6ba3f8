"""Service agreements between a requesting hospital and a reading hospital, and what they cover."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class ServiceMode(StrEnum):
    FULL_HOSTING = "full_hosting"  # 全托管: every study is read remotely
    HALF_HOSTING = "half_hosting"  # 半托管: some, by modality, hours or overflow
    DIFFICULT_ONLY = "difficult_only"  # 疑难会诊: only cases the county flags difficult
    COOPERATION = "cooperation"  # a strong hospital reads named subspecialties for others


class Priority(StrEnum):
    STAT = "stat"
    URGENT = "urgent"
    ROUTINE = "routine"


class SecondReadingPolicy(StrEnum):
    ALWAYS = "always"
    DIFFICULT = "difficult"  # cases flagged difficult
    RANDOM_SHARE = "random_share"  # a random share of cases
    JUNIOR_READERS = "junior_readers"  # reports by junior readers
    NEVER = "never"


@dataclass(frozen=True)
class SlaTargets:
    """Turnaround targets from submission to the final report, per priority, in minutes."""

    stat_minutes: int = 30
    urgent_minutes: int = 120
    routine_minutes: int = 24 * 60

    def target(self, priority: Priority) -> timedelta:
        minutes = {
            Priority.STAT: self.stat_minutes,
            Priority.URGENT: self.urgent_minutes,
            Priority.ROUTINE: self.routine_minutes,
        }[priority]
        return timedelta(minutes=minutes)


@dataclass(frozen=True)
class HalfHostingRules:
    """Which studies a half-hosting agreement sends out; any one rule that matches is enough."""

    modalities: frozenset[str] = frozenset()
    # Local-time window in which the county has no reader of its own (e.g. nights 18:00-08:00).
    hours_start: time | None = None
    hours_end: time | None = None
    # Overflow: the county declares its own readers are overloaded, up to this many cases a day.
    overflow_daily_cap: int = 0


@dataclass(frozen=True, kw_only=True)
class CaseTerms:
    """The terms a case follows from submission to sign-off; its workflow keeps a snapshot (ReferralPolicy)."""

    sla: SlaTargets = field(default_factory=SlaTargets)
    offer_timeout_minutes: int = 10
    grace_minutes: int = 30
    auto_reassign: bool = True
    max_auto_reassigns: int = 2
    second_reading: SecondReadingPolicy = SecondReadingPolicy.ALWAYS
    second_reading_share: float = 0.2
    pause_sla_in_needs_info: bool = True
    critical_ack_minutes: int = 15
    critical_renotify_max: int = 2


@dataclass(frozen=True, kw_only=True)
class AgreementTerms(CaseTerms):
    """Everything an agreement says but its parties and service mode: the case terms and which studies it covers.

    One value for the agreement, the referral's policy (its CaseTerms part) and the admin API (api/models/agreement.py
    is the same fields with their limits). `as_json`/`from_json` are its JSON form, stored as the agreement's terms.
    """

    half_hosting: HalfHostingRules | None = None
    # Cooperation: subspecialties (modality codes) the reading hospital takes; empty means all.
    cooperation_modalities: frozenset[str] = frozenset()
    timezone: str = "Asia/Shanghai"

    def as_json(self) -> dict[str, Any]:
        half = self.half_hosting
        return {
            "sla": {
                "stat_minutes": self.sla.stat_minutes,
                "urgent_minutes": self.sla.urgent_minutes,
                "routine_minutes": self.sla.routine_minutes,
            },
            "offer_timeout_minutes": self.offer_timeout_minutes,
            "grace_minutes": self.grace_minutes,
            "auto_reassign": self.auto_reassign,
            "max_auto_reassigns": self.max_auto_reassigns,
            "second_reading": str(self.second_reading),
            "second_reading_share": self.second_reading_share,
            "pause_sla_in_needs_info": self.pause_sla_in_needs_info,
            "critical_ack_minutes": self.critical_ack_minutes,
            "critical_renotify_max": self.critical_renotify_max,
            "half_hosting": None
            if half is None
            else {
                "modalities": sorted(half.modalities),
                "hours_start": f"{half.hours_start:%H:%M}" if half.hours_start else None,
                "hours_end": f"{half.hours_end:%H:%M}" if half.hours_end else None,
                "overflow_daily_cap": half.overflow_daily_cap,
            },
            "cooperation_modalities": sorted(self.cooperation_modalities),
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgreementTerms:
        """Lenient: a term the JSON lacks (stored before the term existed) takes its default."""
        d, half = cls(), data.get("half_hosting")
        return cls(
            sla=SlaTargets(**data.get("sla", {})),
            offer_timeout_minutes=data.get("offer_timeout_minutes", d.offer_timeout_minutes),
            grace_minutes=data.get("grace_minutes", d.grace_minutes),
            auto_reassign=data.get("auto_reassign", d.auto_reassign),
            max_auto_reassigns=data.get("max_auto_reassigns", d.max_auto_reassigns),
            second_reading=SecondReadingPolicy(data.get("second_reading", d.second_reading)),
            second_reading_share=data.get("second_reading_share", d.second_reading_share),
            pause_sla_in_needs_info=data.get("pause_sla_in_needs_info", d.pause_sla_in_needs_info),
            critical_ack_minutes=data.get("critical_ack_minutes", d.critical_ack_minutes),
            critical_renotify_max=data.get("critical_renotify_max", d.critical_renotify_max),
            half_hosting=HalfHostingRules(
                modalities=frozenset(half.get("modalities", [])),
                hours_start=time.fromisoformat(half["hours_start"]) if half.get("hours_start") else None,
                hours_end=time.fromisoformat(half["hours_end"]) if half.get("hours_end") else None,
                overflow_daily_cap=half.get("overflow_daily_cap", 0),
            )
            if half
            else None,
            cooperation_modalities=frozenset(data.get("cooperation_modalities", [])),
            timezone=data.get("timezone", d.timezone),
        )


@dataclass(frozen=True)
class Agreement:
    id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    service_mode: ServiceMode
    terms: AgreementTerms = field(default_factory=AgreementTerms)
    active: bool = True


@dataclass(frozen=True)
class CoverageRequest:
    modality: str
    body_part: str
    priority: Priority
    difficult: bool
    submitted_at: datetime
    overflow: bool = False
    overflow_used_today: int = 0


@dataclass(frozen=True)
class Coverage:
    covered: bool
    reason: str


def _in_window(local: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # window crosses midnight


def coverage(agreement: Agreement, request: CoverageRequest) -> Coverage:
    """Does this agreement cover this case? The reason is shown to the county doctor when it does not."""
    if not agreement.active:
        return Coverage(False, "the agreement is not active")
    mode = agreement.service_mode
    if mode is ServiceMode.FULL_HOSTING:
        return Coverage(True, "full hosting covers every study")
    if mode is ServiceMode.DIFFICULT_ONLY:
        if request.difficult:
            return Coverage(True, "difficult case")
        return Coverage(False, "this hospital's agreement covers only cases flagged difficult")
    if mode is ServiceMode.COOPERATION:
        mods = agreement.terms.cooperation_modalities
        if not mods or request.modality in mods:
            return Coverage(True, "within the cooperation's subspecialties")
        return Coverage(False, f"the cooperation covers only {', '.join(sorted(mods))}")
    rules = agreement.terms.half_hosting or HalfHostingRules()
    if request.modality in rules.modalities:
        return Coverage(True, f"half hosting covers {request.modality}")
    if rules.hours_start is not None and rules.hours_end is not None:
        local = request.submitted_at.astimezone(ZoneInfo(agreement.terms.timezone)).time()
        if _in_window(local, rules.hours_start, rules.hours_end):
            return Coverage(True, "submitted within the hosted hours")
    if request.overflow:
        if request.overflow_used_today < rules.overflow_daily_cap:
            return Coverage(True, "overflow within today's cap")
        return Coverage(False, f"today's overflow cap of {rules.overflow_daily_cap} cases is used up")
    hours = (
        f" or {rules.hours_start:%H:%M}-{rules.hours_end:%H:%M}"
        if rules.hours_start is not None and rules.hours_end is not None
        else ""
    )
    covered = ", ".join(sorted(rules.modalities)) or "no modality"
    return Coverage(False, f"half hosting covers {covered}{hours}, or declared overflow")


class CoverCondition(StrEnum):
    """When an agreement covers a case of a given modality (what the referral form's reading-hospital picker says)."""

    ALWAYS = "always"
    DIFFICULT = "difficult"  # only when the doctor flags it difficult
    HOSTED_HOURS = "hosted_hours"  # half hosting: sent within the hosted hours
    OVERFLOW = "overflow"  # half hosting: declared overflow, within the daily cap


def cover_conditions(agreement: Agreement, modality: str) -> tuple[CoverCondition, ...]:
    """Under which conditions `coverage` would cover a case of `modality` under this agreement; empty: never."""
    if not agreement.active:
        return ()
    mode = agreement.service_mode
    if mode is ServiceMode.FULL_HOSTING:
        return (CoverCondition.ALWAYS,)
    if mode is ServiceMode.DIFFICULT_ONLY:
        return (CoverCondition.DIFFICULT,)
    if mode is ServiceMode.COOPERATION:
        mods = agreement.terms.cooperation_modalities
        return (CoverCondition.ALWAYS,) if not mods or modality in mods else ()
    rules = agreement.terms.half_hosting or HalfHostingRules()
    if modality in rules.modalities:
        return (CoverCondition.ALWAYS,)
    hours = (CoverCondition.HOSTED_HOURS,) if rules.hours_start is not None and rules.hours_end is not None else ()
    return hours + ((CoverCondition.OVERFLOW,) if rules.overflow_daily_cap > 0 else ())


def needs_second_reading(
    policy: SecondReadingPolicy, share: float, *, difficult: bool, reader_is_junior: bool, random_draw: float
) -> bool:
    """random_draw is in [0, 1); the workflow draws it with workflow.random() so replay agrees."""
    if policy is SecondReadingPolicy.ALWAYS:
        return True
    if policy is SecondReadingPolicy.DIFFICULT:
        return difficult
    if policy is SecondReadingPolicy.RANDOM_SHARE:
        return random_draw < share
    if policy is SecondReadingPolicy.JUNIOR_READERS:
        return reader_is_junior
    return False
