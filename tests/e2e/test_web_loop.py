"""The whole referral loop in the web app: five people, five browser contexts, one real Yilian.

County doctor uploads a real CT study and refers it; the offered expert accepts, sees the images in the viewer and
writes a preliminary report; the senior reader requests changes, then approves; the county doctor reads the
returned report and prints the patient's QR slip; the patient opens the link on a phone. Meanwhile a coordinator's
dashboard, never reloaded, shows an SLA breach of another case as it happens. Each screen is saved to
docs/screenshots/ for the README.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.pixels import shows_an_image, viewport_pixels
from tests.e2e.webapp import PHONE, shot, signed_in
from tests.support.api import Api
from tests.support.dicom_gen import ct_series, write
from yilian.db.demo import DEMO_PASSWORD

pytestmark = pytest.mark.integration

COUNTY, SENIOR, COORDINATOR = "zhao.anping", "chen.senior", "liu.coord"
BIRTH_DATE = "1965-04-12"  # what tests/support/dicom_gen.py writes into every generated study
FIRST_FINDINGS = "右肺上叶见一约8mm磨玻璃结节。 8 mm ground-glass nodule, right upper lobe."
REVISED_FINDINGS = "右肺上叶见一约8mm纯磨玻璃结节，无实性成分。 8 mm pure GGN, no solid part."


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    before = list(browser.contexts)
    yield []
    for context in browser.contexts:
        if context not in before:
            await context.close()


async def breach_soon(api: Api) -> str:
    """A STAT case of a county hospital whose agreement gives STAT one minute, and no reader licensed for it."""
    suffix = uuid.uuid4().hex[:6]
    hospital = await api.ok(
        "admin",
        "POST",
        "/api/admin/hospitals",
        201,
        json={"name": f"E2E 乡镇卫生院 {suffix}", "level": "township", "patient_id_issuer": f"E2E{suffix}"},
    )
    await api.ok(
        "admin",
        "POST",
        "/api/admin/agreements",
        201,
        json={
            "requesting_hospital_id": hospital["id"],
            "reading_hospital_id": "h-provincial",
            "service_mode": "full_hosting",
            "sla": {"stat_minutes": 1, "urgent_minutes": 60, "routine_minutes": 1440},
        },
    )
    doctor = f"e2e.{suffix}"
    await api.ok(
        "admin",
        "POST",
        "/api/admin/users",
        201,
        json={
            "username": doctor,
            "password": DEMO_PASSWORD,
            "display_name": f"E2E doctor {suffix}",
            "role": "county_doctor",
            "hospital_id": hospital["id"],
        },
    )
    patient = {"patient_id": f"E2E-{suffix}", "name": "孙权 Sun Quan", "birth_date": "1982-02-02", "sex": "M"}
    referral = await api.submit(doctor, patient=patient, priority="stat")
    return str(referral["id"])


async def test_five_people_walk_the_whole_loop_in_the_browser(
    api: Api, live_api: str, web_build: Path, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    origin = live_api

    # -- coordinator: the dashboard stays open, never reloaded, for the whole test
    coordinator = await signed_in(browser, origin, COORDINATOR)
    await expect(coordinator).to_have_url(re.compile(r"/dashboard$"))
    await coordinator.evaluate("() => { window.__sameDocument = true; }")
    breaching = await breach_soon(api)

    # -- county doctor: upload a real CT study with progress, then refer it
    patient_id = f"WEB{uuid.uuid4().hex[:6].upper()}"
    files = [
        write(ds, tmp_path / f"ct{i}.dcm")
        for i, ds in enumerate(ct_series(n_slices=6, rows=256, cols=256, patient_id=patient_id))
    ]
    county = await signed_in(browser, origin, COUNTY)
    await county.get_by_role("link", name="New referral").first.click()
    await county.get_by_label("DICOM files or zip").set_input_files([str(f) for f in files])
    await county.get_by_role("button", name="Upload", exact=True).click()
    await expect(county.get_by_label("Patient ID")).to_have_value(patient_id, timeout=30_000)
    await county.get_by_label("Clinical question").fill("咳嗽两周，排除肺部占位 / cough for two weeks, rule out a mass")
    await county.get_by_label("Body part").fill("CHEST")
    await shot(county, "county-new-referral")
    await county.get_by_role("button", name="Submit referral").click()
    await expect(county).to_have_url(re.compile(r"/cases/ref-[\w-]+$"), timeout=20_000)
    referral_id = county.url.rsplit("/", 1)[-1]

    # -- expert: the offer arrives on the worklist; accept; the viewer shows pixels; write the report
    offered = (await api.wait_for(COUNTY, referral_id, "offered", timeout=30))["offered_to"]
    expert = await signed_in(browser, origin, offered)
    row = expert.get_by_test_id(f"worklist-row-{referral_id}")
    await expect(row).to_be_visible(timeout=20_000)
    await shot(expert, "expert-worklist")
    await row.get_by_role("button", name="Accept").click()
    await expect(expert).to_have_url(re.compile(rf"/read/{referral_id}$"), timeout=20_000)
    viewer = expert.frame_locator("iframe[title='Image viewer']")
    await viewer.locator("canvas.cornerstone-canvas").first.wait_for(timeout=60_000)
    frame = next(f for f in expert.frames if "/viewer/" in f.url)
    sample = None
    for _ in range(100):
        sample = await viewport_pixels(frame)
        if shows_an_image(sample):
            break
        await expert.wait_for_timeout(200)
    assert shows_an_image(sample), f"the viewer stayed blank for 20 s: {sample}"
    await expert.get_by_label("Findings").fill(FIRST_FINDINGS)
    await expert.get_by_label("Impression").fill("右肺上叶磨玻璃结节。 GGN RUL.")
    await shot(expert, "expert-reading", full_page=False)
    await submit_preliminary(expert)
    await api.wait_for(COUNTY, referral_id, "preliminary")

    # -- senior: second reading asks for changes
    senior = await signed_in(browser, origin, SENIOR)
    await expect(senior).to_have_url(re.compile(r"/review$"))
    await senior.get_by_test_id(f"review-row-{referral_id}").get_by_role("link").first.click()
    await expect(senior.get_by_text("8 mm ground-glass nodule, right upper lobe.")).to_be_visible()
    await senior.get_by_label("Minor discrepancy").check()
    await senior.get_by_label("Review comments").fill("请补充结节的实性成分描述。 Describe any solid component.")
    await shot(senior, "senior-review", full_page=False)
    await senior.get_by_role("button", name="Request changes").click()
    await expect(senior).to_have_url(re.compile(r"/review$"))
    await api.wait_for(COUNTY, referral_id, "changes_requested")

    # -- expert: back on the worklist after submitting, the returned case shows up there without a reload
    await expect(expert).to_have_url(re.compile(r"/worklist$"))
    returned_row = expert.get_by_test_id(f"worklist-row-{referral_id}")
    await expect(returned_row).to_contain_text("Changes requested", timeout=20_000)
    await returned_row.get_by_role("link").first.click()
    # The senior's comment is in the case's report history, and it arrived as a live notice too (the toast).
    await expect(expert.locator(".report-text", has_text="Describe any solid component")).to_be_visible()
    await expect(expert.get_by_role("status").filter(has_text="Describe any solid component")).to_be_visible()
    await expert.get_by_label("Findings").fill(REVISED_FINDINGS)
    await submit_preliminary(expert)
    await api.wait_for(COUNTY, referral_id, "preliminary")

    # -- senior: approve and sign
    await senior.goto(f"{origin}/read/{referral_id}")
    await expect(senior.get_by_text("8 mm pure GGN, no solid part.")).to_be_visible()
    await senior.get_by_label("Agree").check()
    await senior.get_by_role("button", name="Approve and sign").click()
    await senior.get_by_role("button", name="Confirm and sign").click()
    await api.wait_for(COUNTY, referral_id, "returned", timeout=30)

    # -- county doctor: the returned report, receipt, and the patient's QR slip
    await county.goto(f"{origin}/cases/{referral_id}")
    await expect(county.get_by_text("8 mm pure GGN, no solid part.")).to_be_visible(timeout=20_000)
    await county.get_by_role("button", name="Acknowledge receipt").click()
    await api.wait_for(COUNTY, referral_id, "closed")
    # The return made a link already; revoke it (a slip handed to the wrong person) and make a new one.
    first_link = (await county.get_by_test_id("share-url").inner_text()).strip()
    await county.get_by_role("button", name="Revoke link").click()
    await county.get_by_role("button", name="Yes, revoke").click()
    await county.get_by_role("button", name="Create patient link").click()
    await expect(county.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    link = (await county.get_by_test_id("share-url").inner_text()).strip()
    assert "/s/" in link and link != first_link
    await shot(county, "county-case")

    # -- patient: a phone opens the link, gives the birth date, reads the report
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    patient = await phone.new_page()
    await patient.goto(origin + first_link[first_link.index("/s/") :])
    await patient.get_by_label("Birth date").fill(BIRTH_DATE)
    await patient.get_by_role("button", name="View result").click()
    await expect(patient.get_by_role("alert")).to_have_attribute("data-kind", "revoked")
    await expect(patient.get_by_role("alert")).to_contain_text("withdrawn by the hospital")
    await patient.goto(origin + link[link.index("/s/") :])
    await patient.get_by_label("Birth date").fill(BIRTH_DATE)
    await patient.get_by_role("button", name="View result").click()
    await expect(patient.get_by_text("8 mm pure GGN, no solid part.")).to_be_visible()
    await expect(patient.get_by_text(re.compile("not for diagnosis", re.I))).to_be_visible()
    key_image = patient.get_by_role("img", name=re.compile("Key image 1"))  # the middle slice of the 6-slice CT
    await expect(key_image).to_be_visible()
    assert await key_image.evaluate("img => img.complete && img.naturalWidth > 0")
    await shot(patient, "patient-result")

    # -- coordinator: the breach of the other case appeared on the same, never reloaded, page
    risk = coordinator.get_by_test_id("risk-row").filter(has_text=breaching)
    await expect(risk).to_have_attribute("data-sla", "breached", timeout=120_000)
    assert await coordinator.evaluate("() => window.__sameDocument === true")
    await shot(coordinator, "coordinator-dashboard")
    # The breached case's record: the breach is an audited event, and the whole trail can be exported.
    await risk.get_by_role("link").first.click()
    audit = coordinator.get_by_role("table", name="Audit trail")
    await expect(audit.get_by_role("row").filter(has_text="sla_breach")).to_be_visible()
    async with coordinator.expect_download() as download:
        await coordinator.get_by_role("button", name="Export CSV").click()
    csv_path = await (await download.value).path()
    assert "sla_breach" in await asyncio.to_thread(Path(csv_path).read_text)

    for page in (coordinator, county, expert, senior, patient):
        assert not getattr(page, "errors", []), page.errors  # type: ignore[attr-defined]


async def submit_preliminary(expert: Page) -> None:
    await expert.get_by_role("button", name="Submit preliminary report").click()
    await expert.get_by_role("button", name="Confirm submission").click()
    await expect(expert.get_by_text("Preliminary report submitted.")).to_be_visible()
