"""A lecture as the API shows it: the catalogue entry, its detail for the caller, Q&A, the quiz (without its
answers), the watch token, credits and attendance."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.lecture import LectureAction, LectureState


class Lecture(ApiModel):
    """One lecture as its projection row holds it, with what the caller may do to it now."""

    id: str
    title: str
    abstract: str
    state: LectureState
    organiser_id: str
    speaker_ids: list[str]
    audience_hospital_ids: list[str] = Field(description="the hospitals it is for; empty: the whole alliance")
    starts_at: Timestamp
    duration_minutes: int
    credit: float = Field(description="continuing-education credit it earns")
    threshold: float = Field(description="the share of the recording to watch for the credit (with the quiz)")
    has_quiz: bool
    case_ids: list[str] = Field(description="linked teaching cases")
    cancel_reason: str
    recorded_seconds: float = Field(description="length of the recording; 0 until the replay is published")
    registered: bool = Field(description="whether the caller registered")
    seq: int
    created_at: Timestamp
    updated_at: Timestamp
    allowed_actions: list[LectureAction] = Field(default_factory=list)


class Speaker(ApiModel):
    id: str
    display_name: str
    title: str
    hospital_id: str | None


class QuizQuestionOut(ApiModel):
    """A quiz question as a learner sees it: never its answer."""

    text: str
    options: list[str]


class QuizOut(ApiModel):
    questions: list[QuizQuestionOut]
    pass_mark: float


class Chapter(ApiModel):
    title: str
    start_s: float


class Credit(ApiModel):
    lecture_id: str
    title: str
    starts_at: Timestamp
    credit: float
    watched_seconds: float
    quiz_passed: bool | None = Field(description="null: the lecture had no quiz")
    awarded_at: Timestamp


class Standing(ApiModel):
    """The caller's own attendance of the lecture."""

    watched_seconds: float = Field(description="distinct segments fetched (live or replay) times their duration")
    segments: int
    watched_share: float = Field(description="of the recording (0 while there is none)")
    quiz_right: int | None
    quiz_passed: bool | None
    credit: float | None = Field(description="the credit awarded; null while not earned")


class LectureDetail(Lecture):
    speakers: list[Speaker]
    quiz: QuizOut | None
    chapters: list[Chapter]
    standing: Standing
    may_moderate: bool
    sees_attendance: bool


class WatchToken(ApiModel):
    token: str
    expires_at: Timestamp
    mode: str = Field(description="live or replay")
    playlist_url: str = Field(description="the playlist to give the player; every URI in it carries the token")


class Question(ApiModel):
    id: int
    body: str
    author_id: str
    author_name: str
    at: Timestamp
    votes: int
    voted: bool = Field(description="whether the caller upvoted it")
    picked_at: Timestamp | None = Field(description="when the moderator put it to the speaker")


class QuizResult(ApiModel):
    right: int
    total: int
    passed: bool


class HospitalAttendance(ApiModel):
    hospital_id: str | None
    hospital_name: str | None
    registered: int
    watched: int = Field(description="doctors who watched any of it")
    watched_minutes: float
    credited: int


class DoctorAttendance(ApiModel):
    user_id: str
    display_name: str
    hospital_id: str | None
    hospital_name: str | None
    registered: bool
    watched_seconds: float
    live_seconds: float
    quiz_passed: bool | None
    credit: float | None
    awarded_at: Timestamp | None


class LectureAttendance(ApiModel):
    recorded_seconds: float
    hospitals: list[HospitalAttendance]
    doctors: list[DoctorAttendance]


class LectureEvent(ApiModel):
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    at: Timestamp
    details: dict[str, object]
