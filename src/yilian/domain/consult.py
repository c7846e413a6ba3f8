"""MDT consults (多学科会诊): states, the action table, and who may see a consult.

A consult is requested from a case by anyone in the referral, or scheduled at once by a coordinator or an expert
(a tumour board of several cases needs no request). Its scheduler hosts it until the host hands over. Like the
referral's table (domain/referral.py), each rule says from which states an action may be taken, where it leads,
who may take it (the guard) and what must come with it (needs); `validate()` is the one check the workflow's
Update validators, its re-check under the lock and the API (for chat, which is not a workflow step) call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from yilian.domain import action_table
from yilian.domain.access import Mine, Principal
from yilian.domain.action_table import ActionTable
from yilian.domain.roles import READER_ROLES, Actor, Role


class ConsultState(StrEnum):
    REQUESTED = "requested"  # someone in the referral asked for one; nobody scheduled it yet
    SCHEDULED = "scheduled"  # time, duration, invitees and agenda set; reminders pending
    OPEN = "open"  # the room is open: people join
    CONCLUDED = "concluded"  # the host wrote the conclusion; it is on the cases' timelines
    CANCELLED = "cancelled"
    CLOSED = "closed"  # nobody concluded it: closed by the system a set time past its scheduled end


class ConsultAction(StrEnum):
    REQUEST = "request"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    REMIND = "remind"
    OPEN = "open"
    JOIN = "join"
    LEAVE = "leave"
    HAND_OVER = "hand_over"
    POST_MESSAGE = "post_message"
    CONCLUDE = "conclude"
    CANCEL = "cancel"
    CLOSE = "close"
    CONSENT = "consent"  # to the room being recorded, or not (a room control: not one of the consult page's buttons)


class Guard(StrEnum):
    SYSTEM = "system"
    REFERRAL_PARTY = "referral_party"  # the county doctors, the reader, the seniors, the coordinators of the case
    SCHEDULER = "scheduler"  # a coordinator, expert or senior of one of the consult's hospitals
    MANAGER = "manager"  # the host, the requester, or a coordinator of one of the consult's hospitals
    HOST = "host"
    HOST_OR_SYSTEM = "host_or_system"  # the room opens at its time, or earlier when the host opens it
    PARTICIPANT = "participant"  # the host and the invited


class Need(StrEnum):
    COMMENT = "comment"  # the reason for cancelling
    SCHEDULE = "schedule"  # a start in the future, a duration, at least one invitee, an agenda within limits
    TARGET = "target"  # the invitee who becomes host
    CONCLUSION = "conclusion"  # discussion and recommendation
    MESSAGE = "message"  # the chat line


class Effect(StrEnum):
    HOST = "host"  # the person scheduling becomes host
    PLAN = "plan"  # the invitees become those of the schedule
    HAND_OVER = "hand_over"  # the target becomes host; the host stays as an invitee


S = ConsultState
A = ConsultAction
START: None = None  # the "state" of a consult before its first action
LIVE_STATES = frozenset({S.REQUESTED, S.SCHEDULED, S.OPEN})
FINISHED_STATES = frozenset({S.CONCLUDED, S.CANCELLED, S.CLOSED})


@dataclass(frozen=True)
class Rule(action_table.Rule[ConsultState | None, Guard, Need]):
    """The table's rule (domain/action_table.py), and what it does to who hosts and who is invited."""

    effect: Effect | None = None


N = Need
RULES: dict[ConsultAction, Rule] = {
    A.REQUEST: Rule(frozenset({START}), S.REQUESTED, Guard.REFERRAL_PARTY),
    A.SCHEDULE: Rule(frozenset({START, S.REQUESTED}), S.SCHEDULED, Guard.SCHEDULER, frozenset({N.SCHEDULE}),
                     Effect.HOST),
    A.RESCHEDULE: Rule(frozenset({S.SCHEDULED}), None, Guard.MANAGER, frozenset({N.SCHEDULE}), Effect.PLAN),
    A.REMIND: Rule(frozenset({S.SCHEDULED}), None, Guard.SYSTEM),
    A.OPEN: Rule(frozenset({S.SCHEDULED}), S.OPEN, Guard.HOST_OR_SYSTEM),
    A.JOIN: Rule(frozenset({S.OPEN}), None, Guard.PARTICIPANT),
    A.LEAVE: Rule(frozenset({S.OPEN}), None, Guard.PARTICIPANT),
    A.HAND_OVER: Rule(frozenset({S.SCHEDULED, S.OPEN}), None, Guard.HOST, frozenset({N.TARGET}), Effect.HAND_OVER),
    # Chat is no workflow step (a line is not a change of the consult): the API checks this rule and appends it.
    A.POST_MESSAGE: Rule(frozenset({S.SCHEDULED, S.OPEN}), None, Guard.PARTICIPANT, frozenset({N.MESSAGE})),
    A.CONCLUDE: Rule(frozenset({S.OPEN}), S.CONCLUDED, Guard.HOST, frozenset({N.CONCLUSION})),
    A.CANCEL: Rule(frozenset({S.REQUESTED, S.SCHEDULED, S.OPEN}), S.CANCELLED, Guard.MANAGER, frozenset({N.COMMENT})),
    # An open room nobody concluded is closed by the workflow's timer, `auto_close` past its scheduled end.
    A.CLOSE: Rule(frozenset({S.OPEN}), S.CLOSED, Guard.SYSTEM),
    # Each of the host and the invited says whether the room may be recorded (docs/consults.md "Recording").
    A.CONSENT: Rule(frozenset({S.SCHEDULED, S.OPEN}), None, Guard.PARTICIPANT),
}  # fmt: skip


class ConsultPersonAction(StrEnum):
    """What people do on a consult, each with its own button (the API's `allowed_actions`)."""

    SCHEDULE = A.SCHEDULE.value
    RESCHEDULE = A.RESCHEDULE.value
    OPEN = A.OPEN.value
    JOIN = A.JOIN.value
    HAND_OVER = A.HAND_OVER.value
    POST_MESSAGE = A.POST_MESSAGE.value
    CONCLUDE = A.CONCLUDE.value
    CANCEL = A.CANCEL.value


PERSON_ACTIONS: tuple[ConsultAction, ...] = tuple(ConsultAction(a.value) for a in ConsultPersonAction)

# Limits of what people send (the API's models hold the same numbers).
MIN_DURATION, MAX_DURATION = 5, 480  # minutes
MAX_INVITEES = 30
MAX_AHEAD = timedelta(days=366)
PAST_SLACK = timedelta(minutes=1)  # "now" from a browser whose clock is a little behind
MAX_TEXT = 8000
MAX_MESSAGE = 2000
# How long past its scheduled end an open consult nobody concluded is closed (Settings.consult_auto_close_minutes).
DEFAULT_AUTO_CLOSE_MINUTES = 120


@dataclass(frozen=True)
class ReferralParties:
    """Who the consult's referral names when it was requested: those who may request it."""

    referral_id: str
    requesting_hospital_id: str
    reading_hospital_id: str
    reader_id: str | None = None
    second_reader_id: str | None = None
    submitted_by: str | None = None  # the referring doctor, who is told the consult's recommendation


@dataclass(frozen=True)
class ConsultCase:
    """The part of a consult that decides who may do what next."""

    consult_id: str
    hospital_ids: tuple[str, ...]  # the referral's two hospitals, or the tumour board's cases' and the scheduler's
    referral: ReferralParties | None = None  # None: a tumour board of listed cases
    state: ConsultState | None = START
    requested_by: str | None = None
    host_id: str | None = None
    invitee_ids: tuple[str, ...] = ()
    seq: int = 0

    def participants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*([self.host_id] if self.host_id else []), *self.invitee_ids]))


@dataclass(frozen=True)
class Schedule:
    starts_at: datetime
    duration_minutes: int
    invitee_ids: tuple[str, ...]
    agenda: str = ""

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Conclusion:
    participants: tuple[str, ...]  # user ids of who took part (the host's word; attendance is recorded separately)
    discussion: str
    recommendation: str


@dataclass(frozen=True)
class Given:
    """What a person sent with an action, checked against the rule's needs at `now`."""

    now: datetime | None = None
    comment: str = ""
    schedule: Schedule | None = None
    target: str | None = None
    conclusion: Conclusion | None = None
    message: str = ""


def guard_allows(guard: Guard, case: ConsultCase, actor: Actor) -> bool:
    if guard is Guard.SYSTEM:
        return actor.role is Role.SYSTEM
    if guard is Guard.HOST_OR_SYSTEM:
        return actor.role is Role.SYSTEM or actor.user_id == case.host_id
    if guard is Guard.HOST:
        return case.host_id is not None and actor.user_id == case.host_id
    if guard is Guard.PARTICIPANT:
        return actor.role is not Role.SYSTEM and actor.user_id in case.participants()
    if guard is Guard.REFERRAL_PARTY:
        r = case.referral
        if r is None:
            return False
        return (
            (actor.role is Role.COUNTY_DOCTOR and actor.hospital_id == r.requesting_hospital_id)
            or (actor.role in READER_ROLES and actor.user_id in (r.reader_id, r.second_reader_id))
            or (actor.role is Role.SENIOR and actor.hospital_id == r.reading_hospital_id)
            or (
                actor.role is Role.COORDINATOR
                and actor.hospital_id in (r.requesting_hospital_id, r.reading_hospital_id)
            )
        )
    if guard is Guard.SCHEDULER:
        return (
            actor.role in (Role.COORDINATOR, Role.EXPERT, Role.SENIOR)
            and actor.hospital_id is not None
            and actor.hospital_id in case.hospital_ids
        )
    if guard is Guard.MANAGER:
        return (
            actor.role is not Role.SYSTEM
            and actor.user_id in (case.host_id, case.requested_by)
            or (actor.role is Role.COORDINATOR and actor.hospital_id in case.hospital_ids)
        )
    raise AssertionError(guard)


def schedule_problems(s: Schedule, now: datetime | None, host_id: str | None = None) -> list[str]:
    problems = []
    if now is not None and s.starts_at < now - PAST_SLACK:
        problems.append("the start is in the past")
    if now is not None and s.starts_at > now + MAX_AHEAD:
        problems.append("the start is more than a year ahead")
    if not MIN_DURATION <= s.duration_minutes <= MAX_DURATION:
        problems.append(f"the duration must be {MIN_DURATION} to {MAX_DURATION} minutes")
    others = [i for i in s.invitee_ids if i != host_id]
    if not others:
        problems.append("nobody is invited")
    if len(set(s.invitee_ids)) != len(s.invitee_ids):
        problems.append("someone is invited twice")
    if len(s.invitee_ids) > MAX_INVITEES:
        problems.append(f"more than {MAX_INVITEES} invitees")
    if len(s.agenda) > MAX_TEXT:
        problems.append("the agenda is too long")
    return problems


def _missing(case: ConsultCase, action: ConsultAction, actor: Actor, need: Need, given: Given) -> list[str]:
    if need is Need.COMMENT and not given.comment.strip():
        return ["missing the reason for cancelling"]
    if need is Need.SCHEDULE:
        if given.schedule is None:
            return ["no schedule"]
        host = actor.user_id if action is A.SCHEDULE else case.host_id
        return schedule_problems(given.schedule, given.now, host)
    if need is Need.TARGET:
        if not given.target:
            return ["no one to hand over to"]
        if given.target == case.host_id or given.target not in case.invitee_ids:
            return ["the new host must be one of the invited"]
    if need is Need.CONCLUSION:
        c = given.conclusion
        if c is None or not c.discussion.strip() or not c.recommendation.strip():
            return ["the conclusion needs the discussion and the recommendation"]
        if len(c.discussion) > MAX_TEXT or len(c.recommendation) > MAX_TEXT:
            return ["the conclusion is too long"]
        strangers = sorted(set(c.participants) - set(case.participants()))
        if strangers:
            return [f"not invited: {', '.join(strangers)}"]
    if need is Need.MESSAGE and not given.message.strip():
        return ["an empty message"]
    if need is Need.MESSAGE and len(given.message) > MAX_MESSAGE:
        return [f"a message longer than {MAX_MESSAGE} characters"]
    return []


# The one check of a person's action on a consult: who (guard), then when (state), then with what (needs);
# `allowed_actions` gives the buttons the web app shows.
TABLE = ActionTable(
    RULES, PERSON_ACTIONS, guard_allows, _missing, Given(), this="this consult", kind="a consult",
    unborn="not yet made",
)  # fmt: skip
check, validate, permitted, allowed_actions = TABLE.check, TABLE.validate, TABLE.permitted, TABLE.allowed_actions


@dataclass(frozen=True)
class ConsultEvent:
    """One audited step of a consult."""

    consult_id: str
    seq: int
    action: ConsultAction
    from_state: ConsultState | None
    to_state: ConsultState
    actor: Actor
    at: datetime


def transition(
    case: ConsultCase, action: ConsultAction, actor: Actor, at: datetime, given: Given | None = None
) -> tuple[ConsultCase, ConsultEvent]:
    """Apply one action: the new case and its audit event (who and when are checked; needs were validated)."""
    rule = check(case, action, actor)
    given = given or Given()
    to_state = rule.to_state or case.state
    assert to_state is not None
    new = replace(case, state=to_state, seq=case.seq + 1)
    if action is A.REQUEST:
        new = replace(new, requested_by=actor.user_id)
    if rule.effect is Effect.HOST:
        new = replace(new, host_id=actor.user_id)
    if rule.effect in (Effect.HOST, Effect.PLAN) and given.schedule is not None:
        new = replace(new, invitee_ids=tuple(i for i in given.schedule.invitee_ids if i != new.host_id))
    if rule.effect is Effect.HAND_OVER and given.target:
        old = case.host_id
        invited = [i for i in case.invitee_ids if i != given.target] + ([old] if old else [])
        new = replace(new, host_id=given.target, invitee_ids=tuple(invited))
    return new, ConsultEvent(case.consult_id, new.seq, action, case.state, to_state, actor, at)


# ---- who may see a consult: the one rule, as data (compiled to SQL in db/queries/consult.py) -------------------
class ConsultParty(StrEnum):
    HOST = "host_id"
    REQUESTER = "requested_by"
    INVITEES = "invitee_ids"
    HOSPITALS = "hospital_ids"  # the consult's hospitals
    CASES = "cases"  # a listed case the caller may see (domain.access.can_view): the referral's parties


@dataclass(frozen=True)
class ConsultMatch:
    party: ConsultParty
    mine: Mine


ConsultGrant = tuple[ConsultMatch, ...]  # every match must hold; the empty grant holds for every consult
_PEOPLE: tuple[ConsultGrant, ...] = (
    (ConsultMatch(ConsultParty.HOST, Mine.USER),),
    (ConsultMatch(ConsultParty.REQUESTER, Mine.USER),),
    (ConsultMatch(ConsultParty.INVITEES, Mine.USER),),
    (ConsultMatch(ConsultParty.CASES, Mine.USER),),  # the user may see one of its cases
)
CONSULT_GRANTS: Mapping[Role, tuple[ConsultGrant, ...]] = {
    Role.ADMIN: ((),),
    Role.COORDINATOR: (*_PEOPLE, (ConsultMatch(ConsultParty.HOSPITALS, Mine.HOSPITAL),)),
    **{role: _PEOPLE for role in (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR)},
}  # patients, gateways and the system see no consult


@dataclass(frozen=True)
class ConsultScope:
    host_id: str | None
    requested_by: str | None
    invitee_ids: frozenset[str] = field(default_factory=frozenset)
    hospital_ids: frozenset[str] = field(default_factory=frozenset)
    sees_a_case: bool = False  # whether the caller may see one of the consult's cases (domain.access.can_view)


def _holds(m: ConsultMatch, p: Principal, c: ConsultScope) -> bool:
    if m.party is ConsultParty.CASES:
        return c.sees_a_case
    if m.party is ConsultParty.HOSPITALS:
        return p.hospital_id is not None and p.hospital_id in c.hospital_ids
    if m.party is ConsultParty.INVITEES:
        return p.user_id in c.invitee_ids
    theirs = c.host_id if m.party is ConsultParty.HOST else c.requested_by
    return theirs is not None and theirs == p.user_id


def holding_grants(p: Principal, c: ConsultScope) -> list[int]:
    """Which of the role's grants let `p` see the consult (by their place in CONSULT_GRANTS[role])."""
    grants = CONSULT_GRANTS.get(p.role, ())
    return [n for n, grant in enumerate(grants) if all(_holds(m, p, c) for m in grant)]


def can_view_consult(p: Principal, c: ConsultScope) -> bool:
    return bool(holding_grants(p, c))


def may_play_recordings(p: Principal, case: ConsultCase) -> bool:
    """A consult's recordings are played by who took part in it: its host and the invited (the people recorded
    consented to them, not to everyone who may see the consult)."""
    return p.role is not Role.SYSTEM and p.user_id in case.participants()


def recording_allowed(consented: frozenset[str], present: frozenset[str]) -> bool:
    """The room records only while someone is there and everyone there consented."""
    return bool(present) and present <= consented


def may_join(p: Principal, case: ConsultCase) -> bool:
    """The live room admits the host and the invited while the consult is open; nobody else."""
    return permitted(case, A.JOIN, p.actor)
