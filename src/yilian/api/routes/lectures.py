"""Online lectures: schedule one (educators, coordinators), the catalogue, register, the speaker's live room, the
viewer's watch token and HLS files, Q&A, the quiz, credits, attendance per hospital and its CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket
from fastapi.responses import Response
from pydantic import AwareDatetime, Field

from yilian.api import lecture_media, lecture_service
from yilian.api.action_routes import ActionRoute, add_action_routes
from yilian.api.deps import (
    AppSettings,
    CurrentPrincipal,
    Engine,
    LectureActions,
    LectureCaller,
    LectureFiles,
    LectureModerator,
    LectureReporter,
    LectureWatcher,
    Live,
    require_role,
    socket_principal,
)
from yilian.api.lecture_view import audience_of, lecture_case, lecture_out, seen_lecture
from yilian.api.live_door import LiveUnavailable, Seat, first_join, refuse, relay
from yilian.api.models.lecture import (
    Chapter,
    Credit,
    DoctorAttendance,
    HospitalAttendance,
    Lecture,
    LectureAttendance,
    LectureDetail,
    LectureEvent,
    Question,
    QuizOut,
    QuizQuestionOut,
    QuizResult,
    Speaker,
    Standing,
    WatchToken,
)
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import lectures as q
from yilian.domain import lecture as rules
from yilian.domain import lecture_media as media
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import LectureAction, LectureState, Plan, Quiz, QuizQuestion
from yilian.domain.lecture_io import LectureActorInput, PlanInput
from yilian.domain.roles import Role
from yilian.live.protocol import AddChapter, LiveErrorCode

router = APIRouter(prefix="/api/lectures", tags=["lectures"])
Organiser = Annotated[Principal, Depends(require_role(Role.EDUCATOR, Role.COORDINATOR))]


# ---- bodies -------------------------------------------------------------------------------------------------------
class QuizQuestionBody(RequestBody):
    text: str = Field(min_length=1, max_length=rules.QUESTION_TEXT_MAX)
    options: list[str] = Field(min_length=2, max_length=rules.MAX_OPTIONS)
    answer: int = Field(ge=0, description="the index of the right option")


class QuizBody(RequestBody):
    questions: list[QuizQuestionBody] = Field(default_factory=list, max_length=rules.MAX_QUIZ_QUESTIONS)
    pass_mark: float = Field(default=0.6, gt=0, le=1)


class PlanBody(RequestBody):
    title: str = Field(min_length=1, max_length=rules.TITLE_MAX)
    abstract: str = Field(default="", max_length=rules.ABSTRACT_MAX)
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=rules.MIN_DURATION, le=rules.MAX_DURATION)
    speaker_ids: list[str] = Field(min_length=1, max_length=rules.MAX_SPEAKERS)
    audience_hospital_ids: list[str] = Field(default_factory=list, max_length=rules.MAX_HOSPITALS,
                                             description="empty: the whole alliance")  # fmt: skip
    credit: float = Field(default=1.0, ge=0, le=rules.MAX_CREDIT)
    threshold: float = Field(default=rules.DEFAULT_THRESHOLD, ge=0.1, le=1.0)
    quiz: QuizBody | None = None
    case_ids: list[str] = Field(default_factory=list, max_length=20)

    def plan(self) -> Plan:
        quiz = self.quiz or QuizBody()
        return Plan(
            title=self.title, starts_at=self.starts_at.astimezone(UTC), duration_minutes=self.duration_minutes,
            speaker_ids=tuple(self.speaker_ids), abstract=self.abstract,
            audience_hospital_ids=tuple(dict.fromkeys(self.audience_hospital_ids)), credit=self.credit,
            threshold=self.threshold,
            quiz=Quiz(tuple(QuizQuestion(x.text, tuple(x.options), x.answer) for x in quiz.questions), quiz.pass_mark),
            case_ids=tuple(self.case_ids),
        )  # fmt: skip


class ReasonBody(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


class EmptyBody(RequestBody):
    pass


class QuestionBody(RequestBody):
    body: str = Field(description=f"the question, at most {rules.QUESTION_MAX} characters")


class ChapterBody(RequestBody):
    title: str = Field(min_length=1, max_length=200)


class AnswersBody(RequestBody):
    answers: list[int] = Field(max_length=rules.MAX_QUIZ_QUESTIONS, description="the chosen option of each question")


# ---- helpers ------------------------------------------------------------------------------------------------------
async def _out(engine: Engine, lecture_id: str, principal: Principal) -> Lecture:
    async with reading(engine) as conn:
        row = seen_lecture(lecture_id, await q.get(conn, lecture_id))
        registered = await q.is_registered(conn, lecture_id, principal.user_id)
    return lecture_out(row, principal, registered)


async def _act(route: ActionRoute[LectureAction], lecture_id: str, body: Any, engine: Engine,
               commands: LectureActions, access: LectureCaller) -> Lecture:  # fmt: skip
    """One Update; the answer is the row its step wrote (before the Update returned)."""
    await commands.act(access.row["id"], route.action, await route.input(engine, access.principal, body))
    return await _out(engine, access.row["id"], access.principal)


def _chapters(files: LectureFiles, lecture_id: str) -> list[Chapter]:
    path = files.root / lecture_id / media.CHAPTERS
    try:
        loaded = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    items = loaded.get("chapters", []) if isinstance(loaded, dict) else loaded
    return [Chapter(title=str(c["title"]), start_s=float(c["start_s"])) for c in items if isinstance(c, dict)]


# ---- the catalogue and the organiser's actions --------------------------------------------------------------------
@router.post("", status_code=201)
async def schedule_lecture(body: PlanBody, engine: Engine, commands: LectureActions, organiser: Organiser) -> Lecture:
    """Schedule a lecture (an educator or a coordinator): its speakers are told, registered doctors are reminded."""
    lecture_id = await lecture_service.schedule(engine, commands, organiser, body.plan(), datetime.now(UTC))
    return await _out(engine, lecture_id, organiser)


@router.get("")
async def list_lectures(
    engine: Engine,
    principal: CurrentPrincipal,
    state: Annotated[list[LectureState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[Lecture]:
    """The lectures you may watch (your hospital's and the whole alliance's), newest first."""
    async with reading(engine) as conn:
        rows = await q.catalogue(conn, principal, states=[str(s) for s in state or []], limit=limit, offset=offset)
    return Page[Lecture].of([lecture_out(r, principal, r["registered"]) for r in rows], limit=limit, offset=offset)


@router.get("/credits")
async def my_credits(engine: Engine, principal: CurrentPrincipal) -> Page[Credit]:
    """The credits you earned, newest first."""
    async with reading(engine) as conn:
        rows = await q.my_credits(conn, principal.user_id)
    return Page[Credit].of([Credit.model_validate(r) for r in rows])


@router.get("/{lecture_id}")
async def get_lecture(lecture_id: str, engine: Engine, files: LectureFiles, access: LectureWatcher) -> LectureDetail:
    """The lecture, its speakers, its quiz (without answers), chapters, and your own attendance."""
    row, p = access.row, access.principal
    async with reading(engine) as conn:
        people = {x["id"]: x for x in await q.people(conn, list(row["speaker_ids"]))}
        mine = await q.my_standing(conn, lecture_id, p.user_id)
        registered = await q.is_registered(conn, lecture_id, p.user_id)
    quiz = q.quiz_of(row)
    recorded = float(row["recorded_seconds"])
    share = rules.watched_share(rules.Standing(mine["watched_seconds"], recorded, None))
    credit = mine["credit"]["credit"] if mine["credit"] else None
    audience = audience_of(row)
    return LectureDetail(
        **lecture_out(row, p, registered).model_dump(),
        speakers=[Speaker.model_validate(people[s]) for s in row["speaker_ids"] if s in people],
        quiz=QuizOut(
            questions=[QuizQuestionOut(text=x.text, options=list(x.options)) for x in quiz.questions],
            pass_mark=quiz.pass_mark,
        )
        if quiz.questions
        else None,  # fmt: skip
        chapters=_chapters(files, lecture_id),
        standing=Standing(
            watched_seconds=mine["watched_seconds"],
            segments=mine["segments"],
            watched_share=share,
            quiz_right=mine["quiz_right"],
            quiz_passed=mine["quiz_passed"],
            credit=credit,
        ),  # fmt: skip
        may_moderate=rules.may_moderate(p, audience),
        sees_attendance=rules.sees_attendance(p),
    )


# ---- the speaker's and the organiser's actions: each one Update ---------------------------------------------------
def _plan(p: Principal, b: PlanBody) -> PlanInput:
    return PlanInput(p.actor, b.plan(), datetime.now(UTC))


async def _plan_lookup(engine: Engine, arg: PlanInput) -> None:
    """The speakers and the audience's hospitals exist (422 naming what is wrong) before a new plan goes out."""
    await lecture_service.check_plan(engine, arg.plan)


L = LectureAction
ACTION_ROUTES = (
    ActionRoute("reschedule", L.RESCHEDULE, PlanBody, _plan, lookup=_plan_lookup,
                doc="A new plan (time, speakers, audience, credit, quiz): the registered and the speakers are told."),
    ActionRoute("cancel", L.CANCEL, ReasonBody, lambda p, b: LectureActorInput(p.actor, comment=b.reason)),
    ActionRoute("start", L.START, EmptyBody, lambda p, b: LectureActorInput(p.actor),
                doc="A speaker (or the organiser) starts the lecture: it is live; the speaker's page then publishes."),
    ActionRoute("end", L.END, EmptyBody, lambda p, b: LectureActorInput(p.actor),
                doc="Over: the room is closed, the recording published as the replay, attendance tallied."),
)  # fmt: skip
add_action_routes(router, "lecture_id", ACTION_ROUTES, _act)


@router.get("/{lecture_id}/audit")
async def get_audit(lecture_id: str, engine: Engine, access: LectureReporter) -> Page[LectureEvent]:
    async with reading(engine) as conn:
        rows = await q.trail(conn, lecture_id)
    return Page[LectureEvent].of([LectureEvent.model_validate(r) for r in rows])


# ---- a doctor's part ----------------------------------------------------------------------------------------------
@router.post("/{lecture_id}/registration", status_code=201)
async def register(lecture_id: str, body: EmptyBody, engine: Engine, access: LectureWatcher) -> Lecture:
    """Register: you get the reminders (the day before, 15 minutes before) and the replay notice."""
    rules.require_state(LectureState(access.row["state"]), rules.REGISTRATION_STATES, "register for")
    async with engine.begin() as conn:
        await q.register(conn, lecture_id, access.principal.user_id, datetime.now(UTC))
    return await _out(engine, lecture_id, access.principal)


@router.delete("/{lecture_id}/registration")
async def unregister(lecture_id: str, engine: Engine, access: LectureWatcher) -> Lecture:
    rules.require_state(LectureState(access.row["state"]), rules.REGISTRATION_STATES, "unregister from")
    async with engine.begin() as conn:
        await q.unregister(conn, lecture_id, access.principal.user_id)
    return await _out(engine, lecture_id, access.principal)


@router.post("/{lecture_id}/watch")
async def watch(lecture_id: str, body: EmptyBody, files: LectureFiles, access: LectureWatcher) -> WatchToken:
    """A short-lived token for this lecture's HLS files, for you only: the live stream while it is live, the replay
    once published. Ask again before it expires (the player does)."""
    state = LectureState(access.row["state"])
    rules.require_state(state, rules.WATCHABLE_STATES, "watch")
    mode = lecture_media.LIVE if state is LectureState.LIVE else lecture_media.REPLAY
    playlist = media.LIVE_PLAYLIST if mode == lecture_media.LIVE else media.REPLAY_PLAYLIST
    token, expires = lecture_media.mint(files.secret, lecture_id, access.principal.user_id, mode, datetime.now(UTC))
    return WatchToken(token=token, expires_at=expires, mode=mode,
                      playlist_url=f"/api/lectures/{lecture_id}/hls/{playlist}?t={token}")  # fmt: skip


@router.get(
    "/{lecture_id}/hls/{file}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/vnd.apple.mpegurl": {}, "video/mp2t": {}},
            "description": "a playlist (its URIs carry the token) or a segment",
        }
    },  # fmt: skip
)
async def hls_file(
    lecture_id: str,
    file: str,
    files: LectureFiles,
    t: Annotated[str | None, Query(description="the watch token")] = None,
) -> Response:
    """One of the lecture's HLS files, authenticated by the watch token alone (no database on this path); each
    segment fetched counts toward your attendance."""
    claims = lecture_media.verify(files.secret, t, lecture_id)
    assert t is not None
    return lecture_media.serve(files.root, files.times, files.views, claims, file, t)


@router.get("/{lecture_id}/questions")
async def list_questions(lecture_id: str, engine: Engine, access: LectureWatcher) -> Page[Question]:
    """Q&A: picked questions first (in the order the moderator picked them), then by upvotes."""
    async with reading(engine) as conn:
        rows = await q.questions(conn, lecture_id, access.principal.user_id)
    return Page[Question].of([Question.model_validate(r) for r in rows])


@router.post("/{lecture_id}/questions", status_code=201)
async def ask(lecture_id: str, body: QuestionBody, engine: Engine, access: LectureWatcher) -> Question:
    rules.require_state(LectureState(access.row["state"]), rules.QA_STATES, "ask a question of")
    if problems := rules.question_problems(body.body):
        raise YilianError(ErrorCode.VALIDATION_FAILED, problems[0],
                          {"max_length": rules.QUESTION_MAX, "length": len(body.body)})  # fmt: skip
    async with engine.begin() as conn:
        qid = await q.add_question(conn, lecture_id, access.principal.user_id, body.body, datetime.now(UTC))
    return await _question(engine, lecture_id, qid, access.principal.user_id)


async def _question(engine: Engine, lecture_id: str, qid: int, user_id: str) -> Question:
    async with reading(engine) as conn:
        rows = [r for r in await q.questions(conn, lecture_id, user_id) if r["id"] == qid]
    if not rows:
        raise YilianError(ErrorCode.NOT_FOUND, f"no question {qid} in this lecture")
    return Question.model_validate(rows[0])


@router.post("/{lecture_id}/questions/{question_id}/vote")
async def upvote(lecture_id: str, question_id: int, body: EmptyBody, engine: Engine,
                 access: LectureWatcher) -> Question:  # fmt: skip
    """Upvote a question (once each)."""
    rules.require_state(LectureState(access.row["state"]), rules.QA_STATES, "upvote a question of")
    async with engine.begin() as conn:
        if await q.question(conn, lecture_id, question_id) is None:
            raise YilianError(ErrorCode.NOT_FOUND, f"no question {question_id} in this lecture")
        await q.vote(conn, question_id, access.principal.user_id)
    return await _question(engine, lecture_id, question_id, access.principal.user_id)


@router.post("/{lecture_id}/questions/{question_id}/pick")
async def pick(lecture_id: str, question_id: int, body: EmptyBody, engine: Engine,
               access: LectureModerator) -> Question:  # fmt: skip
    """The moderator puts a question to the speaker."""
    rules.require_state(LectureState(access.row["state"]), rules.QA_STATES, "pick a question of")
    async with engine.begin() as conn:
        if await q.question(conn, lecture_id, question_id) is None:
            raise YilianError(ErrorCode.NOT_FOUND, f"no question {question_id} in this lecture")
        await q.pick(conn, question_id, access.principal.user_id, datetime.now(UTC))
    return await _question(engine, lecture_id, question_id, access.principal.user_id)


@router.post("/{lecture_id}/quiz")
async def answer_quiz(lecture_id: str, body: AnswersBody, engine: Engine, commands: LectureActions,
                      access: LectureWatcher) -> QuizResult:  # fmt: skip
    """Your answers to the lecture's quiz; passing it (with enough watched) earns the credit."""
    state = LectureState(access.row["state"])
    rules.require_state(state, rules.QUIZ_STATES, "answer the quiz of")
    quiz = q.quiz_of(access.row)
    if not quiz.questions:
        raise YilianError(ErrorCode.NOT_FOUND, "this lecture has no quiz")
    if len(body.answers) != len(quiz.questions):
        raise YilianError(ErrorCode.VALIDATION_FAILED, f"answer each of the {len(quiz.questions)} questions",
                          {"questions": len(quiz.questions), "answers": len(body.answers)})  # fmt: skip
    right, passed = quiz.score(list(body.answers))
    async with engine.begin() as conn:
        await q.add_attempt(conn, lecture_id, access.principal.user_id, list(body.answers), right, passed,
                            datetime.now(UTC))  # fmt: skip
    if passed and state is LectureState.PUBLISHED:
        await commands.watched(lecture_id, [access.principal.user_id])
    return QuizResult(right=right, total=len(quiz.questions), passed=passed)


@router.post("/{lecture_id}/chapters", status_code=201)
async def mark_chapter(lecture_id: str, body: ChapterBody, engine: Engine, processes: Live,
                       access: LectureCaller) -> Page[Chapter]:  # fmt: skip
    """A speaker (or the organiser) marks a chapter of the replay at this moment of the recording."""
    case = lecture_case(access.row)
    if not rules.guard_allows(rules.Guard.STAGE, case, access.principal.actor):
        raise YilianError(ErrorCode.FORBIDDEN, "only the lecture's speakers and organiser mark chapters")
    rules.require_state(LectureState(access.row["state"]), frozenset({LectureState.LIVE}), "mark a chapter of")
    try:
        info = await processes.add_chapter(engine, media.room_id(lecture_id), AddChapter(title=body.title))
    except LiveUnavailable as exc:
        raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, str(exc)) from exc
    if info is None:
        raise YilianError(ErrorCode.INVALID_TRANSITION, "the lecture's room is not on air yet: publish first")
    return Page[Chapter].of([Chapter(title=c.title, start_s=c.start_s) for c in info.chapters])


# ---- attendance ---------------------------------------------------------------------------------------------------
def _per_hospital(rows: list[dict[str, Any]]) -> list[HospitalAttendance]:
    by: dict[str | None, dict[str, Any]] = {}
    for r in rows:
        h = by.setdefault(
            r["hospital_id"],
            {
                "hospital_id": r["hospital_id"],
                "hospital_name": r["hospital_name"],
                "registered": 0,
                "watched": 0,
                "watched_minutes": 0.0,
                "credited": 0,
            },
        )
        h["registered"] += bool(r["registered"])
        h["watched"] += r["watched_seconds"] > 0
        h["watched_minutes"] += r["watched_seconds"] / 60
        h["credited"] += r["credit"] is not None
    return [HospitalAttendance.model_validate({**h, "watched_minutes": round(h["watched_minutes"], 1)})
            for h in by.values()]  # fmt: skip


@router.get("/{lecture_id}/attendance")
async def attendance(lecture_id: str, engine: Engine, access: LectureReporter) -> LectureAttendance:
    """Per hospital and per doctor: registered, minutes watched (live and replay), quiz, credit."""
    async with reading(engine) as conn:
        rows = await q.attendance(conn, lecture_id)
    return LectureAttendance(
        recorded_seconds=float(access.row["recorded_seconds"]),
        hospitals=_per_hospital(rows),
        doctors=[DoctorAttendance.model_validate(r) for r in rows],
    )


@router.get(
    "/{lecture_id}/attendance.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per doctor"}},
)
async def attendance_csv(lecture_id: str, engine: Engine, access: LectureReporter) -> Response:
    """The attendance as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese names)."""
    async with reading(engine) as conn:
        rows = await q.attendance(conn, lecture_id)
    recorded = float(access.row["recorded_seconds"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["user_id", "name", "hospital_id", "hospital", "registered", "watched_minutes", "live_minutes",
                     "watched_percent", "quiz_passed", "credit", "awarded_at"])  # fmt: skip
    for r in rows:
        share = min(1.0, r["watched_seconds"] / recorded) if recorded else 0.0
        writer.writerow([
            r["user_id"], r["display_name"], r["hospital_id"] or "", r["hospital_name"] or "",
            "yes" if r["registered"] else "no", f"{r['watched_seconds'] / 60:.1f}", f"{r['live_seconds'] / 60:.1f}",
            f"{share * 100:.0f}", "" if r["quiz_passed"] is None else ("yes" if r["quiz_passed"] else "no"),
            "" if r["credit"] is None else f"{r['credit']:g}",
            r["awarded_at"].isoformat() if r["awarded_at"] else "",
        ])  # fmt: skip
    name = f"attendance-{lecture_id}.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


# ---- the speaker's live room --------------------------------------------------------------------------------------
@router.websocket("/{lecture_id}/live")
async def live_room(websocket: WebSocket, lecture_id: str, settings: AppSettings, engine: Engine,
                    processes: Live) -> None:  # fmt: skip
    """The speaker's (and panelists') signalling door to the lecture's live room, while the lecture is live: the
    first frame is `join` with the user's `token`. The first speaker presents (what viewers see and hear); the room
    packages it as HLS. Viewers never come here: they watch the HLS files."""
    first = await first_join(websocket)
    if first is None:
        return
    join, token = first
    caller = await socket_principal(settings, engine, websocket, token)
    if isinstance(caller, YilianError):
        await refuse(websocket, LiveErrorCode.NOT_ALLOWED, caller.message)
        return
    async with reading(engine) as conn:
        row = await q.get(conn, lecture_id)
    if row is None:
        await refuse(websocket, LiveErrorCode.UNKNOWN_ROOM, f"no lecture {lecture_id}")
        return
    case = lecture_case(row)
    if not rules.guard_allows(rules.Guard.STAGE, case, caller.actor):
        await refuse(websocket, LiveErrorCode.NOT_ALLOWED, "only the lecture's speakers publish")
        return
    if case.state is not LectureState.LIVE:
        await refuse(websocket, LiveErrorCode.NOT_ALLOWED, f"the lecture is {case.state}, not live")
        return

    async def attend(joined: bool) -> None:  # the lecture's attendance is its viewers' segment fetches
        return None

    presenter = bool(case.speaker_ids) and case.speaker_ids[0] == caller.user_id
    seat = Seat(caller, media.room_id(lecture_id), host=presenter, lecture_id=lecture_id)
    await relay(websocket, join, seat, processes, engine, attend)
