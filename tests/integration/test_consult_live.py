"""The consult's live room through the API's signalling door, with real aiortc peers and real live processes.

The API authenticates, admits only the host and the invited while the consult is open, pins the room to a live
process (in PostgreSQL), relays the protocol both ways, and records attendance from join and leave. A kill -9 of
the live process closes the browsers' sockets with 4503; joining again lands on a live process that answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.api import Api
from tests.support.live import serve
from tests.support.live_media import PatternVideoTrack, shows_pattern
from tests.support.matrix import walk
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.schema import consult_rooms
from yilian.live import aiortc_internals
from yilian.live.client import LiveClient
from yilian.live.ice import IceConfig
from yilian.live.protocol import CloseCode, ErrorMessage, Join, LiveErrorCode, MediaSource
from yilian.live.server import LiveConfig, build_live_app
from yilian.runtime.live import LiveProcess, start_live_process

pytestmark = pytest.mark.integration
SECRET = "consult-live-test-secret-0123456789abcdef"
PATIENT = {"patient_id": "MDT-LIVE-1", "name": "张飞 Zhang Fei", "birth_date": "1968-02-02", "sex": "M"}


@pytest.fixture(scope="module", autouse=True)
def loopback() -> None:
    aiortc_internals.use_loopback_candidates()


@pytest.fixture(scope="module")
async def case(api: Api, engine: AsyncEngine) -> str:
    return await walk(api, engine, "offered", patient=PATIENT, difficult=True)


async def _consult(api: Api, case: str, *, open_it: bool = True) -> str:
    starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    plan = {"starts_at": starts, "duration_minutes": 30, "invitee_ids": ["wang.expert", "he.surgeon"]}
    made = await api.ok("liu.coord", "POST", "/api/consults", 201,
                        json={"title": "实时会诊", "referral_id": case, "schedule": plan})  # fmt: skip
    if open_it:
        await api.ok("liu.coord", "POST", f"/api/consults/{made['id']}/open", json={})
    return str(made["id"])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
async def live_url(recordings: Path) -> AsyncIterator[str]:
    """A live process served in the tests' loop, trusting SECRET."""
    app = build_live_app(LiveConfig(SECRET, recordings, IceConfig()))
    async with serve(app) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="module")
async def door(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings, live_url: str, recordings: Path
) -> AsyncIterator[str]:
    """The API over real HTTP, its live rooms on `live_url`: the ws:// root of its consults."""
    update = {"live_urls": [live_url], "live_secret": SECRET, "live_recordings_dir": recordings}
    local = settings.model_copy(update=update)
    async with serve(create_app(local, engine, temporal_client)) as url:
        yield url.replace("http://", "ws://")


Clients = Callable[..., LiveClient]


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    made: list[LiveClient] = []

    def make(url: str, **kwargs: Any) -> LiveClient:
        client = LiveClient(url, Join(), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def _room_url(api: Api, root: str, consult_id: str, user: str | None) -> str:
    token = await api.token(user) if user else "not-a-token"
    return f"{root}/api/consults/{consult_id}/live?token={token}"


class BrowserJoin(Join):
    """A join as the web app sends it: the user's token in the first frame, not in the URL."""

    token: str


async def _refused(client: LiveClient) -> LiveErrorCode:
    with contextlib.suppress(ConnectionClosed):  # the door may refuse before the client's `join` is sent
        await client.connect()
    await wait_until(lambda: client.closed_with, "the door to close the refused socket")
    assert client.closed_with == CloseCode.REFUSED, client.closed_with
    assert client.errors and client.errors[0].fatal, client.messages
    return client.errors[0].code


async def _stays(api: Api, consult_id: str) -> list[dict[str, Any]]:
    return list((await api.ok("liu.coord", "GET", f"/api/consults/{consult_id}/attendance"))["items"])


async def test_the_invited_see_each_other_through_the_door(
    api: Api, engine: AsyncEngine, case: str, door: str, live_url: str, clients: Clients
) -> None:
    cid = await _consult(api, case)
    room = f"{door}/api/consults/{cid}/live"
    host = clients(room, publish=[(PatternVideoTrack(), MediaSource.CAMERA)])
    host.join = BrowserJoin(token=await api.token("liu.coord"))
    frames: list[Any] = []
    viewer = clients(await _room_url(api, door, cid, "wang.expert"))
    await host.start()
    await host.negotiated()
    await viewer.start()
    await viewer.negotiated()
    assert host.joined is not None and viewer.joined is not None and not host.errors and not viewer.errors
    # The door asserted who they are: the host is the room's host and presents first.
    presence = await wait_until(
        lambda: viewer.presence, "presence with both people", ok=lambda p: len(p.participants) == 2
    )
    people = {p.user_id: p for p in presence.participants}
    assert people["liu.coord"].room_role == "host" and people["wang.expert"].room_role == "participant"
    assert presence.presenter_id == people["liu.coord"].participant_id

    async def decoded() -> bool:
        for received in viewer.tracks_from(host.joined.participant_id):  # type: ignore[union-attr]
            if received.info and received.info.kind == "video":
                frame = await asyncio.wait_for(received.track.recv(), 10)
                frames.append(frame)
                return shows_pattern(frame)  # type: ignore[arg-type]
        return False

    await wait_until(decoded, "the viewer to decode the host's picture through the SFU", within=30)
    # The room is pinned in PostgreSQL to the live process that runs it.
    async with engine.connect() as conn:
        pinned = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == cid))
    assert pinned == live_url
    stays = await wait_until(lambda: _stays(api, cid), "both stays recorded", ok=lambda s: len(s) == 2)
    assert {s["user_id"] for s in stays} == {"liu.coord", "wang.expert"} and all(s["left_at"] is None for s in stays)

    await viewer.close()
    left = await wait_until(
        lambda: _stays(api, cid), "the viewer's leave recorded", ok=lambda s: any(x["left_at"] for x in s)
    )
    assert [s["user_id"] for s in left if s["left_at"]] == ["wang.expert"]
    audit = [e["action"] for e in (await api.ok("liu.coord", "GET", f"/api/consults/{cid}/audit"))["items"]]
    assert audit[-3:] == ["join", "join", "leave"]


async def test_the_room_records_only_with_everyones_consent_and_the_participants_play_it(
    api: Api, case: str, door: str, clients: Clients, tmp_path: Path
) -> None:
    cid = await _consult(api, case)
    consent = f"/api/consults/{cid}/recording-consent"
    # Through the door's own API (its settings name the live process, its secret and the recordings root).
    door_api = httpx.AsyncClient(base_url=door.replace("ws://", "http://", 1), timeout=30)

    async def call(user: str, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {await api.token(user)}"}
        answer = await door_api.request(method, path, headers=headers, **kw)
        assert answer.status_code == status, (path, answer.status_code, answer.text)
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer

    host = clients(await _room_url(api, door, cid, "liu.coord"), publish=[(PatternVideoTrack(), MediaSource.CAMERA)])
    viewer = clients(await _room_url(api, door, cid, "wang.expert"))
    await host.start()
    await host.negotiated()
    await viewer.start()
    await wait_until(
        lambda: viewer.presence, "both in the room", ok=lambda p: p is not None and len(p.participants) == 2
    )

    # The host consents; the invited surgeon present has not: nothing is recorded, and the room says so.
    said = await call("liu.coord", "POST", consent, json={"consent": True})
    assert said["consented"] == ["liu.coord"] and said["files"] == []
    await asyncio.sleep(1.5)
    assert viewer.presence is not None and not viewer.presence.recording
    assert (await call("wang.expert", "GET", f"/api/consults/{cid}/recordings"))["files"] == []
    # Everyone present consents: it records, and the room shows it.
    said = await call("wang.expert", "POST", consent, json={"consent": True})
    assert said["consented"] == ["liu.coord", "wang.expert"]
    await wait_until(lambda: viewer.presence, "the room to record", ok=lambda p: p is not None and p.recording)
    await asyncio.sleep(3)
    # One withdraws: it stops at once, and the file is complete.
    said = await call("wang.expert", "POST", consent, json={"consent": False})
    assert said["declined"] == ["wang.expert"]
    await wait_until(lambda: viewer.presence, "the recording to pause", ok=lambda p: p is not None and not p.recording)

    files = (await call("wang.expert", "GET", f"/api/consults/{cid}/recordings"))["files"]
    assert [f["user_id"] for f in files] == ["liu.coord"] and files[0]["bytes"] > 0
    played = await call("wang.expert", "GET", f"/api/consults/{cid}/recordings/{files[0]['name']}")
    assert played.headers["content-type"] == "video/webm"
    webm = tmp_path / "played.webm"
    webm.write_bytes(played.content)
    with av.open(str(webm)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 10 and all(shows_pattern(f) for f in frames)  # type: ignore[arg-type]
    # Seeing the consult is not taking part in it: a reader of the case may not play it.
    await call("li.expert", "GET", f"/api/consults/{cid}/recordings", 403)
    trail = (await api.ok("liu.coord", "GET", f"/api/consults/{cid}/audit"))["items"]
    assert [(e["actor_id"], e["details"]["consent"]) for e in trail if e["action"] == "consent"] == [
        ("liu.coord", True), ("wang.expert", True), ("wang.expert", False)
    ]  # fmt: skip
    await door_api.aclose()


async def test_the_door_refuses_who_may_not_join(api: Api, case: str, door: str, clients: Clients) -> None:
    cid = await _consult(api, case)
    # The referring doctor sees the consult but was not invited; the other county does not even see it.
    assert await _refused(clients(await _room_url(api, door, cid, "zhao.anping"))) is LiveErrorCode.NOT_ALLOWED
    assert await _refused(clients(await _room_url(api, door, cid, "sun.qingshan"))) is LiveErrorCode.UNKNOWN_ROOM
    assert await _refused(clients(await _room_url(api, door, cid, None))) is LiveErrorCode.NOT_ALLOWED
    ghost = "con-20000101-0000000000"
    assert await _refused(clients(await _room_url(api, door, ghost, "liu.coord"))) is LiveErrorCode.UNKNOWN_ROOM
    # An invitee before the room opens.
    later = await _consult(api, case, open_it=False)
    assert await _refused(clients(await _room_url(api, door, later, "wang.expert"))) is LiveErrorCode.UNKNOWN_ROOM
    # Anything but `join` first.
    first = clients(await _room_url(api, door, cid, "wang.expert"))
    first.join = Join.model_construct(type="leave")  # type: ignore[call-arg]
    with contextlib.suppress(ConnectionClosed):
        await first.connect()
    await wait_until(lambda: first.closed_with, "the door to close a socket that did not join")
    assert first.closed_with == CloseCode.REFUSED
    # A first frame that is not the protocol, or over the 64 KiB limit: a clear error, nothing else disturbed.
    for raw, code in (
        ("{not json", LiveErrorCode.MALFORMED_MESSAGE),
        ("x" * (64 * 1024 + 1), LiveErrorCode.MESSAGE_TOO_LARGE),
    ):
        bad = clients(await _room_url(api, door, cid, "wang.expert"))
        bad._socket = await connect(bad.url)  # noqa: SLF001 - a raw socket: the client only sends valid messages
        await bad._socket.send(raw)  # noqa: SLF001
        with contextlib.suppress(ConnectionClosed):
            async for text in bad._socket:  # noqa: SLF001
                bad.errors.append(ErrorMessage.model_validate_json(text))
        assert bad._socket.close_code == CloseCode.REFUSED and bad.errors[0].code is code  # noqa: SLF001
    assert await _stays(api, cid) == []  # nobody refused left a trace in the attendance


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[list[LiveProcess]]:
    """Two real `yilian live` processes, as `yilian up` starts one, trusting SECRET."""
    settings = Settings(var_dir=tmp_path, live_port=0, live_secret=SECRET)
    started = [start_live_process(settings, loopback_only=True) for _ in range(2)]
    yield started
    for live in started:
        live.stop()


async def test_a_killed_live_process_sends_everyone_reconnecting_and_the_room_reopens_elsewhere(
    api: Api,
    engine: AsyncEngine,
    case: str,
    settings: Settings,
    temporal_client: Client,
    processes: list[LiveProcess],
    clients: Clients,
) -> None:
    local = settings.model_copy(update={"live_urls": [p.url for p in processes], "live_secret": SECRET})
    async with serve(create_app(local, engine, temporal_client)) as url:
        root = url.replace("http://", "ws://")
        cid = await _consult(api, case)
        first = clients(await _room_url(api, root, cid, "he.surgeon"))
        await first.start()
        await first.negotiated()
        async with engine.connect() as conn:
            pinned = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == cid))
        dead = next(p for p in processes if p.url == pinned)
        os.kill(dead.pid, signal.SIGKILL)
        await wait_until(lambda: first.closed_with, "the door to close the socket when the live process dies")
        assert first.closed_with == CloseCode.LIVE_GONE  # the web app shows "reconnecting"

        again = clients(await _room_url(api, root, cid, "he.surgeon"))
        await again.start()
        await again.negotiated()
        assert again.joined is not None and not again.errors
        async with engine.connect() as conn:
            moved = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == cid))
        assert moved != pinned and moved in {p.url for p in processes}
        # The consult and its record went on: still open, the first stay closed, the second one open.
        assert (await api.ok("liu.coord", "GET", f"/api/consults/{cid}"))["state"] == "open"
        stays = await wait_until(lambda: _stays(api, cid), "two stays", ok=lambda s: len(s) == 2)
        assert stays[0]["left_at"] is not None and stays[1]["left_at"] is None
        await again.close()
