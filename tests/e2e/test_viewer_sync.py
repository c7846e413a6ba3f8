"""The web app's viewer sync bridge (web/src/live/viewerSync.ts) on two real OHIF viewers in Chromium.

Each page is a same-origin parent holding the viewer in an iframe, as the consult room does, with the bridge
module bundled from its source. What a presenter does by hand (wheel to another slice, drag the window, zoom,
another series, a length measurement) is read on one page and applied on the other; the other then reports the
same state and its viewport draws the same pixels.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, Page

from tests.e2e.pixels import shows_an_image, viewport_pixels
from tests.support.api import Api
from tests.support.dicom_gen import ct_series
from tests.support.stow import CONTENT_TYPE, stow_body
from tests.support.wait import wait_until
from yilian.live.protocol import ViewerState

pytestmark = pytest.mark.integration

WEB = Path(__file__).resolve().parents[2] / "web"
COUNTY_DOCTOR = "zhao.anping"  # sees the studies his hospital sent


@pytest.fixture(scope="module")
def bridge_js(tmp_path_factory: pytest.TempPathFactory) -> str:
    """viewerSync.ts as a browser script (window.YilianViewerSync), bundled by the web app's own esbuild."""
    out = tmp_path_factory.mktemp("bridge") / "viewerSync.js"
    subprocess.run(
        [
            str(WEB / "node_modules/.bin/esbuild"),
            "src/live/viewerSync.ts",
            "--bundle",
            "--format=iife",
            "--global-name=YilianViewerSync",
            f"--outfile={out}",
        ],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    return out.read_text()


async def viewer_page(browser: Browser, origin: str, token: str, study_uid: str, bridge_js: str) -> Page:
    """A same-origin parent page with the OHIF viewer in an iframe and a bridge to it as window.bridge."""
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{origin}/login")  # a page of the web app, whose policy lets it frame the viewer as the room does
    await page.evaluate(bridge_js + ";window.YilianViewerSync = YilianViewerSync;")  # not inline: CSP forbids it
    await page.evaluate(
        """([uid, token]) => {
          document.body.innerHTML = '';
          document.body.style.margin = '0';
          const frame = document.createElement('iframe');
          frame.id = 'viewer';
          frame.style.cssText = 'width:1080px;height:740px;border:0';
          frame.src = '/viewer/viewer?StudyInstanceUIDs=' + encodeURIComponent(uid) + '#token=' + token;
          document.body.appendChild(frame);
          window.bridge = new YilianViewerSync.ViewerBridge(frame);
        }""",
        [study_uid, token],
    )
    await wait_until(lambda: page.evaluate("window.bridge.ready()"), "the viewer's stack in its viewport", within=60)
    viewer = viewer_frame(page)
    for button in ("Skip all", "Confirm and hide"):  # OHIF's onboarding tour and its investigational-use notice
        if await viewer.get_by_text(button, exact=True).count():
            await viewer.get_by_text(button, exact=True).first.click()
    await wait_until(lambda: viewport_pixels(viewer), "a rendered image", ok=shows_an_image, within=30)
    return page


def viewer_frame(page: Page) -> Frame:
    frame = page.frame(url=lambda url: "/viewer/viewer" in url)
    assert frame is not None, [f.url for f in page.frames]
    return frame


async def state(page: Page) -> dict[str, Any]:
    """The bridge's reading, checked against the data channel's contract (it goes on the wire as it is)."""
    value: dict[str, Any] = await page.evaluate("window.bridge.read()")
    assert value is not None, "the bridge read no state"
    ViewerState.model_validate(value)
    return value


async def canvas_box(page: Page) -> dict[str, float]:
    box = await viewer_frame(page).locator("canvas.cornerstone-canvas").first.bounding_box()
    assert box is not None
    return box


# The viewport canvas as 24x24 blocks of mean luminance: two viewers showing the same view agree to a grey level or
# two (resampling a sub-pixel pan may move single pixels); another slice, window or zoom moves blocks by far more.
CANVAS_BLOCKS = """canvas => {
  const n = 24, w = canvas.width, h = canvas.height;
  const d = canvas.getContext('2d').getImageData(0, 0, w, h).data;
  const sums = new Array(n * n).fill(0), counts = new Array(n * n).fill(0);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 4, b = Math.floor(y * n / h) * n + Math.floor(x * n / w);
    sums[b] += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; counts[b]++;
  }
  return sums.map((s, b) => s / Math.max(1, counts[b]));
}"""


async def blocks(page: Page) -> list[float]:
    values: list[float] = await viewer_frame(page).locator("canvas.cornerstone-canvas").first.evaluate(CANVAS_BLOCKS)
    return values


def difference(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


async def draw_alike(follower: Page, presenter: Page, what: str) -> None:
    """Both viewports draw the same picture (waiting for the follower's render to land)."""
    await wait_until(
        lambda: _difference_now(follower, presenter),
        f"the follower to draw {what} as the presenter does",
        ok=lambda d: d <= 3,
        within=10,
    )


async def _difference_now(a: Page, b: Page) -> float:
    return difference(await blocks(a), await blocks(b))


async def stow(api: Api, instances: list[Any]) -> None:
    r = await api.call(
        COUNTY_DOCTOR,
        "POST",
        "/dicomweb/studies",
        content=stow_body(instances),
        headers={"Content-Type": CONTENT_TYPE},
    )
    assert r.status_code == 200, r.text


async def test_a_presenters_slice_window_zoom_series_and_measurement_reach_another_viewer(
    api: Api, live_api: str, web_build: Path, browser: Browser, bridge_js: str
) -> None:
    patient = f"VS{uuid.uuid4().hex[:8].upper()}"
    axial = ct_series(n_slices=12, rows=256, cols=256, patient_id=patient)
    study_uid = axial[0].StudyInstanceUID
    thin = ct_series(n_slices=8, rows=128, cols=128, patient_id=patient, study_uid=study_uid, slice_thickness=2.0)
    await stow(api, axial + thin)
    token = await api.token(COUNTY_DOCTOR)
    presenter = await viewer_page(browser, live_api, token, study_uid, bridge_js)
    follower = await viewer_page(browser, live_api, token, study_uid, bridge_js)

    start = await state(follower)
    assert start["study_instance_uid"] == study_uid and start["slice_index"] == 0

    # The presenter scrolls five slices down and drags the window, by hand, in the viewer.
    box = await canvas_box(presenter)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await presenter.mouse.move(cx, cy)
    for _ in range(5):
        await presenter.mouse.wheel(0, 100)
        await presenter.wait_for_timeout(80)
    await presenter.mouse.down()
    await presenter.mouse.move(cx + 120, cy + 60, steps=8)
    await presenter.mouse.up()
    moved = await wait_until(
        lambda: state(presenter),
        "the presenter's own slice and window to change",
        ok=lambda s: s["slice_index"] >= 3 and s["window_center"] != start["window_center"],
        within=10,
    )
    # OHIF's hanging protocol chose which of the two series the single viewport shows first.
    shown, hidden = (axial, thin) if moved["series_instance_uid"] == axial[0].SeriesInstanceUID else (thin, axial)
    assert moved["sop_instance_uid"] in {ds.SOPInstanceUID for ds in shown}
    before = await blocks(follower)
    outcome = await follower.evaluate("s => window.bridge.apply(s)", moved)
    assert outcome == {"status": "applied"}
    followed = await state(follower)
    assert followed == moved
    await draw_alike(follower, presenter, "the slice in the window")
    assert difference(await blocks(follower), before) > 20, "the follower's viewport did not change"

    # Zoom and pan travel as cornerstone's view presentation (relative to each viewport's fit, so sizes may differ).
    await presenter.evaluate(
        """() => {
          const f = document.getElementById('viewer').contentWindow;
          const s = f.yilianViewer.servicesManager.services;
          const active = s.viewportGridService.getState().activeViewportId;
          const vp = s.cornerstoneViewportService.getCornerstoneViewport(active);
          vp.setViewPresentation({zoom: 1.8, pan: [20, -12]}); vp.render();
        }"""
    )
    zoomed = await state(presenter)
    assert zoomed["zoom"] == pytest.approx(1.8, rel=0.01) and zoomed["pan_x"] != 0 and zoomed["pan_y"] != 0
    assert await follower.evaluate("s => window.bridge.apply(s)", zoomed) == {"status": "applied"}
    assert await state(follower) == zoomed
    await draw_alike(follower, presenter, "the zoomed and panned view")

    # A measurement drawn on the presenter's image appears on the follower's, at the same place in the patient.
    await presenter.evaluate(
        """sop => {
          const f = document.getElementById('viewer').contentWindow;
          const s = f.yilianViewer.servicesManager.services;
          const active = s.viewportGridService.getState().activeViewportId;
          const vp = s.cornerstoneViewportService.getCornerstoneViewport(active);
          const imageId = vp.getCurrentImageId();
          const cam = vp.getCamera();
          f.cornerstoneTools.annotation.state.addAnnotation({
            annotationUID: 'length-by-presenter',
            metadata: {toolName: 'Length', referencedImageId: imageId, FrameOfReferenceUID: vp.getFrameOfReferenceUID(),
                       viewPlaneNormal: cam.viewPlaneNormal, viewUp: cam.viewUp},
            data: {handles: {points: [vp.canvasToWorld([100, 100]), vp.canvasToWorld([220, 160])], textBox: {}}},
          }, vp.getFrameOfReferenceUID());
          vp.render();
        }""",
        moved["sop_instance_uid"],
    )
    marked = await state(presenter)
    assert [(a["annotation_id"], a["kind"]) for a in marked["annotations"]] == [("length-by-presenter", "length")]
    # in the image's own pixels: where the presenter drew it (canvas 100,100 -> 220,160), inside the 256 or 128 matrix
    assert all(0 <= c <= shown[0].Rows for p in marked["annotations"][0]["points"] for c in p)
    assert await follower.evaluate("s => window.bridge.apply(s)", marked) == {"status": "applied"}
    assert (await state(follower))["annotations"] == marked["annotations"]
    # ...and goes when the presenter removes it.
    cleared = {**marked, "annotations": []}
    assert await follower.evaluate("s => window.bridge.apply(s)", cleared) == {"status": "applied"}
    assert (await state(follower))["annotations"] == []

    # The other series of the study: the follower switches its viewport to it and lands on the same image.
    other = {
        **marked,
        "series_instance_uid": hidden[0].SeriesInstanceUID,
        "sop_instance_uid": hidden[6].SOPInstanceUID,
        "slice_index": 0,
        "zoom": 1,
        "annotations": [],
    }
    assert await follower.evaluate("s => window.bridge.apply(s)", other) == {"status": "applied"}
    switched = await state(follower)
    assert (
        switched["series_instance_uid"] == hidden[0].SeriesInstanceUID
        and switched["sop_instance_uid"] == hidden[6].SOPInstanceUID
    )

    # A series the follower has not loaded is named, so the room can open its study.
    elsewhere = {**other, "study_instance_uid": "1.2.3.4", "series_instance_uid": "1.2.3.4.5"}
    assert await follower.evaluate("s => window.bridge.apply(s)", elsewhere) == {
        "status": "missing_series",
        "study_instance_uid": "1.2.3.4",
        "series_instance_uid": "1.2.3.4.5",
    }

    # The follower's side: sequence numbers, newest wins, an old state is dropped.
    applied = await follower.evaluate(
        """async ([early, late]) => {
          const seen = [];
          const f = new YilianViewerSync.ViewerFollower(window.bridge, (o, seq) => seen.push([o.status, seq]));
          f.offer(7, late);
          f.offer(3, early);  // older than what is waiting: dropped
          while (f.appliedSeq < 7) await new Promise(r => setTimeout(r, 50));
          f.offer(5, early);  // older than what was applied: dropped
          await new Promise(r => setTimeout(r, 300));
          return {seen, read: window.bridge.read()};
        }""",
        [start, moved],
    )
    assert applied["seen"] == [["applied", 7]]
    assert applied["read"]["sop_instance_uid"] == moved["sop_instance_uid"]
    for page in (presenter, follower):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
