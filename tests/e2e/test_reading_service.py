"""The reading service in the browser (issue 18): a chest radiograph sent by DCMTK storescu through the gateway becomes
a referral by itself (full hosting), its clinical question taken from the order tags; it is on the offered expert's
worklist, the expert reads it (the reading screen at 768 and 390 px too) and grades it 乙 with a defect; the
coordinator's scorecard counts it, on the technician's own row. Screenshots in docs/screenshots/."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.e2e.webapp import PHONE, shot, signed_in
from tests.integration.test_gateway import Gateway, gateway_for  # noqa: F401 - fixture
from tests.support.api import Api
from tests.support.archive import with_order
from tests.support.dicom_gen import dx_image, write
from tests.support.live import serve
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.schema import referrals

pytestmark = pytest.mark.integration

TABLET = {"width": 768, "height": 1024}
QUESTION = "胸部正位片 Chest PA; 咳嗽三周 cough for 3 weeks"


@pytest.fixture
async def closing(browser: Browser) -> AsyncIterator[None]:
    """Close the test's browser contexts before the API stops: open pages hold its event streams."""
    before = list(browser.contexts)
    yield
    for context in browser.contexts:
        if context not in before:
            await context.close()


@pytest.fixture
async def auto_origin(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings, viewer_build: Path
) -> AsyncIterator[str]:
    """A second API with auto-referral on (a short quiet period): the studies the gateway sends to it become
    referrals; the session's own API, which other tests use, keeps it off."""
    auto = settings.model_copy(update={"auto_referral": True, "auto_referral_quiet_seconds": 2})
    app = create_app(auto, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


async def _referral_of(engine: AsyncEngine, study: str) -> dict[str, str] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(referrals).where(referrals.c.study_instance_uid == study))).mappings().first()
    return {k: str(v) for k, v in row.items()} if row else None


async def _fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways: the page scrolls only up and down at this width."""
    scroll_width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"


async def test_a_gateway_study_is_referred_by_itself_graded_and_counted(
    api: Api,
    auto_origin: str,
    browser: Browser,
    closing: None,
    engine: AsyncEngine,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    technician = f"E2E Tech{suffix}"
    [image] = dx_image(rows=64, cols=64, patient_id=f"E2E-QC-{suffix}", issuer="ANPING")
    image.OperatorsName = f"E2E^Tech{suffix}"
    with_order(
        image,
        RequestedProcedureDescription="胸部正位片 Chest PA",
        ReasonForTheRequestedProcedure="咳嗽三周 cough for 3 weeks",
        RequestingPhysician="Zhao^Qiang=赵^强",
        RequestedProcedurePriority="HIGH",
    )
    study = str(image.StudyInstanceUID)
    files = [write(image, tmp_path / "chest.dcm")]

    # -- the DR room: storescu -> gateway -> STOW-RS; nobody fills a form
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "DR room (e2e)"})
    gateway = gateway_for(auto_origin, api_key=key["api_key"])
    await asyncio.to_thread(gateway.start)
    try:
        sent = await asyncio.to_thread(gateway.storescu, files, "CT1")
        assert sent.returncode == 0, sent.stderr
        case = await wait_until(
            lambda: _referral_of(engine, study), f"the auto-referral of study {study}", within=90,
            ok=lambda r: r is not None and r["state"] == "offered",
        )  # fmt: skip
    finally:
        await asyncio.to_thread(gateway.kill)
    assert case["clinical_question"] == QUESTION and case["priority"] == "urgent" and case["modality"] == "DX"
    rid, expert_id = case["id"], case["offered_to"]

    # -- the offered expert: on the worklist; accept; the question from the tags; grade 乙 with a defect
    expert = await signed_in(browser, auto_origin, expert_id)
    row = expert.get_by_test_id(f"worklist-row-{rid}")
    await expect(row).to_be_visible(timeout=30_000)
    await row.get_by_role("button", name="Accept").click()
    await expect(expert).to_have_url(re.compile(rf"/read/{rid}$"), timeout=20_000)
    await expect(expert.get_by_text(QUESTION)).to_be_visible()
    quality = expert.locator("section.quality-panel")
    await quality.get_by_role("radio", name="B (乙)").check()
    await quality.get_by_role("button", name="Save the grade").click()
    await expect(quality.get_by_role("alert")).to_have_text("Below the best grade, name at least one defect.")
    await quality.get_by_role("checkbox", name="positioning").check()
    await quality.get_by_role("button", name="Save the grade").click()
    await expect(quality.get_by_test_id("quality-current")).to_contain_text("B (乙) (positioning)", timeout=20_000)
    await shot(expert, "reading-quality")

    # -- the same screen on a tablet and a phone (移动写片): one column, nothing wider than the window
    for name, size in (("reading-tablet", TABLET), ("reading-phone", PHONE)):
        await expert.set_viewport_size(size)
        await expect(expert.get_by_role("button", name="Save the grade")).to_be_visible()
        await _fits(expert, size["width"])
        await shot(expert, name, full_page=False)

    # -- the coordinator's dashboard: the hospital's scorecard and the technician's own row count the grade
    coordinator = await signed_in(browser, auto_origin, "liu.coord")
    await coordinator.goto(f"{auto_origin}/dashboard")
    tech_row = coordinator.get_by_test_id(f"quality-h-anping / {technician}")
    await expect(tech_row).to_be_visible(timeout=30_000)
    await expect(tech_row).to_contain_text("0%")  # its one graded study is not a 甲片
    await expect(tech_row).to_contain_text("positioning ×1")
    await expect(coordinator.get_by_test_id("quality-h-anping")).to_be_visible()
    await coordinator.get_by_test_id(f"quality-h-anping / {technician}").scroll_into_view_if_needed()
    await shot(coordinator, "dashboard-quality")
    for page in (expert, coordinator):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
