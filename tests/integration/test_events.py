"""Live updates (GET /api/events, Server-Sent Events) through the real API over HTTP, worker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.alliance import make_alliance
from tests.support.api import Api
from tests.support.live import serve
from tests.support.matrix import expired_token
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.api.event_hub import APPLICATION_NAME, EventHub, listen_dsn
from yilian.api.routes.events import Session, stream_events
from yilian.config import Settings
from yilian.db.schema import notifications
from yilian.domain.access import Principal
from yilian.domain.notice import NoticeKind
from yilian.domain.roles import Role
from yilian.notify.inbox import InAppNotifier
from yilian.notify.port import Message, Recipient

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "SSE-0001", "name": "赵云 Zhao Yun", "birth_date": "1968-02-02", "sex": "M"}
TIMEOUT = httpx.Timeout(10.0, read=30.0)  # reads outlast the 15 s heartbeat; nothing can hang for ever


# ---- a client's view of the stream --------------------------------------------------------------
@dataclass(frozen=True)
class Sse:
    name: str
    data: Any
    id: str | None


class EventStream:
    """Parses text/event-stream lines into events; every read has a deadline."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.seen: list[Sse] = []
        self._lines = response.aiter_lines()

    async def next(self, within: float = 10.0) -> Sse | None:
        """The next event, or None once the server has ended the stream; a TimeoutError naming what it saw after
        `within` s."""
        try:
            async with asyncio.timeout(within):
                return await self._read_event()
        except TimeoutError as exc:
            raise TimeoutError(f"no event within {within} s; saw {[(e.name, e.data) for e in self.seen]}") from exc

    async def _read_event(self) -> Sse | None:
        name, data, event_id = "message", [], None
        while True:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                return None
            if line == "":
                if data:
                    event = Sse(name, json.loads("\n".join(data)), event_id)
                    self.seen.append(event)
                    return event
                continue
            if line.startswith(":"):
                continue  # heartbeat comment
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value

    async def until(self, wanted: Callable[[Sse], bool], what: str, within: float = 30.0) -> Sse:
        """The first event, already seen or still to come, that is `wanted`."""
        for event in self.seen:
            if wanted(event):
                return event
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {within}s; saw {[(e.name, e.data) for e in self.seen]}")
            try:
                event = await self.next(left)
            except TimeoutError:
                continue
            if event is None:
                raise AssertionError(f"the stream ended before {what}; saw {[(e.name, e.data) for e in self.seen]}")
            if wanted(event):
                return event

    async def quiet_for(self, seconds: float) -> list[Sse]:
        """Everything that arrives within `seconds` (the stream is not usable afterwards)."""
        try:
            while await self.next(seconds) is not None:
                pass
        except TimeoutError:
            pass
        return self.seen


async def add_to_inbox(engine: AsyncEngine, user_id: str) -> int:
    """A notice in `user_id`'s inbox, written and announced as the workflow's step writes one; its id."""
    message = Message(
        f"test/{uuid.uuid4().hex}", None, NoticeKind.REPORT_READY, {"referral_id": "ref-x"}, datetime.now(UTC)
    )
    async with engine.begin() as conn:
        assert await InAppNotifier().deliver(conn, message, [Recipient(user_id, None)])
        nid = await conn.scalar(select(notifications.c.id).where(notifications.c.key == message.key))
    assert isinstance(nid, int)
    return nid


def about(referral_id: str, **fields: Any) -> Callable[[Sse], bool]:
    return lambda e: (
        e.name == "referral" and e.data["id"] == referral_id and all(e.data.get(k) == v for k, v in fields.items())
    )


# ---- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def events_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[str]:
    """The API over real HTTP with its lifespan run, so its event hub listens to PostgreSQL."""
    app = create_app(settings, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        assert app.state.resources.events.listening
        yield url


@asynccontextmanager
async def stream(url: str, token: str | None) -> AsyncIterator[EventStream]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client,
        client.stream("GET", "/api/events", headers=headers) as response,
    ):
        yield EventStream(response)


@asynccontextmanager
async def signed_in(api: Api, url: str, user: str) -> AsyncIterator[EventStream]:
    async with stream(url, await api.token(user)) as s:
        assert s.response.status_code == 200, await s.response.aread()
        assert s.response.headers["content-type"].startswith("text/event-stream")
        ready = await s.next()
        assert ready is not None and ready.name == "ready" and ready.data["user_id"] == user, ready
        yield s


# ---- the tests ----------------------------------------------------------------------------------
async def test_the_expert_hears_the_offer_and_the_accept_and_another_county_hears_nothing(
    api: Api, engine: AsyncEngine, events_url: str
) -> None:
    a = await make_alliance(engine, experts=1)
    [expert] = a.experts
    async with signed_in(api, events_url, expert) as mine, signed_in(api, events_url, "sun.qingshan") as other:
        rid = (await api.submit(a.doctor, patient=PATIENT))["id"]

        offered = await mine.until(about(rid, state="offered"), "the offer")
        assert offered.data["offered_to"] == expert and offered.data["sla_status"] == "on_track"
        worklist = (await api.ok(expert, "GET", "/api/referrals"))["items"]
        assert [offered.data] == [i for i in worklist if i["id"] == rid], "the event is the worklist's item"
        assert offered.id and offered.id.isdigit()
        news = await mine.until(lambda e: e.name == "notification", "the inbox news")
        # The notice itself, as the inbox lists it: a kind and parameters the browser puts into words.
        assert news.data["kind"] == "offer" and news.data["params"]["referral_id"] == rid, news.data
        assert news.data["params"]["modality"] == "CT" and news.data["title"] is None
        inbox = (await api.ok(expert, "GET", "/api/notifications"))["items"]
        assert news.data in inbox

        await api.ok(expert, "POST", f"/api/referrals/{rid}/accept", json={})
        accepted = await mine.until(about(rid, state="in_reading"), "the accept")
        assert accepted.data["reader_id"] == expert and accepted.data["seq"] > offered.data["seq"]

        seen = await other.quiet_for(1.5)
        assert [e for e in seen if e.name == "referral" and e.data["id"] == rid] == []
        assert [e for e in seen if e.name == "notification"] == []
    ids = [int(e.id or 0) for e in mine.seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "event ids go up within a stream"


async def test_each_listener_hears_the_case_with_their_own_actions(
    api: Api, engine: AsyncEngine, events_url: str
) -> None:
    a = await make_alliance(engine, experts=1)
    [expert] = a.experts
    async with signed_in(api, events_url, expert) as reader, signed_in(api, events_url, a.doctor) as county:
        rid = (await api.submit(a.doctor, patient={**PATIENT, "patient_id": "SSE-0003"}))["id"]
        mine = await reader.until(about(rid, state="offered"), "the offer")
        theirs = await county.until(about(rid, state="offered"), "the offer, as the county sees it")
        assert mine.data["allowed_actions"] == ["accept", "decline"]
        assert theirs.data["allowed_actions"] == ["cancel", "correct_question"]
        assert {**mine.data, "allowed_actions": None} == {**theirs.data, "allowed_actions": None}
    await api.ok(a.doctor, "POST", f"/api/referrals/{rid}/cancel", json={"comment": "test over"})


async def test_the_coordinator_hears_the_sla_timers(api: Api, engine: AsyncEngine, events_url: str) -> None:
    """A 1-minute stat target: the workflow's timers warn at 45 s and breach at 60 s, with no request at all."""
    sla = {"stat_minutes": 1, "urgent_minutes": 120, "routine_minutes": 1440}
    a = await make_alliance(engine, experts=1, terms={"sla": sla})
    async with signed_in(api, events_url, a.coordinator) as board:
        rid = (await api.submit(a.doctor, patient={**PATIENT, "patient_id": "SSE-0002"}, priority="stat"))["id"]
        await board.until(about(rid, state="offered", sla_status="on_track"), "the offer")
        at_risk = await board.until(about(rid, warned=True), "the warning", within=60)
        assert at_risk.data["sla_status"] == "at_risk" and at_risk.data["breached"] is False
        breached = await board.until(about(rid, breached=True), "the breach", within=30)
        assert breached.data["sla_status"] == "breached"
        notice = await board.until(
            lambda e: e.name == "notification" and e.data["kind"] == "sla_breach", "the breach notice"
        )
        assert notice.data["params"] == {"referral_id": rid, "priority": "stat"}
    await api.ok(a.doctor, "POST", f"/api/referrals/{rid}/cancel", json={"comment": "test over"})


async def test_the_stream_ends_when_the_token_expires(settings: Settings, events_url: str) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "li.expert", "role": "expert", "hospital_id": "h-provincial", "iat": now, "gen": 0}
    token = jwt.encode({**claims, "exp": now + timedelta(seconds=3)}, settings.jwt_secret, algorithm="HS256")
    async with stream(events_url, token) as s:
        assert s.response.status_code == 200
        ready = await s.next()
        assert ready is not None and ready.name == "ready"
        assert datetime.fromisoformat(ready.data["expires_at"]) <= now + timedelta(seconds=3)
        expired = await s.next(within=10)
        assert expired is not None and expired.name == "session_expired", expired
        assert await s.next() is None, "the server closes the stream after session_expired"


async def test_who_may_not_listen(api: Api, settings: Settings, events_url: str) -> None:
    for token in (None, "not-a-jwt.at-all.sorry", expired_token(settings, "zhao.anping")):
        async with stream(events_url, token) as s:
            assert s.response.status_code == 401
            assert json.loads(await s.response.aread())["error"] == "unauthenticated"
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "sse test gateway"})
    try:
        async with stream(events_url, key["api_key"]) as s:
            assert s.response.status_code == 403
            assert json.loads(await s.response.aread())["error"] == "forbidden"
    finally:
        await api.call("admin", "DELETE", f"/api/hospitals/h-anping/api-keys/{key['id']}")


async def test_streams_are_told_to_refetch_when_the_hub_reconnects(
    api: Api, engine: AsyncEngine, events_url: str
) -> None:
    async with signed_in(api, events_url, "admin") as s:
        async with engine.begin() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": APPLICATION_NAME},
            )
        assert killed, "the hub's LISTEN connection should be visible"
        await s.until(lambda e: e.name == "resync", "resync after the reconnect", within=20)
        nid = await add_to_inbox(engine, "admin")  # and it listens again
        await s.until(lambda e: e.name == "notification" and e.data["id"] == nid, "news after it")


async def test_a_slow_consumer_is_dropped_and_told_to_refetch(engine: AsyncEngine, settings: Settings) -> None:
    assert settings.database_url
    hub = EventHub(listen_dsn(settings.database_url), engine, queue_size=2)
    await hub.start()
    try:
        assert hub.listening
        me = Principal("admin", Role.ADMIN, None, "Slow")
        sub = hub.subscribe(me)
        assert sub is not None
        for _ in range(3):
            await add_to_inbox(engine, "admin")

        await wait_until(lambda: sub.dropped, "the slow stream to be dropped", ok=lambda d: d is not None, within=10)
        session = Session(me, datetime.now(UTC) + timedelta(minutes=5))
        frames = [f async for f in stream_events(hub, sub, session, heartbeat=15.0)]
        assert [f.split("\n")[1] for f in frames] == ["event: ready", "event: resync"], frames
        assert hub.subscribe(me) is not None, "a new stream is welcome"
    finally:
        await hub.stop()
    assert hub.subscribe(me) is None, "a stopped hub takes no subscribers"
