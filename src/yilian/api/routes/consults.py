"""MDT consults: request one from a case or schedule one (a tumour board too), the consults you may see, what people
do to one (each an Update on its workflow), its chat, attendance and trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, Field

from yilian.api import consult_recordings as recordings
from yilian.api import consult_service as service
from yilian.api.action_routes import ActionRoute, add_action_routes
from yilian.api.consult_view import consult_case, consult_out, seen_consult, shown_cases
from yilian.api.deps import (
    AppSettings,
    ConsultAccess,
    ConsultActions,
    ConsultCaller,
    CurrentPrincipal,
    Engine,
    Live,
    socket_principal,
)
from yilian.api.live_door import Seat, first_join, refuse, relay
from yilian.api.models.consult import (
    Attendance,
    Consult,
    ConsultCase,
    ConsultDetail,
    ConsultEvent,
    ConsultMessage,
    ConsultRecordingFile,
    ConsultRecordings,
    Person,
)
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import consult as q
from yilian.domain import consult as rules
from yilian.domain.access import Principal
from yilian.domain.consult import Conclusion, ConsultAction, ConsultState, Given, Schedule
from yilian.domain.consult_io import ConcludeInput, ConsentInput, ConsultActorInput, ScheduleInput
from yilian.domain.errors import ErrorCode, YilianError
from yilian.live.protocol import LiveErrorCode

router = APIRouter(prefix="/api/consults", tags=["consults"])


# ---- bodies -------------------------------------------------------------------------------------------------------
class ScheduleBody(RequestBody):
    starts_at: AwareDatetime = Field(description="when the room opens (with its time zone)")
    duration_minutes: int = Field(ge=rules.MIN_DURATION, le=rules.MAX_DURATION)
    invitee_ids: list[str] = Field(min_length=1, max_length=rules.MAX_INVITEES)
    agenda: str = Field(default="", max_length=rules.MAX_TEXT)

    def schedule(self) -> Schedule:
        return Schedule(self.starts_at.astimezone(UTC), self.duration_minutes, tuple(self.invitee_ids), self.agenda)


class NewConsultBody(RequestBody):
    title: str = Field(min_length=1, max_length=200)
    referral_id: str | None = Field(default=None, max_length=64, description="the case it is requested from")
    case_ids: list[str] = Field(default_factory=list, max_length=20, description="more cases (a tumour board)")
    comment: str = Field(default="", max_length=4000, description="why a consult is wanted")
    schedule: ScheduleBody | None = Field(default=None, description="omit to request one; give it to schedule it")


class CancelBody(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)


class HandOverBody(RequestBody):
    to: str = Field(min_length=1, max_length=64, description="an invitee, who becomes host")


class ConcludeBody(RequestBody):
    participants: list[str] = Field(default_factory=list, max_length=rules.MAX_INVITEES + 1)
    discussion: str = Field(min_length=1, max_length=rules.MAX_TEXT)
    recommendation: str = Field(min_length=1, max_length=rules.MAX_TEXT)


class MessageBody(RequestBody):
    body: str = Field(min_length=1, max_length=rules.MAX_MESSAGE)


class EmptyBody(RequestBody):
    pass


class ConsentBody(RequestBody):
    consent: bool = Field(description="true: the room may record me; false: it may not (declined or withdrawn)")


# ---- helpers ------------------------------------------------------------------------------------------------------
async def _fresh(engine: Engine, access: ConsultAccess) -> Consult:
    async with reading(engine) as conn:
        row = await q.get(conn, access.row["id"])
    assert row is not None
    return consult_out(row, access.principal)


async def _act(route: ActionRoute[ConsultAction], consult_id: str, body: Any, engine: Engine,
               commands: ConsultActions, access: ConsultCaller) -> Consult:  # fmt: skip
    """One Update on a consult the caller may see; the answer is the row its step wrote (before it returned)."""
    await commands.act(access.row["id"], route.action, await route.input(engine, access.principal, body))
    return await _fresh(engine, access)


# ---- routes -------------------------------------------------------------------------------------------------------
@router.post("", status_code=201)
async def make_consult(
    body: NewConsultBody, engine: Engine, commands: ConsultActions, principal: CurrentPrincipal
) -> Consult:
    """Request a consult from a case (anyone in the referral), or schedule one at once (a coordinator, expert or
    senior; a tumour board lists its cases): the scheduler hosts it."""
    new = service.NewConsult(
        body.title,
        body.referral_id,
        list(body.case_ids),
        body.comment,
        body.schedule.schedule() if body.schedule else None,
    )
    consult_id = await service.make(engine, commands, principal, new, datetime.now(UTC))
    async with reading(engine) as conn:
        row = await q.get(conn, consult_id)
    assert row is not None
    return consult_out(row, principal)


@router.get("")
async def list_consults(
    engine: Engine,
    principal: CurrentPrincipal,
    state: Annotated[list[ConsultState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[Consult]:
    """The consults you may see (host, invited, requester, a case's people, your hospital's coordinators)."""
    async with reading(engine) as conn:
        rows = await q.visible(conn, principal, states=[str(s) for s in state or []], limit=limit, offset=offset)
    return Page[Consult].of([consult_out(r, principal) for r in rows], limit=limit, offset=offset)


@router.get("/{consult_id}")
async def get_consult(consult_id: str, engine: Engine, access: ConsultCaller) -> ConsultDetail:
    row = access.row
    people_ids = [i for i in [row["host_id"], *row["invitee_ids"]] if i]
    async with reading(engine) as conn:
        people = {p["id"]: p for p in await q.people_by_id(conn, people_ids)}
        stays = await q.attendance(conn, consult_id)
    cases_by_id = {c["id"]: c for c in shown_cases(access.principal, row, access.cases)}
    return ConsultDetail(
        **consult_out(row, access.principal).model_dump(),
        host=Person.model_validate(people[row["host_id"]]) if row["host_id"] in people else None,
        invitees=[Person.model_validate(people[i]) for i in row["invitee_ids"] if i in people],
        cases=[ConsultCase.model_validate(cases_by_id[c]) for c in row["case_ids"] if c in cases_by_id],
        attendance=[Attendance.model_validate(a) for a in stays],
    )


# ---- what people do to a consult: each one Update -----------------------------------------------------------------
def _schedule(p: Principal, b: ScheduleBody) -> ScheduleInput:
    return ScheduleInput(p.actor, b.schedule(), datetime.now(UTC))


async def _invitees_lookup(engine: Engine, arg: ScheduleInput) -> None:
    """Everyone invited is an active person of the alliance who can take part."""
    await service.check_invitees(engine, arg.schedule)


def _conclusion(p: Principal, b: ConcludeBody) -> ConcludeInput:
    return ConcludeInput(p.actor, Conclusion(tuple(dict.fromkeys(b.participants)), b.discussion, b.recommendation))


C = ConsultAction
ACTION_ROUTES = (
    ActionRoute("schedule", C.SCHEDULE, ScheduleBody, _schedule, lookup=_invitees_lookup,
                doc="Schedule a requested consult: time, duration, invitees, agenda. The scheduler hosts it."),
    ActionRoute("reschedule", C.RESCHEDULE, ScheduleBody, _schedule, lookup=_invitees_lookup,
                doc="A new time, duration, invitees or agenda: the newly invited get an invitation, the others the "
                    "new time."),
    ActionRoute("open", C.OPEN, EmptyBody, lambda p, b: ConsultActorInput(p.actor), name="open_room",
                doc="The host opens the room before its time (it opens by itself at the time)."),
    ActionRoute("hand-over", C.HAND_OVER, HandOverBody, lambda p, b: ConsultActorInput(p.actor, target=b.to),
                doc="The host hands the consult to one of the invited."),
    ActionRoute("conclude", C.CONCLUDE, ConcludeBody, _conclusion,
                doc="The host's conclusion: it goes onto every case's timeline and to the referring doctor."),
    ActionRoute("cancel", C.CANCEL, CancelBody, lambda p, b: ConsultActorInput(p.actor, comment=b.reason),
                doc="The host, the requester or a coordinator calls it off, with the reason."),
)  # fmt: skip
add_action_routes(router, "consult_id", ACTION_ROUTES, _act)


@router.get("/{consult_id}/messages")
async def list_messages(
    consult_id: str,
    engine: Engine,
    access: ConsultCaller,
    after: Annotated[int, Query(ge=0, description="only messages after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Page[ConsultMessage]:
    """The consult's chat, oldest first; new lines also arrive on /api/events as `consult_message`."""
    async with reading(engine) as conn:
        rows = await q.messages(conn, consult_id, after=after, limit=limit)
    return Page[ConsultMessage].of([ConsultMessage.model_validate(r) for r in rows], limit=limit)


@router.post("/{consult_id}/messages", status_code=201)
async def post_message(consult_id: str, body: MessageBody, engine: Engine, access: ConsultCaller) -> ConsultMessage:
    """A line in the consult's chat, by the host or an invitee while it is scheduled or open."""
    given = Given(message=body.body)
    rules.validate(consult_case(access.row), ConsultAction.POST_MESSAGE, access.principal.actor, given)
    async with engine.begin() as conn:
        mid = await q.add_message(conn, consult_id, access.principal.user_id, body.body, datetime.now(UTC))
        row = await q.message(conn, mid)
    if row is None:
        raise YilianError(ErrorCode.INTERNAL, "the message was not stored")
    return ConsultMessage.model_validate(row)


@router.get("/{consult_id}/attendance")
async def list_attendance(consult_id: str, engine: Engine, access: ConsultCaller) -> Page[Attendance]:
    """Who was in the room, from when to when."""
    async with reading(engine) as conn:
        rows = await q.attendance(conn, consult_id)
    return Page[Attendance].of([Attendance.model_validate(r) for r in rows])


@router.get("/{consult_id}/audit")
async def get_audit(consult_id: str, engine: Engine, access: ConsultCaller) -> Page[ConsultEvent]:
    """The consult's audit trail, oldest first."""
    async with reading(engine) as conn:
        rows = await q.trail(conn, consult_id)
    return Page[ConsultEvent].of([ConsultEvent.model_validate(r) for r in rows])


# ---- recording: with every participant's consent --------------------------------------------------------------
async def _recordings(engine: Engine, settings: AppSettings, access: ConsultAccess) -> ConsultRecordings:
    if not rules.may_play_recordings(access.principal, consult_case(access.row)):
        raise YilianError(ErrorCode.FORBIDDEN, "only the consult's host and invited play its recordings")
    async with reading(engine) as conn:
        consents = await q.consents(conn, access.row["id"])
    found = recordings.files(settings.recordings_root(), access.row["id"])
    return ConsultRecordings(
        consented=sorted(u for u, yes in consents.items() if yes),
        declined=sorted(u for u, yes in consents.items() if not yes),
        files=[ConsultRecordingFile.model_validate(f, from_attributes=True) for f in found],
    )


@router.post("/{consult_id}/recording-consent")
async def consent_to_recording(consult_id: str, body: ConsentBody, engine: Engine, settings: AppSettings,
                               commands: ConsultActions, processes: Live,
                               access: ConsultCaller) -> ConsultRecordings:  # fmt: skip
    """The host or an invitee consents to the room being recorded, or declines (durable, audited). The room records
    only while everyone in it consented; a newcomer who has not pauses it (docs/consults.md)."""
    await commands.act(consult_id, ConsultAction.CONSENT, ConsentInput(access.principal.actor, body.consent))
    await recordings.hand_consents_to_room(engine, processes, consult_id)
    return await _recordings(engine, settings, access)


@router.get("/{consult_id}/recordings")
async def list_recordings(
    consult_id: str, engine: Engine, settings: AppSettings, access: ConsultCaller
) -> ConsultRecordings:
    """Who consents, and the files the room recorded: for the host and the invited."""
    return await _recordings(engine, settings, access)


@router.get(
    "/{consult_id}/recordings/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"video/webm": {}}, "description": "the WebM (VP8 and Opus, as sent)"}},
)
async def play_recording(consult_id: str, name: str, settings: AppSettings, access: ConsultCaller) -> FileResponse:
    """One recorded WebM, for the host and the invited."""
    if not rules.may_play_recordings(access.principal, consult_case(access.row)):
        raise YilianError(ErrorCode.FORBIDDEN, "only the consult's host and invited play its recordings")
    path = recordings.file_path(settings.recordings_root(), consult_id, name)
    return FileResponse(path, media_type="video/webm")


# ---- the live room's signalling door --------------------------------------------------------------------------------
@router.websocket("/{consult_id}/live")
async def live_room(
    websocket: WebSocket,
    consult_id: str,
    settings: AppSettings,
    engine: Engine,
    commands: ConsultActions,
    processes: Live,
) -> None:
    """The consult's live room (docs/live.md): the first frame is `join` with the user's `token`, then the live
    protocol. Only the host and the invited get in, while the consult is open; a refusal is a fatal `error` and
    close 4400."""
    first = await first_join(websocket)
    if first is None:
        return
    join, token = first
    caller = await socket_principal(settings, engine, websocket, token)
    if isinstance(caller, YilianError):
        await refuse(websocket, LiveErrorCode.NOT_ALLOWED, caller.message)
        return
    async with reading(engine) as conn:
        row = await q.get(conn, consult_id)
        cases = await q.case_rows(conn, list(row["case_ids"])) if row else []
    try:
        seen_consult(caller, consult_id, row, cases)
        rules.check(consult_case(row or {}), ConsultAction.JOIN, caller.actor)
    except YilianError as err:
        code = LiveErrorCode.NOT_ALLOWED if err.code is ErrorCode.FORBIDDEN else LiveErrorCode.UNKNOWN_ROOM
        await refuse(websocket, code, err.message)
        return
    assert row is not None
    actor = caller.actor

    async def attend(joined: bool) -> None:
        action = ConsultAction.JOIN if joined else ConsultAction.LEAVE
        await commands.act(consult_id, action, ConsultActorInput(actor))
        if joined:  # a room opened afresh (or on another process) learns who consented to recording
            await recordings.hand_consents_to_room(engine, processes, consult_id)

    seat = Seat(caller, consult_id, host=row["host_id"] == caller.user_id)
    await relay(websocket, join, seat, processes, engine, attend)
