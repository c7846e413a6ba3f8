"""The OHIF viewer under /viewer/: served right, signed in with the user's token, and rendering a referral's study."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page
from pydicom.dataset import Dataset

from tests.e2e.conftest import Traffic
from tests.e2e.pixels import shows_an_image, viewport_pixels
from tests.support.api import Api, referral_body
from tests.support.dicom_gen import ct_series
from tests.support.stow import CONTENT_TYPE, stow_body
from tests.support.wait import wait_until
from yilian.api.static import viewer
from yilian.config import Settings

pytestmark = pytest.mark.integration

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "viewer.png"
COUNTY_DOCTOR, READER = "zhao.anping", "wang.expert"  # the demo alliance: Anping refers to a licensed reader


# --- Serving: plain HTTP against the live API -----------------------------------------------------------------


async def test_the_viewer_is_served_under_the_sub_path_with_types_and_cache_rules(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api) as http:
        r = await http.get("/viewer", follow_redirects=False)
        assert r.status_code == 308 and r.headers["location"] == "/viewer/"

        index = await http.get("/viewer/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert index.headers["cache-control"] == "no-cache"
        assert 'window.PUBLIC_URL="/viewer/"' in index.text
        assert not re.search(r'(?:href|src|content)="/(?!viewer/)', index.text)

        bundle = re.search(r'src="(/viewer/app\.bundle\.[0-9a-f]{16}\.js)"', index.text)
        assert bundle, "index.html names its app bundle"
        js = await http.get(bundle.group(1))
        assert js.headers["content-type"] == "text/javascript; charset=utf-8"
        assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert '__webpack_require__.p = "/viewer/";' in js.text
        # 17 MB of JavaScript goes out gzipped (precompressed at build time) unless the browser refuses gzip.
        assert js.headers["content-encoding"] == "gzip" and js.headers["vary"] == "Accept-Encoding"
        assert int(js.headers["content-length"]) < len(js.content) / 3
        plain = await http.get(bundle.group(1), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == js.content

        wasm_name = next(p.name for p in viewer.viewer_dir().glob("*.wasm"))
        wasm = await http.get(f"/viewer/{wasm_name}")
        assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"

        css = await http.get("/viewer/app.bundle.css")
        assert css.headers["content-type"] == "text/css; charset=utf-8" and "url(/viewer/" in css.text
        again = await http.get("/viewer/app.bundle.css", headers={"If-None-Match": css.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

        # Client routes (the worklist's link, a UID in the path) get the SPA; a missing file is a real 404.
        for route in ("/viewer/viewer?StudyInstanceUIDs=1.2.3", "/viewer/1.2.840.10008.5", "/viewer/assets"):
            spa = await http.get(route)
            assert spa.status_code == 200 and spa.text == index.text, route
        missing = await http.get("/viewer/no-such-chunk.bundle.0123456789abcdef.js")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        for sneaky in ("/viewer/%2e%2e/%2e%2e/pyproject.toml", "/viewer/.yilian-build.json", bundle.group(1) + ".gz"):
            r = await http.get(sneaky)
            assert r.status_code in (200, 404), sneaky
            assert "[project]" not in r.text and "package_lock_sha256" not in r.text, sneaky
            assert r.status_code == 404 or r.text == index.text, sneaky


async def test_app_config_points_ohif_at_our_dicomweb_with_the_users_token(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api) as http:
        r = await http.get("/viewer/app-config.js")
    assert r.status_code == 200 and r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert '"dicomwebPath": "/dicomweb"' in r.text and '"tokenKey": "yilian.token"' in r.text
    assert "https://" not in r.text  # nothing points off the origin


async def test_without_a_build_the_viewer_answers_a_clear_503(
    live_api: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "viewer_dir", tmp_path / "nothing-here")
    async with httpx.AsyncClient(base_url=live_api) as http:
        r = await http.get("/viewer/viewer?StudyInstanceUIDs=1.2.3")
    assert r.status_code == 503
    assert r.json()["error"] == "viewer_not_built" and "make viewer" in r.json()["message"]


# --- In the browser ---------------------------------------------------------------------------------------------


async def open_viewer(context: BrowserContext, origin: str, path: str) -> tuple[Page, Traffic]:
    page = await context.new_page()
    traffic = Traffic(origin)
    traffic.watch(page)
    await page.goto(origin + path)
    return page, traffic


async def test_the_study_list_loads_under_the_sub_path_and_sends_the_token(
    api: Api, live_api: str, context: BrowserContext
) -> None:
    token = await api.token(COUNTY_DOCTOR)
    page, traffic = await open_viewer(context, live_api, f"/viewer/#token={token}")
    await page.get_by_text("Study List").first.wait_for(timeout=20_000)
    await wait_until(
        lambda: [r.url for r in traffic.dicomweb()],
        "the viewer's QIDO-RS study search (DICOMweb responses)",
        ok=lambda urls: any("/dicomweb/studies?" in u for u in urls),
        within=20,
    )
    await page.wait_for_load_state("networkidle")

    qido = [r for r in traffic.dicomweb() if "/dicomweb/studies?" in r.url]
    assert qido and all(r.status in (200, 204) for r in qido), [(r.url, r.status) for r in qido]
    assert all(r.request.headers.get("authorization") == f"Bearer {token}" for r in qido)
    assert "#" not in page.url and token not in page.url  # the hand-over fragment is gone from the address bar
    assert await page.evaluate("sessionStorage.getItem('yilian.token')") == token
    assert traffic.failures == [], traffic.failures
    assert traffic.off_origin == [], traffic.off_origin
    assert not [e for e in traffic.errors if "page error" in e], traffic.errors


async def stow(api: Api, user: str, instances: list[Dataset]) -> None:
    r = await api.call(
        user, "POST", "/dicomweb/studies", content=stow_body(instances), headers={"Content-Type": CONTENT_TYPE}
    )
    assert r.status_code == 200, r.text


def described(series: list[Dataset], description: str, study_date: str) -> list[Dataset]:
    for ds in series:
        ds.StudyDescription = description
        ds.StudyDate = study_date
    return series


async def test_a_referrals_study_renders_with_the_patients_prior_available(
    api: Api, live_api: str, context: BrowserContext
) -> None:
    patient_id = f"VW{uuid.uuid4().hex[:8].upper()}"
    current = described(ct_series(n_slices=6, rows=256, cols=256, patient_id=patient_id), "CT CHEST", "20250610")
    prior = described(ct_series(n_slices=3, rows=128, cols=128, patient_id=patient_id), "CT CHEST PRIOR", "20240110")
    await stow(api, COUNTY_DOCTOR, current)
    await stow(api, COUNTY_DOCTOR, prior)
    study_uid = current[0].StudyInstanceUID
    body = referral_body(
        patient={"patient_id": patient_id, "name": "张三 Zhang San", "birth_date": "1970-01-01", "sex": "M"},
        study_instance_uid=study_uid,
    )
    referral = await api.ok(COUNTY_DOCTOR, "POST", "/api/referrals", 201, json=body)
    await api.wait_for(READER, referral["id"], "offered", "in_reading")

    token = await api.token(READER)
    started = time.monotonic()
    page, traffic = await open_viewer(context, live_api, f"/viewer/viewer?StudyInstanceUIDs={study_uid}#token={token}")
    await page.locator("canvas.cornerstone-canvas").first.wait_for(timeout=30_000)
    sample = await viewport_pixels(page)
    while not shows_an_image(sample) and time.monotonic() - started < 30:
        await page.wait_for_timeout(250)
        sample = await viewport_pixels(page)
    assert shows_an_image(sample), f"the viewport stayed blank: {sample}"

    # The prior (same Patient ID, same hospital) came back from OHIF's own QIDO and is offered for comparison.
    await page.get_by_text("CT CHEST PRIOR").first.wait_for(timeout=15_000)
    priors = [
        r for r in traffic.dicomweb() if "/dicomweb/studies?" in r.url and patient_id in r.url and r.status == 200
    ]
    assert priors, [r.url for r in traffic.dicomweb()]
    found = {s["0020000D"]["Value"][0] for s in await priors[-1].json()}
    assert found == {study_uid, prior[0].StudyInstanceUID}
    # What a reader does first: skip OHIF's onboarding tour and acknowledge its investigational-use notice.
    for button in ("Skip all", "Confirm and hide"):
        if await page.get_by_text(button, exact=True).count():
            await page.get_by_text(button, exact=True).first.click()

    # Opening the prior in the study browser retrieves its series: the reader may compare, not just see a title.
    prior_series = f"/dicomweb/studies/{prior[0].StudyInstanceUID}/series"
    async with page.expect_response(lambda r: prior_series in r.url, timeout=15_000) as opened:
        await page.get_by_text("CT CHEST PRIOR").first.click()
    assert (await opened.value).status == 200

    assert all(r.request.headers.get("authorization") == f"Bearer {token}" for r in traffic.dicomweb())
    assert traffic.off_origin == [], traffic.off_origin
    assert traffic.failures == [], traffic.failures
    await page.wait_for_timeout(500)  # let the prior's thumbnail settle for the picture
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))


async def test_without_a_token_dicomweb_refuses_and_the_viewer_shows_nothing(
    api: Api, live_api: str, context: BrowserContext
) -> None:
    series = ct_series(n_slices=2, rows=64, cols=64, patient_id=f"VW{uuid.uuid4().hex[:8].upper()}")
    await stow(api, COUNTY_DOCTOR, series)
    page, traffic = await open_viewer(
        context, live_api, f"/viewer/viewer?StudyInstanceUIDs={series[0].StudyInstanceUID}"
    )
    await page.locator("[data-yilian=sign-in-required]").wait_for(timeout=20_000)
    await page.wait_for_load_state("networkidle")
    answered = traffic.dicomweb()
    assert answered and all(r.status == 401 for r in answered), [(r.url, r.status) for r in answered]
    assert all("authorization" not in r.request.headers for r in answered)
    assert not shows_an_image(await viewport_pixels(page)), "an image was drawn without a token"
