"""MDT consults in the browser, against the real API, workflow, PostgreSQL and Temporal: the county doctor requests
one from the case page, the coordinator schedules it (people found by specialty), an invited surgeon sees it coming
in "my consults", the host opens the room and writes the conclusion, and the county doctor reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api

pytestmark = pytest.mark.integration

COUNTY, COORDINATOR, SURGEON, ONCOLOGIST = "zhao.anping", "liu.coord", "he.surgeon", "xu.oncology"


async def invite(page: Page, specialty: str, name: str) -> None:
    await page.get_by_label("Specialty").select_option(label=specialty)
    await page.get_by_role("button", name=f"Invite {name}").click()
    await expect(page.get_by_role("list", name="Invited people")).to_contain_text(name)


async def test_request_schedule_open_and_conclude_a_consult_in_the_browser(
    api: Api, live_api: str, web_build: Path, browser: Browser
) -> None:
    referral = await api.submit(
        COUNTY, clinical_question="右肺上叶结节，手术还是随访？ / RUL nodule: surgery or follow-up?"
    )

    county = await signed_in(browser, live_api, COUNTY)
    await county.goto(f"{live_api}/cases/{referral['id']}")
    panel = county.get_by_role("region", name="MDT consult")
    await panel.get_by_label("Why a consult is needed").fill("Patient prefers to avoid surgery; need thoracic view.")
    await panel.get_by_role("button", name="Request MDT consult").click()
    await expect(panel.get_by_role("status")).to_contain_text("Consult requested")
    await expect(panel.get_by_role("link", name=re.compile("MDT consult: CT CHEST"))).to_be_visible()
    await shot(county, "consult-request")

    coordinator = await signed_in(browser, live_api, COORDINATOR)
    await coordinator.get_by_role("link", name="MDT consults").click()
    requested = coordinator.get_by_role("region", name="Requested, not yet scheduled")
    await requested.get_by_role("link", name=re.compile("MDT consult: CT CHEST")).first.click()
    await expect(coordinator.get_by_text("Requested", exact=True)).to_be_visible()
    await coordinator.get_by_role("button", name="Schedule", exact=True).click()
    form = coordinator.get_by_role("form", name="Schedule")
    await form.get_by_label("Duration (minutes)").fill("20")
    await invite(coordinator, "Thoracic surgery", "何军 He Jun")
    await invite(coordinator, "Oncology", "徐敏 Xu Min")
    await form.get_by_label("Agenda").fill("1. Imaging review 2. Surgery or surveillance")
    await shot(coordinator, "consult-schedule")
    await form.get_by_role("button", name="Schedule", exact=True).click()
    await expect(coordinator.get_by_text("Scheduled", exact=True)).to_be_visible()
    invited = coordinator.get_by_role("region", name="Invited")
    await expect(invited).to_contain_text("何军 He Jun")
    await expect(invited).to_contain_text("Thoracic surgery")
    consult_url = coordinator.url

    surgeon = await signed_in(browser, live_api, SURGEON)
    await surgeon.get_by_role("link", name="MDT consults").click()
    upcoming = surgeon.get_by_role("region", name="Upcoming")
    row = upcoming.get_by_role("listitem").filter(has_text="MDT consult: CT CHEST").first
    await expect(row).to_contain_text(re.compile(r"starts in (\d+ min|1 h \d\d min)"))
    await shot(surgeon, "consults-list")

    # The host opens the room before its time; invitees get their Join button from the server's allowed_actions.
    await coordinator.get_by_role("button", name="Open the room now").click()
    await expect(coordinator.get_by_text("Room open", exact=True)).to_be_visible()
    await surgeon.reload()
    await expect(row.get_by_role("link", name="Join")).to_be_visible()

    conclusion = coordinator.get_by_role("form", name="Write the conclusion")
    await conclusion.get_by_label("Discussion").fill("Solid 14 mm nodule with spiculation; resectable.")
    await conclusion.get_by_label("Recommendation").fill("VATS lobectomy after PET-CT.")
    await conclusion.get_by_role("button", name="Write the conclusion").click()
    await expect(coordinator.get_by_text("Concluded", exact=True)).to_be_visible()

    # The county doctor reads it on the consult and sees it with the case.
    await county.goto(consult_url)
    found = county.get_by_role("region", name="Conclusion")
    await expect(found).to_contain_text("VATS lobectomy after PET-CT.")
    await shot(county, "consult-conclusion")
    await county.goto(f"{live_api}/cases/{referral['id']}")
    await expect(county.get_by_role("region", name="MDT consult")).to_contain_text("Concluded")
    for page in (county, coordinator, surgeon):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
