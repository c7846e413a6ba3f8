"""Reading back what the OHIF viewport drew, so a test can tell a rendered image from a blank or broken one."""

from __future__ import annotations

from playwright.async_api import Frame, Page

# The viewport's own pixels, not a screenshot: overlays (patient name, window/level text, banners) sit on top of the
# canvas in the DOM and would make even an empty viewport look "not blank". cornerstone draws each frame from its
# WebGL context into this 2D canvas, so its pixels can be read back.
SAMPLE_CANVAS = """canvas => {
  const ctx = canvas.getContext('2d');
  if (!ctx || !canvas.width || !canvas.height) return null;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const levels = new Set();
  let min = 255, max = 0;
  for (let i = 0; i < data.length; i += 4) {
    const luma = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
    levels.add(luma);
    if (luma < min) min = luma;
    if (luma > max) max = luma;
  }
  return {width: canvas.width, height: canvas.height, min, max, levels: levels.size};
}"""


async def viewport_pixels(page: Page | Frame) -> dict[str, int] | None:
    canvas = page.locator("canvas.cornerstone-canvas").first
    if not await canvas.count():
        return None
    sample: dict[str, int] | None = await canvas.evaluate(SAMPLE_CANVAS)
    return sample


def shows_an_image(sample: dict[str, int] | None) -> bool:
    """A rendered CT slice: dark air, grey body, a bright disc; many grey levels, not one flat colour."""
    return sample is not None and sample["max"] - sample["min"] > 50 and sample["levels"] > 16
