"""Report search in the browser: a county doctor finds a report signed through the real workflow by its Chinese
words and by an English synonym, sees the match marked, opens the case and its similar cases (Debian's Chromium)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api
from tests.support.live import serve
from tests.support.search import fresh_alias
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.search.reports import ReportIndex

pytestmark = pytest.mark.integration

# Chinese only: the English query must reach it through the synonyms, not through its words.
REPORT = {
    "findings": "右肺上叶尖段见一磨玻璃结节，直径约9mm，边界清楚，未见胸腔积液。",
    "impression": "右肺上叶磨玻璃结节，建议3个月后复查。",
    "structured": {},
}


@pytest.fixture(scope="module")
async def search_site(
    temporal_client: Client,
    engine: AsyncEngine,
    settings: Settings,
    opensearch_url: str,
    viewer_build: Path,
    web_build: Path,
) -> AsyncIterator[tuple[str, Settings]]:
    """The whole app with report search, on a real port, with a worker of its own that indexes what is signed."""
    from yilian.worker import build_worker

    s = settings.model_copy(
        update={
            "opensearch_url": opensearch_url,
            "search_alias": fresh_alias("e2e"),
            "task_queue": f"{settings.task_queue}-e2e-search",
        }
    )
    async with build_worker(temporal_client, engine, s):
        app = create_app(s, engine, temporal_client)
        async with app.router.lifespan_context(app), serve(app) as url:
            yield url, s


async def _signed_case(api: Api) -> str:
    rid: str = (await api.submit("zhao.anping"))["id"]
    await api.wait_for("zhao.anping", rid, "offered")
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/accept", json={})
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})
    await api.wait_for("zhao.anping", rid, "returned", "closed", timeout=60)
    return rid


async def test_search_page_finds_a_signed_report(browser: Browser, search_site: tuple[str, Settings]) -> None:
    url, s = search_site
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        rid = await _signed_case(Api(client))
    assert s.opensearch_url
    index = ReportIndex.from_url(s.opensearch_url, s.search_alias)

    async def indexed() -> Any:
        return await index.get(rid)

    try:
        await wait_until(indexed, f"{rid} indexed by the workflow's activity", within=120, every=0.5)
    finally:
        await index.close()

    page = await signed_in(browser, url, "zhao.anping")
    await page.get_by_role("link", name="Report search").click()
    box = page.get_by_label("Search reports")
    await box.fill("磨玻")
    await expect(page.get_by_role("button", name="磨玻璃结节", exact=True)).to_be_visible()  # a suggestion
    await page.get_by_role("button", name="磨玻璃结节", exact=True).click()
    result = page.get_by_role("link", name=f"Open case {rid}")
    await wait_until(lambda: result.count(), f"{rid} among the results for 磨玻璃结节", within=20)
    hit = page.locator(".search-hit", has=result)
    await expect(hit.locator("mark").first).to_contain_text("磨玻璃结节")
    await expect(page.get_by_role("group", name="Modality")).to_contain_text("CT")
    await shot(page, "report-search")

    # An English synonym finds the Chinese-only report; a negated mention alone does not count.
    await box.fill("ground-glass nodule")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_role("link", name=f"Open case {rid}")).to_be_visible()
    await box.fill("pleural effusion")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_role("link", name=f"Open case {rid}")).to_have_count(0)
    await page.get_by_label("Also find negated and uncertain mentions").check()
    await expect(page.get_by_role("link", name=f"Open case {rid}")).to_be_visible()

    await page.get_by_role("link", name=f"Open case {rid}").click()
    await expect(page.get_by_role("heading", name="Similar cases")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()
