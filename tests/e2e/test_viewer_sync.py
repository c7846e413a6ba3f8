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
    await context.add_init_script(f"sessionStorage.setItem('yilian.token', '{token}')")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{origin}/api/no-such-page")  # any document of the origin will do as the parent
    await page.add_script_tag(content=bridge_js)
    await page.evaluate(
        """uid => {
          document.body.innerHTML = '';
          document.body.style.margin = '0';
          const frame = document.createElement('iframe');
          frame.id = 'viewer';
          frame.style.cssText = 'width:1080px;height:740px;border:0';
          frame.src = '/viewer/viewer?StudyInstanceUIDs=' + encodeURIComponent(uid);
          document.body.appendChild(frame);
          window.bridge = new YilianViewerSync.ViewerBridge(frame);
        }""",
        study_uid,
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
    value: dict[str, Any] = await page.evaluate("window.bridge.read()")
    assert value is not None, "the bridge read no state"
    return value


async def canvas_box(page: Page) -> dict[str, float]:
    box = await viewer_frame(page).locator("canvas.cornerstone-canvas").first.bounding_box()
    assert box is not None
    return box


CANVAS_DIGEST = """canvas => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
  return h;
}"""


async def pixels_digest(page: Page) -> int:
    digest: int = await viewer_frame(page).locator("canvas.cornerstone-canvas").first.evaluate(CANVAS_DIGEST)
    return digest


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
    api: Api, live_api: str, browser: Browser, bridge_js: str
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
    assert start["study_uid"] == study_uid and start["image_index"] == 0

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
        ok=lambda s: s["image_index"] >= 3 and s["voi"] != start["voi"],
        within=10,
    )
    # OHIF's hanging protocol chose which of the two series the single viewport shows first.
    shown, hidden = (axial, thin) if moved["series_uid"] == axial[0].SeriesInstanceUID else (thin, axial)
    assert moved["sop_uid"] in {ds.SOPInstanceUID for ds in shown}
    before = await pixels_digest(follower)
    outcome = await follower.evaluate("s => window.bridge.apply(s)", moved)
    assert outcome == {"status": "applied"}
    followed = await state(follower)
    assert (followed["sop_uid"], followed["image_index"]) == (moved["sop_uid"], moved["image_index"])
    assert followed["voi"] == moved["voi"]
    assert await pixels_digest(follower) != before, "the follower's viewport did not redraw"
    await presenter.wait_for_timeout(300)
    assert await pixels_digest(follower) == await pixels_digest(presenter), "the two viewports draw different images"

    # Zoom and pan travel as cornerstone's view presentation (relative to each viewport's fit, so sizes may differ).
    await presenter.evaluate(
        """() => {
          const f = document.getElementById('viewer').contentWindow;
          const s = f.yilianViewer.servicesManager.services;
          const active = s.viewportGridService.getState().activeViewportId;
          const vp = s.cornerstoneViewportService.getCornerstoneViewport(active);
          vp.setViewPresentation({zoom: 1.8, pan: [0.05, -0.03]}); vp.render();
        }"""
    )
    zoomed = await state(presenter)
    assert zoomed["presentation"]["zoom"] == pytest.approx(1.8, rel=0.01)
    assert await follower.evaluate("s => window.bridge.apply(s)", zoomed) == {"status": "applied"}
    assert (await state(follower))["presentation"] == zoomed["presentation"]
    await presenter.wait_for_timeout(300)
    assert await pixels_digest(follower) == await pixels_digest(presenter)

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
        moved["sop_uid"],
    )
    marked = await state(presenter)
    assert [a["uid"] for a in marked["annotations"]] == ["length-by-presenter"]
    assert await follower.evaluate("s => window.bridge.apply(s)", marked) == {"status": "applied"}
    got = (await state(follower))["annotations"]
    assert [(a["uid"], a["tool"], a["sop_uid"], a["points"]) for a in got] == [
        (a["uid"], a["tool"], a["sop_uid"], a["points"]) for a in marked["annotations"]
    ]
    # ...and goes when the presenter removes it.
    cleared = {**marked, "annotations": []}
    assert await follower.evaluate("s => window.bridge.apply(s)", cleared) == {"status": "applied"}
    assert (await state(follower))["annotations"] == []

    # The other series of the study: the follower switches its viewport to it and lands on the same image.
    other = {
        **marked,
        "series_uid": hidden[0].SeriesInstanceUID,
        "sop_uid": hidden[6].SOPInstanceUID,
        "image_index": 0,
        "presentation": None,
        "annotations": [],
    }
    assert await follower.evaluate("s => window.bridge.apply(s)", other) == {"status": "applied"}
    switched = await state(follower)
    assert switched["series_uid"] == hidden[0].SeriesInstanceUID and switched["sop_uid"] == hidden[6].SOPInstanceUID

    # A series the follower has not loaded is named, so the room can open its study.
    elsewhere = {**other, "study_uid": "1.2.3.4", "series_uid": "1.2.3.4.5"}
    assert await follower.evaluate("s => window.bridge.apply(s)", elsewhere) == {
        "status": "missing_series",
        "study_uid": "1.2.3.4",
        "series_uid": "1.2.3.4.5",
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
    assert applied["read"]["sop_uid"] == moved["sop_uid"]
    for page in (presenter, follower):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
