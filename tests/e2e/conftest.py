"""A real Yilian API on a real port and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Response, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.live import serve
from yilian.api.app import create_app
from yilian.api.static import viewer, web_app
from yilian.config import Settings

CHROMIUM = os.environ.get("YILIAN_CHROMIUM", "/usr/bin/chromium")
# No GPU in CI: Chromium falls back to SwiftShader, which cornerstone's WebGL renders with.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def viewer_build() -> Path:
    root = viewer.viewer_dir()
    if not (root / viewer.BUILD_INFO).is_file():
        pytest.fail(f"the OHIF viewer is not built at {root}: run `make viewer`")
    return root


@pytest.fixture(scope="session")
def web_build() -> Path:
    root = web_app.web_dir()
    if not (root / "index.html").is_file():
        pytest.fail(f"the web app is not built at {root}: run `make web`")
    return root


@pytest.fixture(scope="session")
async def live_api(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings, viewer_build: Path
) -> AsyncIterator[str]:
    """The whole API served by uvicorn on a free port, on the tests' event loop (the engine is bound to it).

    Its lifespan runs too, so the event hub listens to PostgreSQL and the web app gets live updates.
    """
    app = create_app(settings, engine, temporal_client)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


@pytest.fixture(scope="session")
async def api(live_api: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=live_api, timeout=30) as client:
        yield Api(client)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set YILIAN_CHROMIUM)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@dataclass
class Traffic:
    """What a page asked for and what went wrong, for assertions after the fact."""

    origin: str
    requests: list[Request] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failures.append(f"{r.url}: {r.failure}"))
        page.on("response", self._response)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def _request(self, request: Request) -> None:
        self.requests.append(request)
        if not request.url.startswith((self.origin + "/", "data:", "blob:")):
            self.off_origin.append(request.url)

    def _response(self, response: Response) -> None:
        self.responses.append(response)
        if response.status >= 400:
            self.failures.append(f"{response.url}: {response.status}")

    def dicomweb(self) -> list[Response]:
        return [r for r in self.responses if r.url.startswith(self.origin + "/dicomweb/")]


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile per test: no sessionStorage or cache carried over."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    await ctx.close()
