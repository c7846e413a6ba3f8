"""Values that cross the Temporal boundary for lectures: the workflow's input, Update arguments, activity I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from yilian.domain.lecture import Given, LectureCase, LectureEvent, LectureState, Plan
from yilian.domain.notice import NoticeKind
from yilian.domain.roles import Actor

LECTURE_WORKFLOW = "LectureWorkflow"  # the workflow type, so the API starts it by name


class LectureActivity(StrEnum):
    RECORD_STEP = "lecture.record_step"
    CLOSE_ROOM = "lecture.close_room"
    PUBLISH_REPLAY = "lecture.publish_replay"
    TALLY = "lecture.tally"


@dataclass(frozen=True)
class LectureProgress:
    """Everything the workflow carries between runs (continue-as-new)."""

    case: LectureCase
    plan: Plan
    reminders: list[str] = field(default_factory=list)  # the reminders still to send for this plan
    cancel_reason: str = ""
    recorded_seconds: float = 0.0
    credit_open_until: datetime | None = None  # replay watchers earn credit until then
    pending: list[str] = field(default_factory=list)  # doctors whose attendance moved since the last tally


@dataclass(frozen=True)
class LectureInput:
    lecture_id: str
    actor: Actor  # who schedules it
    plan: Plan
    now: datetime  # the API's clock when the person sent it
    progress: LectureProgress | None = None  # carried over continue-as-new


@dataclass(frozen=True)
class PlanInput:
    actor: Actor
    plan: Plan
    now: datetime

    def given(self, now: datetime) -> Given:
        return Given(now=now, plan=self.plan)


@dataclass(frozen=True)
class LectureActorInput:
    actor: Actor
    comment: str = ""

    def given(self, now: datetime) -> Given:
        return Given(now=now, comment=self.comment)


LecturePersonInput = PlanInput | LectureActorInput


@dataclass(frozen=True)
class Watched:
    """The API's word that these doctors' attendance (or quiz) moved: the workflow tallies them."""

    user_ids: list[str]


@dataclass(frozen=True)
class LectureNote:
    """A notice with a step. `registered`: also to everyone registered for the lecture (the activity looks them up)."""

    kind: NoticeKind
    params: dict[str, str]
    user_ids: list[str] = field(default_factory=list)
    registered: bool = False


@dataclass(frozen=True)
class LectureSnapshot:
    """The lectures row, written whole with every step so a replayed step changes nothing."""

    lecture_id: str
    state: LectureState
    organiser_id: str
    plan: Plan
    cancel_reason: str
    recorded_seconds: float


@dataclass(frozen=True)
class RecordLectureStepInput:
    event: LectureEvent
    snapshot: LectureSnapshot
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[LectureNote] = field(default_factory=list)


@dataclass(frozen=True)
class ReplayResult:
    recorded_seconds: float  # 0: nothing was recorded
    segments: int
    chapters: int


@dataclass(frozen=True)
class TallyInput:
    lecture_id: str
    seq: int  # the tally's audit step (idempotency)
    credit: float
    threshold: float
    recorded_seconds: float
    user_ids: list[str] | None = None  # None: everyone who watched


@dataclass(frozen=True)
class TallyResult:
    counted: int  # doctors whose standing was computed
    awarded: int  # new credits
    awarded_to: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LectureResult:
    lecture_id: str
    state: LectureState
    seq: int


@dataclass(frozen=True)
class LectureRef:
    lecture_id: str
