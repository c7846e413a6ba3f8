"""The cloud film routes' authorization matrix (regional patient index, patients' sign-in and phone portal, QR
grants): every endpoint x every kind of caller, through the real API and PostgreSQL. The referral matrix
(test_authorization.py) leaves these prefixes to this one.

    401  no or bad token;  403  the wrong role;  404  a record of another hospital, as for an unknown one;
    2xx  the right person, each granted call on a subject of its own made for the cell.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.cloud_film import (
    PREFIXES,
    code_sent,
    hospital_record,
    national_id,
    patient_token,
    phone,
    texted_code,
)
from tests.support.matrix import api_endpoints, parse_codes
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration

USERS = (None, "bad", "patient", "zhao.anping", "sun.qingshan", "wang.expert", "liu.coord", "admin")
KEYS = ("anon", "bad", "patient", "county", "other", "expert", "coord", "admin")
Setup = Callable[[Api, AsyncEngine], Awaitable[dict[str, Any]]]


def _person() -> tuple[str, date]:
    return f"矩阵 Matrix {uuid.uuid4().hex[:8]}", date(1940, 1, 1) + timedelta(days=random.randint(0, 25000))


async def record(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """A fresh h-anping record, not yet in the index."""
    ref, _ = await hospital_record(engine, "h-anping", *_person(), "M")
    return {"patient_ref": ref}


async def review(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """An open review: the same name and birth date at two hospitals, one without a national ID."""
    name, born = _person()
    a, _ = await hospital_record(engine, "h-anping", name, born, "F")
    b, _ = await hospital_record(engine, "h-qingshan", name, born, "F")
    await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201, json={"patient_ref": a})
    done = await api.ok("sun.qingshan", "POST", "/api/patient-index/enrolments", 201, json={"patient_ref": b})
    return {"review_id": done["review_id"], "regional_patient_id": done["regional_patient_id"], "patient_ref": b}


async def linked(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """A regional patient holding records at two hospitals (an exact match), and a third regional patient."""
    name, born = _person()
    nid = national_id(born)
    a, _ = await hospital_record(engine, "h-anping", name, born, "M")
    b, _ = await hospital_record(engine, "h-qingshan", name, born, "M")
    first = await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201,
                         json={"patient_ref": a, "national_id": nid})  # fmt: skip
    await api.ok(
        "sun.qingshan", "POST", "/api/patient-index/enrolments", 201, json={"patient_ref": b, "national_id": nid}
    )
    other = await record(api, engine)
    elsewhere = await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201, json=other)
    return {"patient_ref": b, "regional_patient_id": first["regional_patient_id"],
            "elsewhere": elsewhere["regional_patient_id"]}  # fmt: skip


async def fresh_phone(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    return {"phone": phone()}


async def fake_ids(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    return {"regional_patient_id": "rp-nobody", "study_instance_uid": "1.2.826.0.1.9", "sop_instance_uid": "1.2.9.1"}


async def someone_elses_grant(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """A QR grant of a patient who is not the cell's caller."""
    auth = {"Authorization": f"Bearer {await patient_token(api, engine)}"}
    made = await api.client.post("/api/cloud-film/grants", headers=auth, json={"hours": 1})
    assert made.status_code == 201, made.text
    return {"grant_id": made.json()["id"]}


async def enrolled_with_phone(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """An h-anping record in the index with a phone that has had no code yet."""
    ref = (await record(api, engine))["patient_ref"]
    number = phone()
    body = {"patient_ref": ref, "phone": number}
    await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201, json=body)
    return body


async def desk_code(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """As above, and the h-anping desk has just texted the patient a consent code."""
    ctx = await enrolled_with_phone(api, engine)
    await api.ok("zhao.anping", "POST", f"/api/patient-index/records/{ctx['patient_ref']}/consent-code", 202)
    return {**ctx, "code": await texted_code(api, ctx["phone"])}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    setup: Setup
    codes: tuple[int, ...]
    body: Callable[[dict[str, Any]], Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def R(endpoint: str, setup: Setup, codes: str, body: Callable[[dict[str, Any]], Any] | None = None) -> Row:  # noqa: N802
    method, path = endpoint.split()
    return Row(method, path, setup, parse_codes(codes, len(USERS)), body)


PI = "/api/patient-index"
PS = "/api/patient-sessions"
CF = "/api/cloud-film"
# fmt: off
MATRIX = (
    #                                                        no  bad pat|cty oth exp|crd adm
    # a hospital enrols its own records (the coordinator is at the tertiary hospital: not this record's)
    R(f"POST {PI}/enrolments",                       record, "401 401 401|201 404 403|404 201", lambda c: c),
    R(f"GET {PI}/reviews",                           record, "401 401 401|403 403 403|200 200"),
    R(f"POST {PI}/reviews/{{review_id}}/link",       review, "401 401 401|403 403 403|200 200"),
    R(f"POST {PI}/reviews/{{review_id}}/keep-apart", review, "401 401 401|403 403 403|200 200"),
    R(f"GET {PI}/regional-patients/{{regional_patient_id}}", review, "401 401 401|403 403 403|200 200"),
    R(f"POST {PI}/records/{{patient_ref}}/unlink",   linked, "401 401 401|403 403 403|200 200"),
    R(f"POST {PI}/records/{{patient_ref}}/link",     linked, "401 401 401|403 403 403|200 200",
      lambda c: {"regional_patient_id": c["elsewhere"]}),
    # 检查结果互认 at a hospital: its own doctors and coordinators, for records of their own hospital
    R(f"POST {PI}/records/{{patient_ref}}/consent-code", enrolled_with_phone, "401 401 401|202 404 403|404 403"),
    R(f"POST {PI}/records/{{patient_ref}}/consent",      desk_code,           "401 401 401|200 404 403|404 403",
      lambda c: {"code": c["code"]}),
    R(f"GET {PI}/records/{{patient_ref}}/recognised-studies", enrolled_with_phone,
      "401 401 401|200 404 403|404 403"),
    # the patient's doors: no account, the code or the share link is the credential; a stray header changes nothing
    R(f"POST {PS}/codes",                       fresh_phone, "202 202 202|202 202 202|202 202", lambda c: c),
    R(f"POST {PS}",                             code_sent,   "200 200 200|200 200 200|200 200", lambda c: c),
    R(f"POST {PS}/share-link",                  record,      "404 404 404|404 404 404|404 404",
      lambda c: {"token": "no-such.link", "birth_date": "1961-03-14"}),
    # development only (404 elsewhere): what the local SMS adapter recorded
    R("GET /api/dev/sms-outbox?phone=13900000000", record,   "200 200 200|200 200 200|200 200"),
    # the patient's phone: patient tokens only (a staff token is no patient's); another's study or QR is 404
    R(f"GET {CF}/studies",                              fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"GET {CF}/studies/{{study_instance_uid}}",       fake_ids, "401 401 404|401 401 401|401 401"),
    R(f"GET {CF}/studies/{{study_instance_uid}}/report.pdf", fake_ids, "401 401 404|401 401 401|401 401"),
    R(f"GET {CF}/accesses",                             fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"POST {CF}/grants",                              fake_ids, "401 401 201|401 401 401|401 401",
      lambda c: {"hours": 1}),
    R(f"GET {CF}/grants",                               fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"GET {CF}/consent",                              fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"POST {CF}/consent",                             fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"POST {CF}/consent/withdraw",                    fake_ids, "401 401 200|401 401 401|401 401"),
    R(f"POST {CF}/grants/{{grant_id}}/revoke",  someone_elses_grant, "401 401 404|401 401 401|401 401"),
    # images need the signature handed out with a study; no header replaces it
    R(f"GET {CF}/images/{{regional_patient_id}}/{{study_instance_uid}}/{{sop_instance_uid}}", fake_ids,
      "403 403 403|403 403 403|403 403"),
    # a clinician's QR: the token is the credential
    R("POST /api/film-grants/{token}/open",             fake_ids, "404 404 404|404 404 404|404 404"),
)
# fmt: on

CELLS = [
    pytest.param(row, user, key, code, id=f"{row} {key}")
    for row in MATRIX
    for user, key, code in zip(USERS, KEYS, row.codes, strict=True)
]


@pytest.mark.parametrize(("row", "user", "key", "code"), CELLS)
async def test_cloud_film_matrix(
    api: Api, engine: AsyncEngine, row: Row, user: str | None, key: str, code: int
) -> None:
    ctx = await row.setup(api, engine)
    headers = {}
    if user == "bad":
        headers = {"Authorization": "Bearer not-a-jwt.at-all.sorry"}
    elif user == "patient":
        headers = {"Authorization": f"Bearer {await patient_token(api, engine)}"}
    caller = None if user in ("bad", "patient") else user
    body = row.body(ctx) if row.body else None
    r = await api.call(caller, row.method, row.path.format(**{"token": "no-such.grant", **ctx}), json=body,
                       headers=headers)  # fmt: skip
    assert r.status_code == code, f"{row} as {key}: {r.status_code} {r.text}"


async def test_every_cloud_film_endpoint_has_a_row(
    settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> None:
    app = create_app(settings, engine, temporal_client)
    routes = {r for r in api_endpoints(app) if r[1].startswith(PREFIXES)}
    assert routes == {(row.method, row.path.partition("?")[0]) for row in MATRIX}
