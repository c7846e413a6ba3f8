"""A consult room in Chromium with real media: the web app joins through the API's signalling door, receives the
video an aiortc publisher (the host, presenting) sends through a real `yilian live` SFU, and its OHIF viewer follows
the presenter's slice change sent on the data channel; the host's controls (hand over the presenter role, mute,
remove) then act on the page.

Chromium runs with a fake camera and microphone (`--use-fake-device-for-media-stream`, permission granted by
`--use-fake-ui-for-media-stream`) and may use loopback ICE candidates, as the live process offers 127.0.0.1 here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, Page, async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.pixels import shows_an_image, viewport_pixels
from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api, referral_body
from tests.support.dicom_gen import ct_series
from tests.support.live import serve
from tests.support.live_media import PatternVideoTrack
from tests.support.matrix import walk
from tests.support.stow import CONTENT_TYPE, stow_body
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.schema import consult_rooms
from yilian.live import aiortc_internals
from yilian.live.client import LiveClient
from yilian.live.ice import IceConfig
from yilian.live.protocol import (
    HandOverPresenter,
    Join,
    MediaKind,
    MediaSource,
    Remove,
    SetMuted,
    ViewerState,
)
from yilian.live.server import LiveConfig, build_live_app
from yilian.runtime.live import start_live_process

pytestmark = pytest.mark.integration

SECRET = "consult-room-e2e-secret-0123456789abcdef"
COUNTY, HOST, EXPERT = "zhao.anping", "liu.coord", "wang.expert"  # the case's offered reader: sees its images
MEDIA_ARGS = [
    *CHROMIUM_ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module", autouse=True)
def loopback() -> None:
    aiortc_internals.use_loopback_candidates()


@pytest.fixture(scope="module")
async def live_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    app = build_live_app(LiveConfig(SECRET, tmp_path_factory.mktemp("recordings"), IceConfig()))
    async with serve(app) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="module")
async def room_api(
    worker: None,
    temporal_client: Client,
    engine: AsyncEngine,
    settings: Settings,
    live_url: str,
    viewer_build: Path,
    web_build: Path,
) -> AsyncIterator[str]:
    """The whole API (web app, viewer, DICOMweb, the consults' signalling door) with its rooms on `live_url`."""
    local = settings.model_copy(update={"live_urls": [live_url], "live_secret": SECRET})
    app = create_app(local, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


@pytest.fixture(scope="module")
async def media_browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path, args=MEDIA_ARGS)
        yield chromium
        await chromium.close()


def viewer_frame(page: Page) -> Frame:
    frame = page.frame(url=lambda url: "/viewer/viewer" in url)
    assert frame is not None, [f.url for f in page.frames]
    return frame


# What the person's own viewer shows, read straight from OHIF (not through the bridge under test).
SHOWN = """() => {
  const s = window.yilianViewer && window.yilianViewer.servicesManager.services;
  try {
    const id = s.viewportGridService.getState().activeViewportId;
    const vp = s.cornerstoneViewportService.getCornerstoneViewport(id);
    const imageId = vp.getCurrentImageId();
    return {index: vp.getCurrentImageIdIndex(), imageId, voi: vp.getProperties().voiRange || null};
  } catch (e) { return null; }
}"""

VIDEO = """() => [...document.querySelectorAll('[data-tile] video')].map(v => ({
  width: v.videoWidth, height: v.videoHeight, time: v.currentTime, paused: v.paused,
  participant: v.closest('[data-tile]').dataset.tile}))"""


async def shown(page: Page) -> dict[str, Any] | None:
    value: dict[str, Any] | None = await viewer_frame(page).evaluate(SHOWN)
    return value


async def test_the_web_app_joins_a_room_sees_the_presenter_and_follows_the_slice(
    api: Api, room_api: str, media_browser: Browser
) -> None:
    # A CT case (12 slices) referred by the county, and a consult on it opened by its host.
    patient = f"RM{uuid.uuid4().hex[:8].upper()}"
    series = ct_series(n_slices=12, rows=256, cols=256, patient_id=patient)
    r = await api.call(
        COUNTY, "POST", "/dicomweb/studies", content=stow_body(series), headers={"Content-Type": CONTENT_TYPE}
    )
    assert r.status_code == 200, r.text
    study = series[0].StudyInstanceUID
    body = referral_body(
        patient={"patient_id": patient, "name": "关羽 Guan Yu", "birth_date": "1962-05-05", "sex": "M"},
        study_instance_uid=study,
    )
    referral = await api.ok(COUNTY, "POST", "/api/referrals", 201, json=body)
    plan = {
        "starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "duration_minutes": 30,
        "invitee_ids": [EXPERT],
        "agenda": "Which slice shows the lesion best?",
    }
    consult = await api.ok(
        HOST,
        "POST",
        "/api/consults",
        201,
        json={"title": "MDT 实时会诊", "referral_id": referral["id"], "schedule": plan},
    )
    await api.ok(HOST, "POST", f"/api/consults/{consult['id']}/open", json={})

    # The host joins from Python with aiortc, publishing a picture; the host presents first.
    root = room_api.replace("http://", "ws://")
    token = await api.token(HOST)
    host = LiveClient(
        f"{root}/api/consults/{consult['id']}/live?token={token}",
        Join(),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA)],
    )
    try:
        await host.start()
        await host.negotiated()
        assert host.joined is not None and not host.errors, host.errors

        # The invited surgeon joins from the web app with a (fake) camera and microphone.
        page = await signed_in(media_browser, room_api, EXPERT)
        await page.goto(f"{room_api}/consults/{consult['id']}")
        await page.get_by_role("link", name="Join the room").click()
        await expect(page.get_by_role("note")).to_contain_text("recorded only with every participant's consent")
        await page.get_by_role("button", name="Join", exact=True).click()
        await expect(page.locator("[data-room-status]")).to_have_attribute("data-room-status", "connected")
        await expect(page.get_by_role("heading", name="Present (2)")).to_be_visible(timeout=20_000)

        # The presenter's video plays in the page: a size, and time that moves on.
        first = await wait_until(
            lambda: page.evaluate(VIDEO),
            "the host's video tile to play",
            ok=lambda v: v and v[0]["width"] > 0,
            within=30,
        )
        await asyncio.sleep(1.5)
        later = await page.evaluate(VIDEO)
        assert later[0]["time"] > first[0]["time"] and not later[0]["paused"], (first, later)
        assert later[0]["participant"] == host.joined.participant_id

        # The browser published too: the host receives its camera through the SFU.
        await wait_until(
            lambda: [t for t in host.tracks.values() if t.info and t.info.kind == "video"],
            "the host to receive the surgeon's camera",
            within=20,
        )

        # The surgeon's own viewer renders the case, then follows the presenter to slice 7 in a lung window.
        frame = viewer_frame(page)
        await wait_until(
            lambda: viewport_pixels(frame), "the room's viewer to render the CT", ok=shows_an_image, within=60
        )
        before = await shown(page)
        assert before is not None and before["index"] == 0, before
        target = series[7].SOPInstanceUID
        host.send_state(
            ViewerState(
                study_instance_uid=study,
                series_instance_uid=series[0].SeriesInstanceUID,
                sop_instance_uid=target,
                slice_index=7,
                window_center=-600,
                window_width=1500,
            )
        )
        # The viewport names the new image as soon as it starts loading it; the window is set once it has loaded.
        lung = {"lower": -1350, "upper": 150}
        await wait_until(
            lambda: shown(page),
            "the surgeon's viewer to show the presenter's slice in the lung window",
            ok=lambda s: s is not None and target in s["imageId"] and s["voi"] == lung,
            within=20,
        )
        await expect(page.locator("[data-sync]")).to_have_attribute("data-sync", "following")
        await page.wait_for_timeout(500)
        await shot(page, "consult-room", full_page=False)
        assert page.errors == []  # type: ignore[attr-defined]

        # The host's controls act on the surgeon's page: hand over the presenter role, mute, then remove.
        assert host.presence is not None
        surgeon = next(p.participant_id for p in host.presence.participants if p.user_id == EXPERT)
        mine = page.locator(f'[data-participant="{EXPERT}"]')
        await host.send(HandOverPresenter(participant_id=surgeon))
        await expect(page.get_by_text("You are presenting: the others follow your viewer.")).to_be_visible(
            timeout=10_000
        )
        await expect(mine).to_contain_text("presenter")
        await host.send(SetMuted(participant_id=surgeon, kind=MediaKind.AUDIO, muted=True))
        await expect(mine).to_contain_text("muted", timeout=10_000)
        await host.send(Remove(participant_id=surgeon))
        await expect(page.get_by_role("alert")).to_contain_text("The host removed you from the room.", timeout=10_000)
        await expect(page.locator("[data-room-status]")).to_have_attribute("data-room-status", "removed")
        await page.context.close()
    finally:
        await host.close()


async def test_a_killed_live_process_shows_reconnecting_and_the_page_rejoins_a_fresh_room(
    api: Api,
    engine: AsyncEngine,
    settings: Settings,
    temporal_client: Client,
    worker: None,
    viewer_build: Path,
    web_build: Path,
    media_browser: Browser,
    tmp_path: Path,
) -> None:
    # Two real `yilian live` processes (as `yilian up` starts one); the API's rooms on either.
    live = Settings(var_dir=tmp_path, live_port=0, live_secret=SECRET)
    processes = [start_live_process(live, loopback_only=True) for _ in range(2)]
    try:
        local = settings.model_copy(update={"live_urls": [p.url for p in processes], "live_secret": SECRET})
        app = create_app(local, engine, temporal_client)
        async with app.router.lifespan_context(app), serve(app) as url:
            case = await walk(api, engine, "offered", difficult=True)
            starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            plan = {"starts_at": starts, "duration_minutes": 30, "invitee_ids": [EXPERT]}
            made = await api.ok(HOST, "POST", "/api/consults", 201,
                                json={"title": "断线重连", "referral_id": case, "schedule": plan})  # fmt: skip
            cid = made["id"]
            await api.ok(HOST, "POST", f"/api/consults/{cid}/open", json={})

            page = await signed_in(media_browser, url, EXPERT)
            await page.goto(f"{url}/consults/{cid}/room")
            await page.get_by_role("button", name="Join", exact=True).click()
            status = page.locator("[data-room-status]")
            await expect(status).to_have_attribute("data-room-status", "connected", timeout=20_000)
            async with engine.connect() as conn:
                pinned = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == cid))
            dead = next(p for p in processes if p.url == pinned)
            os.kill(dead.pid, signal.SIGKILL)

            # The page says it is reconnecting, then is back in a fresh room on the process that answers.
            await expect(status).to_have_attribute("data-room-status", "reconnecting", timeout=10_000)
            await expect(status).to_contain_text("reconnecting")
            await expect(status).to_have_attribute("data-room-status", "connected", timeout=30_000)
            await expect(page.get_by_role("heading", name="Present (1)")).to_be_visible(timeout=10_000)
            async with engine.connect() as conn:
                moved = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == cid))
            assert moved != pinned and moved in {p.url for p in processes}
            # The consult's workflow and record are unaffected: still open, the first stay closed, the second open.
            assert (await api.ok(HOST, "GET", f"/api/consults/{cid}"))["state"] == "open"
            stays = await wait_until(
                lambda: api.ok(HOST, "GET", f"/api/consults/{cid}/attendance"),
                "two stays",
                ok=lambda s: len(s["items"]) == 2,
            )
            assert stays["items"][0]["left_at"] is not None and stays["items"][1]["left_at"] is None
            await page.get_by_role("button", name="Leave").click()
            await page.context.close()
    finally:
        for process in processes:
            process.stop()


async def test_a_screen_shared_in_chromium_reaches_the_other_participant(
    api: Api, engine: AsyncEngine, room_api: str, media_browser: Browser
) -> None:
    case = await walk(api, engine, "offered", difficult=True)
    starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    plan = {"starts_at": starts, "duration_minutes": 30, "invitee_ids": [EXPERT]}
    made = await api.ok(HOST, "POST", "/api/consults", 201,
                        json={"title": "屏幕共享", "referral_id": case, "schedule": plan})  # fmt: skip
    cid = made["id"]
    await api.ok(HOST, "POST", f"/api/consults/{cid}/open", json={})
    token = await api.token(HOST)
    host = LiveClient(f"{room_api.replace('http://', 'ws://')}/api/consults/{cid}/live?token={token}", Join())
    try:
        await host.start()
        await host.negotiated()
        page = await signed_in(media_browser, room_api, EXPERT)
        await page.goto(f"{room_api}/consults/{cid}/room")
        await page.get_by_role("button", name="Join", exact=True).click()
        await expect(page.locator("[data-room-status]")).to_have_attribute("data-room-status", "connected")
        # Chromium's fake capture stands in for the screen (the fake-UI flag picks it without a dialog).
        await page.get_by_role("button", name="Share screen").click()
        screens = await wait_until(
            lambda: [t for t in host.tracks.values() if t.info and t.info.source == MediaSource.SCREEN],
            "the host to receive the surgeon's screen as a screen track",
            within=30,
        )
        frame = await asyncio.wait_for(screens[0].track.recv(), 15)
        assert frame.width > 0 and frame.height > 0  # type: ignore[attr-defined]
        await page.context.close()
    finally:
        await host.close()
