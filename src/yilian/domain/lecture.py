"""Online lectures (在线讲座): states, the action table, who may watch, and the credit rule.

An educator (or a coordinator) schedules a lecture for some hospitals or the whole alliance; experts or seniors
speak. The speaker starts it (the live room packages their stream as HLS), ends it; the recording is then published
as the replay and attendance tallied: a doctor earns the lecture's credit once they watched at least its threshold
of the recording (live or replay, distinct segments) and passed its quiz, if it has one. Its actions are an action
table (`domain/action_table.py`): each rule says from which states, to which state, who (the guard) and what must
come with it; `TABLE` gives the one `validate`, `permitted` and `allowed_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from yilian.domain.access import Principal
from yilian.domain.action_table import ActionTable, Rule
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import READER_ROLES, Actor, Role


class LectureState(StrEnum):
    SCHEDULED = "scheduled"  # in the catalogue; people register; reminders pending
    LIVE = "live"  # the speaker is on: viewers watch the HLS stream
    ENDED = "ended"  # over; the replay is being published (or there was no recording)
    PUBLISHED = "published"  # the replay (VOD playlist) is out; credits are awarded as people watch it
    CANCELLED = "cancelled"


class LectureAction(StrEnum):
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    REMIND = "remind"
    START = "start"
    END = "end"
    PUBLISH = "publish"  # the system's: the replay playlist is out
    TALLY = "tally"  # the system's: attendance counted and credits awarded (audited with the numbers)
    CANCEL = "cancel"


class Guard(StrEnum):
    SYSTEM = "system"
    ORGANISER = "organiser"  # any educator, or the coordinator who scheduled it
    STAGE = "stage"  # a speaker, or an organiser (who may start or end it for them)
    STAGE_OR_SYSTEM = "stage_or_system"  # the system ends a lecture left live long past its end


class Need(StrEnum):
    PLAN = "plan"  # a valid plan: title, start in the future, duration, speakers, quiz within limits
    COMMENT = "comment"  # the reason for cancelling


S, A = LectureState, LectureAction
START_STATE: None = None  # before the first action
FINISHED_STATES = frozenset({S.CANCELLED})
WATCHABLE_STATES = frozenset({S.LIVE, S.PUBLISHED})
REGISTRATION_STATES = frozenset({S.SCHEDULED, S.LIVE})  # registering (and unregistering) for reminders
QA_STATES = frozenset({S.SCHEDULED, S.LIVE})  # asking, upvoting and picking questions
QUIZ_STATES = frozenset({S.LIVE, S.ENDED, S.PUBLISHED})


N = Need
RULES: dict[LectureAction, Rule[LectureState | None, Guard, Need]] = {
    A.SCHEDULE: Rule(frozenset({START_STATE}), S.SCHEDULED, Guard.ORGANISER, frozenset({N.PLAN})),
    A.RESCHEDULE: Rule(frozenset({S.SCHEDULED}), None, Guard.ORGANISER, frozenset({N.PLAN})),
    A.REMIND: Rule(frozenset({S.SCHEDULED}), None, Guard.SYSTEM),
    A.START: Rule(frozenset({S.SCHEDULED}), S.LIVE, Guard.STAGE),
    A.END: Rule(frozenset({S.LIVE}), S.ENDED, Guard.STAGE_OR_SYSTEM),
    A.PUBLISH: Rule(frozenset({S.ENDED}), S.PUBLISHED, Guard.SYSTEM),
    A.TALLY: Rule(frozenset({S.ENDED, S.PUBLISHED}), None, Guard.SYSTEM),
    A.CANCEL: Rule(frozenset({S.SCHEDULED}), S.CANCELLED, Guard.ORGANISER, frozenset({N.COMMENT})),
}  # fmt: skip

PERSON_ACTIONS: tuple[LectureAction, ...] = (A.RESCHEDULE, A.START, A.END, A.CANCEL)
ORGANISER_ROLES = frozenset({Role.EDUCATOR, Role.COORDINATOR})
SPEAKER_ROLES = READER_ROLES  # experts and seniors speak
ALWAYS_WATCH = frozenset({Role.EDUCATOR, Role.COORDINATOR, Role.ADMIN})
WATCHER_ROLES = frozenset({Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR, Role.EDUCATOR, Role.ADMIN})

# Limits (the API's models hold the same numbers).
TITLE_MAX, ABSTRACT_MAX = 200, 8000
MIN_DURATION, MAX_DURATION = 10, 480  # minutes
MAX_SPEAKERS, MAX_HOSPITALS = 5, 200
MAX_AHEAD = timedelta(days=366)
PAST_SLACK = timedelta(minutes=1)
MAX_CREDIT = 20.0  # continuing-education credit of one lecture
MAX_QUIZ_QUESTIONS, MAX_OPTIONS, OPTION_MAX, QUESTION_TEXT_MAX = 10, 6, 300, 1000
QUESTION_MAX = 500  # a Q&A question's length
DEFAULT_THRESHOLD = 0.8  # watched share of the recording that earns the credit (with the quiz, if any)
LATE_END = timedelta(minutes=60)  # a lecture still live this long after its planned end is ended by the system


@dataclass(frozen=True)
class QuizQuestion:
    text: str
    options: tuple[str, ...]
    answer: int  # the index of the right option: never shown to learners


@dataclass(frozen=True)
class Quiz:
    questions: tuple[QuizQuestion, ...] = ()
    pass_mark: float = 0.6  # share of right answers that passes

    def score(self, answers: list[int]) -> tuple[int, bool]:
        """Right answers and whether they pass; answers beyond the questions count for nothing."""
        right = sum(1 for q, a in zip(self.questions, answers, strict=False) if q.answer == a)
        return right, bool(self.questions) and right >= self.pass_mark * len(self.questions)


@dataclass(frozen=True)
class Plan:
    """What the organiser sets: when, who speaks, for whom, for how much credit, and the quiz."""

    title: str
    starts_at: datetime
    duration_minutes: int
    speaker_ids: tuple[str, ...]
    abstract: str = ""
    audience_hospital_ids: tuple[str, ...] = ()  # empty: the whole alliance
    credit: float = 1.0
    threshold: float = DEFAULT_THRESHOLD
    quiz: Quiz = field(default_factory=Quiz)
    case_ids: tuple[str, ...] = ()  # linked teaching cases

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def plan_problems(p: Plan, now: datetime | None) -> list[str]:
    out: list[str] = []
    if not p.title.strip() or len(p.title) > TITLE_MAX:
        out.append(f"the title must be 1 to {TITLE_MAX} characters")
    if len(p.abstract) > ABSTRACT_MAX:
        out.append("the abstract is too long")
    if now is not None and p.starts_at < now - PAST_SLACK:
        out.append("the start is in the past")
    if now is not None and p.starts_at > now + MAX_AHEAD:
        out.append("the start is more than a year ahead")
    if not MIN_DURATION <= p.duration_minutes <= MAX_DURATION:
        out.append(f"the duration must be {MIN_DURATION} to {MAX_DURATION} minutes")
    if not 1 <= len(p.speaker_ids) <= MAX_SPEAKERS or len(set(p.speaker_ids)) != len(p.speaker_ids):
        out.append(f"1 to {MAX_SPEAKERS} different speakers")
    if len(p.audience_hospital_ids) > MAX_HOSPITALS:
        out.append(f"more than {MAX_HOSPITALS} hospitals")
    if not 0 <= p.credit <= MAX_CREDIT:
        out.append(f"the credit must be 0 to {MAX_CREDIT}")
    if not 0.1 <= p.threshold <= 1.0:
        out.append("the threshold must be 10% to 100% of the recording")
    qs = p.quiz.questions
    if len(qs) > MAX_QUIZ_QUESTIONS or not 0 < p.quiz.pass_mark <= 1:
        out.append(f"a quiz has at most {MAX_QUIZ_QUESTIONS} questions and a pass mark above 0 up to 1")
    for i, q in enumerate(qs, 1):
        if not q.text.strip() or len(q.text) > QUESTION_TEXT_MAX:
            out.append(f"quiz question {i} has no text or too long a text")
        if not 2 <= len(q.options) <= MAX_OPTIONS or any(not o.strip() or len(o) > OPTION_MAX for o in q.options):
            out.append(f"quiz question {i} needs 2 to {MAX_OPTIONS} non-empty options")
        if not 0 <= q.answer < len(q.options):
            out.append(f"quiz question {i}: the answer is not one of its options")
    return out


@dataclass(frozen=True)
class LectureCase:
    """The part of a lecture that decides who may do what next."""

    lecture_id: str
    state: LectureState | None = START_STATE
    organiser_id: str = ""  # who scheduled it
    speaker_ids: tuple[str, ...] = ()
    seq: int = 0


@dataclass(frozen=True)
class Given:
    now: datetime | None = None
    plan: Plan | None = None
    comment: str = ""


def _organiser(case: LectureCase, actor: Actor) -> bool:
    return actor.role is Role.EDUCATOR or (actor.role is Role.COORDINATOR and actor.user_id == case.organiser_id)


def guard_allows(guard: Guard, case: LectureCase, actor: Actor) -> bool:
    if guard is Guard.SYSTEM:
        return actor.role is Role.SYSTEM
    if guard is Guard.ORGANISER:
        # Scheduling: any educator or coordinator; afterwards the coordinator who scheduled it, or any educator.
        return actor.role in ORGANISER_ROLES and (case.state is None or _organiser(case, actor))
    stage = _organiser(case, actor) or (actor.role in SPEAKER_ROLES and actor.user_id in case.speaker_ids)
    if guard is Guard.STAGE:
        return stage
    return stage or actor.role is Role.SYSTEM


def _missing(case: LectureCase, action: LectureAction, actor: Actor, need: Need, given: Given) -> list[str]:
    if need is Need.COMMENT:
        return [] if given.comment.strip() else ["missing the reason for cancelling"]
    return ["no plan"] if given.plan is None else plan_problems(given.plan, given.now)


TABLE = ActionTable(
    RULES, PERSON_ACTIONS, guard_allows, _missing, Given(), this="this lecture", kind="a lecture",
    unborn="not yet scheduled",
)  # fmt: skip
# Who (guard) first, then when (state), then with what (needs): the same catalogue error wherever it is called.
check, validate, permitted, allowed_actions = TABLE.check, TABLE.validate, TABLE.permitted, TABLE.allowed_actions


@dataclass(frozen=True)
class LectureEvent:
    lecture_id: str
    seq: int
    action: LectureAction
    from_state: LectureState | None
    to_state: LectureState
    actor: Actor
    at: datetime


def transition(
    case: LectureCase, action: LectureAction, actor: Actor, at: datetime, given: Given | None = None
) -> tuple[LectureCase, LectureEvent]:
    """Apply one action (its needs validated before): the new case and its audit event."""
    rule = check(case, action, actor)
    to_state = rule.to_state or case.state
    assert to_state is not None
    new = replace(case, state=to_state, seq=case.seq + 1)
    if action is A.SCHEDULE:
        new = replace(new, organiser_id=actor.user_id)
    if given is not None and given.plan is not None:
        new = replace(new, speaker_ids=given.plan.speaker_ids)
    return new, LectureEvent(case.lecture_id, new.seq, action, case.state, to_state, actor, at)


# ---- who may watch, moderate, see attendance ----------------------------------------------------------------------
@dataclass(frozen=True)
class Audience:
    organiser_id: str
    speaker_ids: tuple[str, ...]
    hospital_ids: tuple[str, ...]  # empty: the whole alliance


def in_audience(p: Principal, a: Audience) -> bool:
    """Its speakers, educators, coordinators (who run the alliance's teaching and see attendance) and admins always;
    other doctors of the alliance by their hospital."""
    if p.role not in WATCHER_ROLES:
        return False
    if p.role in ALWAYS_WATCH or p.user_id == a.organiser_id or p.user_id in a.speaker_ids:
        return True
    return not a.hospital_ids or (p.hospital_id is not None and p.hospital_id in a.hospital_ids)


def may_moderate(p: Principal, a: Audience) -> bool:
    """The moderator picks questions for the speaker: the organiser, any educator, or a speaker."""
    return p.role is Role.EDUCATOR or p.user_id == a.organiser_id or p.user_id in a.speaker_ids


def sees_attendance(p: Principal) -> bool:
    """Attendance per hospital: educators, coordinators and admins."""
    return p.role in (Role.EDUCATOR, Role.COORDINATOR, Role.ADMIN)


def question_problems(body: str) -> list[str]:
    if not body.strip():
        return ["an empty question"]
    if len(body) > QUESTION_MAX:
        return [f"a question is at most {QUESTION_MAX} characters; this one has {len(body)}"]
    return []


def require_state(state: LectureState, allowed: frozenset[LectureState], what: str) -> None:
    """People's own records (registrations, questions, quiz answers) are taken only while they mean something."""
    if state not in allowed:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {what} a lecture that is {state}",
            {"state": state, "allowed_from": sorted(str(s) for s in allowed)},
        )


# ---- the credit rule ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """One doctor's part in a lecture, as the tally sees it."""

    watched_seconds: float
    recorded_seconds: float
    quiz_passed: bool | None  # None: the lecture has no quiz


def watched_share(s: Standing) -> float:
    return min(1.0, s.watched_seconds / s.recorded_seconds) if s.recorded_seconds > 0 else 0.0


def earns_credit(s: Standing, threshold: float) -> bool:
    """Watched at least `threshold` of the recording (live or replay) and passed the quiz, if there is one."""
    return s.recorded_seconds > 0 and watched_share(s) >= threshold - 1e-9 and s.quiz_passed is not False
