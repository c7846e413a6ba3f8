"""Referral states and the transition table: each action's whole rule, as data.

A rule says from which states an action may be taken, to which state it leads, who may take it (the guard),
what must hold on the case (a condition), what the person must send with it (needs) and what it does to the
people holding the case (its effect). It is an action table (`domain/action_table.py`): `validate()` is the one
check every Update validator, the workflow's re-check under its lock and the API's reopen path call;
`transition()` applies a rule; `allowed_actions()` tells the API which buttons a person gets. The tests enumerate
`RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from yilian.domain import action_table
from yilian.domain.action_table import NO_CONDITIONS, ActionTable
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Actor, Role


class ReferralState(StrEnum):
    SUBMITTED = "submitted"
    AWAITING_IMAGES = "awaiting_images"  # submitted before its study reached the archive
    OFFERED = "offered"
    IN_READING = "in_reading"
    NEEDS_INFO = "needs_info"
    PRELIMINARY = "preliminary"
    CHANGES_REQUESTED = "changes_requested"
    FINAL = "final"
    RETURNED = "returned"
    CLOSED = "closed"
    AMENDED = "amended"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    AWAIT_IMAGES = "await_images"
    IMAGES_ARRIVED = "images_arrived"
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    OFFER_EXPIRE = "offer_expire"
    ESCALATE = "escalate"
    SAVE_DRAFT = "save_draft"
    SUBMIT_PRELIMINARY = "submit_preliminary"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    FINALIZE = "finalize"
    RETURN = "return"
    ACKNOWLEDGE_RECEIPT = "acknowledge_receipt"
    REQUEST_INFO = "request_info"
    PROVIDE_INFO = "provide_info"
    CANCEL = "cancel"
    REASSIGN = "reassign"  # coordinator names the next expert
    REROUTE = "reroute"  # coordinator sends the case back to automatic routing
    SLA_WARN = "sla_warn"
    SLA_BREACH = "sla_breach"
    SLA_REASSIGN = "sla_reassign"
    NOTIFY_CRITICAL = "notify_critical"
    ACKNOWLEDGE_CRITICAL = "acknowledge_critical"
    ESCALATE_CRITICAL = "escalate_critical"
    ADD_ADDENDUM = "add_addendum"
    CORRECT_QUESTION = "correct_question"  # the county adds to or corrects the clinical question before reading
    GRADE_QUALITY = "grade_quality"  # the reader grades the images' technical quality (domain/quality.py)
    REQUEST_RETAKE = "request_retake"  # the reader sends the study back to be shot again, with defect reasons
    # An MDT consult's steps on the case's timeline, recorded from the consult's workflow (domain/consult.py); the
    # person who acted is in the event's details and in the consult's own trail.
    CONSULT_REQUESTED = "consult_requested"
    CONSULT_SCHEDULED = "consult_scheduled"
    CONSULT_CANCELLED = "consult_cancelled"
    CONSULT_CONCLUDED = "consult_concluded"


class Guard(StrEnum):
    SYSTEM = "system"
    REFERRING_DOCTOR = "referring_doctor"  # a doctor of the requesting hospital
    OFFERED_EXPERT = "offered_expert"
    ASSIGNED_READER = "assigned_reader"
    SECOND_READER = "second_reader"  # a senior of the reading hospital who is not the reader
    COORDINATOR = "coordinator"  # a coordinator of the reading or the requesting hospital
    SIGNER = "signer"  # the case's reader or its second reader: those who answer for the report


S = ReferralState
OPEN_STATES = frozenset(
    {S.SUBMITTED, S.AWAITING_IMAGES, S.OFFERED, S.IN_READING, S.NEEDS_INFO, S.PRELIMINARY, S.CHANGES_REQUESTED}
)
READER_STATES = frozenset({S.OFFERED, S.IN_READING, S.CHANGES_REQUESTED})
REPORTED_STATES = frozenset({S.FINAL, S.RETURNED, S.CLOSED, S.AMENDED})
ANY_STATE = frozenset(ReferralState)
CONSULT_STEPS = (
    Action.CONSULT_REQUESTED, Action.CONSULT_SCHEDULED, Action.CONSULT_CANCELLED, Action.CONSULT_CONCLUDED
)  # fmt: skip


class Condition(StrEnum):
    """Something about the case, beyond its state, that must hold for an action."""

    CRITICAL_OPEN = "critical_open"  # a critical finding awaits the referring doctor's acknowledgement


class Need(StrEnum):
    """What must come with an action (the values name it in a refusal's details)."""

    COMMENT = "comment"  # words from the person: a reason, a question, an answer, what should change
    DRAFT_REPORT = "draft_report"  # report content within the length limits; it may be incomplete
    COMPLETE_REPORT = "complete_report"  # findings, impression, and a note when a finding is critical
    DISCREPANCY = "discrepancy"  # the second reader's grade
    TARGET = "target"  # the expert the case goes to


class Effect(StrEnum):
    """What an action does to the people holding the case."""

    OFFER = "offer"  # offered to the target; nobody reads it yet
    ASSIGN = "assign"  # the person who accepts becomes the reader; the offer is used up
    WITHDRAW = "withdraw"  # the offer ends (declined, expired, cancelled); a reader stays
    RELEASE = "release"  # neither offered nor read by anyone: back to routing
    SECOND_READ = "second_read"  # the person acting becomes the case's second reader


@dataclass(frozen=True)
class Rule(action_table.Rule[ReferralState, Guard, Need]):
    """The table's rule (states, guard, needs, and `when`: a Condition that must hold besides the state), and what
    it does to the people holding the case."""

    effect: Effect | None = None


N = Need


RULES: dict[Action, Rule] = {
    Action.AWAIT_IMAGES: Rule(frozenset({S.SUBMITTED}), S.AWAITING_IMAGES, Guard.SYSTEM),
    Action.IMAGES_ARRIVED: Rule(frozenset({S.AWAITING_IMAGES}), S.SUBMITTED, Guard.SYSTEM),
    Action.OFFER: Rule(frozenset({S.SUBMITTED}), S.OFFERED, Guard.SYSTEM, frozenset({N.TARGET}), Effect.OFFER),
    Action.ACCEPT: Rule(frozenset({S.OFFERED}), S.IN_READING, Guard.OFFERED_EXPERT, effect=Effect.ASSIGN),
    Action.DECLINE: Rule(frozenset({S.OFFERED}), S.SUBMITTED, Guard.OFFERED_EXPERT, effect=Effect.WITHDRAW),
    Action.OFFER_EXPIRE: Rule(frozenset({S.OFFERED}), S.SUBMITTED, Guard.SYSTEM, effect=Effect.WITHDRAW),
    Action.ESCALATE: Rule(frozenset({S.SUBMITTED}), None, Guard.SYSTEM),
    Action.SAVE_DRAFT: Rule(
        frozenset({S.IN_READING, S.CHANGES_REQUESTED}), None, Guard.ASSIGNED_READER, frozenset({N.DRAFT_REPORT})
    ),
    Action.SUBMIT_PRELIMINARY: Rule(
        frozenset({S.IN_READING, S.CHANGES_REQUESTED}), S.PRELIMINARY, Guard.ASSIGNED_READER,
        frozenset({N.COMPLETE_REPORT}),
    ),
    Action.APPROVE: Rule(
        frozenset({S.PRELIMINARY}), S.FINAL, Guard.SECOND_READER, frozenset({N.DISCREPANCY}), Effect.SECOND_READ
    ),
    Action.REQUEST_CHANGES: Rule(
        frozenset({S.PRELIMINARY}), S.CHANGES_REQUESTED, Guard.SECOND_READER, frozenset({N.DISCREPANCY, N.COMMENT}),
        Effect.SECOND_READ,
    ),
    Action.FINALIZE: Rule(frozenset({S.PRELIMINARY}), S.FINAL, Guard.SYSTEM),
    Action.RETURN: Rule(frozenset({S.FINAL}), S.RETURNED, Guard.SYSTEM),
    Action.ACKNOWLEDGE_RECEIPT: Rule(frozenset({S.RETURNED, S.AMENDED}), S.CLOSED, Guard.REFERRING_DOCTOR),
    Action.REQUEST_INFO: Rule(frozenset({S.IN_READING}), S.NEEDS_INFO, Guard.ASSIGNED_READER, frozenset({N.COMMENT})),
    # The reader who asked keeps the case: continuity beats a fresh offer round (coordinator can reroute).
    Action.PROVIDE_INFO: Rule(
        frozenset({S.NEEDS_INFO}), S.IN_READING, Guard.REFERRING_DOCTOR, frozenset({N.COMMENT})
    ),
    Action.CANCEL: Rule(
        frozenset({S.SUBMITTED, S.AWAITING_IMAGES, S.OFFERED}), S.CANCELLED, Guard.REFERRING_DOCTOR,
        frozenset({N.COMMENT}), Effect.WITHDRAW,
    ),
    Action.REASSIGN: Rule(
        frozenset({S.SUBMITTED, S.OFFERED, S.IN_READING, S.NEEDS_INFO, S.CHANGES_REQUESTED}), S.OFFERED,
        Guard.COORDINATOR, frozenset({N.TARGET, N.COMMENT}), Effect.OFFER,
    ),
    Action.REROUTE: Rule(
        frozenset({S.SUBMITTED, S.OFFERED, S.IN_READING, S.NEEDS_INFO, S.CHANGES_REQUESTED}), S.SUBMITTED,
        Guard.COORDINATOR, frozenset({N.COMMENT}), Effect.RELEASE,
    ),
    Action.SLA_WARN: Rule(OPEN_STATES, None, Guard.SYSTEM),
    Action.SLA_BREACH: Rule(OPEN_STATES, None, Guard.SYSTEM),
    Action.SLA_REASSIGN: Rule(READER_STATES, S.SUBMITTED, Guard.SYSTEM, effect=Effect.RELEASE),
    Action.NOTIFY_CRITICAL: Rule(OPEN_STATES | REPORTED_STATES, None, Guard.SYSTEM),
    Action.ACKNOWLEDGE_CRITICAL: Rule(
        OPEN_STATES | REPORTED_STATES, None, Guard.REFERRING_DOCTOR, when=Condition.CRITICAL_OPEN
    ),
    Action.ESCALATE_CRITICAL: Rule(OPEN_STATES | REPORTED_STATES, None, Guard.SYSTEM),
    Action.ADD_ADDENDUM: Rule(REPORTED_STATES, S.AMENDED, Guard.SIGNER, frozenset({N.COMPLETE_REPORT})),
    Action.CORRECT_QUESTION: Rule(
        frozenset({S.SUBMITTED, S.AWAITING_IMAGES, S.OFFERED}), None, Guard.REFERRING_DOCTOR, frozenset({N.COMMENT})
    ),
    Action.GRADE_QUALITY: Rule(frozenset({S.IN_READING, S.CHANGES_REQUESTED}), None, Guard.ASSIGNED_READER),
    # A retake is a needs_info with a structured reason: the county answers (provide_info) once the images are in.
    Action.REQUEST_RETAKE: Rule(
        frozenset({S.IN_READING}), S.NEEDS_INFO, Guard.ASSIGNED_READER, frozenset({N.COMMENT})
    ),
    **{a: Rule(ANY_STATE, None, Guard.SYSTEM) for a in CONSULT_STEPS},
}  # fmt: skip


class PersonAction(StrEnum):
    """What people do on a case, each with its own button: the `Action`s a person takes, by the same values
    (`reassign` without an expert is a reroute: the same panel). The API's `allowed_actions` lists these."""

    ACCEPT = Action.ACCEPT.value
    DECLINE = Action.DECLINE.value
    SAVE_DRAFT = Action.SAVE_DRAFT.value
    SUBMIT_PRELIMINARY = Action.SUBMIT_PRELIMINARY.value
    APPROVE = Action.APPROVE.value
    REQUEST_CHANGES = Action.REQUEST_CHANGES.value
    REQUEST_INFO = Action.REQUEST_INFO.value
    PROVIDE_INFO = Action.PROVIDE_INFO.value
    CANCEL = Action.CANCEL.value
    REASSIGN = Action.REASSIGN.value
    ACKNOWLEDGE_RECEIPT = Action.ACKNOWLEDGE_RECEIPT.value
    ACKNOWLEDGE_CRITICAL = Action.ACKNOWLEDGE_CRITICAL.value
    ADD_ADDENDUM = Action.ADD_ADDENDUM.value
    CORRECT_QUESTION = Action.CORRECT_QUESTION.value
    GRADE_QUALITY = Action.GRADE_QUALITY.value
    REQUEST_RETAKE = Action.REQUEST_RETAKE.value


PERSON_ACTIONS: tuple[Action, ...] = tuple(Action(a.value) for a in PersonAction)


@dataclass(frozen=True)
class ReferralCase:
    """The part of a referral that decides who may do what next."""

    referral_id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    state: ReferralState = S.SUBMITTED
    offered_to: str | None = None
    reader_id: str | None = None
    second_reader_id: str | None = None
    seq: int = 0  # number of audited events so far


@dataclass(frozen=True)
class AuditEvent:
    referral_id: str
    seq: int
    action: Action
    from_state: ReferralState | None
    to_state: ReferralState
    actor: Actor
    at: datetime


def guard_allows(guard: Guard, case: ReferralCase, actor: Actor) -> bool:
    if guard is Guard.SYSTEM:
        return actor.role is Role.SYSTEM
    if guard is Guard.REFERRING_DOCTOR:
        return actor.role is Role.COUNTY_DOCTOR and actor.hospital_id == case.requesting_hospital_id
    if guard is Guard.OFFERED_EXPERT:
        return actor.role in (Role.EXPERT, Role.SENIOR) and actor.user_id == case.offered_to
    if guard is Guard.ASSIGNED_READER:
        return actor.role in (Role.EXPERT, Role.SENIOR) and actor.user_id == case.reader_id
    if guard is Guard.SECOND_READER:
        return (
            actor.role is Role.SENIOR
            and actor.hospital_id == case.reading_hospital_id
            and actor.user_id != case.reader_id
        )
    if guard is Guard.COORDINATOR:
        return actor.role is Role.COORDINATOR and actor.hospital_id in (
            case.reading_hospital_id,
            case.requesting_hospital_id,
        )
    if guard is Guard.SIGNER:
        return (
            actor.role in (Role.EXPERT, Role.SENIOR)
            and actor.hospital_id == case.reading_hospital_id
            and actor.user_id in (case.reader_id, case.second_reader_id)
        )
    raise AssertionError(guard)


@dataclass(frozen=True)
class Given:
    """What a person sent with an action, checked against the rule's needs."""

    comment: str = ""
    report: ReportContent | None = None
    discrepancy: Discrepancy | None = None
    target: str | None = None


def conditions(*, critical_open: bool) -> frozenset[Condition]:
    """The conditions that hold on a case, from what the workflow (or its projection row) knows."""
    return frozenset({Condition.CRITICAL_OPEN}) if critical_open else NO_CONDITIONS


CONDITION_UNMET: dict[Condition, str] = {Condition.CRITICAL_OPEN: "no critical finding awaits acknowledgement"}


# What a required comment stands for, so a refusal says what was missing in the person's terms.
COMMENT_MEANS = {
    Action.CANCEL: "the reason for cancelling",
    Action.REQUEST_CHANGES: "the comments on what should change",
    Action.REQUEST_INFO: "the information or images needed",
    Action.PROVIDE_INFO: "the information asked for",
    Action.CORRECT_QUESTION: "the clinical question",
    Action.REQUEST_RETAKE: "what the retake should do differently",
}


def _missing(case: ReferralCase, action: Action, actor: Actor, need: Need, given: Given) -> list[str]:
    """What `given` lacks of what `need` asks for (nothing when it is there)."""
    if need is Need.COMMENT:
        return [] if given.comment.strip() else [f"missing {COMMENT_MEANS.get(action, 'the comment')}"]
    if need is Need.DISCREPANCY:
        return [] if given.discrepancy is not None else ["no discrepancy grade"]
    if need is Need.TARGET:
        return [] if given.target else ["no expert to offer it to"]
    if given.report is None:
        return ["no report"]
    return given.report.problems(complete=need is Need.COMPLETE_REPORT)


# Every Update validator calls `validate`, the workflow calls it again under its lock, and the API calls it before
# reopening a finished referral; a refusal is the same catalogue error wherever it happens. `check` asks the rule's
# condition only when `holding` says which conditions hold (`transition()` leaves it to `validate()`).
TABLE = ActionTable(
    RULES, PERSON_ACTIONS, guard_allows, _missing, Given(), this="this referral", kind="a referral",
    unmet=CONDITION_UNMET,
)  # fmt: skip
check, validate, permitted, allowed_actions = TABLE.check, TABLE.validate, TABLE.permitted, TABLE.allowed_actions


def consult_step(action: str) -> Action:
    """The referral action that records a consult's step; refused for any other action."""
    if action not in {str(a) for a in CONSULT_STEPS}:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"{action} is not a consult step a referral records",
            {"action": action, "allowed": [str(a) for a in CONSULT_STEPS]},
        )
    return Action(action)


def person_action(update: str, given: Given) -> Action:
    """The action a person's Update asks for; `reassign` without an expert sends the case back to routing."""
    action = Action(update)
    return Action.REROUTE if action is Action.REASSIGN and not given.target else action


def _effect(effect: Effect | None, case: ReferralCase, actor: Actor, target: str | None) -> ReferralCase:
    if effect is Effect.OFFER:
        return replace(case, offered_to=target, reader_id=None)
    if effect is Effect.ASSIGN:
        return replace(case, offered_to=None, reader_id=actor.user_id)
    if effect is Effect.WITHDRAW:
        return replace(case, offered_to=None)
    if effect is Effect.RELEASE:
        return replace(case, offered_to=None, reader_id=None)
    if effect is Effect.SECOND_READ:
        return replace(case, second_reader_id=actor.user_id)
    return case


def transition(
    case: ReferralCase, action: Action, actor: Actor, at: datetime, *, target: str | None = None
) -> tuple[ReferralCase, AuditEvent]:
    """Apply one action: the new case value and the audit event that records it.

    Checks who and when (not the rule's condition or the person's input: `validate()` did that before the
    workflow changed anything), and the target an offer needs, because the effect uses it.
    """
    rule = check(case, action, actor)
    if Need.TARGET in rule.needs and (refusal := TABLE.lacking(case, action, actor, Need.TARGET, Given(target=target))):
        raise refusal
    to_state = rule.to_state or case.state
    new = _effect(rule.effect, replace(case, state=to_state, seq=case.seq + 1), actor, target)
    event = AuditEvent(case.referral_id, new.seq, action, case.state, to_state, actor, at)
    return new, event
