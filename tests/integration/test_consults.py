"""MDT consults through the real API, worker, Temporal and PostgreSQL: request from a case, schedule, the people who
see it and those who do not, chat (stored, and live on /api/events), the conclusion on the case's timeline, bad input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.live import serve
from tests.support.matrix import walk
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration
PATIENT = {"patient_id": "MDT-0001", "name": "关羽 Guan Yu", "birth_date": "1962-06-24", "sex": "M"}


def _plan(minutes_ahead: float = 60, invitees: tuple[str, ...] = ("wang.expert", "he.surgeon")) -> dict[str, Any]:
    starts = datetime.now(UTC) + timedelta(minutes=minutes_ahead)
    return {
        "starts_at": starts.isoformat(),
        "duration_minutes": 30,
        "invitee_ids": list(invitees),
        "agenda": "手术指征",
    }


@pytest.fixture(scope="module")
async def case(api: Api, engine: AsyncEngine) -> str:
    """A CT chest case offered to wang.expert."""
    return await walk(api, engine, "offered", patient=PATIENT, difficult=True)


async def test_request_from_the_case_then_schedule_by_the_coordinator(api: Api, case: str) -> None:
    made = await api.ok(
        "zhao.anping", "POST", "/api/consults", 201,
        json={"title": "右肺结节 MDT", "referral_id": case, "comment": "请胸外科会诊"},
    )  # fmt: skip
    cid = made["id"]
    assert (made["state"], made["requested_by"], made["case_ids"]) == ("requested", "zhao.anping", [case])
    assert made["allowed_actions"] == ["cancel"]  # the requester may withdraw it; scheduling is not theirs
    coord = await api.ok("liu.coord", "GET", f"/api/consults/{cid}")
    assert "schedule" in coord["allowed_actions"]
    inbox = (await api.ok("liu.coord", "GET", "/api/notifications"))["items"]
    assert any(n["kind"] == "consult_requested" and n["params"]["consult_id"] == cid for n in inbox)

    scheduled = await api.ok("liu.coord", "POST", f"/api/consults/{cid}/schedule", json=_plan())
    assert (scheduled["state"], scheduled["host_id"]) == ("scheduled", "liu.coord")
    assert scheduled["invitee_ids"] == ["he.surgeon", "wang.expert"]
    detail = await api.ok("he.surgeon", "GET", f"/api/consults/{cid}")
    assert [p["specialty"] for p in detail["invitees"]] == ["thoracic_surgery", "radiology"]
    assert detail["host"]["id"] == "liu.coord"
    assert detail["allowed_actions"] == ["post_message"]  # not open yet: nobody joins
    # The surgeon was invited to the consult, not to the referral: the referral stays hidden from them, but they
    # are shown the case and may open its study, as the room's viewer does.
    assert [c["id"] for c in detail["cases"]] == [case]
    assert (await api.call("he.surgeon", "GET", f"/api/referrals/{case}")).status_code == 404
    uid = detail["cases"][0]["study_instance_uid"]
    found = await api.call("he.surgeon", "GET", "/dicomweb/studies", params={"StudyInstanceUID": uid})
    assert found.status_code == 200 and len(found.json()) == 1, found.text
    series = await api.call("he.surgeon", "GET", f"/dicomweb/studies/{uid}/series")
    assert series.status_code == 200, series.text
    # Someone invited to no consult of this case does not reach it.
    assert (await api.call("xu.oncology", "GET", f"/dicomweb/studies/{uid}/series")).status_code == 204  # no match
    # On the case's own timeline, for the county doctor to see.
    trail = (await api.ok("zhao.anping", "GET", f"/api/referrals/{case}/audit"))["items"]
    steps = [e for e in trail if e["action"].startswith("consult_")]
    assert [e["action"] for e in steps] == ["consult_requested", "consult_scheduled"]
    assert steps[1]["details"]["consult_id"] == cid


async def test_who_sees_a_consult(api: Api, case: str) -> None:
    made = await api.ok(
        "wang.expert", "POST", "/api/consults", 201,
        json={"title": "MDT", "referral_id": case, "schedule": _plan(120, ("xu.oncology",))},
    )  # fmt: skip
    cid = made["id"]
    assert made["host_id"] == "wang.expert"
    for who in ("wang.expert", "xu.oncology", "zhao.anping", "liu.coord", "chen.senior", "admin"):
        assert (await api.call(who, "GET", f"/api/consults/{cid}")).status_code == 200, who
        mine = (await api.ok(who, "GET", "/api/consults", params={"limit": 500}))["items"]
        assert cid in {c["id"] for c in mine}, who
    for who in ("sun.qingshan", "he.surgeon"):  # the other county; a surgeon invited to other consults only
        r = await api.call(who, "GET", f"/api/consults/{cid}")
        assert (r.status_code, r.json()["error"]) == (404, "not_found"), who
        ghost = await api.call(who, "GET", "/api/consults/con-20000101-0000000000")
        assert json.loads(r.text.replace(cid, "con-20000101-0000000000")) == ghost.json()
        mine = (await api.ok(who, "GET", "/api/consults", params={"limit": 500}))["items"]
        assert cid not in {c["id"] for c in mine}, who
        for path in ("messages", "attendance", "audit"):
            assert (await api.call(who, "GET", f"/api/consults/{cid}/{path}")).status_code == 404
    # Seeing it is not taking part: the county doctor may read it but not chat in it.
    r = await api.call("zhao.anping", "POST", f"/api/consults/{cid}/messages", json={"body": "你好"})
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = await api.call("sun.qingshan", "POST", f"/api/consults/{cid}/cancel", json={"reason": "x"})
    assert r.status_code == 404


@pytest.fixture(scope="module")
async def events_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[str]:
    app = create_app(settings, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


async def _events(url: str, token: str, wanted: str, into: list[dict[str, Any]], ready: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0)) as client,
        client.stream("GET", "/api/events", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        name = ""
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
                if name == "ready":
                    ready.set()
            elif line.startswith("data: ") and name == wanted:
                into.append(json.loads(line[6:]))


async def test_open_chat_live_and_conclude_onto_the_case(api: Api, case: str, events_url: str) -> None:
    made = await api.ok(
        "liu.coord", "POST", "/api/consults", 201,
        json={"title": "结论测试", "referral_id": case, "schedule": _plan(30, ("wang.expert", "he.surgeon"))},
    )  # fmt: skip
    cid = made["id"]
    opened = await api.ok("liu.coord", "POST", f"/api/consults/{cid}/open", json={})
    assert opened["state"] == "open" and "conclude" in opened["allowed_actions"]
    assert "join" in (await api.ok("he.surgeon", "GET", f"/api/consults/{cid}"))["allowed_actions"]

    lines: list[dict[str, Any]] = []
    ready = asyncio.Event()
    listener = asyncio.create_task(_events(events_url, await api.token("he.surgeon"), "consult_message", lines, ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        posted = await api.ok("wang.expert", "POST", f"/api/consults/{cid}/messages", 201, json={"body": "见第 42 层"})
        assert posted["author_name"].startswith("王立")
        heard = await wait_until(lambda: list(lines), "the chat line on the surgeon's event stream", ok=bool)
        assert heard[0]["id"] == posted["id"] and heard[0]["body"] == "见第 42 层"
    finally:
        listener.cancel()
    chat = (await api.ok("liu.coord", "GET", f"/api/consults/{cid}/messages"))["items"]
    assert [m["body"] for m in chat] == ["见第 42 层"]

    body = {"participants": ["liu.coord", "wang.expert"], "discussion": "分叶毛刺", "recommendation": "胸腔镜手术"}
    refused = await api.call("wang.expert", "POST", f"/api/consults/{cid}/conclude", json=body)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    done = await api.ok("liu.coord", "POST", f"/api/consults/{cid}/conclude", json=body)
    assert done["state"] == "concluded" and done["conclusion"]["recommendation"] == "胸腔镜手术"
    trail = (await api.ok("zhao.anping", "GET", f"/api/referrals/{case}/audit"))["items"]
    concluded = [e for e in trail if e["action"] == "consult_concluded" and e["details"]["consult_id"] == cid]
    assert len(concluded) == 1 and concluded[0]["details"]["recommendation"] == "胸腔镜手术"
    inbox = (await api.ok("zhao.anping", "GET", "/api/notifications"))["items"]
    assert any(n["kind"] == "consult_concluded" and n["params"]["consult_id"] == cid for n in inbox)
    audit = (await api.ok("liu.coord", "GET", f"/api/consults/{cid}/audit"))["items"]
    assert [e["action"] for e in audit] == ["schedule", "open", "conclude"]
    again = await api.call("liu.coord", "POST", f"/api/consults/{cid}/cancel", json={"reason": "晚了"})
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"title": "x"}, 422, "validation_failed"),  # no case at all
        ({"title": "x", "case_ids": ["{case}"]}, 422, "validation_failed"),  # a request needs its referral_id
        ({"title": "", "referral_id": "{case}"}, 422, "validation_failed"),
        ({"title": "x", "referral_id": "ref-20000101-0000000000"}, 404, "not_found"),
        (
            {"title": "x", "referral_id": "{case}", "schedule": {**_plan(), "starts_at": "2020-01-01T00:00:00Z"}},
            422,
            "validation_failed",
        ),  # fmt: skip
        (
            {"title": "x", "referral_id": "{case}", "schedule": {**_plan(), "starts_at": "2030-01-01T09:00:00"}},
            422,
            "validation_failed",
        ),  # fmt: skip  (no time zone)
        (
            {"title": "x", "referral_id": "{case}", "schedule": _plan(invitees=("nobody.here",))},
            422,
            "validation_failed",
        ),  # fmt: skip
        ({"title": "x", "referral_id": "{case}", "schedule": _plan(invitees=())}, 422, "validation_failed"),
        (
            {"title": "x", "referral_id": "{case}", "schedule": {**_plan(), "duration_minutes": 2}},
            422,
            "validation_failed",
        ),  # fmt: skip
        ({"title": "x\x00", "referral_id": "{case}"}, 422, "validation_failed"),
    ],
)
async def test_bad_input_is_a_clear_4xx(api: Api, case: str, body: dict[str, Any], status: int, error: str) -> None:
    sent = json.loads(json.dumps(body).replace("{case}", case))
    user = "liu.coord"
    r = await api.call(user, "POST", "/api/consults", json=sent)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.json()["message"]


async def test_only_a_scheduler_schedules_and_the_county_cannot(api: Api, case: str) -> None:
    r = await api.call("zhao.anping", "POST", "/api/consults",
                       json={"title": "x", "referral_id": case, "schedule": _plan()})  # fmt: skip
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    listed = (await api.ok("zhao.anping", "GET", "/api/people", params={"specialty": "oncology"}))["items"]
    assert [p["id"] for p in listed] == ["xu.oncology"]
