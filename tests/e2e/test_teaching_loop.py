"""Teaching cases in the web app: an expert flags a signed case on its case page, an educator accepts it, checks the
de-identification, curates and publishes it, and a county doctor finds it in the library, attempts it as an unknown
case and sees the comparison. Real API, worker, PostgreSQL, archive and Chromium; screenshots to docs/screenshots/."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.e2e.webapp import shot, signed_in
from tests.support.api import REPORT, Api
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "E2E-TEACH-1", "name": "黄忠 Huang Zhong", "birth_date": "1958-02-03", "sex": "M"}
FINDINGS = "患者黄忠，男。右肺上叶见一结节，约8mm，边缘光整，内见爆米花样钙化。无胸腔积液。"
IMPRESSION = "右肺上叶结节，考虑错构瘤。"
TITLE = f"右肺上叶错构瘤 E2E {uuid.uuid4().hex[:6]}"  # the run's own: other tests publish hamartomas too


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    before = list(browser.contexts)
    yield []
    for context in browser.contexts:
        if context not in before:
            await context.close()


async def signed_case(api: Api) -> dict[str, Any]:
    """A CT chest case read by wang.expert, graded by chen.senior and returned to the county (through the API)."""
    rid = (await api.submit("zhao.anping", patient=PATIENT))["id"]
    await api.wait_for("admin", rid, "offered")
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/accept", json={})
    report = {**REPORT, "findings": FINDINGS, "impression": IMPRESSION, "structured": {"icd10": "D14.3"}}
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=report)
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "minor"})
    return await api.wait_for("admin", rid, "returned")


async def flagged_case(api: Api, referral_id: str) -> str:
    """The teaching case made from the referral (educators see where a case came from)."""
    listed = await api.ok("he.educator", "GET", "/api/teaching/cases", params={"state": "nominated", "limit": 200})
    for item in listed["items"]:
        case = await api.ok("he.educator", "GET", f"/api/teaching/cases/{item['id']}")
        if case["referral_id"] == referral_id:
            return str(case["id"])
    raise AssertionError(f"no nominated teaching case made from {referral_id}")


async def test_flag_curate_publish_find_and_attempt(
    browser: Browser, live_api: str, api: Api, web_build: object, contexts: list[BrowserContext]
) -> None:
    referral = await signed_case(api)
    rid = referral["id"]

    # The expert who read it flags it from the case page.
    expert = await signed_in(browser, live_api, "wang.expert")
    await expert.goto(f"{live_api}/cases/{rid}")
    await expert.get_by_test_id("flag-teaching").click()
    await expect(expert.get_by_text("Flagged as a teaching case")).to_be_visible(timeout=30_000)
    await shot(expert, "teaching-expert-flag")

    # The educator finds it in the queue, accepts it and reviews the de-identification.
    educator = await signed_in(browser, live_api, "he.educator")
    await expect(educator.get_by_role("heading", name="Teaching queue")).to_be_visible()
    case_id = await flagged_case(api, rid)
    await educator.get_by_test_id(f"teaching-card-{case_id}").get_by_role("link").first.click()
    await educator.get_by_role("button", name="Accept").click()
    check = educator.get_by_test_id("deid-check")
    await expect(check).to_be_visible(timeout=30_000)
    redacted = educator.get_by_test_id("deid-redacted-findings")
    await expect(redacted).to_contain_text("爆米花样钙化")
    await expect(redacted).not_to_contain_text("黄忠")
    await expect(check.locator("del", has_text="黄忠")).to_be_visible()
    # The texts learners will read start as the redaction's output.
    await expect(educator.get_by_label("Findings shown to learners")).to_have_value(re.compile("爆米花样钙化"))

    # Curation: a planted leak in the teaching points blocks the publish, with the findings shown.
    await educator.get_by_label("Title").fill(TITLE)
    await educator.get_by_label("Diagnosis (free text)").fill("错构瘤 pulmonary hamartoma")
    await educator.get_by_label("ICD-10 code").fill("D14.3")
    await educator.get_by_label("Teaching points").fill("患者黄忠：爆米花样钙化提示错构瘤。")
    await educator.get_by_label("Tags (comma separated)").fill("肺结节, 钙化")
    await educator.get_by_label("Visibility").select_option("alliance")
    for box in await educator.locator(".curation-form input[type=checkbox]").all():
        await box.check()  # the flagged images, looked at
    await educator.get_by_role("button", name="Save version").click()
    await expect(educator.get_by_text("Version 2 saved.")).to_be_visible(timeout=30_000)
    await educator.get_by_role("button", name="Publish").click()
    # The leak scan reads every instance of the copy: give it time on a loaded machine.
    await expect(educator.get_by_test_id("leak-findings")).to_contain_text("teaching_points", timeout=60_000)
    await shot(educator, "teaching-educator-blocked")

    await educator.get_by_label("Teaching points").fill(
        "爆米花样钙化提示错构瘤。Popcorn calcification suggests hamartoma."
    )
    await educator.get_by_role("button", name="Save version").click()
    await expect(educator.get_by_text("Version 3 saved.")).to_be_visible(timeout=30_000)
    await educator.get_by_role("button", name="Publish").click()
    await expect(educator.get_by_text("Published: learners can see it now.")).to_be_visible(timeout=60_000)
    await shot(educator, "teaching-educator-curation")

    # A county doctor finds it, tries it as an unknown case and sees the comparison.
    county = await signed_in(browser, live_api, "zhao.anping")
    await county.get_by_role("link", name="Teaching cases").click()
    await county.get_by_role("searchbox").fill("错构瘤")
    await county.get_by_role("button", name="Search").click()
    found = county.locator("[data-testid^=teaching-card-]", has_text=TITLE)
    await expect(found).to_be_visible()
    await shot(county, "teaching-library")
    archive: list[tuple[str, int]] = []
    county.on("response", lambda r: archive.append((r.url, r.status)) if "/dicomweb/" in r.url else None)
    await found.get_by_role("link", name="Try as unknown case").click()
    await expect(county.get_by_test_id("unknown-history")).to_be_visible()
    # The viewer beside it loads the de-identified copy from the archive, which lets this doctor in.
    viewer = county.frame_locator("iframe[title='Images']")
    await viewer.locator("canvas.cornerstone-canvas").first.wait_for(timeout=60_000)
    copy_uid = (await api.ok("zhao.anping", "GET", f"/api/teaching/cases/{case_id}/unknown"))["study_instance_uid"]
    await wait_until(
        lambda: [s for u, s in archive if copy_uid in u and s == 200], "the viewer to read the copy from the archive"
    )
    assert [u for u, s in archive if s >= 400] == []
    await expect(county.get_by_test_id("answer")).to_have_count(0)
    await county.get_by_label("Your impression").fill("右肺上叶结节，未见钙化，伴胸腔积液。")
    await county.get_by_role("button", name="Show the answer").click()
    comparison = county.get_by_test_id("comparison")
    await expect(comparison).to_be_visible(timeout=30_000)
    await expect(county.get_by_test_id("answer")).to_contain_text("hamartoma")
    await expect(comparison.locator("tbody tr")).not_to_have_count(0)
    await shot(county, "teaching-unknown-case")

    await county.get_by_role("link", name="My learning").click()
    await expect(county.locator("[data-testid^=history-]", has_text=TITLE)).to_be_visible()
    for page in (expert, educator, county):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
