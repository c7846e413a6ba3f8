"""The retrieve door (api/dicomweb/retrieve_door.py) answers frame and rendered GETs exactly as their routes do.

The same app is built twice on the session's database, once with the door and once without (`dicomweb_door` off: the
routes answer), both allowing one other origin. Every request below goes to both: status, headers (CORS and the
edge's among them) and body must be the same byte for byte, multipart boundaries aside (each answer draws its own);
the request is counted under the same route template; and only the door's app counts it as the door's. The door
around an app that fails when entered shows it answers without the router and passes on what it must.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.doors import BAD_CREDENTIALS, NoRouter, door_count, with_and_without_doors
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.api.app import create_app
from yilian.api.dicomweb.door import ANSWERED, PASSED
from yilian.api.dicomweb.retrieve_door import RetrieveDoor
from yilian.api.security import issue_grant_token, issue_patient_token
from yilian.config import Settings

pytestmark = pytest.mark.integration

ORIGIN = "https://viewer.example.org"
INSTANCE = "/dicomweb/studies/{study}/series/{series}/instances/{sop}"
FRAMES = INSTANCE + "/frames/{frame_list}"
RENDERED = INSTANCE + "/rendered"
FRAME_RENDERED = FRAMES + "/rendered"
AS_STORED = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
GOOD = "1.2.826.0.1.3680043.8.498.1"


@dataclass(frozen=True)
class Archive:
    ct: dict[str, str]  # a native 64x64 CT slice of h-anping
    rle: dict[str, str]  # a two-frame RGB RLE instance of h-anping
    store_key: str  # h-anping's gateway key: stores, never retrieves


@pytest.fixture(scope="module")
async def archive(api: Api) -> Archive:
    [ct] = ct_series(n_slices=1, rows=64, cols=64, patient_id="DOOR-1")
    path = get_testdata_file("SC_rgb_rle_2frame.dcm")
    assert path is not None
    rle = dcmread(path)
    rle.PatientID, rle.StudyInstanceUID, rle.SeriesInstanceUID = "DOOR-2", generate_uid(), generate_uid()
    rle.SOPInstanceUID = rle.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body([ct, to_bytes(rle)]),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "door: store only"})

    def ids(ds: object) -> dict[str, str]:
        return {n: str(getattr(ds, f"{k}InstanceUID")) for n, k in (("study", "Study"), ("series", "Series"),
                                                                     ("sop", "SOP"))}  # fmt: skip

    return Archive(ids(ct), ids(rle), key["api_key"])


@pytest.fixture(scope="module")
async def both(
    api: Api, settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> AsyncIterator[dict[bool, httpx.AsyncClient]]:
    """The app with the door (True) and without it (False)."""
    async with with_and_without_doors(settings, engine, temporal_client, ORIGIN) as clients:
        yield clients


def _served(method: str, template: str, status: int) -> float:
    labels = {"method": method, "route": template, "status": str(status)}
    return REGISTRY.get_sample_value("yilian_http_request_duration_seconds_count", labels) or 0.0


def _boundary_free(r: httpx.Response) -> tuple[list[tuple[str, str]], bytes]:
    """The answer's headers and body with its multipart boundary (random per answer) replaced by one name."""
    found = re.search(r"boundary=([^;\s]+)", r.headers.get("content-type", ""))
    headers, body = list(r.headers.multi_items()), r.content
    if found is not None:
        b = found.group(1).strip('"')
        headers = [(k, v.replace(b, "BOUNDARY")) for k, v in headers]
        body = body.replace(b.encode(), b"BOUNDARY")
    return headers, body


def _token(settings: Settings, kind: str) -> str:
    if kind == "grant":  # a genuine QR token whose grant does not exist (withdrawn or never made)
        return issue_grant_token(settings, "no-such-grant", datetime.now(UTC) + timedelta(hours=1))
    return issue_patient_token(settings, "no-such-patient", "phone")[0]  # a patient's token: no staff token


# (caller, path, Accept or None, query, status). Callers: a person's user name, "anon", or a header value of
# `Authorization` by its name below. Paths name "ct" or "rle" for the instance's UIDs.
CASES = [
    # frames: every Accept form the route negotiates
    ("zhao.anping", "ct:frames/1", AS_STORED, {}, 200),
    ("zhao.anping", "ct:frames/1", None, {}, 200),
    ("zhao.anping", "ct:frames/1", "*/*", {}, 200),
    ("zhao.anping", "ct:frames/1", "application/octet-stream", {}, 200),
    (
        "zhao.anping",
        "ct:frames/1",
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1',
        {},
        200,
    ),  # fmt: skip
    ("zhao.anping", "ct:frames/1,1", AS_STORED, {}, 200),
    (
        "zhao.anping",
        "ct:frames/1",
        'multipart/related; type="image/jp2"; q=0.9, multipart/related; type="application/octet-stream"; q=0.5',
        {},
        200,
    ),  # fmt: skip
    ("zhao.anping", "rle:frames/1,2", None, {}, 200),  # decoded to native pixels
    ("zhao.anping", "rle:frames/2,1", 'multipart/related; type="image/dicom-rle"', {}, 200),  # as stored
    ("zhao.anping", "rle:frames/1", 'multipart/related; type="image/x-dicom-rle"', {}, 200),  # the former name
    ("zhao.anping", "rle:frames/2", AS_STORED, {}, 200),
    ("admin", "ct:frames/1", AS_STORED, {}, 200),  # no hospital: sees the whole archive
    ("zhao.anping", "ct:frames/1", 'multipart/related; type="image/jp2"', {}, 406),
    (
        "zhao.anping",
        "rle:frames/1",
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.90',
        {},
        406,
    ),  # fmt: skip
    ("zhao.anping", "ct:frames/1", "multipart/related; type", {}, 400),  # an unreadable Accept
    ("zhao.anping", "ct:frames/2", AS_STORED, {}, 404),
    ("zhao.anping", "rle:frames/1,3", AS_STORED, {}, 404),
    ("zhao.anping", "ct:frames/0", AS_STORED, {}, 400),
    ("zhao.anping", "ct:frames/1,x", AS_STORED, {}, 400),
    ("zhao.anping", "ct:frames/99999999999999999999", AS_STORED, {}, 422),  # the edge's refusal, before either
    # the caller, in the routes' order: UIDs, then who, then what they may see
    ("zhao.anping", "bad-study:frames/1", AS_STORED, {}, 400),
    ("anon", "bad-series:frames/1", AS_STORED, {}, 400),
    ("anon", "bad-sop:rendered", None, {}, 400),
    ("anon", "ct:frames/1", AS_STORED, {}, 401),
    ("basic", "ct:frames/1", AS_STORED, {}, 401),
    ("garbage", "ct:frames/1", AS_STORED, {}, 401),
    ("badkey", "ct:frames/1", AS_STORED, {}, 401),
    ("grant", "ct:frames/1", AS_STORED, {}, 401),
    ("patient", "ct:rendered", None, {}, 401),
    ("storekey", "ct:frames/1", AS_STORED, {}, 403),
    ("storekey", "ct:rendered", None, {}, 403),
    ("sun.qingshan", "ct:frames/1", AS_STORED, {}, 404),  # another county's study: as if there were none
    ("sun.qingshan", "rle:frames/1/rendered", None, {}, 404),
    ("zhao.anping", "unknown-study:frames/1", AS_STORED, {}, 404),
    ("zhao.anping", "unknown-sop:frames/1", AS_STORED, {}, 404),
    # rendered: instance and frame, media types, parameters
    ("zhao.anping", "ct:rendered", None, {}, 200),
    ("zhao.anping", "ct:rendered", "image/png", {}, 200),
    ("zhao.anping", "ct:rendered", "image/gif", {}, 200),
    ("zhao.anping", "ct:rendered", "image/*", {}, 200),
    ("zhao.anping", "ct:rendered", "application/pdf, image/png", {}, 200),
    ("zhao.anping", "ct:rendered", None, {"window": "-600,1500,linear", "quality": "60"}, 200),
    ("zhao.anping", "ct:rendered", None, {"viewport": "32,32"}, 200),
    ("zhao.anping", "rle:frames/2/rendered", "image/png", {}, 200),
    ("zhao.anping", "ct:rendered", "application/pdf", {}, 406),
    ("zhao.anping", "ct:rendered", "image/png; q", {}, 400),
    ("zhao.anping", "ct:rendered", None, {"window": "40,400"}, 400),
    ("zhao.anping", "ct:rendered", None, {"quality": "101"}, 400),
    ("zhao.anping", "rle:frames/3/rendered", None, {}, 404),
    ("zhao.anping", "rle:frames/1,2/rendered", None, {}, 400),
    ("zhao.anping", "ct:frames/0/rendered", None, {}, 400),
    ("zhao.anping", "unknown-study:rendered", None, {}, 404),
]


def _url(archive: Archive, spec: str) -> tuple[str, str]:
    """(URL, route template) of `which:rest`: `rest` after the path of the instance `which` names."""
    which, _, rest = spec.partition(":")
    ids = dict(archive.rle if which == "rle" else archive.ct)
    if which == "bad-study":
        ids["study"] = "1.2.abc"
    elif which == "bad-series":
        ids["series"] = "1..2"
    elif which == "bad-sop":
        ids["sop"] = "1" * 30 + "." + "2" * 40
    elif which == "unknown-study":
        ids["study"] = GOOD
    elif which == "unknown-sop":
        ids["sop"] = GOOD
    template = RENDERED if rest == "rendered" else FRAME_RENDERED if rest.endswith("/rendered") else FRAMES
    return INSTANCE.format(**ids) + "/" + rest, template


async def _headers(api: Api, settings: Settings, archive: Archive, caller: str, accept: str | None) -> dict[str, str]:
    headers = {"Origin": ORIGIN}
    if accept is not None:
        headers["Accept"] = accept
    values = {**BAD_CREDENTIALS, "storekey": f"Bearer {archive.store_key}"}
    if caller in ("grant", "patient"):
        headers["Authorization"] = f"Bearer {_token(settings, caller)}"
    elif caller in values:
        if values[caller] is not None:
            headers["Authorization"] = str(values[caller])
    else:
        headers["Authorization"] = f"Bearer {await api.token(caller)}"
    return headers


@pytest.mark.parametrize(
    ("caller", "spec", "accept", "query", "status"),
    [pytest.param(*case, id=f"{case[0]} {case[1]} {case[2]} {case[3]} {case[4]}") for case in CASES],
)
async def test_the_door_answers_as_the_route_does(
    api: Api,
    settings: Settings,
    archive: Archive,
    both: dict[bool, httpx.AsyncClient],
    caller: str,
    spec: str,
    accept: str | None,
    query: dict[str, str],
    status: int,
) -> None:
    url, template = _url(archive, spec)
    headers = await _headers(api, settings, archive, caller, accept)
    answers = {}
    for door, client in both.items():
        before = door_count(template, ANSWERED), _served("GET", template, status)
        r = await client.get(url, headers=headers, params=query)
        assert r.status_code == status, f"{'door' if door else 'router'}: {r.status_code} {r.text[:300]}"
        edge_refusal = status == 422  # the edge refuses before the door (and the router) see the request
        assert door_count(template, ANSWERED) - before[0] == (1 if door and not edge_refusal else 0)
        if not edge_refusal:
            assert _served("GET", template, status) - before[1] == 1  # the same metrics label either way
        answers[door] = r
    assert answers[True].headers["access-control-allow-origin"] == ORIGIN
    assert answers[True].headers["x-content-type-options"] == "nosniff"
    assert _boundary_free(answers[True]) == _boundary_free(answers[False])
    if status >= 400:
        assert answers[True].content == answers[False].content  # refusals byte for byte, no boundary to draw
        assert set(answers[True].json()) == {"error", "message", "details"}


async def test_duplicate_headers_are_read_as_the_router_reads_them(
    api: Api, archive: Archive, both: dict[bool, httpx.AsyncClient]
) -> None:
    """Two Accept and two Authorization headers: the first of each counts, through the door as through the router."""
    url, _ = _url(archive, "ct:frames/1")
    token = await api.token("zhao.anping")
    headers = [("accept", 'multipart/related; type="image/jp2"'), ("accept", AS_STORED),
               ("authorization", f"Bearer {token}"), ("authorization", "Bearer not-a-token")]  # fmt: skip
    door, router = [await both[flag].get(url, headers=headers) for flag in (True, False)]
    assert door.status_code == router.status_code == 406 and door.content == router.content
    headers = [(k, v) for k, v in reversed(headers)]
    door, router = [await both[flag].get(url, headers=headers) for flag in (True, False)]
    assert door.status_code == router.status_code == 401 and door.content == router.content


async def test_what_the_door_passes_on_reaches_the_router(
    archive: Archive, both: dict[bool, httpx.AsyncClient]
) -> None:
    """HEAD (405 from the router, which routes only GET) and a GET with a body go the long way, counted as passed."""
    url, template = _url(archive, "ct:frames/1")
    passed, answered = door_count(template, PASSED), door_count(template, ANSWERED)
    head = [await both[flag].head(url) for flag in (True, False)]
    assert head[0].status_code == head[1].status_code == 405
    with_body = [await both[flag].request("GET", url, content=b"x") for flag in (True, False)]
    assert with_body[0].status_code == with_body[1].status_code == 401
    assert with_body[0].content == with_body[1].content
    assert (door_count(template, PASSED), door_count(template, ANSWERED)) == (passed + 2, answered)


async def test_the_door_answers_without_entering_the_router(
    api: Api, settings: Settings, engine: AsyncEngine, temporal_client: Client, archive: Archive
) -> None:
    resources = create_app(settings, engine, temporal_client).state.resources
    inner = NoRouter()
    door = RetrieveDoor(inner, resources)
    token = await api.token("zhao.anping")
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://yilian.test") as client:
        frames = await client.get(_url(archive, "rle:frames/1,2")[0], headers={**auth, "Accept": AS_STORED})
        assert frames.status_code == 200 and frames.headers["cache-control"] == "private, no-transform"
        assert frames.headers["content-type"].startswith('multipart/related; type="image/dicom-rle"')
        assert frames.content.count(b"Content-Type: image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5") == 2
        image = await client.get(_url(archive, "ct:rendered")[0], headers=auth)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content[:2] == b"\xff\xd8"
        refused = await client.get(_url(archive, "ct:frames/1")[0])
        assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
        assert inner.entered == []
        # What is not the door's reaches the app behind it untouched.
        await client.head(_url(archive, "ct:frames/1")[0], headers=auth)
        await client.get(_url(archive, "ct:rendered")[0].replace("/rendered", "/thumbnail"), headers=auth)
        await client.get("/api/health")
    assert [e.split(" ")[0] for e in inner.entered] == ["HEAD", "GET", "GET"]
    assert inner.entered[1].endswith("/thumbnail") and inner.entered[2] == "GET /api/health"
