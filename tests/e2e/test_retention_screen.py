"""The admin's Retention tab in a real browser (docs/retention.md): a study's retention looked up by its UID, a
deletion before expiry refused in the interface's words with its date, a legal hold placed, and both recorded in
the study's trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api

pytestmark = pytest.mark.integration


async def test_the_admin_is_refused_an_early_deletion_and_places_a_hold(
    api: Api, live_api: str, web_build: Path, browser: Browser
) -> None:
    uid = await api.send_study("zhao.anping", "RET-E2E-1")
    kept = await api.ok("admin", "GET", f"/api/retention/studies/{uid}")
    page = await signed_in(browser, live_api, "admin")
    await page.get_by_role("link", name="Retention").click()
    await expect(page.get_by_role("heading", name="Retention policies")).to_be_visible()
    await page.get_by_label("Study Instance UID").fill(uid)
    await page.get_by_role("button", name="Look up study").click()
    study = page.get_by_role("article", name="Study retention")
    await expect(study).to_contain_text("not recorded: kept as inpatient")
    await expect(study).to_contain_text("30")

    await study.get_by_role("button", name="Delete study").click()
    await study.get_by_role("button", name="Yes, delete").click()
    refusal = study.get_by_role("alert").filter(has_text="Refused: the study must be kept until")
    await expect(refusal).to_be_visible()
    year = kept["retain_until"][:4]
    await expect(refusal).to_contain_text(year)

    await study.get_by_label("Reason").fill("家属投诉 / family complaint")
    await study.get_by_role("button", name="Place legal hold").click()
    await expect(study.get_by_text("家属投诉 / family complaint")).to_be_visible()
    await expect(study.get_by_role("listitem").filter(has_text="deletion refused")).to_be_visible()
    await expect(study.get_by_role("listitem").filter(has_text="placed a legal hold")).to_be_visible()
    await shot(page, "admin-retention")

    trail = (await api.ok("admin", "GET", "/api/retention/events", params={"study_instance_uid": uid}))["items"]
    assert [e["action"] for e in reversed(trail)] == ["deletion_refused", "hold_placed"]
    await page.context.close()
