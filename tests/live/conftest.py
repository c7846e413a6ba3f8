"""A live process served in the tests' own event loop on loopback, and what it takes to join it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.live import serve
from yilian.live import aiortc_internals
from yilian.live.assertion import sign_assertion
from yilian.live.client import LiveClient
from yilian.live.ice import IceConfig
from yilian.live.protocol import Join, LiveAssertion, RoomRole
from yilian.live.room import Room
from yilian.live.server import LiveConfig, build_live_app

SECRET = "live-test-secret-0123456789-0123456789"


@pytest.fixture(scope="session", autouse=True)
def loopback() -> None:
    aiortc_internals.use_loopback_candidates()


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="session")
def lectures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lectures")


@pytest.fixture(scope="session")
def live_app(recordings: Path, lectures: Path) -> Starlette:
    return build_live_app(LiveConfig(secret=SECRET, recordings_root=recordings, ice=IceConfig(), lecture_root=lectures))


@pytest.fixture(scope="session")
async def live_url(live_app: Starlette) -> AsyncIterator[str]:
    async with serve(live_app) as url:  # type: ignore[arg-type]
        yield url


def room_of(app: Starlette, room_id: str) -> Room:
    """The room as the live process holds it: for checks a client cannot see (what was forwarded)."""
    rooms: dict[str, Room] = app.state.live.rooms
    return rooms[room_id]


@pytest.fixture
async def control(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_url, headers={"Authorization": f"Bearer {SECRET}"}) as client:
        yield client


def join_for(room_id: str, user_id: str, *, host: bool = False, presenter: bool = False, **kwargs: object) -> Join:
    claims = LiveAssertion(
        room_id=room_id,
        user_id=user_id,
        display_name=f"Dr {user_id}",
        hospital="County Hospital",
        user_role="reader",
        room_role=RoomRole.HOST if host else RoomRole.PARTICIPANT,
        presenter=presenter,
    )
    return Join(assertion=sign_assertion(claims, SECRET), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def clients(live_url: str) -> AsyncIterator[Callable[..., LiveClient]]:
    """Makes clients of this live process; every one is closed after the test."""
    made: list[LiveClient] = []
    ws_url = live_url.replace("http://", "ws://") + "/ws"

    def make(join: Join, **kwargs: object) -> LiveClient:
        client = LiveClient(ws_url, join, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
