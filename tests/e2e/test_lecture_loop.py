"""A lecture in Chromium with real media, end to end: the speaker's page publishes a (fake) camera and microphone
through a real `yilian live` lecture room, which packages it as HLS; a county doctor's page registers, plays the
live stream (video time advancing), asks a question the speaker picks, then after the end plays the replay, passes
the quiz and sees the credit; the educator sees the attendance. Screenshots go to docs/screenshots/lecture-*.png.

Chromium runs with a fake camera and microphone (`--use-fake-device-for-media-stream`) and may use loopback ICE
candidates, as the live process offers 127.0.0.1 here. Its H.264 in MSE plays the segments through hls.js.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api
from tests.support.live import serve
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.live import aiortc_internals
from yilian.live.ice import IceConfig
from yilian.live.server import LiveConfig, build_live_app

pytestmark = pytest.mark.integration

SECRET = "lecture-e2e-secret-0123456789abcdef0123"
SPEAKER, DOCTOR, EDUCATOR = "wang.expert", "zhao.anping", "he.educator"
MEDIA_ARGS = [
    *CHROMIUM_ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
ON_AIR_SECONDS = 16  # recorded before the speaker ends it
PLAYER = """() => { const v = document.querySelector('.lecture-player video');
  return v ? {time: v.currentTime, width: v.videoWidth, paused: v.paused, mode: v.dataset.mode} : null; }"""


@pytest.fixture(scope="module", autouse=True)
def loopback() -> None:
    aiortc_internals.use_loopback_candidates()


@pytest.fixture(scope="module")
async def live_url(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    config = LiveConfig(SECRET, tmp_path_factory.mktemp("recordings"), IceConfig(),
                        lecture_root=settings.lecture_media_root())  # fmt: skip
    async with serve(build_live_app(config)) as url:  # type: ignore[arg-type]
        yield url


@pytest.fixture(scope="module")
async def lecture_api(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings, live_url: str, web_build: Path
) -> AsyncIterator[str]:
    """The whole API with its live rooms on `live_url`; the worker closes lecture rooms with the same secret."""
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


async def _player(page: Page) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await page.evaluate(PLAYER)
    return found


async def _top_shot(page: Page, name: str) -> None:
    await page.evaluate("window.scrollTo(0, 0)")
    await shot(page, name, full_page=False)


async def _plays(page: Page, what: str) -> None:
    """The page's player shows a picture and its time moves on."""
    first = await wait_until(lambda: _player(page), f"{what}: a picture", ok=lambda v: v and v["width"] > 0,
                             within=60)  # fmt: skip
    await asyncio.sleep(2.5)
    later = await _player(page)
    assert later is not None and later["time"] > first["time"] + 1 and not later["paused"], (what, first, later)


async def test_speaker_publishes_doctor_watches_live_asks_then_replay_and_credit(
    api: Api, lecture_api: str, media_browser: Browser, settings: Settings
) -> None:
    plan = {
        "title": "肺结节的规范化随访 / Following up lung nodules",
        "abstract": "Fleischner 2017 与中国专家共识",
        "starts_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
        "duration_minutes": 45,
        "speaker_ids": [SPEAKER],
        "audience_hospital_ids": [],
        "credit": 2,
        "threshold": 0.5,
        "quiz": {
            "questions": [{"text": "6 mm 实性结节的首次随访？", "options": ["6-12 个月", "不需随访"], "answer": 0}]
        },
    }
    lecture = await api.ok(EDUCATOR, "POST", "/api/lectures", 201, json=plan)
    lid = lecture["id"]

    doctor = await signed_in(media_browser, lecture_api, DOCTOR)
    await doctor.goto(f"{lecture_api}/lectures")
    await doctor.get_by_role("link", name=plan["title"]).click()
    await doctor.get_by_role("button", name="Register").click()
    await expect(doctor.get_by_text("You are registered")).to_be_visible()
    await _top_shot(doctor, "lecture-catalogue-register")

    # The speaker goes on air from their page: the lecture starts, the room packages their camera.
    speaker = await signed_in(media_browser, lecture_api, SPEAKER)
    await speaker.goto(f"{lecture_api}/lectures/{lid}/speak")
    await speaker.get_by_role("button", name="Go on air").click()
    await expect(speaker.locator("[data-room-status]")).to_have_attribute("data-room-status", "connected",
                                                                          timeout=30_000)  # fmt: skip
    folder = settings.lecture_media_root() / lid
    await wait_until(lambda: len(list(folder.glob("seg_*.ts"))), "the first HLS segments", ok=lambda n: n >= 2,
                     within=60)  # fmt: skip

    # The doctor's page plays the live stream.
    await doctor.reload()
    await _plays(doctor, "the live stream")
    await doctor.get_by_role("textbox", name="Ask a question").fill("磨玻璃结节需要多久复查？")
    await doctor.get_by_role("button", name="Ask", exact=True).click()
    await expect(doctor.get_by_role("list", name="Questions")).to_contain_text("磨玻璃结节需要多久复查？")
    await _top_shot(doctor, "lecture-live-doctor")

    # The speaker sees the question and puts it to themself (the moderator's pick), then ends after a while.
    await expect(speaker.get_by_role("list", name="Questions")).to_contain_text("磨玻璃结节需要多久复查？",
                                                                                timeout=15_000)  # fmt: skip
    await speaker.get_by_role("textbox", name="Chapter title").fill("病例讨论 / Cases")
    await speaker.get_by_role("button", name="Mark a chapter").click()
    await expect(speaker.get_by_text("Chapters so far: 1")).to_be_visible()
    await speaker.get_by_role("button", name="Put to the speaker").click()
    await expect(speaker.get_by_text("Put to the speaker").first).to_be_visible()
    await _top_shot(speaker, "lecture-speaker")
    await asyncio.sleep(ON_AIR_SECONDS)
    await speaker.get_by_role("button", name="End the lecture").click()
    published = await wait_until(lambda: api.ok(EDUCATOR, "GET", f"/api/lectures/{lid}"), f"{lid} published",
                                 ok=lambda r: r["state"] == "published", within=90)  # fmt: skip
    assert published["recorded_seconds"] >= ON_AIR_SECONDS / 2, published
    assert (folder / "replay.m3u8").is_file()
    assert [c["title"] for c in published["chapters"]] == ["病例讨论 / Cases"], published["chapters"]
    await speaker.context.close()

    # The replay, the quiz, the credit.
    await doctor.reload()
    await _plays(doctor, "the replay")
    assert (await _player(doctor) or {}).get("mode") == "replay"
    await doctor.get_by_label("6-12 个月").check()
    await doctor.get_by_role("button", name="Submit answers").click()
    await expect(doctor.get_by_role("status").filter(has_text="Passed")).to_be_visible()
    await expect(doctor.get_by_test_id("credit")).to_contain_text("Credit earned: 2", timeout=60_000)
    await _top_shot(doctor, "lecture-replay-credit")
    await doctor.goto(f"{lecture_api}/lectures/credits")
    await expect(doctor.get_by_test_id("credit-total")).to_contain_text("2")
    assert doctor.errors == []  # type: ignore[attr-defined]
    await doctor.context.close()

    educator = await signed_in(media_browser, lecture_api, EDUCATOR)
    await educator.goto(f"{lecture_api}/lectures/{lid}/attendance")
    await expect(educator.get_by_role("table", name="Per doctor")).to_contain_text("Zhao")
    await _top_shot(educator, "lecture-attendance")
    await educator.context.close()
