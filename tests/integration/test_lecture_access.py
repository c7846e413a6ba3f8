"""The lecture routes' authorization matrix: every /api/lectures endpoint x every kind of caller, through the real API,
worker and databases (the referral matrix, test_authorization.py, leaves /api/lectures to this one). The matrix's
lecture is he.educator's, for h-anping, spoken by wang.expert.

    401  no token (the HLS files: no watch token, whoever signs the request);
    403  the wrong role, outside the audience, or not the organiser / speaker / moderator the rule names;
    409  the right person, the wrong state;   2xx  the right person at the right time.

A refused cell changes nothing (the lecture's projection and trail); a granted change gets a lecture of its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.matrix import api_endpoints, parse_codes, warm_tokens
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.queries.lectures import visible_lectures
from yilian.db.schema import lecture_events, lectures, users
from yilian.domain.access import Principal
from yilian.domain.lecture import Audience, in_audience
from yilian.domain.roles import Role

pytestmark = pytest.mark.integration

USERS = (None, "zhao.anping", "sun.qingshan", "wang.expert", "li.expert", "liu.coord", "he.educator", "admin")
KEYS = ("anon", "own", "other", "speaker", "peer", "coord", "educator", "admin")
LEC = "/api/lectures/{lecture_id}"
QUIZ = {"questions": [{"text": "随访间隔？", "options": ["3 个月", "3 年"], "answer": 0}]}


def plan(**kw: Any) -> dict[str, Any]:
    return {"title": "矩阵讲座 matrix lecture", "starts_at": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
            "duration_minutes": 45, "speaker_ids": ["wang.expert"], "audience_hospital_ids": ["h-anping"],
            "quiz": QUIZ, **kw}  # fmt: skip


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    state: str | None  # the lecture's state the call is made on
    codes: tuple[int, ...]
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.state}]" if self.state else "")


def R(endpoint: str, state: str | None, codes: str, body: Any = None) -> Row:  # noqa: N802 - the table's rows
    method, path = endpoint.split()
    return Row(method, path, state, parse_codes(codes, len(USERS)), body)


# fmt: off
MATRIX = (
    #                                                   state         no|own oth|spk pee|crd edu|adm
    R("POST /api/lectures",                              None,        "401|403 403|403 403|201 201|403", plan()),
    R("GET /api/lectures",                               None,        "401|200 200|200 200|200 200|200"),
    R("GET /api/lectures/credits",                       None,        "401|200 200|200 200|200 200|200"),
    R(f"GET {LEC}",                                      "scheduled", "401|200 403|200 403|200 200|200"),
    R(f"POST {LEC}/reschedule",                          "scheduled", "401|403 403|403 403|403 200|403", plan()),
    R(f"POST {LEC}/cancel",                              "scheduled", "401|403 403|403 403|403 200|403",
      {"reason": "讲者出差"}),
    R(f"POST {LEC}/start",                               "scheduled", "401|403 403|200 403|403 200|403", {}),
    R(f"POST {LEC}/start",                               "live",      "401|403 403|409 403|403 409|403", {}),
    R(f"POST {LEC}/end",                                 "live",      "401|403 403|200 403|403 200|403", {}),
    R(f"GET {LEC}/audit",                                "scheduled", "401|403 403|403 403|200 200|200"),
    R(f"POST {LEC}/registration",                        "scheduled", "401|201 403|201 403|201 201|201", {}),
    R(f"DELETE {LEC}/registration",                      "scheduled", "401|200 403|200 403|200 200|200"),
    R(f"POST {LEC}/watch",                               "live",      "401|200 403|200 403|200 200|200", {}),
    R(f"POST {LEC}/watch",                               "scheduled", "401|409 403|409 403|409 409|409", {}),
    # a sign-in token is not a watch token: the HLS files answer 401 to every bearer
    R(f"GET {LEC}/hls/{{file}}",                         "live",      "401|401 401|401 401|401 401|401"),
    R(f"GET {LEC}/questions",                            "live",      "401|200 403|200 403|200 200|200"),
    R(f"POST {LEC}/questions",                           "live",      "401|201 403|201 403|201 201|201",
      {"body": "实性结节呢？"}),
    R(f"POST {LEC}/questions/{{question_id}}/vote",      "live",      "401|200 403|200 403|200 200|200", {}),
    R(f"POST {LEC}/questions/{{question_id}}/pick",      "live",      "401|403 403|200 403|403 200|403", {}),
    R(f"POST {LEC}/quiz",                                "live",      "401|200 403|200 403|200 200|200",
      {"answers": [0]}),
    # the room is not on air (nobody published): the stage people get 409, the rest 403
    R(f"POST {LEC}/chapters",                            "live",      "401|403 403|409 403|403 409|403",
      {"title": "病例讨论"}),
    R(f"GET {LEC}/attendance",                           "live",      "401|403 403|403 403|200 200|200"),
    R(f"GET {LEC}/attendance.csv",                       "live",      "401|403 403|403 403|200 200|200"),
)
# fmt: on
CHANGES = {"reschedule", "cancel", "start", "end"}


def _changes(row: Row, code: int) -> bool:
    return code < 300 and row.path.rsplit("/", 1)[-1] in CHANGES


@dataclass
class Lectures:
    shared: dict[str, str]
    fresh: dict[tuple[str, str], str]
    question_id: int


async def _lecture(api: Api, state: str) -> str:
    lid = str((await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan()))["id"])
    if state == "live":
        await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/start", json={})
    return lid


@pytest.fixture(scope="module")
async def matrix_lectures(api: Api) -> Lectures:
    await warm_tokens(api, [u for u in USERS if u])
    fresh_cells = [
        (row, key) for row in MATRIX for key, code in zip(KEYS, row.codes, strict=True) if row.state and
        _changes(row, code)
    ]  # fmt: skip
    states = ["scheduled", "live"] + [row.state for row, _ in fresh_cells if row.state]
    gate = asyncio.Semaphore(4)

    async def one(state: str) -> str:
        async with gate:
            return await _lecture(api, state)

    made = await asyncio.gather(*(one(s) for s in states))
    live = made[1]
    asked = await api.ok("zhao.anping", "POST", f"/api/lectures/{live}/questions", 201, json={"body": "共享问题"})
    return Lectures(
        shared={"scheduled": made[0], "live": live},
        fresh={(str(row), key): lid for (row, key), lid in zip(fresh_cells, made[2:], strict=True)},
        question_id=int(asked["id"]),
    )


async def _steps(engine: AsyncEngine, lecture_id: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        seq = await conn.scalar(select(lectures.c.last_seq).where(lectures.c.id == lecture_id))
        events = await conn.scalar(select(func.count()).where(lecture_events.c.lecture_id == lecture_id))
    return int(seq or 0), int(events or 0)


CELLS = [
    pytest.param(row, user, key, code, id=f"{row} {key}")
    for row in MATRIX
    for user, key, code in zip(USERS, KEYS, row.codes, strict=True)
]


@pytest.mark.parametrize(("row", "user", "key", "code"), CELLS)
async def test_lecture_matrix(
    api: Api, engine: AsyncEngine, matrix_lectures: Lectures, row: Row, user: str | None, key: str, code: int
) -> None:
    ctx: dict[str, Any] = {"file": "live.m3u8", "question_id": matrix_lectures.question_id}
    if row.state:
        fresh = _changes(row, code)
        ctx["lecture_id"] = matrix_lectures.fresh.pop((str(row), key)) if fresh else matrix_lectures.shared[row.state]
    before = await _steps(engine, ctx["lecture_id"]) if "lecture_id" in ctx else None
    r = await api.call(user, row.method, row.path.format(**ctx), json=row.body)
    assert r.status_code == code, f"{row} as {key}: {r.status_code} {r.text}"
    if code >= 400:
        assert r.json()["error"], r.text
    if before is not None:
        after = await _steps(engine, ctx["lecture_id"])
        if _changes(row, code):
            assert after[0] > before[0] and after[1] > before[1], "a granted action must be recorded"
        else:
            assert after == before, f"{row} as {key} changed the lecture"


async def test_every_lecture_endpoint_has_a_row(
    settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> None:
    routes = {
        r for r in api_endpoints(create_app(settings, engine, temporal_client)) if r[1].startswith("/api/lectures")
    }
    assert routes == {(row.method, row.path) for row in MATRIX}


@pytest.mark.parametrize("hospitals", [["h-anping"], []])
async def test_the_catalogue_filter_agrees_with_the_audience_rule(
    api: Api, engine: AsyncEngine, hospitals: list[str]
) -> None:
    """db.queries.lectures.visible_lectures is domain.lecture.in_audience, as SQL: both say the same of every user."""
    lid = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan(audience_hospital_ids=hospitals)))["id"]
    async with engine.connect() as conn:
        people = (await conn.execute(select(users.c.id, users.c.role, users.c.hospital_id))).all()
        for user_id, role, hospital_id in people:
            p = Principal(user_id, Role(role), hospital_id, user_id)
            seen = select(func.count()).select_from(lectures).where(lectures.c.id == lid, visible_lectures(p))
            sql = await conn.scalar(seen)
            rule = in_audience(p, Audience("he.educator", ("wang.expert",), tuple(hospitals)))
            assert bool(sql) is rule, (user_id, role, hospital_id)
