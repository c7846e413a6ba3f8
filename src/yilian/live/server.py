"""The live process's doors: the signalling WebSocket (`/ws`, relayed by the API) and the control API the API calls.

Starlette on uvicorn, one asyncio loop: one process per core, rooms pinned to processes by the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from yilian.live import aiortc_internals
from yilian.live.assertion import InvalidAssertion, verify_assertion
from yilian.live.hls.packager import TARGET_SECONDS, LecturePackager
from yilian.live.ice import IceConfig
from yilian.live.peer import Peer
from yilian.live.protocol import (
    MAX_SIGNAL_BYTES,
    WEBSOCKET_PATH,
    AddChapter,
    Answer,
    Candidate,
    ChatSend,
    CloseCode,
    ControlProblem,
    ErrorMessage,
    GrantControl,
    HandOverPresenter,
    Join,
    Joined,
    Leave,
    LiveErrorCode,
    LiveHealth,
    Offer,
    OpenRoom,
    Remove,
    Removed,
    RequestControl,
    RoomClosed,
    ServerMessage,
    SetMuted,
    StartRecording,
    client_message,
)
from yilian.live.recording import RoomRecording
from yilian.live.room import LiveError, Room

log = logging.getLogger(__name__)


@dataclass
class LiveConfig:
    secret: str
    recordings_root: Path
    ice: IceConfig = field(default_factory=IceConfig)
    default_capacity: int = 10
    default_max_video_bitrate: int = 600_000
    lecture_root: Path | None = None  # where lecture rooms write HLS (Settings.lecture_media_root()); None: none
    lecture_packaging: bool = True  # False only for the bench's baseline: lecture rooms take H.264, write nothing

    def lecture_directory(self, lecture_id: str) -> Path:
        if self.lecture_root is None:
            raise ValueError("this live process has no lecture root (YILIAN_LECTURE_MEDIA_DIR)")
        return self.lecture_root / lecture_id


@dataclass
class LiveState:
    config: LiveConfig
    rooms: dict[str, Room] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    def health(self) -> LiveHealth:
        peers = [peer for room in self.rooms.values() for peer in room.peers.values()]
        return LiveHealth(
            rooms=len(self.rooms),
            participants=len(peers),
            started_at=self.started_at,
            packets_received=sum(track.packets_received for peer in peers for track in peer.published.values()),
            packets_forwarded=sum(slot.stream.packets_sent for peer in peers for slot in peer.slots.values()),
        )


class Connection:
    """One signalling WebSocket: a writer task drains its queue, so a slow peer never stalls the room."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[ServerMessage | int] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write())

    def send(self, message: ServerMessage) -> None:
        self.queue.put_nowait(message)

    def close(self, code: int) -> None:
        self.queue.put_nowait(code)

    async def _write(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                item = await self.queue.get()
                if isinstance(item, int):
                    await self.websocket.close(code=item)
                    return
                await self.websocket.send_text(item.model_dump_json())

    async def refuse(self, error: LiveError, ref: str | None = None) -> None:
        self.send(ErrorMessage(code=error.code, message=error.message, fatal=True, ref=ref))
        self.close(CloseCode.REFUSED)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer, 5)


async def _receive(websocket: WebSocket) -> str | None:
    """The next text frame, None when the socket closed. Frames over the limit are a fatal `LiveError`."""
    try:
        message = await websocket.receive()
    except WebSocketDisconnect:
        return None
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        if len(data) > MAX_SIGNAL_BYTES:
            raise LiveError(LiveErrorCode.MESSAGE_TOO_LARGE, "frame too large", fatal=True)
        text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_SIGNAL_BYTES:
        raise LiveError(
            LiveErrorCode.MESSAGE_TOO_LARGE, f"frame of {len(text)} bytes (limit {MAX_SIGNAL_BYTES})", fatal=True
        )
    return text


async def signalling(websocket: WebSocket) -> None:
    state: LiveState = websocket.app.state.live
    await websocket.accept()
    connection = Connection(websocket)
    try:
        peer = await _join(state, connection)
    except LiveError as exc:
        await connection.refuse(exc, ref="join")
        return
    if peer is None:
        connection.writer.cancel()
        return
    try:
        await _serve_peer(peer, connection)
    finally:
        room = peer.room
        room.leave(peer)
        await peer.close()
        room.publications_changed()
        room.announce()
        connection.writer.cancel()


async def _join(state: LiveState, connection: Connection) -> Peer | None:
    text = await _receive(connection.websocket)
    if text is None:
        return None
    try:
        message = client_message.validate_json(text)
    except ValidationError as exc:
        raise LiveError(LiveErrorCode.MALFORMED_MESSAGE, f"join refused: {exc.errors()[:1]}", fatal=True) from exc
    if not isinstance(message, Join):
        raise LiveError(LiveErrorCode.NOT_JOINED, f"the first message must be join, not {message.type}", fatal=True)
    try:
        assertion = verify_assertion(message.assertion, state.config.secret)
    except InvalidAssertion as exc:
        raise LiveError(LiveErrorCode.NOT_ALLOWED, str(exc), fatal=True) from exc
    room = state.rooms.get(assertion.room_id)
    if room is None:
        raise LiveError(LiveErrorCode.UNKNOWN_ROOM, f"no room {assertion.room_id} on this live process", fatal=True)
    peer = Peer(
        room,
        assertion,
        ice=state.config.ice,
        receive_video=message.receive_video,
        send=connection.send,
        close=connection.close,
    )
    try:
        room.admit(peer)
    except LiveError:
        await peer.close()
        raise
    peer.send(
        Joined(
            room_id=room.room_id,
            participant_id=peer.participant_id,
            ice_servers=state.config.ice.for_browser(peer.participant_id),
            max_video_bitrate=room.max_video_bitrate,
        )
    )
    room.announce()
    return peer


async def _serve_peer(peer: Peer, connection: Connection) -> None:
    room = peer.room
    while not peer.closed:
        try:
            text = await _receive(connection.websocket)
        except LiveError as exc:
            await connection.refuse(exc)
            return
        if text is None:
            return
        try:
            message = client_message.validate_json(text)
        except ValidationError as exc:
            peer.send(
                ErrorMessage(code=LiveErrorCode.MALFORMED_MESSAGE, message=f"message refused: {exc.errors()[:1]}")
            )
            continue
        try:
            if isinstance(message, Offer):
                await peer.handle_offer(message.sdp, message.sources)
            elif isinstance(message, Answer):
                await peer.handle_answer(message.sdp)
            elif isinstance(message, Candidate):
                await peer.handle_candidate(message)
            elif isinstance(message, SetMuted):
                room.set_muted(peer, message.participant_id, message.kind, message.muted)
            elif isinstance(message, Remove):
                target = room.remove(peer, message.participant_id)
                target.send(Removed(by=peer.participant_id))
                target.close_socket(CloseCode.REMOVED)
            elif isinstance(message, HandOverPresenter):
                room.hand_over_presenter(peer, message.participant_id)
            elif isinstance(message, RequestControl):
                room.request_control(peer)
            elif isinstance(message, GrantControl):
                room.grant_control(peer, message.participant_id)
            elif isinstance(message, ChatSend):
                room.chat(peer, message.text)
            elif isinstance(message, Leave):
                connection.close(CloseCode.NORMAL)
                return
            elif isinstance(message, Join):
                raise LiveError(LiveErrorCode.MALFORMED_MESSAGE, "already joined")
        except LiveError as exc:
            if exc.fatal:
                await connection.refuse(exc, ref=message.type)
                return
            peer.send(ErrorMessage(code=exc.code, message=exc.message, ref=message.type))


# --- control API (the API only) ---------------------------------------------------------------------------------


def _authorised(request: Request) -> bool:
    state: LiveState = request.app.state.live
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {state.config.secret}".encode())


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(ControlProblem(error=code, message=message).model_dump(), status_code=status)


async def health(request: Request) -> Response:
    state: LiveState = request.app.state.live
    return JSONResponse(state.health().model_dump(mode="json"))


async def room_resource(request: Request) -> Response:
    if not _authorised(request):
        return _problem(401, "unauthenticated", "the control API takes the shared secret as a bearer token")
    state: LiveState = request.app.state.live
    room_id = request.path_params["room_id"]
    room = state.rooms.get(room_id)
    if request.method == "PUT":
        try:
            body = OpenRoom.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return _problem(422, "validation_failed", str(exc.errors()[:1]))
        capacity = body.capacity or state.config.default_capacity
        bitrate = body.max_video_bitrate or state.config.default_max_video_bitrate
        if room is None:
            room = Room(room_id, capacity, bitrate)
        else:
            room.capacity, room.max_video_bitrate = capacity, bitrate
        room.lecture_room = room.lecture_room or body.lecture_id is not None
        if body.lecture_id is not None and room.lecture is None and state.config.lecture_packaging:
            try:
                room.lecture = open_lecture(state.config, body.lecture_id, bitrate, body.segment_seconds)
            except ValueError as exc:
                return _problem(409, "no_lecture_root", str(exc))
        state.rooms[room_id] = room
        return JSONResponse(room.info().model_dump(mode="json"))
    if room is None:
        return _problem(404, "unknown_room", f"no room {room_id} on this live process")
    if request.method == "GET":
        return JSONResponse(room.info().model_dump(mode="json"))
    # DELETE: everyone is told, then closed.
    del state.rooms[room_id]
    if room.recording is not None:
        await room.recording.stop()
        room.recording = None
    if room.lecture is not None:
        room.lecture.finish()
    for peer in list(room.peers.values()):
        peer.send(RoomClosed())
        peer.close_socket(CloseCode.NORMAL)
    return Response(status_code=204)


async def recording_resource(request: Request) -> Response:
    if not _authorised(request):
        return _problem(401, "unauthenticated", "the control API takes the shared secret as a bearer token")
    state: LiveState = request.app.state.live
    room = state.rooms.get(request.path_params["room_id"])
    if room is None:
        return _problem(404, "unknown_room", "no such room on this live process")
    if request.method == "POST":
        try:
            body = StartRecording.model_validate_json(await request.body())
        except ValidationError as exc:
            return _problem(422, "validation_failed", str(exc.errors()[:1]))
        if room.recording is None:
            try:
                room.recording = RoomRecording.start(
                    room, state.config.recordings_root, body.directory, set(body.consented)
                )
            except ValueError as exc:
                return _problem(422, "validation_failed", str(exc))
        else:
            room.recording.consented = set(body.consented)  # who consented changed: pause or resume
        room.announce()
        return JSONResponse(room.recording.info().model_dump(mode="json"))
    if room.recording is None:
        return _problem(409, "not_recording", "the room is not recording")
    recording, room.recording = room.recording, None
    await recording.stop()
    room.announce()
    return JSONResponse(recording.info().model_dump(mode="json"))


def open_lecture(
    config: LiveConfig, lecture_id: str, video_bitrate: int, segment_seconds: float | None
) -> LecturePackager:
    """A lecture room's packager, continuing whatever an earlier run left in its directory."""
    return LecturePackager(
        config.lecture_directory(lecture_id),
        lecture_id,
        video_bitrate=video_bitrate,
        segment_seconds=segment_seconds or TARGET_SECONDS,
    )


async def chapters_resource(request: Request) -> Response:
    """`POST /rooms/{room_id}/chapters`: a chapter mark in a lecture's replay."""
    if not _authorised(request):
        return _problem(401, "unauthenticated", "the control API takes the shared secret as a bearer token")
    state: LiveState = request.app.state.live
    room = state.rooms.get(request.path_params["room_id"])
    if room is None:
        return _problem(404, "unknown_room", "no such room on this live process")
    if room.lecture is None:
        return _problem(409, "not_a_lecture", "chapters belong to lecture rooms")
    try:
        body = AddChapter.model_validate_json(await request.body())
    except ValidationError as exc:
        return _problem(422, "validation_failed", str(exc.errors()[:1]))
    room.lecture.add_chapter(body.title, body.start_s)
    return JSONResponse(room.lecture.info().model_dump(mode="json"))


def build_live_app(config: LiveConfig) -> Starlette:
    aiortc_internals.check_version()
    app = Starlette(
        routes=[
            WebSocketRoute(WEBSOCKET_PATH, signalling),
            Route("/health", health, methods=["GET"]),
            Route("/rooms/{room_id}", room_resource, methods=["GET", "PUT", "DELETE"]),
            Route("/rooms/{room_id}/recording", recording_resource, methods=["POST", "DELETE"]),
            Route("/rooms/{room_id}/chapters", chapters_resource, methods=["POST"]),
        ]
    )
    app.state.live = LiveState(config)
    return app
