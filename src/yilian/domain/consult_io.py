"""Values that cross the Temporal boundary for consults: the workflow's input, Update arguments, activity inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yilian.domain.consult import (
    DEFAULT_AUTO_CLOSE_MINUTES,
    Conclusion,
    ConsultCase,
    ConsultEvent,
    ConsultState,
    Given,
    ReferralParties,
    Schedule,
)
from yilian.domain.referral_io import NotifyInput
from yilian.domain.roles import Actor


@dataclass(frozen=True)
class ConsultFacts:
    """What the consult is about; fixed when it is made."""

    consult_id: str
    title: str
    case_ids: list[str]  # the referrals it discusses (the first is `referral.referral_id` when there is one)
    hospital_ids: list[str]
    referral: ReferralParties | None  # the case it was requested from; None for a tumour board
    created_by: Actor


@dataclass(frozen=True)
class Presence:
    user_id: str
    since: datetime


@dataclass(frozen=True)
class ConsultProgress:
    """Everything the workflow carries between runs (continue-as-new)."""

    case: ConsultCase
    schedule: Schedule | None = None
    reminders: list[str] = field(default_factory=list)  # the reminders still to send for this schedule
    present: list[Presence] = field(default_factory=list)  # who is in the room now
    conclusion: Conclusion | None = None
    cancel_reason: str = ""
    consented: list[str] = field(default_factory=list)  # who consents to the room being recorded, now


@dataclass(frozen=True)
class ConsultInput:
    facts: ConsultFacts
    opening: OpenInput | None = None  # the first action (request or schedule); None when progress carries on
    progress: ConsultProgress | None = None
    # Minutes past the scheduled end at which an open consult nobody concluded is closed (a setting, carried here
    # so a running consult keeps the value it started with; inputs from before it existed get the default).
    auto_close_minutes: int = DEFAULT_AUTO_CLOSE_MINUTES


@dataclass(frozen=True)
class OpenInput:
    """The first action on a new consult: a request, or a schedule."""

    actor: Actor
    schedule: Schedule | None = None  # None: a request
    comment: str = ""

    def given(self, now: datetime) -> Given:
        return Given(now=now, schedule=self.schedule, comment=self.comment)


@dataclass(frozen=True)
class ScheduleInput:
    actor: Actor
    schedule: Schedule
    now: datetime  # the API's clock when the person sent it; the validator's "in the future" uses the workflow's

    def given(self, now: datetime) -> Given:
        return Given(now=now, schedule=self.schedule)


@dataclass(frozen=True)
class ConsultActorInput:
    actor: Actor
    comment: str = ""
    target: str | None = None

    def given(self, now: datetime) -> Given:
        return Given(now=now, comment=self.comment, target=self.target)


@dataclass(frozen=True)
class ConcludeInput:
    actor: Actor
    conclusion: Conclusion

    def given(self, now: datetime) -> Given:
        return Given(now=now, conclusion=self.conclusion)


@dataclass(frozen=True)
class ConsentInput:
    """A participant consents to the room being recorded (True) or declines or withdraws (False)."""

    actor: Actor
    consent: bool

    def given(self, now: datetime) -> Given:
        return Given(now=now)


ConsultPersonInput = ScheduleInput | ConsultActorInput | ConcludeInput | ConsentInput


@dataclass(frozen=True)
class ConsultSnapshot:
    """The consults row, written whole with every step so a replayed step changes nothing."""

    facts: ConsultFacts
    state: ConsultState
    requested_by: str | None
    host_id: str | None
    invitee_ids: list[str]
    schedule: Schedule | None
    conclusion: Conclusion | None
    cancel_reason: str


@dataclass(frozen=True)
class AttendanceInput:
    user_id: str
    joined: bool  # False: left
    at: datetime


@dataclass(frozen=True)
class RecordConsultStepInput:
    """One step of a consult, written in one transaction: audit event, projection, attendance, notices."""

    event: ConsultEvent
    snapshot: ConsultSnapshot
    details: dict[str, Any] = field(default_factory=dict)
    attendance: list[AttendanceInput] = field(default_factory=list)
    notifications: list[NotifyInput] = field(default_factory=list)


@dataclass(frozen=True)
class ConsultResult:
    consult_id: str
    state: ConsultState
    seq: int


@dataclass(frozen=True)
class ConsultOnReferralInput:
    """A consult's step for its case's timeline: the referral workflow records it (its single writer)."""

    referral_id: str
    consult_id: str
    consult_seq: int  # with consult_id, the key that makes a retried step a no-op on the referral
    action: str  # domain.referral.Action value: consult_requested, consult_scheduled, ...
    actor: Actor
    details: dict[str, Any] = field(default_factory=dict)


class ConsultActivityName:
    RECORD_STEP = "record_consult_step"
    RECORD_ON_REFERRAL = "record_consult_on_referral"
