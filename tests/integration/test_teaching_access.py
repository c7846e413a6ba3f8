"""The teaching routes' authorization matrix: every /api/teaching endpoint x every kind of caller, through the real API,
worker and databases (the referral matrix, test_authorization.py, leaves /api/teaching to this one).

    401  no token;  403  the wrong role (learners may not curate, only educators see proposals);
    404  a case the caller may not see (a draft, to a learner), word for word the answer for an unknown id;
    2xx  the right person. A granted action that changes a case gets a case of its own.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.integration.test_teaching import CURATION, HAMARTOMA, signed_case, wait_case
from tests.support.api import Api
from tests.support.matrix import api_endpoints, parse_codes, warm_tokens
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration

USERS = (None, "zhao.anping", "wang.expert", "li.expert", "chen.senior", "liu.coord", "he.educator", "admin")
KEYS = ("anon", "county", "reader", "peer", "senior", "coord", "educator", "admin")
PATIENT = {"patient_id": "TEACH-AUTHZ", "name": "姜维 Jiang Wei", "birth_date": "1970-01-02", "sex": "M"}
GHOST_CASE = "tc-20000101-0000000000"
TC = "/api/teaching/cases/{case_id}"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    case: str | None  # the case's state the call is made on: nominated, in_review (a draft), published
    codes: tuple[int, ...]
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.case}]" if self.case else "")


def R(endpoint: str, case: str | None, codes: str, body: Any = None) -> Row:  # noqa: N802 - the table's rows
    method, path = endpoint.split()
    return Row(method, path, case, parse_codes(codes, len(USERS)), body)


# fmt: off
MATRIX = (
    #                                                         case          no|cty rdr pee sen crd|edu adm
    R("POST /api/teaching/nominations",                       None,         "401|403 201 403 201 403|201 403"),
    R("GET /api/teaching/proposals",                          None,         "401|403 403 403 403 403|200 403"),
    R("POST /api/teaching/proposals/{referral_id}/accept",    None,         "401|403 403 403 403 403|201 403"),
    R("POST /api/teaching/proposals/{referral_id}/dismiss",   None,         "401|403 403 403 403 403|200 403"),
    R("GET /api/teaching/cases",                              None,         "401|200 200 200 200 200|200 200"),
    R(f"GET {TC}",                                            "published",  "401|200 200 200 200 200|200 200"),
    R(f"GET {TC}",                                            "in_review",  "401|404 404 404 404 404|200 200"),
    R(f"GET {TC}/unknown",                                    "published",  "401|200 200 200 200 200|200 200"),
    R(f"GET {TC}/unknown",                                    "in_review",  "401|404 404 404 404 404|200 200"),
    R(f"POST {TC}/attempts",                                  "published",  "401|201 201 201 201 201|201 201",
      {"impression": "右肺上叶结节"}),
    R(f"POST {TC}/attempts",                                  "in_review",  "401|404 404 404 404 404|201 201",
      {"impression": "右肺上叶结节"}),
    R(f"POST {TC}/accept",                                    "nominated",  "401|403 403 403 403 403|200 403", {}),
    R(f"POST {TC}/dismiss",                                   "nominated",  "401|403 403 403 403 403|200 403", {}),
    R(f"PUT {TC}/curation",                                   "in_review",  "401|403 403 403 403 403|200 403",
      CURATION),
    R(f"POST {TC}/publish",                                   "in_review",  "401|403 403 403 403 403|200 403", {}),
    R(f"POST {TC}/publish",                                   "published",  "401|403 403 403 403 403|409 403", {}),
    R(f"POST {TC}/unpublish",                                 "published",  "401|403 403 403 403 403|200 403",
      {"comment": "withdrawn"}),
    R("GET /api/teaching/history",                            None,         "401|200 200 200 200 200|200 200"),
    R("GET /api/teaching/collections",                        None,         "401|200 200 200 200 200|200 200"),
    R("POST /api/teaching/collections",                       None,         "401|403 403 403 403 403|201 403",
      {"title": "矩阵 matrix"}),
    R("GET /api/teaching/collections/{collection_id}",        None,         "401|200 200 200 200 200|200 200"),
    R("PUT /api/teaching/collections/{collection_id}/cases",  None,         "401|403 403 403 403 403|200 403",
      {"case_ids": []}),
)
# fmt: on
CHANGES_A_CASE = {"accept", "dismiss", "curation", "publish", "unpublish"}


def _changes(row: Row, code: int) -> bool:
    return code < 300 and row.path.rsplit("/", 1)[-1] in CHANGES_A_CASE and row.method != "GET"


@dataclass
class Cases:
    shared: dict[str, str]  # state -> a case refused cells share
    fresh: dict[tuple[str, str], str]  # (row, caller) -> a case of its own
    signed: list[str]  # signed referrals: the first for refused nominations, one each for the granted ones
    proposals: list[str]  # graded referrals (proposed): the first for refused decisions, one each for the granted
    collection_id: str


async def _case(api: Api, engine: AsyncEngine, state: str, n: int) -> str:
    rid = await signed_case(api, engine, "agree", HAMARTOMA, patient={**PATIENT, "patient_id": f"TEACH-AUTHZ-{n}"})
    if state == "nominated":
        return str((await api.ok("wang.expert", "POST", "/api/teaching/nominations", 201,
                                 json={"referral_id": rid}))["case_id"])  # fmt: skip
    case_id = str((await api.ok("he.educator", "POST", "/api/teaching/nominations", 201,
                                json={"referral_id": rid}))["case_id"])  # fmt: skip
    await wait_case(api, case_id, "in_review")
    await api.ok("he.educator", "PUT", f"/api/teaching/cases/{case_id}/curation", json=CURATION)
    if state == "published":
        await api.ok("he.educator", "POST", f"/api/teaching/cases/{case_id}/publish", json={})
    return case_id


@pytest.fixture(scope="module")
async def cases(api: Api, engine: AsyncEngine) -> Cases:
    await warm_tokens(api, [u for u in USERS if u])
    fresh_cells = [
        (row, key)
        for row in MATRIX
        for key, code in zip(KEYS, row.codes, strict=True)
        if row.case and _changes(row, code)
    ]
    states = ["nominated", "in_review", "published"] + [row.case for row, _ in fresh_cells if row.case]
    gate = asyncio.Semaphore(4)

    async def one(state: str, n: int) -> str:
        async with gate:
            return await _case(api, engine, state, n)

    async def graded(n: int, discrepancy: str) -> str:
        async with gate:
            patient = {**PATIENT, "patient_id": f"TEACH-AUTHZ-G{n}"}
            return await signed_case(api, engine, discrepancy, HAMARTOMA, patient=patient)

    made = await asyncio.gather(
        *(one(s, n) for n, s in enumerate(states)),
        *(graded(100 + n, "agree") for n in range(4)),
        *(graded(200 + n, "minor") for n in range(3)),
    )
    ids, signed, proposals = made[: len(states)], made[len(states) : len(states) + 4], made[len(states) + 4 :]
    collection = await api.ok("he.educator", "POST", "/api/teaching/collections", 201, json={"title": "共享 shared"})
    return Cases(
        shared=dict(zip(("nominated", "in_review", "published"), ids[:3], strict=True)),
        fresh={(str(row), key): cid for (row, key), cid in zip(fresh_cells, ids[3:], strict=True)},
        signed=list(signed),
        proposals=list(proposals),
        collection_id=collection["id"],
    )


CELLS = [
    pytest.param(row, user, key, code, id=f"{row} {key}")
    for row in MATRIX
    for user, key, code in zip(USERS, KEYS, row.codes, strict=True)
]


def _context(cases: Cases, row: Row, key: str, code: int) -> dict[str, str]:
    ctx = {"collection_id": cases.collection_id}
    if row.case:
        ctx["case_id"] = cases.fresh.pop((str(row), key)) if _changes(row, code) else cases.shared[row.case]
    if "{referral_id}" in row.path:
        ctx["referral_id"] = cases.proposals.pop() if code < 300 else cases.proposals[0]
        assert cases.proposals, "the refused cells' proposal was handed out"
    return ctx


@pytest.mark.parametrize(("row", "user", "key", "code"), CELLS)
async def test_teaching_matrix(api: Api, cases: Cases, row: Row, user: str | None, key: str, code: int) -> None:
    ctx = _context(cases, row, key, code)
    body = row.body
    if row.path == "/api/teaching/nominations":
        body = {"referral_id": cases.signed.pop() if code < 300 else cases.signed[0]}
        assert cases.signed, "the refused cells' referral was handed out"
    before = await api.ok("he.educator", "GET", TC.format(**ctx)) if "case_id" in ctx else None
    r = await api.call(user, row.method, row.path.format(**ctx), json=body)
    assert r.status_code == code, f"{row} as {key}: {r.status_code} {r.text}"
    if before is not None:
        after = await api.ok("he.educator", "GET", TC.format(**ctx))
        if _changes(row, code):
            assert len(after["events"]) > len(before["events"]), "a granted action must be recorded"
        else:
            assert after["events"] == before["events"], f"{row} as {key} changed the case"
    if code == 404:
        ghost = await api.call(user, row.method, row.path.format(**{**ctx, "case_id": GHOST_CASE}), json=body)
        assert ghost.status_code == 404
        assert json.loads(r.text.replace(ctx["case_id"], GHOST_CASE)) == ghost.json()


async def test_every_teaching_endpoint_has_a_row(
    settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> None:
    routes = {
        r for r in api_endpoints(create_app(settings, engine, temporal_client)) if r[1].startswith("/api/teaching")
    }
    rows = {(row.method, row.path) for row in MATRIX}
    assert routes == rows
