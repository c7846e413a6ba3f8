"""The signalling door of a consult's live room: the browser's WebSocket on the API, relayed to the room's live
process (docs/live.md).

The API is the only one that authenticates: it admits the host and the invited while the consult is open, pins
the room to one live process (the pin is in PostgreSQL so every API process agrees; a new room goes to the least
loaded process by its `/health`), opens the room there, puts its own signed assertion into the browser's `join`,
then relays frames both ways without reading them. Attendance is recorded from what the live process says: the
join when it answers `joined`, the leave when either socket ends. When the live process goes away the browser's
socket closes with 4503 (`CloseCode.LIVE_GONE`): the web app shows "reconnecting" and joins again, and the next
join finds the pin dead, drops it and opens the room afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from yilian.db.engine import reading
from yilian.db.queries import consult as q
from yilian.domain.access import Principal
from yilian.live.assertion import sign_assertion
from yilian.live.protocol import (
    MAX_SIGNAL_BYTES,
    WEBSOCKET_PATH,
    AddChapter,
    CloseCode,
    ErrorMessage,
    Join,
    LectureMediaInfo,
    LiveAssertion,
    LiveErrorCode,
    LiveHealth,
    OpenRoom,
    RecordingInfo,
    RoomRole,
    StartRecording,
    client_message,
)

log = logging.getLogger(__name__)
CONTROL_TIMEOUT = httpx.Timeout(5.0)
FIRST_FRAME_SECONDS = 30.0  # a browser that opens the socket and says nothing is let go
PASSED_ON = frozenset({CloseCode.NORMAL, CloseCode.REFUSED, CloseCode.REMOVED})  # the live process's own ends


class LiveUnavailable(Exception):
    """No live process answered for the room."""


@dataclass(frozen=True)
class LiveProcesses:
    """The live processes this API may use, and the secret they trust (Settings.live_process_urls, live_secret)."""

    urls: list[str]
    secret: str
    capacity: int
    max_video_bitrate: int

    async def _health(self, client: httpx.AsyncClient, url: str) -> LiveHealth | None:
        try:
            answer = await client.get(f"{url}/health")
            return LiveHealth.model_validate_json(answer.content) if answer.status_code == 200 else None
        except (httpx.HTTPError, ValidationError):
            return None

    async def least_loaded(self) -> list[str]:
        """The processes that answer, fewest rooms first (then in configured order)."""
        async with httpx.AsyncClient(timeout=CONTROL_TIMEOUT) as client:
            found = await asyncio.gather(*(self._health(client, url) for url in self.urls))
        alive = [(h.rooms, i, url) for i, (url, h) in enumerate(zip(self.urls, found, strict=True)) if h is not None]
        return [url for _, _, url in sorted(alive)]

    async def open_room(self, url: str, room_id: str, lecture_id: str | None = None) -> bool:
        """`PUT /rooms/{room_id}` (idempotent); False when the process does not answer. With `lecture_id` the room
        is a lecture room that packages HLS (the hls contract, docs/lectures.md)."""
        room = OpenRoom(capacity=self.capacity, max_video_bitrate=self.max_video_bitrate, lecture_id=lecture_id)
        body = room.model_dump(mode="json")
        headers = {"Authorization": f"Bearer {self.secret}"}
        try:
            async with httpx.AsyncClient(timeout=CONTROL_TIMEOUT) as client:
                answer = await client.put(f"{url}/rooms/{room_id}", json=body, headers=headers)
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            log.warning("live process %s refused to open room %s: %s", url, room_id, answer.status_code)
        return answer.status_code == 200

    async def add_chapter(self, engine: AsyncEngine, room_id: str, chapter: AddChapter) -> LectureMediaInfo | None:
        """`POST /rooms/{room_id}/chapters` on the process the room is pinned to; None when the room is not open
        there (never opened, or the process restarted and nobody published since)."""
        answer = await self._post_pinned(engine, room_id, "chapters", chapter.model_dump(mode="json"), "the chapter")
        return None if answer is None else LectureMediaInfo.model_validate_json(answer)

    async def arm_recording(self, engine: AsyncEngine, room_id: str, body: StartRecording) -> RecordingInfo | None:
        """`POST /rooms/{room_id}/recording` on the process the room is pinned to (arm, or change who consented);
        None when the room is not open there."""
        answer = await self._post_pinned(engine, room_id, "recording", body.model_dump(mode="json"), "the recording")
        return None if answer is None else RecordingInfo.model_validate_json(answer)

    async def _post_pinned(self, engine: AsyncEngine, room_id: str, path: str, body: object, what: str) -> bytes | None:
        """POST `body` to `/rooms/{room_id}/{path}` on the room's pinned process: its answer's bytes, or None when
        the room is pinned nowhere or not open there (404); LiveUnavailable when the process fails to answer."""
        async with reading(engine) as conn:
            url = await q.pinned(conn, room_id)
        if url is None:
            return None
        headers = {"Authorization": f"Bearer {self.secret}"}
        try:
            async with httpx.AsyncClient(timeout=CONTROL_TIMEOUT) as client:
                answer = await client.post(f"{url}/rooms/{room_id}/{path}", json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise LiveUnavailable(f"the live process {url} did not answer") from exc
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise LiveUnavailable(f"the live process {url} refused {what}: {answer.status_code}")
        return answer.content

    async def room_for(self, engine: AsyncEngine, consult_id: str, lecture_id: str | None = None) -> str:
        """The live process the consult's room runs on, opened there: the pinned one while it answers, else the
        least loaded that does (the dead pin is dropped first, so every API process moves the same way)."""
        async with reading(engine) as conn:
            pinned = await q.pinned(conn, consult_id)
        if pinned is not None:
            if await self.open_room(pinned, consult_id, lecture_id):
                return pinned
            async with engine.begin() as conn:
                await q.unpin(conn, consult_id, pinned)
        candidates = await self.least_loaded()
        if not candidates:
            raise LiveUnavailable("no live process answers")
        async with engine.begin() as conn:
            chosen = await q.pin(conn, consult_id, candidates, datetime.now(UTC))
        if not await self.open_room(chosen, consult_id, lecture_id):
            raise LiveUnavailable(f"the live process {chosen} did not open the room")
        return chosen


@dataclass(frozen=True)
class Seat:
    """Who is coming in, as the live process will be told."""

    principal: Principal
    consult_id: str  # the room's id (a lecture's: domain.lecture_media.room_id)
    host: bool
    lecture_id: str | None = None  # a lecture room: the live process packages it as HLS


Attend = Callable[[bool], Awaitable[None]]  # record a join (True) or a leave (False) on the consult


async def refuse(websocket: WebSocket, code: LiveErrorCode, message: str) -> None:
    """Accept (so the browser can read why), say why as a fatal `error`, close with 4400."""
    if websocket.application_state is WebSocketState.CONNECTING:
        await websocket.accept()
    with contextlib.suppress(Exception):
        await websocket.send_text(ErrorMessage(code=code, message=message, fatal=True).model_dump_json())
        await websocket.close(CloseCode.REFUSED)


async def first_join(websocket: WebSocket) -> tuple[Join, str | None] | None:
    """Accept, then the browser's first frame, which must be a `join`: the join and the token it carries (the API's
    own field, never relayed); None (after saying why) when it is not one."""
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), FIRST_FRAME_SECONDS)
    except (TimeoutError, WebSocketDisconnect):
        await _close(websocket, CloseCode.REFUSED)
        return None
    if len(raw.encode()) > MAX_SIGNAL_BYTES:
        await refuse(websocket, LiveErrorCode.MESSAGE_TOO_LARGE, f"a frame over {MAX_SIGNAL_BYTES} bytes")
        return None
    try:
        frame = json.loads(raw)
        token = frame.pop("token", None) if isinstance(frame, dict) else None
        message = client_message.validate_python(frame)
    except (ValueError, ValidationError):
        await refuse(websocket, LiveErrorCode.MALFORMED_MESSAGE, "the first frame is not a message of the protocol")
        return None
    if not isinstance(message, Join):
        await refuse(websocket, LiveErrorCode.NOT_JOINED, "the first message must be join")
        return None
    return message, token if isinstance(token, str) else None


def _signed_join(join: Join, seat: Seat, secret: str) -> str:
    p = seat.principal
    claims = LiveAssertion(
        room_id=seat.consult_id,
        user_id=p.user_id,
        display_name=p.name,
        hospital=p.hospital_id or "",
        user_role=str(p.role),
        room_role=RoomRole.HOST if seat.host else RoomRole.PARTICIPANT,
        presenter=seat.host,  # the host presents first; the room's host hands it over
    )
    return join.model_copy(update={"assertion": sign_assertion(claims, secret)}).model_dump_json()


async def relay(
    websocket: WebSocket, join: Join, seat: Seat, processes: LiveProcesses, engine: AsyncEngine, attend: Attend
) -> None:
    """Everything after admission: the room's process, the signed join, then frames both ways until either ends."""
    try:
        url = await processes.room_for(engine, seat.consult_id, seat.lecture_id)
        upstream = await connect(url.replace("http", "ws", 1) + WEBSOCKET_PATH, max_size=4 * MAX_SIGNAL_BYTES)
    except (LiveUnavailable, OSError, ConnectionClosed) as exc:
        log.warning("consult %s: no live process for the room (%s)", seat.consult_id, exc)
        await _close(websocket, CloseCode.LIVE_GONE)
        return
    pipe = _Pipe(websocket, upstream)
    attended = False
    try:
        await upstream.send(_signed_join(join, seat, processes.secret))
        down, up = asyncio.create_task(pipe.down()), asyncio.create_task(pipe.up())
        joined = asyncio.create_task(pipe.joined.wait())
        try:
            await asyncio.wait({down, up, joined}, return_when=asyncio.FIRST_COMPLETED)
            if pipe.joined.is_set():
                try:
                    await attend(True)
                    attended = True
                except Exception as exc:  # the consult moved on (concluded) between admission and joining
                    await refuse(websocket, LiveErrorCode.NOT_ALLOWED, f"the consult takes no one now: {exc}")
                    return
                await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (down, up, joined):
                task.cancel()
            for task in (down, up, joined):
                with contextlib.suppress(BaseException):
                    await task
        if pipe.live_closed_with is not None:
            code = pipe.live_closed_with
            await _close(websocket, code if code in PASSED_ON else CloseCode.LIVE_GONE)
    finally:
        with contextlib.suppress(Exception):
            await upstream.close()
        if attended:
            with contextlib.suppress(Exception):
                await attend(False)


class _Pipe:
    """The two directions of one relayed socket, and what the live side said about it."""

    def __init__(self, websocket: WebSocket, upstream: ClientConnection) -> None:
        self.websocket = websocket
        self.upstream = upstream
        self.joined = asyncio.Event()  # the live process answered the join
        self.live_closed_with: int | None = None  # how the live side ended; None while it has not

    async def down(self) -> None:
        """Live process -> browser, verbatim (the type of each frame is read only until `joined`)."""
        try:
            async for raw in self.upstream:
                text = raw if isinstance(raw, str) else raw.decode()
                if not self.joined.is_set() and _type_of(text) == "joined":
                    self.joined.set()
                await self.websocket.send_text(text)
        except ConnectionClosed:
            pass
        except (WebSocketDisconnect, RuntimeError):
            return  # the browser went first
        self.live_closed_with = self.upstream.close_code or 1006

    async def up(self) -> None:
        """Browser -> live process, verbatim; a frame over the limit ends the browser's socket."""
        while True:
            try:
                raw = await self.websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return
            if len(raw.encode()) > MAX_SIGNAL_BYTES:
                await refuse(self.websocket, LiveErrorCode.MESSAGE_TOO_LARGE, f"a frame over {MAX_SIGNAL_BYTES} bytes")
                return
            try:
                await self.upstream.send(raw)
            except ConnectionClosed:
                return


def _type_of(text: str) -> str | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found.get("type") if isinstance(found, dict) else None


async def _close(websocket: WebSocket, code: int) -> None:
    if websocket.application_state is not WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code)
