"""The STOW-RS door (api/dicomweb/stow_door.py) answers `POST /dicomweb/studies[/{study}]` exactly as the routes do.

The same app is built twice on the session's database, once with the doors and once without (`dicomweb_door` off:
the routes answer), both allowing one other origin. Every request below goes to both. A request that stores sends
each app its own instances, which differ from the other's only in one digit of their UIDs (the same lengths, so the
same Content-Length): the router's answer, that digit put back, must equal the door's byte for byte, status and
headers (CORS and the edge's among them) included; the request is counted under the same route template, only the
door's app counts it as the door's, and what was stored (index rows, audit events) is the same. The door around an
app that fails when entered shows it answers without the router and passes on what it must.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.doors import BAD_CREDENTIALS, NoRouter, door_count, with_and_without_doors
from tests.support.stow import BOUNDARY, CONTENT_TYPE, stow_body
from yilian.api.app import create_app
from yilian.api.dicomweb.door import ANSWERED, PASSED
from yilian.api.dicomweb.stow_door import StowDoor
from yilian.api.security import issue_token
from yilian.config import Settings
from yilian.db.schema import dicom_instances, dicom_studies

pytestmark = pytest.mark.integration

ORIGIN = "https://modality.example.org"
STUDIES, STUDY = "/dicomweb/studies", "/dicomweb/studies/{study}"
RUN = f"{secrets.randbelow(9 * 10**7) + 10**7}"  # 8 digits: this run's UIDs are no earlier run's
DOOR, ROUTER = "1", "2"  # the digit that tells the two sides' UIDs apart


def uid(side: str, case: int, n: int) -> str:
    """A UID of fixed length: this run's, the side's, the case's, its n-th."""
    return f"1.2.826.0.1.3680043.8.498.{RUN}{side}{case:03d}{n:03d}"


def slices(side: str, case: int, count: int, *, study: int = 0, first: int = 10) -> list[Dataset]:
    """`count` 32x32 CT slices of one series whose UIDs are the side's (study: the case's UID number `study`)."""
    images = ct_series(n_slices=count, rows=32, cols=32, patient_id=f"STOWDOOR-{case}")
    for i, ds in enumerate(images):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = uid(side, case, study), uid(side, case, 1)
        ds.FrameOfReferenceUID = uid(side, case, 2)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid(side, case, first + i)
    return images


@dataclass(frozen=True)
class Case:
    """A request: who sends it, to which path, what body under which Content-Type, and what is stored before."""

    name: str
    caller: str  # a person's user name, "anon", or a credential named in `_authorization`
    status: int
    body: Callable[[str, int], bytes] = lambda side, case: stow_body(slices(side, case, 2))
    path: Callable[[str, int], str] = lambda side, case: STUDIES
    content_type: str = CONTENT_TYPE
    before: Callable[[str, int], tuple[str, bytes]] | None = None  # (user, body) stored first, through the router


def _in_study(side: str, case: int) -> str:
    return STUDY.format(study=uid(side, case, 0))


def _with_parts(*parts: tuple[str, bytes]) -> bytes:
    out = b"".join(f"--{BOUNDARY}\r\nContent-Type: {kind}\r\n\r\n".encode() + data + b"\r\n" for kind, data in parts)
    return out + f"--{BOUNDARY}--\r\n".encode()


CASES = [
    Case("good", "zhao.anping", 200),
    Case("good, one study's path", "zhao.anping", 200, path=_in_study),
    Case("good, a coordinator", "liu.coord", 200),
    Case("good, the hospital's gateway key", "gateway", 200),
    Case("ten slices", "zhao.anping", 200, body=lambda s, c: stow_body(slices(s, c, 10))),
    Case(
        "another study than the path's",
        "zhao.anping",
        409,
        body=lambda s, c: stow_body(slices(s, c, 2, study=2)),
        path=_in_study,
    ),  # fmt: skip
    Case(
        "some of another study than the path's",
        "zhao.anping",
        202,
        body=lambda s, c: stow_body([*slices(s, c, 1), *slices(s, c, 1, study=2, first=20)]),
        path=_in_study,
    ),  # fmt: skip
    Case(
        "a duplicate instance",
        "zhao.anping",
        200,
        before=lambda s, c: ("zhao.anping", stow_body(slices(s, c, 1))),
    ),  # fmt: skip
    Case(
        "the same UID, other bytes",
        "zhao.anping",
        409,
        body=lambda s, c: stow_body([_renamed(slices(s, c, 1)[0])]),
        before=lambda s, c: ("zhao.anping", stow_body(slices(s, c, 1))),
    ),  # fmt: skip
    Case(
        "another hospital's study",
        "sun.qingshan",
        409,
        body=lambda s, c: stow_body(slices(s, c, 1, first=30)),
        before=lambda s, c: ("zhao.anping", stow_body(slices(s, c, 1))),
    ),  # fmt: skip
    Case("a part that is not DICOM", "zhao.anping", 400, body=lambda s, c: stow_body([b"not a DICOM file" * 20])),
    Case(
        "a part of another type, and a good one",
        "zhao.anping",
        202,
        body=lambda s, c: _with_parts(("text/plain", b"hello"), ("application/dicom", to_bytes(slices(s, c, 1)[0]))),
    ),  # fmt: skip
    Case("no part", "zhao.anping", 400, body=lambda s, c: f"--{BOUNDARY}--\r\n".encode()),
    Case(
        "a boundary the body does not use",
        "zhao.anping",
        400,
        body=lambda s, c: stow_body(slices(s, c, 1), boundary="another-boundary"),
    ),  # fmt: skip
    Case("a body cut short", "zhao.anping", 400, body=lambda s, c: stow_body(slices(s, c, 2))[:-200]),
    Case("no boundary", "zhao.anping", 400, content_type='multipart/related; type="application/dicom"'),
    Case("not multipart", "zhao.anping", 415, content_type="application/dicom"),
    Case("a malformed Content-Type", "zhao.anping", 415, content_type='multipart/related; type="appl'),
    Case("no Content-Type", "zhao.anping", 415, content_type=""),
    Case("a bad study UID in the path", "anon", 400, path=lambda s, c: STUDY.format(study="1.2.abc")),
    Case("a bad study UID, signed in", "zhao.anping", 400, path=lambda s, c: STUDY.format(study="1." + "2" * 70)),
    Case("no token", "anon", 401),
    Case("basic authentication", "basic", 401),
    Case("a token that is no token", "garbage", 401),
    Case("an expired token", "expired", 401),
    Case("an unknown API key", "badkey", 401),
    Case("an expert", "wang.expert", 403),
    Case("the admin (no hospital)", "admin", 403),
]


def _renamed(ds: Dataset) -> Dataset:
    ds.PatientName = "Other^Name"  # the same UID with other contents: a conflict
    return ds


@pytest.fixture(scope="module")
async def both(
    settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The app with the doors (DOOR) and without them (ROUTER)."""
    async with with_and_without_doors(settings, engine, temporal_client, ORIGIN) as clients:
        yield {DOOR: clients[True], ROUTER: clients[False]}


@pytest.fixture(scope="module")
async def gateway_key(api: Api) -> str:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "stow door"})
    return str(key["api_key"])


async def _authorization(api: Api, settings: Settings, caller: str, gateway_key: str) -> dict[str, str]:
    if caller == "expired":
        past = settings.model_copy(update={"jwt_ttl_minutes": -5})
        return {"Authorization": f"Bearer {issue_token(past, 'zhao.anping', 'county_doctor', 'h-anping', 0)[0]}"}
    fixed = {**BAD_CREDENTIALS, "gateway": f"Bearer {gateway_key}"}
    if caller in fixed:
        value = fixed[caller]
        return {} if value is None else {"Authorization": value}
    return {"Authorization": f"Bearer {await api.token(caller)}"}


def _served(template: str, status: int) -> float:
    labels = {"method": "POST", "route": template, "status": str(status)}
    return REGISTRY.get_sample_value("yilian_http_request_duration_seconds_count", labels) or 0.0


def _as_door(value: str) -> str:
    """The router's side's text with its UIDs written as the door's side's."""
    return value.replace(f"498.{RUN}{ROUTER}", f"498.{RUN}{DOOR}")


async def _stored(engine: AsyncEngine, side: str, case: int) -> list[tuple[Any, ...]]:
    """What this case stored on one side, as the door's side would name it: each instance's index row (who sent
    it, by which door, its DICOM JSON) with its study's owner and counts."""
    prefix = f"1.2.826.0.1.3680043.8.498.{RUN}{side}{case:03d}"
    i, s = dicom_instances.c, dicom_studies.c
    query = (
        select(
            i.sop_instance_uid,
            i.series_instance_uid,
            i.study_instance_uid,
            i.sop_class_uid,
            i.size,
            i.origin,
            i.received_by,
            i.metadata,
            s.hospital_id,
            s.number_of_instances,
            s.total_bytes,
        )  # fmt: skip
        .join(dicom_studies, s.study_instance_uid == i.study_instance_uid)
        .where(i.sop_instance_uid.startswith(prefix))
        .order_by(i.sop_instance_uid)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [tuple(_as_door(v) if isinstance(v, str) else v for v in row) for row in rows]


@pytest.mark.parametrize("number", range(len(CASES)), ids=[case.name for case in CASES])
async def test_the_door_answers_as_the_routes_do(
    api: Api,
    settings: Settings,
    engine: AsyncEngine,
    both: dict[str, httpx.AsyncClient],
    gateway_key: str,
    number: int,
) -> None:
    case = CASES[number]
    answers = {}
    for side, client in both.items():
        if case.before is not None:
            user, body = case.before(side, number)
            r = await api.call(user, "POST", STUDIES, content=body, headers={"Content-Type": CONTENT_TYPE})
            assert r.status_code == 200, r.text
        path = case.path(side, number)
        template = STUDIES if path == STUDIES else STUDY
        headers = {"Origin": ORIGIN, **await _authorization(api, settings, case.caller, gateway_key)}
        if case.content_type:
            headers["Content-Type"] = case.content_type
        counted, served = door_count(template, ANSWERED), _served(template, case.status)
        r = await client.post(path, content=case.body(side, number), headers=headers)
        assert r.status_code == case.status, f"{'door' if side == DOOR else 'router'}: {r.status_code} {r.text[:300]}"
        assert door_count(template, ANSWERED) - counted == (1 if side == DOOR else 0)
        assert _served(template, case.status) - served == 1  # the same metrics label either way
        answers[side] = r
    door, router = answers[DOOR], answers[ROUTER]
    assert door.headers["access-control-allow-origin"] == ORIGIN
    assert door.headers["x-content-type-options"] == "nosniff"
    assert list(door.headers.multi_items()) == [(k, _as_door(v)) for k, v in router.headers.multi_items()]
    assert door.content == _as_door(router.content.decode()).encode()
    stored = await _stored(engine, DOOR, number)
    assert stored == await _stored(engine, ROUTER, number)
    assert _said_stored(door.json()) <= {row[0] for row in stored}  # the rows compared are those of this request


def _said_stored(body: dict[str, Any]) -> set[str]:
    """The SOP Instance UIDs an answer says were stored: its referenced instances, or those before an error."""
    referenced = body.get("00081199", {}).get("Value", [])
    before_error = (body.get("details") or {}).get("stored_before_the_error", [])
    return {item["00081155"]["Value"][0] for item in referenced} | set(before_error)


async def test_a_root_path_goes_the_long_way(
    api: Api, settings: Settings, engine: AsyncEngine, temporal_client: Client, both: dict[str, httpx.AsyncClient]
) -> None:
    """A POST under a root path is passed on to the router (counted so); a GET of /dicomweb/studies is QIDO's, not
    the door's (not counted)."""
    headers = {"Authorization": f"Bearer {await api.token('zhao.anping')}", "Content-Type": CONTENT_TYPE}
    passed, answered = door_count(STUDIES, PASSED), door_count(STUDIES, ANSWERED)
    app = create_app(settings, engine, temporal_client)
    transport = httpx.ASGITransport(app=app, root_path="/mounted")
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as mounted:
        r = await mounted.post(STUDIES, content=stow_body(slices(DOOR, 900, 1)), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["00081190"]["Value"] == [f"http://yilian.test/mounted{STUDIES}/{uid(DOOR, 900, 0)}"]
    query = await both[DOOR].get(STUDIES, headers=headers, params={"PatientID": "STOWDOOR-900"})
    assert query.status_code == 200
    assert (door_count(STUDIES, PASSED), door_count(STUDIES, ANSWERED)) == (passed + 1, answered)


async def test_the_door_answers_without_entering_the_router(
    api: Api, settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> None:
    resources = create_app(settings, engine, temporal_client).state.resources
    inner = NoRouter()
    auth = {"Authorization": f"Bearer {await api.token('zhao.anping')}", "Content-Type": CONTENT_TYPE}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=StowDoor(inner, resources)), base_url="http://yilian.test"
    ) as client:
        stored = await client.post(STUDIES, content=stow_body(slices(DOOR, 901, 2)), headers=auth)
        assert stored.status_code == 200 and len(stored.json()["00081199"]["Value"]) == 2
        in_study = await client.post(_in_study(DOOR, 902), content=stow_body(slices(DOOR, 902, 1)), headers=auth)
        assert in_study.status_code == 200
        refused = await client.post(STUDIES, content=b"", headers={"Content-Type": CONTENT_TYPE})
        assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
        assert inner.entered == []
        # What is not the door's reaches the app behind it untouched.
        await client.get(STUDIES, headers=auth)
        await client.put(STUDIES, headers=auth)
        await client.post(STUDIES + "/", headers=auth)
        await client.post(_in_study(DOOR, 902) + "/series", headers=auth)
    assert inner.entered == [
        f"GET {STUDIES}", f"PUT {STUDIES}", f"POST {STUDIES}/", f"POST {_in_study(DOOR, 902)}/series"
    ]  # fmt: skip
