"""Report deliveries in a real browser (issue 10 follow-up): a case signed for Anping, whose PACS refuses the report
for good as the hospital's gateway tells the cloud through the gateway's own API (the hospital's key: the real outside
boundary), shows as failed with the PACS's words on the Report deliveries screen; the hospital's coordinator sends it
again with a reason and sees it queued, and the gateway finds it among its open deliveries."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.webapp import signed_in
from tests.support.api import Api
from tests.support.matrix import walk
from tests.support.report_deliveries import settle_open
from tests.support.wait import wait_until
from yilian.db.demo import DEMO_PASSWORD

pytestmark = pytest.mark.integration
REFUSAL = "the PACS COUNTY_PACS at 10.0.0.5:104: the PACS cannot understand the instance (C000)"


async def test_a_coordinator_sees_a_refused_report_and_sends_it_again(
    api: Api, live_api: str, web_build: Path, browser: Browser, engine: AsyncEngine
) -> None:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "e2e deliveries"})
    gateway = {"Authorization": f"Bearer {key['api_key']}"}

    async def open_deliveries() -> list[dict[str, Any]]:
        r = await api.client.get("/api/pacs-deliveries", headers=gateway)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    rid = ""
    try:
        await open_deliveries()  # the gateway asks: it has a PACS, so the cloud makes reports for it
        rid = await walk(api, engine, "returned")
        listed = await wait_until(
            open_deliveries, "the signed report's PDF and SR for the gateway",
            ok=lambda ds: len([d for d in ds if d["referral_id"] == rid]) == 2, within=90,
        )  # fmt: skip
        [pdf] = [d for d in listed if d["referral_id"] == rid and d["kind"] == "pdf"]
        for body in (
            {"state": "queued", "dicom_status": None, "detail": ""},
            {"state": "failed", "dicom_status": 0xC000, "detail": REFUSAL},
        ):
            r = await api.client.post(f"/api/pacs-deliveries/{pdf['id']}/outcome", headers=gateway, json=body)
            assert r.status_code == 200, r.text

        coordinator = f"anping.coord.{uuid.uuid4().hex[:6]}"
        await api.ok("admin", "POST", "/api/admin/users", 201, json={
            "username": coordinator, "display_name": "安平协调员 Anping Coordinator", "role": "coordinator",
            "hospital_id": "h-anping", "password": DEMO_PASSWORD})  # fmt: skip
        page = await signed_in(browser, live_api, coordinator)
        await page.get_by_role("link", name="Report deliveries").click()
        await expect(page.get_by_role("heading", name="Reports delivered to the hospital's PACS")).to_be_visible()
        await page.get_by_label("State").select_option("failed")
        row = page.get_by_test_id(f"delivery-{pdf['id']}")
        await expect(row).to_contain_text("Refused by the PACS")
        await expect(row).to_contain_text("C000")
        await expect(row).to_contain_text("cannot understand the instance")
        await expect(row.get_by_role("link", name=rid)).to_be_visible()

        await row.get_by_role("button", name="Send again").click()
        await row.get_by_label("Why").fill("PACS 已修复 / the PACS was fixed")
        await row.get_by_role("button", name="Yes, send again").click()
        await page.get_by_label("State").select_option("")
        await expect(row).to_contain_text("Queued at the gateway")
        await expect(row.get_by_role("button", name="Send again")).to_have_count(0)
        assert pdf["id"] in {d["id"] for d in await open_deliveries()}
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        if rid:
            await settle_open(api, gateway, rid)
        revoked = await api.call("admin", "DELETE", f"/api/hospitals/h-anping/api-keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text
