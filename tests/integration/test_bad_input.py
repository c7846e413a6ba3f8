"""Bad input through the real API: each refusal has its catalogue code, and a refused request changes nothing.

"Nothing" means: the referral's projection row (as GET shows it) and its audit trail are as they were, and a
refused submission leaves no referral row behind (rows counted per hospital before and after).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import REPORT, Api, referral_body
from tests.support.matrix import nothing_changes, walk_many
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.schema import patients, share_links
from yilian.domain.share_link import MAX_FAILED_ATTEMPTS

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "BAD-0001", "name": "曹操 Cao Cao", "birth_date": "1955-07-01", "sex": "M"}
WRONG_DATE = "1955-07-02"
ANPING, QINGSHAN = "h-anping", "h-qingshan"


@dataclass(frozen=True)
class Cases:
    offered: str
    in_reading: str
    preliminary: str
    returned: str


@pytest.fixture(scope="module")
async def cases(api: Api, engine: AsyncEngine) -> Cases:
    """One referral per state the tests refuse actions on (all h-anping, offered to/read by wang.expert)."""
    return Cases(*await walk_many(api, engine, ["offered", "in_reading", "preliminary", "returned"], patient=PATIENT))


@pytest.fixture
async def link(api: Api, cases: Cases) -> dict[str, Any]:
    """A new patient link on the returned case, so tests that lock or revoke one do not meet."""
    made: dict[str, Any] = await api.ok(
        "zhao.anping", "POST", f"/api/referrals/{cases.returned}/share-links", 201, json={}
    )
    return made


def _fields(r: httpx.Response) -> list[str]:
    return [d["field"] for d in r.json()["details"]]


# ---- malformed JSON -----------------------------------------------------------------------------
BROKEN = [b'{"patient": {"patient_id": "X"', b"not json at all", b'{"priority": "routine",}', b'{"a": "\xc3\x28"}']


@pytest.mark.parametrize("raw", BROKEN, ids=["truncated", "prose", "trailing-comma", "not-utf8"])
async def test_malformed_submission_is_400_and_creates_nothing(api: Api, engine: AsyncEngine, raw: bytes) -> None:
    async with nothing_changes(api, engine, hospital_ids=(ANPING,)):
        r = await api.call(
            "zhao.anping", "POST", "/api/referrals", content=raw, headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "malformed_request" and r.json()["message"]


@pytest.mark.parametrize(
    ("user", "method", "path", "case"),
    [
        ("wang.expert", "POST", "/api/referrals/{rid}/accept", "offered"),
        ("chen.senior", "POST", "/api/referrals/{rid}/approve", "preliminary"),
        ("wang.expert", "PUT", "/api/referrals/{rid}/draft", "in_reading"),
        ("liu.coord", "POST", "/api/referrals/{rid}/reassign", "offered"),
        ("zhao.anping", "POST", "/api/referrals/{rid}/share-links", "returned"),
        (None, "POST", "/api/auth/login", None),
    ],
)
async def test_malformed_action_is_400_and_changes_nothing(
    api: Api, engine: AsyncEngine, cases: Cases, user: str | None, method: str, path: str, case: str | None
) -> None:
    rid = getattr(cases, case) if case else None
    async with nothing_changes(api, engine, referral_id=rid):
        r = await api.call(
            user, method, path.format(rid=rid), content=b'{"comment": ', headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "malformed_request"


async def test_malformed_birth_date_form_is_400_and_counts_no_try(
    api: Api, engine: AsyncEngine, cases: Cases, link: dict[str, Any]
) -> None:
    async with nothing_changes(api, engine, referral_id=cases.returned):
        r = await api.call(
            None,
            "POST",
            f"/api/share/{link['token']}",
            content=b"{birth_date: 1955-07-01}",
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 400 and r.json()["error"] == "malformed_request"
    assert await _failed_attempts(engine, link["link_id"]) == 0


# ---- missing and invalid fields -----------------------------------------------------------------
def _without(key: str) -> dict[str, Any]:
    body = referral_body(patient=PATIENT)
    del body[key]
    return body


def _with_patient(**patient: Any) -> dict[str, Any]:
    return referral_body(patient={**PATIENT, **patient})


SUBMISSION_ERRORS = [
    pytest.param(_without("clinical_question"), "body.clinical_question", id="no-question"),
    pytest.param(_without("patient"), "body.patient", id="no-patient"),
    pytest.param(_without("priority"), "body.priority", id="no-priority"),
    pytest.param(referral_body(patient=PATIENT, priority="asap"), "body.priority", id="unknown-priority"),
    pytest.param(referral_body(patient=PATIENT, modality="ct"), "body.modality", id="lowercase-modality"),
    pytest.param(referral_body(patient=PATIENT, study_instance_uid="1.2.abc"), "body.study_instance_uid", id="uid"),
    pytest.param(referral_body(patient=PATIENT, clinical_question="?"), "body.clinical_question", id="short-question"),
    pytest.param(referral_body(patient=PATIENT, difficult="maybe"), "body.difficult", id="difficult-not-bool"),
    pytest.param(_with_patient(birth_date="1955-02-30"), "body.patient.birth_date", id="impossible-date"),
    pytest.param(_with_patient(sex="X"), "body.patient.sex", id="unknown-sex"),
    pytest.param(_with_patient(patient_id=""), "body.patient.patient_id", id="empty-patient-id"),
    pytest.param([referral_body(patient=PATIENT)], "body", id="array-not-object"),
]


@pytest.mark.parametrize(("body", "field"), SUBMISSION_ERRORS)
async def test_invalid_submission_is_422_naming_the_field(api: Api, engine: AsyncEngine, body: Any, field: str) -> None:
    async with nothing_changes(api, engine, hospital_ids=(ANPING,)):
        r = await api.call("zhao.anping", "POST", "/api/referrals", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert field in _fields(r), r.json()["details"]


ACTION_ERRORS = [
    # user, method, path ({rid}: the case; {token}: a live link), case, body, field named in details
    ("chen.senior", "POST", "/api/referrals/{rid}/approve", "preliminary", {"discrepancy": "meh"}, "body.discrepancy"),
    ("chen.senior", "POST", "/api/referrals/{rid}/approve", "preliminary", {}, "body.discrepancy"),
    ("wang.expert", "PUT", "/api/referrals/{rid}/draft", "in_reading", {"findings": "x"}, "body.impression"),
    (
        "wang.expert",
        "POST",
        "/api/referrals/{rid}/preliminary",
        "in_reading",
        {**REPORT, "critical": "perhaps"},
        "body.critical",
    ),
    ("liu.coord", "POST", "/api/referrals/{rid}/reassign", "offered", {"expert_id": "li.expert"}, "body.reason"),
    ("zhao.anping", "POST", "/api/referrals/{rid}/cancel", "offered", {"comment": ""}, "body.comment"),
    ("wang.expert", "POST", "/api/referrals/{rid}/request-info", "in_reading", {}, "body.comment"),
    ("zhao.anping", "POST", "/api/referrals/{rid}/share-links", "returned", {"days": 0}, "body.days"),
    ("zhao.anping", "POST", "/api/referrals/{rid}/share-links", "returned", {"days": "many"}, "body.days"),
    (None, "POST", "/api/share/{token}", "returned", {}, "body.birth_date"),
    (None, "POST", "/api/share/{token}", "returned", {"birth_date": "01/07/1955"}, "body.birth_date"),
    ("zhao.anping", "GET", "/api/referrals?limit=0", None, None, "query.limit"),
    ("zhao.anping", "GET", "/api/referrals?priority=asap", None, None, "query.priority"),
    ("liu.coord", "GET", "/api/audit-events?from=yesterday", None, None, "query.from"),
    ("zhao.anping", "POST", "/api/notifications/abc/read", None, None, "path.notification_id"),
]


@pytest.mark.parametrize(
    ("user", "method", "path", "case", "body", "field"),
    ACTION_ERRORS,
    ids=[f"{p[2].split('/')[-1]}-{p[5]}" for p in ACTION_ERRORS],
)
async def test_invalid_action_is_422_naming_the_field(
    api: Api,
    engine: AsyncEngine,
    cases: Cases,
    link: dict[str, Any],
    user: str | None,
    method: str,
    path: str,
    case: str | None,
    body: Any,
    field: str,
) -> None:
    rid = getattr(cases, case) if case else None
    async with nothing_changes(api, engine, referral_id=rid, hospital_ids=(ANPING,)):
        r = await api.call(user, method, path.format(rid=rid, token=link["token"]), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert field in _fields(r), r.json()["details"]


@pytest.mark.parametrize(
    ("user", "path", "case", "body", "mentions"),
    [
        ("wang.expert", "preliminary", "in_reading", {**REPORT, "findings": "  "}, "findings"),
        ("wang.expert", "preliminary", "in_reading", {**REPORT, "critical": True, "critical_note": ""}, "critical"),
        ("zhao.anping", "cancel", "offered", {"comment": "   "}, "reason"),
        ("chen.senior", "request-changes", "preliminary", {"discrepancy": "minor", "comments": " "}, "comments"),
        ("wang.expert", "request-info", "in_reading", {"comment": "  "}, "information"),
    ],
)
async def test_content_the_workflow_refuses_is_422(
    api: Api, engine: AsyncEngine, cases: Cases, user: str, path: str, case: str, body: Any, mentions: str
) -> None:
    """Well-formed but empty where it matters: the workflow's validator refuses it before anything is recorded."""
    rid = getattr(cases, case)
    async with nothing_changes(api, engine, referral_id=rid):
        r = await api.call(user, "POST", f"/api/referrals/{rid}/{path}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert mentions in r.json()["message"] + json.dumps(r.json()["details"])


async def test_dashboard_window_needs_a_time_zone(api: Api) -> None:
    r = await api.call("liu.coord", "GET", "/api/dashboard", params={"from": "2026-11-01T00:00:00"})
    assert r.status_code == 422 and r.json()["error"] == "validation_failed"
    r = await api.call(
        "liu.coord",
        "GET",
        "/api/dashboard",
        params={"from": "2026-11-02T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"},
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_failed"


# ---- unknown ids, wrong state -------------------------------------------------------------------
UNKNOWN = [
    ("zhao.anping", "GET", "/api/referrals/ref-20000101-0000000000", None),
    ("zhao.anping", "GET", "/api/referrals/ref-20000101-0000000000/priors", None),
    ("zhao.anping", "GET", "/api/referrals/ref-20000101-0000000000/audit", None),
    ("wang.expert", "POST", "/api/referrals/ref-20000101-0000000000/accept", {}),
    ("chen.senior", "POST", "/api/referrals/ref-20000101-0000000000/approve", {"discrepancy": "agree"}),
    ("zhao.anping", "POST", "/api/referrals/ref-20000101-0000000000/cancel", {"comment": "x"}),
    ("admin", "GET", "/api/referrals/no-such-thing", None),
    ("zhao.anping", "GET", "/api/referrals/ref-20000101-0000000000/share-links", None),
    ("zhao.anping", "POST", "/api/share-links/AAAAAAAAAAAAAAAAAAAAAA/revoke", None),
    ("liu.coord", "GET", "/api/share-links/AAAAAAAAAAAAAAAAAAAAAA/accesses", None),
    ("zhao.anping", "POST", "/api/notifications/999999999/read", None),
    ("zhao.anping", "GET", "/api/no-such-endpoint", None),
]


@pytest.mark.parametrize(("user", "method", "path", "body"), UNKNOWN, ids=[f"{u[1]} {u[2]}" for u in UNKNOWN])
async def test_unknown_ids_are_404(api: Api, engine: AsyncEngine, user: str, method: str, path: str, body: Any) -> None:
    async with nothing_changes(api, engine, hospital_ids=(ANPING, QINGSHAN)):
        r = await api.call(user, method, path, json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "not_found" and set(r.json()) == {"error", "message", "details"}


@pytest.mark.parametrize(
    ("user", "path", "case", "body"),
    [
        ("chen.senior", "approve", "offered", {"discrepancy": "agree"}),  # nothing to approve yet
        ("wang.expert", "draft", "preliminary", REPORT),  # the preliminary is with the second reader
        ("zhao.anping", "cancel", "in_reading", {"comment": "changed my mind"}),  # too late to cancel
        ("zhao.anping", "acknowledge-receipt", "offered", {}),  # no report to acknowledge
        ("zhao.anping", "share-links", "offered", {}),  # no final report to share
    ],
)
async def test_wrong_state_is_409(
    api: Api, engine: AsyncEngine, cases: Cases, user: str, path: str, case: str, body: Any
) -> None:
    rid = getattr(cases, case)
    method = "PUT" if path == "draft" else "POST"
    async with nothing_changes(api, engine, referral_id=rid):
        r = await api.call(user, method, f"/api/referrals/{rid}/{path}", json=body)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "invalid_transition"


async def test_approving_an_offered_case_names_the_state(api: Api, cases: Cases) -> None:
    r = await api.call("chen.senior", "POST", f"/api/referrals/{cases.offered}/approve", json={"discrepancy": "agree"})
    assert r.status_code == 409
    assert r.json()["details"]["state"] == "offered" and r.json()["details"]["allowed_from"] == ["preliminary"]


# ---- the agreement and the patient's identity ---------------------------------------------------
async def test_routine_case_from_a_difficult_only_county_is_not_covered(api: Api, engine: AsyncEngine) -> None:
    qs = {"patient_id": "QS0001", "name": "赵云 Zhao Yun", "birth_date": "1985-07-09", "sex": "M"}
    async with nothing_changes(api, engine, hospital_ids=(QINGSHAN, ANPING)):
        r = await api.call("sun.qingshan", "POST", "/api/referrals", json=referral_body(patient=qs, difficult=False))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "not_covered_by_agreement"
    assert "difficult" in r.json()["message"]
    assert r.json()["details"]["agreements"][0]["service_mode"] == "difficult_only"


@pytest.mark.parametrize("change", [{"birth_date": "1955-07-02"}, {"sex": "F"}], ids=["birth-date", "sex"])
async def test_patient_registered_again_differently_is_409(
    api: Api, engine: AsyncEngine, cases: Cases, change: dict[str, str]
) -> None:
    before = await _patient(engine, PATIENT["patient_id"])
    async with nothing_changes(api, engine, hospital_ids=(ANPING,)):
        r = await api.call("zhao.anping", "POST", "/api/referrals", json=_with_patient(**change))
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "patient_identity_mismatch"
    assert r.json()["details"]["patient_id"] == PATIENT["patient_id"]
    assert await _patient(engine, PATIENT["patient_id"]) == before  # the registered identity is untouched


# ---- patient share links ------------------------------------------------------------------------
async def test_expired_link_is_410(api: Api, engine: AsyncEngine, cases: Cases, link: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(share_links)
            .where(share_links.c.id == link["link_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    async with nothing_changes(api, engine, referral_id=cases.returned):
        r = await api.call(None, "POST", f"/api/share/{link['token']}", json={"birth_date": PATIENT["birth_date"]})
    assert r.status_code == 410, r.text
    assert r.json()["error"] == "share_link_expired"
    assert await _outcomes(api, link) == ["share_link_expired"]


async def test_revoked_link_is_410(api: Api, engine: AsyncEngine, cases: Cases, link: dict[str, Any]) -> None:
    assert await api.ok(None, "POST", f"/api/share/{link['token']}", json={"birth_date": PATIENT["birth_date"]})
    revoked = await api.ok("zhao.anping", "POST", f"/api/share-links/{link['link_id']}/revoke")
    assert revoked["status"] == "share_link_revoked" and revoked["token"] is None
    async with nothing_changes(api, engine, referral_id=cases.returned):
        r = await api.call(None, "POST", f"/api/share/{link['token']}", json={"birth_date": PATIENT["birth_date"]})
    assert r.status_code == 410, r.text
    assert r.json()["error"] == "share_link_revoked"
    assert await _outcomes(api, link) == ["opened", "revoked", "share_link_revoked"]


async def test_wrong_birth_dates_lock_the_link(
    api: Api, engine: AsyncEngine, cases: Cases, link: dict[str, Any]
) -> None:
    url = f"/api/share/{link['token']}"
    async with nothing_changes(api, engine, referral_id=cases.returned):
        for _ in range(MAX_FAILED_ATTEMPTS):
            r = await api.call(None, "POST", url, json={"birth_date": WRONG_DATE})
            assert r.status_code == 403, r.text
            assert r.json()["error"] == "wrong_second_factor"
        right = await api.call(None, "POST", url, json={"birth_date": PATIENT["birth_date"]})
    assert right.status_code == 429, right.text
    assert right.json()["error"] == "share_link_locked"
    assert "reports" not in right.json()
    assert await _outcomes(api, link) == ["wrong_birth_date"] * MAX_FAILED_ATTEMPTS + ["share_link_locked"]


async def test_a_right_date_resets_the_count(api: Api, link: dict[str, Any]) -> None:
    url = f"/api/share/{link['token']}"
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        assert (await api.call(None, "POST", url, json={"birth_date": WRONG_DATE})).status_code == 403
    await api.ok(None, "POST", url, json={"birth_date": PATIENT["birth_date"]})
    assert (await api.call(None, "POST", url, json={"birth_date": WRONG_DATE})).status_code == 403
    await api.ok(None, "POST", url, json={"birth_date": PATIENT["birth_date"]})


async def test_concurrent_wrong_birth_dates_are_bounded_by_the_lock(api: Api, link: dict[str, Any]) -> None:
    url = f"/api/share/{link['token']}"
    tries = await asyncio.gather(*(api.call(None, "POST", url, json={"birth_date": WRONG_DATE}) for _ in range(20)))
    answers = [r.status_code for r in tries]
    assert set(answers) <= {403, 429}
    assert answers.count(403) <= MAX_FAILED_ATTEMPTS, f"{answers.count(403)} guesses were checked against the date"


@pytest.mark.parametrize(
    "token",
    ["garbage", "abc.def", "..", "A" * 22, "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAA", "链接.令牌", "x" * 3000],
    ids=["word", "two-parts", "dots", "bare-id", "forged-mac", "non-ascii", "very-long"],
)
async def test_garbage_token_is_404(api: Api, engine: AsyncEngine, cases: Cases, token: str) -> None:
    async with nothing_changes(api, engine, referral_id=cases.returned):
        r = await api.call(None, "POST", f"/api/share/{token}", json={"birth_date": PATIENT["birth_date"]})
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "not_found"


async def test_a_real_link_id_with_a_forged_signature_is_404(
    api: Api, engine: AsyncEngine, cases: Cases, link: dict[str, Any]
) -> None:
    link_id, _, mac = link["token"].partition(".")
    forged = f"{link_id}.{'A' * len(mac)}"
    r = await api.call(None, "POST", f"/api/share/{forged}", json={"birth_date": PATIENT["birth_date"]})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert await _outcomes(api, link) == []  # not even logged against the real link


# ---- text PostgreSQL cannot store ---------------------------------------------------------------
@pytest.fixture
async def raw_client(settings: Settings, engine: AsyncEngine, temporal_client: Client) -> AsyncIterator[Any]:
    """The same app, but a crash comes back as the 500 a browser would see instead of raising in the test."""
    app = create_app(settings, engine, temporal_client)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as client:
        yield client


async def test_nul_character_in_patient_name_is_422(api: Api, engine: AsyncEngine, raw_client: Any) -> None:
    headers = {"Authorization": f"Bearer {await api.token('zhao.anping')}"}
    body = referral_body(patient={**PATIENT, "patient_id": "BAD-NUL1", "name": "曹\u0000操"})
    async with nothing_changes(api, engine, hospital_ids=(ANPING,)):
        r = await raw_client.post("/api/referrals", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"


async def test_nul_character_in_clinical_question_is_422(
    api: Api, engine: AsyncEngine, temporal_client: Client
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    body = referral_body(patient=PATIENT, clinical_question="咳嗽 cough\u0000 two weeks")
    try:
        async with nothing_changes(api, engine, hospital_ids=(ANPING,)):
            async with asyncio.timeout(8):
                r = await api.call("zhao.anping", "POST", "/api/referrals", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "validation_failed"
    finally:
        await _terminate_stray_workflows(temporal_client, engine, started)


# ---- helpers ------------------------------------------------------------------------------------
async def _failed_attempts(engine: AsyncEngine, link_id: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(share_links.c.failed_attempts).where(share_links.c.id == link_id)) or 0)


async def _outcomes(api: Api, link: dict[str, Any]) -> list[str]:
    items = (await api.ok("zhao.anping", "GET", f"/api/share-links/{link['link_id']}/accesses"))["items"]
    return [a["outcome"] for a in items]


async def _patient(engine: AsyncEngine, patient_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(patients).where(patients.c.patient_id == patient_id))
        return [dict(r) for r in rows.mappings()]


async def _terminate_stray_workflows(client: Client, engine: AsyncEngine, since: datetime) -> None:
    """Referral workflows started since `since` that never wrote their projection row: end them."""
    from yilian.db.schema import referrals

    deadline = time.monotonic() + 5
    query = f'WorkflowType = "ReferralWorkflow" AND ExecutionStatus = "Running" AND StartTime > "{since.isoformat()}"'
    while time.monotonic() < deadline:
        stray = []
        async for wf in client.list_workflows(query):
            async with engine.connect() as conn:
                if await conn.scalar(select(referrals.c.id).where(referrals.c.id == wf.id)) is None:
                    stray.append(wf.id)
        for wid in stray:
            await client.get_workflow_handle(wid).terminate("test_bad_input: a workflow the bad input left behind")
        if stray:
            return
        await asyncio.sleep(0.2)
