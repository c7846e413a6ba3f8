"""Script injection (issue 16): what one person types is text in another person's browser, never markup.

A county doctor's clinical question and the patient's name carry an <img onerror> and a <script>; the expert's
worklist and case page show them as the characters typed, and nothing runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.webapp import signed_in
from tests.support.api import Api, referral_body

pytestmark = pytest.mark.integration

QUESTION = "咳嗽 <img src=x onerror=\"window.__injected='question'\"> rule out a mass"
NAME = "刘<script>window.__injected='name'</script>备"


async def test_typed_markup_is_shown_as_text_to_the_expert(
    api: Api, live_api: str, web_build: Path, browser: Browser
) -> None:
    patient = {**referral_body()["patient"], "patient_id": "XSS-0001", "name": NAME}
    referral = await api.submit("zhao.anping", clinical_question=QUESTION, patient=patient, priority="urgent")
    offered = (await api.wait_for("zhao.anping", referral["id"], "offered", timeout=30))["offered_to"]

    page = await signed_in(browser, live_api, offered)
    row = page.get_by_test_id(f"worklist-row-{referral['id']}")
    await expect(row).to_be_visible(timeout=15000)
    await row.get_by_role("button", name="Accept").click()
    await page.goto(f"{live_api}/read/{referral['id']}")
    await expect(page.get_by_text(QUESTION)).to_be_visible(timeout=15000)  # the characters, as typed
    assert await page.locator("img[src='x']").count() == 0
    assert await page.locator("main script").count() == 0
    assert await page.evaluate("() => window.__injected === undefined"), "typed markup ran in the expert's browser"
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()
