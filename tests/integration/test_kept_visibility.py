"""The retrieve door keeps, for 2 s, that a person may see an instance and where its file is (imaging/retrieve.py
VisibleInstances), through the real API and PostgreSQL.

A kept answer is the database's byte for byte; a withdrawn grant (here a patient's consent to another hospital) is
served no longer than the window after the withdrawal; another caller never reuses a kept row; a QR grant keeps
nothing (it is read on every request, so its revocation is at once); a kept instance whose study was deleted is a
404, as without the kept row.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.cloud_film import Film, two_hospital_patient
from tests.support.dicom_gen import ct_series
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.api.app import create_app
from yilian.api.deps import Resources
from yilian.config import Settings
from yilian.db.queries import retention
from yilian.imaging.retrieve import VisibleInstances

pytestmark = pytest.mark.integration

FILM = "/api/cloud-film"
AS_STORED = {"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'}
JPEG = {"Accept": "image/jpeg"}
WINDOW = 2.0  # VisibleInstances' ttl, PrincipalCache's


@dataclass(frozen=True)
class Door:
    api: Api  # the door's app (dicomweb_door on, as deployed)
    routes: httpx.AsyncClient  # the same database through the routes alone (no door, nothing kept)
    resources: Resources  # the door app's: its kept rows


@pytest.fixture(scope="module")
async def door(settings: Settings, engine: AsyncEngine, temporal_client: Client, worker: None) -> AsyncIterator[Door]:
    apps = [create_app(settings.model_copy(update={"dicomweb_door": on}), engine, temporal_client) for on in (1, 0)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") for app in apps]
    yield Door(Api(clients[0]), clients[1], apps[0].state.resources)
    for client in clients:
        await client.aclose()


@pytest.fixture(scope="module")
async def film(door: Door, engine: AsyncEngine) -> Film:
    return await two_hospital_patient(door.api, engine)


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(door: Door) -> Iterator[Clock]:
    kept = door.resources.visible
    real, kept.clock = kept.clock, Clock()
    yield kept.clock  # type: ignore[misc]
    kept.clock = real


async def _instance(api: Api, user: str, study: str) -> str:
    r = await api.call(user, "GET", f"/dicomweb/studies/{study}/instances")
    assert r.status_code == 200, r.text
    [found] = r.json()
    series, sop = found["0020000E"]["Value"][0], found["00080018"]["Value"][0]
    return f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"


def _boundary_free(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    found = re.search(r"boundary=([^;\s]+)", r.headers.get("content-type", ""))
    headers, body = list(r.headers.multi_items()), r.content
    if found is not None:
        b = found.group(1).strip('"')
        headers, body = [(k, v.replace(b, "B")) for k, v in headers], body.replace(b.encode(), b"B")
    return r.status_code, headers, body


async def _consent(door: Door, film: Film, given: bool) -> None:
    r = await door.api.client.post(f"{FILM}/consent" if given else f"{FILM}/consent/withdraw", headers=film.auth)
    assert r.status_code == 200 and r.json()["granted"] is given, r.text


async def test_a_kept_answer_is_the_databases_byte_for_byte(door: Door) -> None:
    [image] = ct_series(n_slices=1, rows=48, cols=48, patient_id="KEPT-1")
    r = await door.api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body([image]),
                            headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    instance = await _instance(door.api, "zhao.anping", str(image.StudyInstanceUID))
    auth = {"Authorization": f"Bearer {await door.api.token('zhao.anping')}"}
    for path, accept, query in (
        ("/frames/1", AS_STORED, {}),
        ("/frames/1", {}, {}),
        ("/rendered", {"Accept": "image/png"}, {"window": "40,400,linear"}),
        ("/frames/1/rendered", {}, {"quality": "80"}),
        ("/frames/2", AS_STORED, {}),  # a refusal of a kept instance: the same 404
        ("/frames/1", {"Accept": "image/jp2"}, {}),  # and the same 406
    ):
        url, headers = instance + path, {**auth, **accept}
        first = await door.api.client.get(url, headers=headers, params=query)  # from the database, then kept
        held = len(door.resources.visible)
        kept = await door.api.client.get(url, headers=headers, params=query)
        assert len(door.resources.visible) == held > 0
        routed = await door.routes.get(url, headers=headers, params=query)  # the routes: the database every time
        assert _boundary_free(kept) == _boundary_free(first) == _boundary_free(routed), path


async def test_a_withdrawn_consent_is_served_until_the_window_ends_and_no_longer(
    door: Door, film: Film, clock: Clock
) -> None:
    frame = await _instance(door.api, "zhao.anping", film.anping_study) + "/frames/1"
    await _consent(door, film, True)
    assert (await door.api.call("sun.qingshan", "GET", frame, headers=AS_STORED)).status_code == 200
    await _consent(door, film, False)
    clock.now += WINDOW - 0.01
    assert (await door.api.call("sun.qingshan", "GET", frame, headers=AS_STORED)).status_code == 200  # kept
    clock.now += 0.01
    r = await door.api.call("sun.qingshan", "GET", frame, headers=AS_STORED)
    assert r.status_code == 404, f"a withdrawn consent's frame was served {WINDOW} s after the query that allowed it"


async def test_a_withdrawn_consent_ends_within_the_window_by_the_real_clock(door: Door, film: Film) -> None:
    frame = await _instance(door.api, "zhao.anping", film.anping_study) + "/frames/1"
    asked = ((frame, AS_STORED), (frame + "/rendered", JPEG))
    await _consent(door, film, True)
    for url, accept in asked:
        assert (await door.api.call("sun.qingshan", "GET", url, headers=accept)).status_code == 200
    await _consent(door, film, False)
    withdrawn = time.monotonic()  # every row kept for these was asked before this
    for url, accept in asked:
        while True:
            sent = time.monotonic()
            status = (await door.api.call("sun.qingshan", "GET", url, headers=accept)).status_code
            if status != 200:
                break
            late = sent - withdrawn
            assert late < WINDOW, f"a withdrawn consent's {url.rsplit('/', 1)[1]} was served {late:.2f} s after it"
        assert status == 404


async def test_another_caller_never_reuses_a_kept_row(door: Door, film: Film) -> None:
    stranger = await _instance(door.api, "zhao.anping", film.stranger_study)
    for path, accept in (("/frames/1", AS_STORED), ("/rendered", JPEG)):
        assert (await door.api.call("zhao.anping", "GET", stranger + path, headers=accept)).status_code == 200
        # Kept for zhao.anping this very moment; no consent reaches the other patient's study from Qingshan.
        assert (await door.api.call("sun.qingshan", "GET", stranger + path, headers=accept)).status_code == 404
        assert (await door.api.call("wang.expert", "GET", stranger + path, headers=accept)).status_code == 404


async def test_a_qr_grant_keeps_nothing_and_its_revocation_is_at_once(door: Door, film: Film) -> None:
    made = await door.api.client.post(f"{FILM}/grants", headers=film.auth,
                                      json={"study_instance_uid": film.anping_study, "hours": 1})  # fmt: skip
    assert made.status_code == 201, made.text
    opened = await door.api.ok(None, "POST", f"/api/film-grants/{made.json()['url'].rsplit('/', 1)[1]}/open")
    viewer = {"Authorization": f"Bearer {opened['viewer_token']}", **AS_STORED}
    frame = await _instance(door.api, "zhao.anping", film.anping_study) + "/frames/1"
    held = len(door.resources.visible)
    for _ in range(2):
        assert (await door.api.client.get(frame, headers=viewer)).status_code == 200
    assert len(door.resources.visible) == held, "a QR grant's answer was kept"
    await door.api.client.post(f"{FILM}/grants/{made.json()['id']}/revoke", headers=film.auth)
    assert (await door.api.client.get(frame, headers=viewer)).status_code == 401


async def test_a_kept_instance_whose_study_was_deleted_is_not_found(door: Door, engine: AsyncEngine) -> None:
    [image] = ct_series(n_slices=1, rows=40, cols=40, patient_id="KEPT-GONE")
    r = await door.api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body([image]),
                            headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    study = str(image.StudyInstanceUID)
    instance = await _instance(door.api, "zhao.anping", study)
    assert (await door.api.call("zhao.anping", "GET", instance + "/frames/1", headers=AS_STORED)).status_code == 200
    async with engine.begin() as conn:  # as the retention route deletes a study: rows, then the unshared blobs
        deleted, keys = await retention.delete_study(conn, study)
    assert deleted == 1 and keys
    for key in keys:
        door.resources.blobs.delete(key)
    for path, accept in (("/frames/1", AS_STORED), ("/rendered", JPEG)):  # kept rows whose file is gone
        r = await door.api.call("zhao.anping", "GET", instance + path, headers=accept)
        assert r.status_code == 404, f"{path}: {r.status_code} {r.text[:200]}"


def test_the_window_is_principal_caches() -> None:
    from yilian.api.deps import PrincipalCache

    assert VisibleInstances().ttl == PrincipalCache().ttl == WINDOW
