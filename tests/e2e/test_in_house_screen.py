"""本院写片 in Chromium: an admin sets up a hospital's in-house reading on its page; the hospital's doctor's case then
lands on the named reader's worklist marked In-house."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api
from tests.support.in_house import make_reads_itself

pytestmark = pytest.mark.integration


async def test_an_admin_sets_up_in_house_reading_and_the_case_stays_in_the_hospital(
    api: Api, live_api: str, web_build: Path, browser: Browser, engine: AsyncEngine
) -> None:
    ih = await make_reads_itself(engine)
    admin = await signed_in(browser, live_api, "admin")
    await admin.goto(f"{live_api}/admin/hospitals/{ih.hospital}")
    section = admin.get_by_role("region", name="In-house reading (本院写片)")
    await expect(section.get_by_text("has no in-house reading policy")).to_be_visible()
    await section.get_by_role("button", name="Set up in-house reading").click()
    await section.get_by_label("Modalities read in-house").fill("CT")
    await section.get_by_role("checkbox", name=re.compile("Wu")).check()
    await shot(admin, "admin-in-house-reading")
    await section.get_by_role("button", name="Save in-house reading").click()
    await expect(section.get_by_role("status")).to_have_text("In-house reading saved.")
    stored = await api.ok("admin", "GET", f"/api/admin/hospitals/{ih.hospital}/in-house-reading")
    assert (stored["modalities"], stored["reader_ids"]) == (["CT"], [ih.generalist.user_id])
    assert not admin.errors  # type: ignore[attr-defined]

    patient = {"patient_id": f"IH-E2E-{uuid.uuid4().hex[:6]}", "name": "孙权 Sun Quan", "birth_date": "1970-02-03",
               "sex": "M"}  # fmt: skip
    case = await api.submit(ih.doctor.user_id, patient=patient)
    assert case["in_house"] and case["reading_hospital_id"] == ih.hospital
    await api.wait_for(ih.doctor.user_id, case["id"], "offered")
    reader = await signed_in(browser, live_api, ih.generalist.user_id)
    row = reader.get_by_test_id(f"worklist-row-{case['id']}")
    await expect(row).to_be_visible(timeout=20_000)
    await expect(row.get_by_text("In-house", exact=True)).to_be_visible()
    await shot(reader, "worklist-in-house")
    await admin.context.close()
    await reader.context.close()
