"""The retrieve door keeps, for 2 s, that a person may see an instance and where its file is (imaging/retrieve.py
VisibleInstances), through the real API and PostgreSQL.

A kept answer is the database's byte for byte; a withdrawn grant (here a patient's consent to another hospital) is
served no longer than the window after the withdrawal; another caller never reuses a kept row; a QR grant keeps
nothing (it is read on every request, so its revocation is at once); a kept instance whose study was deleted is a
404, as without the kept row.

A viewer scrolling a series asks each slice once: from the second instance of a series on, the rows of the whole
series are kept by one query (counted here by SQLAlchemy's own statement hook on the real engine), under the same
window, keys and rules.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydicom.dataset import Dataset
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.cloud_film import Film, two_hospital_patient
from tests.support.dicom_gen import ct_series, dx_image
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


@contextmanager
def _instance_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements run on `dicom_instances` meanwhile, as PostgreSQL is sent them (SQLAlchemy's cursor hook)."""
    asked: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "dicom_instances" in statement:
            asked.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield asked
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _store(api: Api, user: str, images: list[Dataset]) -> list[str]:
    r = await api.call(user, "POST", "/dicomweb/studies", content=stow_body(images),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    return [f"/dicomweb/studies/{i.StudyInstanceUID}/series/{i.SeriesInstanceUID}/instances/{i.SOPInstanceUID}"
            for i in images]  # fmt: skip


async def _scrolled(api: Api, user: str, instances: list[str], path: str = "/frames/1") -> list[int]:
    return [(await api.call(user, "GET", i + path, headers=AS_STORED)).status_code for i in instances]


async def test_scrolling_a_series_is_the_routes_byte_for_byte(door: Door) -> None:
    instances = await _store(door.api, "zhao.anping", ct_series(n_slices=5, rows=40, cols=40, patient_id="SCROLL-1"))
    auth = {"Authorization": f"Bearer {await door.api.token('zhao.anping')}"}
    for path, accept, query in (
        ("/frames/1", AS_STORED, {}),
        ("/rendered", JPEG, {}),
        ("/frames/1/rendered", {"Accept": "image/png"}, {"window": "40,400,linear"}),
        ("/frames/2", AS_STORED, {}),  # refusals of kept rows: the same 404
    ):
        for instance in instances:
            url, headers = instance + path, {**auth, **accept}
            scrolled = await door.api.client.get(url, headers=headers, params=query)
            routed = await door.routes.get(url, headers=headers, params=query)
            assert _boundary_free(scrolled) == _boundary_free(routed), (path, instances.index(instance))


async def test_after_a_second_instance_the_series_asks_no_more(door: Door, engine: AsyncEngine, clock: Clock) -> None:
    instances = await _store(door.api, "zhao.anping", ct_series(n_slices=8, rows=32, cols=32, patient_id="SCROLL-2"))
    await door.api.token("zhao.anping")
    asked_after = []
    with _instance_queries(engine) as asked:
        for instance in instances:
            assert await _scrolled(door.api, "zhao.anping", [instance]) == [200]
            asked_after.append(len(asked))
    assert asked_after == [1, 2, 2, 2, 2, 2, 2, 2], "the first instance, then its series, then nothing: " + str(asked)
    assert "metadata" not in asked[1], "the series' rows were asked with their metadata"


async def test_a_series_larger_than_its_share_keeps_its_first_rows(
    door: Door, engine: AsyncEngine, clock: Clock
) -> None:
    kept = door.resources.visible
    real_size, kept.size = kept.size, 8
    real_rows, kept.series_rows = kept.series_rows, 3
    try:
        images = ct_series(n_slices=6, rows=32, cols=32, patient_id="SCROLL-BIG")
        instances = await _store(door.api, "zhao.anping", images)
        with _instance_queries(engine) as asked:
            assert await _scrolled(door.api, "zhao.anping", instances) == [200] * 6
        assert len(asked) == 5, "1: the first; 2: the series' first three rows; 4, 5, 6: one each"
        assert len(kept) <= 8
    finally:
        kept.size, kept.series_rows = real_size, real_rows


async def _more_of(api: Api, user: str, instance: str, n: int) -> list[str]:
    """`n` more images in the series of a one-image DX study, with its patient's attributes."""
    stored = (await api.ok(user, "GET", instance + "/metadata"))[0]
    images = []
    for number in range(2, n + 2):
        [image] = dx_image(rows=32, cols=32, patient_id=stored["00100020"]["Value"][0],
                           study_uid=stored["0020000D"]["Value"][0])  # fmt: skip
        image.SeriesInstanceUID = stored["0020000E"]["Value"][0]
        image.StudyDate = image.SeriesDate = stored["00080020"]["Value"][0]
        image.InstanceNumber = number
        images.append(image)
    return await _store(api, user, images)


async def test_a_withdrawn_consent_ends_a_kept_series_when_the_window_ends(
    door: Door, engine: AsyncEngine, clock: Clock
) -> None:
    own = await two_hospital_patient(door.api, engine)  # its own: the others' studies stay one image each
    first = await _instance(door.api, "zhao.anping", own.anping_study)
    instances = [first, *await _more_of(door.api, "zhao.anping", first, 2)]
    await _consent(door, own, True)
    assert await _scrolled(door.api, "sun.qingshan", instances[:2]) == [200, 200]  # the second: its series kept
    await _consent(door, own, False)
    clock.now += WINDOW - 0.01
    with _instance_queries(engine) as asked:
        assert await _scrolled(door.api, "sun.qingshan", instances[2:]) == [200]
    assert not asked, "the third slice was asked again: its series' rows were not kept"
    clock.now += 0.01
    assert await _scrolled(door.api, "sun.qingshan", instances[2:]) == [404], (
        f"a withdrawn consent's slice was served {WINDOW} s after the query that kept its series"
    )


async def test_another_caller_never_reuses_a_kept_series(door: Door, engine: AsyncEngine, clock: Clock) -> None:
    instances = await _store(door.api, "zhao.anping", ct_series(n_slices=3, rows=32, cols=32, patient_id="SCROLL-3"))
    assert await _scrolled(door.api, "zhao.anping", instances[:2]) == [200, 200]
    with _instance_queries(engine) as asked:
        assert await _scrolled(door.api, "zhao.anping", instances[2:]) == [200]
    assert not asked, "the series was not kept for its caller"
    for other in ("sun.qingshan", "wang.expert"):  # kept for zhao.anping this very moment; never seen by these
        for path in ("/frames/1", "/rendered"):
            assert await _scrolled(door.api, other, instances, path) == [404] * 3, (other, path)


async def test_an_instance_stored_after_its_series_was_kept_is_served(
    door: Door, engine: AsyncEngine, clock: Clock
) -> None:
    images = ct_series(n_slices=4, rows=32, cols=32, patient_id="SCROLL-4")
    instances = await _store(door.api, "zhao.anping", images[:3])
    assert await _scrolled(door.api, "zhao.anping", instances[:2]) == [200, 200]
    with _instance_queries(engine) as asked:
        assert await _scrolled(door.api, "zhao.anping", instances[2:]) == [200]
    assert not asked, "the series was not kept"
    [late] = await _store(door.api, "zhao.anping", images[3:])
    auth = {"Authorization": f"Bearer {await door.api.token('zhao.anping')}", **AS_STORED}
    with _instance_queries(engine) as asked:
        served = await door.api.client.get(late + "/frames/1", headers=auth)
    assert len(asked) == 1, "an instance not in the kept series is located on its own"
    assert _boundary_free(served) == _boundary_free(await door.routes.get(late + "/frames/1", headers=auth))
    assert served.status_code == 200
