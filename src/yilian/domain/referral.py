"""Referral states and the transition table: (state, action) -> next state, who may act, and the guard.

The workflow and the Update validators call the same `transition()` so a rejected action is rejected
for the same reason everywhere, and the tests enumerate `RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from yilian.domain.errors import ErrorCode, YilianError
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


@dataclass(frozen=True)
class Rule:
    from_states: frozenset[ReferralState]
    to_state: ReferralState | None  # None: the state does not change (an audited event)
    guard: Guard


RULES: dict[Action, Rule] = {
    Action.AWAIT_IMAGES: Rule(frozenset({S.SUBMITTED}), S.AWAITING_IMAGES, Guard.SYSTEM),
    Action.IMAGES_ARRIVED: Rule(frozenset({S.AWAITING_IMAGES}), S.SUBMITTED, Guard.SYSTEM),
    Action.OFFER: Rule(frozenset({S.SUBMITTED}), S.OFFERED, Guard.SYSTEM),
    Action.ACCEPT: Rule(frozenset({S.OFFERED}), S.IN_READING, Guard.OFFERED_EXPERT),
    Action.DECLINE: Rule(frozenset({S.OFFERED}), S.SUBMITTED, Guard.OFFERED_EXPERT),
    Action.OFFER_EXPIRE: Rule(frozenset({S.OFFERED}), S.SUBMITTED, Guard.SYSTEM),
    Action.ESCALATE: Rule(frozenset({S.SUBMITTED}), None, Guard.SYSTEM),
    Action.SAVE_DRAFT: Rule(frozenset({S.IN_READING, S.CHANGES_REQUESTED}), None, Guard.ASSIGNED_READER),
    Action.SUBMIT_PRELIMINARY: Rule(
        frozenset({S.IN_READING, S.CHANGES_REQUESTED}), S.PRELIMINARY, Guard.ASSIGNED_READER
    ),
    Action.APPROVE: Rule(frozenset({S.PRELIMINARY}), S.FINAL, Guard.SECOND_READER),
    Action.REQUEST_CHANGES: Rule(frozenset({S.PRELIMINARY}), S.CHANGES_REQUESTED, Guard.SECOND_READER),
    Action.FINALIZE: Rule(frozenset({S.PRELIMINARY}), S.FINAL, Guard.SYSTEM),
    Action.RETURN: Rule(frozenset({S.FINAL}), S.RETURNED, Guard.SYSTEM),
    Action.ACKNOWLEDGE_RECEIPT: Rule(frozenset({S.RETURNED, S.AMENDED}), S.CLOSED, Guard.REFERRING_DOCTOR),
    Action.REQUEST_INFO: Rule(frozenset({S.IN_READING}), S.NEEDS_INFO, Guard.ASSIGNED_READER),
    # The reader who asked keeps the case: continuity beats a fresh offer round (coordinator can reroute).
    Action.PROVIDE_INFO: Rule(frozenset({S.NEEDS_INFO}), S.IN_READING, Guard.REFERRING_DOCTOR),
    Action.CANCEL: Rule(
        frozenset({S.SUBMITTED, S.AWAITING_IMAGES, S.OFFERED}), S.CANCELLED, Guard.REFERRING_DOCTOR
    ),
    Action.REASSIGN: Rule(
        frozenset({S.SUBMITTED, S.OFFERED, S.IN_READING, S.NEEDS_INFO, S.CHANGES_REQUESTED}),
        S.OFFERED,
        Guard.COORDINATOR,
    ),
    Action.REROUTE: Rule(
        frozenset({S.SUBMITTED, S.OFFERED, S.IN_READING, S.NEEDS_INFO, S.CHANGES_REQUESTED}),
        S.SUBMITTED,
        Guard.COORDINATOR,
    ),
    Action.SLA_WARN: Rule(OPEN_STATES, None, Guard.SYSTEM),
    Action.SLA_BREACH: Rule(OPEN_STATES, None, Guard.SYSTEM),
    Action.SLA_REASSIGN: Rule(READER_STATES, S.SUBMITTED, Guard.SYSTEM),
    Action.NOTIFY_CRITICAL: Rule(OPEN_STATES | REPORTED_STATES, None, Guard.SYSTEM),
    Action.ACKNOWLEDGE_CRITICAL: Rule(OPEN_STATES | REPORTED_STATES, None, Guard.REFERRING_DOCTOR),
    Action.ESCALATE_CRITICAL: Rule(OPEN_STATES | REPORTED_STATES, None, Guard.SYSTEM),
    Action.ADD_ADDENDUM: Rule(REPORTED_STATES, S.AMENDED, Guard.SIGNER),
}


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


def check(case: ReferralCase, action: Action, actor: Actor) -> Rule:
    """Raise the catalogue error that explains why `actor` may not do `action` now."""
    rule = RULES[action]
    if not guard_allows(rule.guard, case, actor):
        raise YilianError(
            ErrorCode.FORBIDDEN,
            f"{actor.role} {actor.user_id} may not {action} this referral",
            {"action": action, "required": rule.guard},
        )
    if case.state not in rule.from_states:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {action} a referral that is {case.state}",
            {"action": action, "state": case.state, "allowed_from": sorted(rule.from_states)},
        )
    return rule


def transition(
    case: ReferralCase, action: Action, actor: Actor, at: datetime, *, target: str | None = None
) -> tuple[ReferralCase, AuditEvent]:
    """Apply one action: the new case value and the audit event that records it."""
    rule = check(case, action, actor)
    to_state = rule.to_state or case.state
    new = replace(case, state=to_state, seq=case.seq + 1)
    if action in (Action.OFFER, Action.REASSIGN):
        if not target:
            raise YilianError(ErrorCode.VALIDATION_FAILED, f"{action} needs the expert to offer it to")
        new = replace(new, offered_to=target, reader_id=None)
    elif action is Action.ACCEPT:
        new = replace(new, offered_to=None, reader_id=actor.user_id)
    elif action in (Action.DECLINE, Action.OFFER_EXPIRE, Action.CANCEL):
        new = replace(new, offered_to=None)
    elif action in (Action.REROUTE, Action.SLA_REASSIGN):
        new = replace(new, offered_to=None, reader_id=None)
    elif action in (Action.APPROVE, Action.REQUEST_CHANGES):
        new = replace(new, second_reader_id=actor.user_id)
    event = AuditEvent(case.referral_id, new.seq, action, case.state, to_state, actor, at)
    return new, event
