"""Cross-origin viewers (standards.md OHIF-04): an allow-list of origins (settings.cors_origins, empty by default) may
call DICOMweb and the API from a browser; preflight OPTIONS is answered and Authorization allowed. The OHIF viewer,
served by another server on another origin, shows a study in Debian's Chromium against it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import FileResponse
from playwright.async_api import async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.pixels import shows_an_image, viewport_pixels
from tests.support.api import Api
from tests.support.dicom_gen import ct_series
from tests.support.live import serve
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.api.app import create_app
from yilian.api.static import viewer
from yilian.config import Settings

pytestmark = pytest.mark.integration

DOCTOR = "zhao.anping"
STRANGER = "http://stranger.example"


def _other_viewer_server(root: Path, api: dict[str, str]) -> FastAPI:
    """Someone else's OHIF deployment: the same build, its app-config pointing at our DICOMweb on another origin."""
    app = FastAPI()

    @app.get("/viewer/app-config.js")
    async def config() -> Response:
        js = viewer.app_config_js("/dicomweb")
        same_origin = "window.location.origin + yilian.dicomwebPath"
        assert same_origin in js, "app_config_js changed shape"
        return Response(js.replace(same_origin, json.dumps(api["url"] + "/dicomweb")), media_type="text/javascript")

    @app.get("/viewer/{path:path}")
    def files(path: str) -> Response:  # sync: FastAPI runs it in a thread (it touches the disk)
        file = (root / path).resolve()
        if path and file.is_file() and root.resolve() in file.parents:
            media_type = "application/wasm" if file.suffix == ".wasm" else None
            return FileResponse(file, media_type=media_type)
        return FileResponse(root / "index.html")

    return app


@pytest.fixture(scope="module")
async def origins(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[tuple[str, str]]:
    """(the viewer's origin, our API's URL): http://localhost:<p> and http://127.0.0.1:<q>, two origins."""
    root = viewer.viewer_dir()
    if not (root / viewer.BUILD_INFO).is_file():
        pytest.fail(f"the OHIF viewer is not built at {root}: run `make viewer`")
    api: dict[str, str] = {}
    async with serve(_other_viewer_server(root, api)) as viewer_url:
        ohif = viewer_url.replace("127.0.0.1", "localhost")
        allowed = settings.model_copy(update={"cors_origins": [ohif]})
        async with serve(create_app(allowed, engine, temporal_client)) as api_url:
            api["url"] = api_url
            yield ohif, api_url


async def test_preflight_and_answers_carry_cors_only_for_the_listed_origins(
    origins: tuple[str, str], live_url: str, api: Api
) -> None:
    ohif, api_url = origins
    token = await api.token(DOCTOR)
    ask = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        for path in ("/dicomweb/studies", "/api/me"):
            r = await http.options(path, headers={"Origin": ohif, **ask})
            assert r.status_code == 200, (path, r.text)
            assert r.headers["access-control-allow-origin"] == ohif
            assert "authorization" in r.headers["access-control-allow-headers"].lower()
            assert "GET" in r.headers["access-control-allow-methods"]
            refused = await http.options(path, headers={"Origin": STRANGER, **ask})
            assert "access-control-allow-origin" not in refused.headers, path
        r = await http.get("/dicomweb/studies", params={"PatientID": "CORS-0"},
                           headers={"Origin": ohif, "Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.headers["access-control-allow-origin"] == ohif
        assert "warning" in r.headers["access-control-expose-headers"].lower()
        r = await http.get("/dicomweb/studies", params={"PatientID": "CORS-0"},
                           headers={"Origin": STRANGER, "Authorization": f"Bearer {token}"})  # fmt: skip
        assert "access-control-allow-origin" not in r.headers
    # The default (the session's own server, no origins listed): same origin only.
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as http:
        r = await http.options("/dicomweb/studies", headers={"Origin": ohif, **ask})
        assert "access-control-allow-origin" not in r.headers


async def test_ohif_on_another_origin_shows_a_study_in_chromium(origins: tuple[str, str], api: Api) -> None:
    ohif, api_url = origins
    series = ct_series(n_slices=3, rows=64, cols=64, patient_id="CORS-1")
    r = await api.call(DOCTOR, "POST", "/dicomweb/studies", content=stow_body(series),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    token = await api.token(DOCTOR)
    study = series[0].StudyInstanceUID
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            dicomweb: list[tuple[str, int, str | None, str | None]] = []
            page.on(
                "response",
                lambda resp: (
                    dicomweb.append(
                        (
                            resp.url,
                            resp.status,
                            resp.headers.get("access-control-allow-origin"),
                            resp.request.headers.get("authorization"),
                        )  # fmt: skip
                    )
                    if resp.url.startswith(api_url + "/dicomweb/")
                    else None
                ),
            )
            await page.goto(f"{ohif}/viewer/viewer?StudyInstanceUIDs={study}#token={token}")
            await page.locator("canvas.cornerstone-canvas").first.wait_for(timeout=60_000)
            started, sample = time.monotonic(), await viewport_pixels(page)
            while not shows_an_image(sample) and time.monotonic() - started < 60:
                await page.wait_for_timeout(250)
                sample = await viewport_pixels(page)
            assert shows_an_image(sample), f"the viewport stayed blank: {sample}; DICOMweb answers: {dicomweb}"
        finally:
            await browser.close()
    assert page.url.startswith(ohif)  # the page really is on the other origin
    assert dicomweb and all(status in (200, 204) for _, status, _, _ in dicomweb), dicomweb
    assert all(allow == ohif and auth == f"Bearer {token}" for _, _, allow, auth in dicomweb), dicomweb
    assert any("/frames/" in url or "/metadata" in url for url, *_ in dicomweb), dicomweb
