"""The coordinator's SLA dashboard over a period."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.agreement import Priority
from yilian.domain.referral import ReferralState


class StateCount(ApiModel):
    requesting_hospital_id: str
    state: ReferralState
    count: int


class AtRiskCase(ApiModel):
    id: str
    requesting_hospital_id: str
    priority: Priority
    state: ReferralState
    reader_id: str | None
    offered_to: str | None
    sla_due_at: Timestamp | None


class BreachedCase(ApiModel):
    id: str
    requesting_hospital_id: str
    priority: Priority
    state: ReferralState
    reader_id: str | None
    sla_due_at: Timestamp | None
    final_at: Timestamp | None


class Turnaround(ApiModel):
    """Minutes from submission to the final report."""

    priority: Priority
    requesting_hospital_id: str
    count: int
    p50_minutes: float
    p90_minutes: float


class Dashboard(ApiModel):
    """Counts by state and hospital, cases at risk now, breaches, and turnaround p50/p90 over [from, to)."""

    model_config = ConfigDict(populate_by_name=True)

    since: Timestamp = Field(alias="from")
    until: Timestamp = Field(alias="to")
    counts: list[StateCount]
    at_risk: list[AtRiskCase] = Field(description="the first 200, soonest due first")
    at_risk_total: int = Field(description="how many cases are at risk")
    breaches: list[BreachedCase] = Field(description="the first 200, open ones first, then soonest due")
    breaches_total: int = Field(description="how many cases of the period breached")
    turnaround: list[Turnaround]
