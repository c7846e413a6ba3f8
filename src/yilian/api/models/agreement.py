"""An agreement's terms as the API shows and accepts them: domain.agreement.AgreementTerms with its limits.

The fields and defaults are the domain value's own (tests/unit/test_api_models.py holds them together); the JSON is
`AgreementTerms.as_json()`, the same form the agreements table stores.
"""

from __future__ import annotations

from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator

from yilian.api.schemas import RequestBody
from yilian.domain import agreement as domain
from yilian.domain.agreement import SecondReadingPolicy

_TERMS = domain.AgreementTerms()
_HALF = domain.HalfHostingRules()
MONTH_OF_MINUTES = 60 * 24 * 30
DAY_OF_MINUTES = 24 * 60
Modality = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,16}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class SlaTargets(RequestBody):
    """Turnaround from submission to the final report, per priority, in minutes."""

    stat_minutes: int = Field(default=_TERMS.sla.stat_minutes, ge=1, le=MONTH_OF_MINUTES)
    urgent_minutes: int = Field(default=_TERMS.sla.urgent_minutes, ge=1, le=MONTH_OF_MINUTES)
    routine_minutes: int = Field(default=_TERMS.sla.routine_minutes, ge=1, le=MONTH_OF_MINUTES)


class HalfHostingRules(RequestBody):
    """Any one rule that matches sends a study out: its modality, the hour it is sent, or declared overflow."""

    modalities: list[Modality] = Field(default_factory=list, max_length=32)
    hours_start: ClockTime | None = Field(default=None, description="local time HH:MM; with hours_end")
    hours_end: ClockTime | None = Field(default=None, description="local time HH:MM; may be past midnight")
    overflow_daily_cap: int = Field(default=_HALF.overflow_daily_cap, ge=0, le=10_000)


class CaseTerms(RequestBody):
    """The terms a case follows from submission to sign-off: an agreement's, or an in-house reading policy's."""

    sla: SlaTargets = Field(default_factory=SlaTargets)
    offer_timeout_minutes: int = Field(default=_TERMS.offer_timeout_minutes, ge=1, le=DAY_OF_MINUTES)
    grace_minutes: int = Field(default=_TERMS.grace_minutes, ge=0, le=DAY_OF_MINUTES)
    auto_reassign: bool = _TERMS.auto_reassign
    max_auto_reassigns: int = Field(default=_TERMS.max_auto_reassigns, ge=0, le=20)
    second_reading: SecondReadingPolicy = _TERMS.second_reading
    second_reading_share: float = Field(default=_TERMS.second_reading_share, ge=0, le=1, description="for random_share")
    pause_sla_in_needs_info: bool = _TERMS.pause_sla_in_needs_info
    critical_ack_minutes: int = Field(default=_TERMS.critical_ack_minutes, ge=1, le=DAY_OF_MINUTES)
    critical_renotify_max: int = Field(default=_TERMS.critical_renotify_max, ge=0, le=20)


class AgreementTerms(CaseTerms):
    """Everything an agreement says but its parties and service mode."""

    half_hosting: HalfHostingRules | None = Field(default=None, description="half_hosting agreements only")
    cooperation_modalities: list[Modality] = Field(
        default_factory=list, max_length=32, description="cooperation agreements only; empty: every modality"
    )
    timezone: str = Field(default=_TERMS.timezone, max_length=64, description="IANA zone of the hosted hours")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @classmethod
    def of(cls, terms: domain.AgreementTerms) -> Self:
        return cls.model_validate(terms.as_json())

    def value(self) -> domain.AgreementTerms:
        return domain.AgreementTerms.from_json(self.model_dump(mode="json", include=set(AgreementTerms.model_fields)))

    def term_problems(self, mode: domain.ServiceMode) -> list[tuple[str, str]]:
        """Rules across the terms and the service mode; (field, problem) pairs."""
        out: list[tuple[str, str]] = []
        half = self.half_hosting
        if half is not None and mode is not domain.ServiceMode.HALF_HOSTING:
            out.append(("half_hosting", "only a half_hosting agreement has half-hosting rules"))
        if mode is domain.ServiceMode.HALF_HOSTING and (
            half is None or not (half.modalities or half.hours_start or half.overflow_daily_cap)
        ):
            out.append(("half_hosting", "a half_hosting agreement needs a rule: modalities, hours or an overflow cap"))
        if half is not None and (half.hours_start is None) != (half.hours_end is None):
            out.append(("half_hosting.hours_end", "give both hours_start and hours_end, or neither"))
        if half is not None and half.hours_start is not None and half.hours_start == half.hours_end:
            out.append(("half_hosting.hours_end", "the hosted hours must not start and end at the same time"))
        if self.cooperation_modalities and mode is not domain.ServiceMode.COOPERATION:
            out.append(("cooperation_modalities", "only a cooperation agreement lists modalities"))
        return out
