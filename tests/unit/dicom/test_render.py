"""Rendered frames (PS3.18 §8.3.5): every installed codec, VOI windows, viewports, parameters, speed."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from tests.support import dicom_gen

from yilian.dicom.frames import FrameNotFoundError
from yilian.dicom.render import (
    RenderParameterError,
    UndecodablePixelDataError,
    Viewport,
    decodable,
    parse_quality,
    parse_viewport,
    parse_window,
    render,
    thumbnail,
    to_display_pixels,
)


def _read(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not in the installed pydicom test data"
    return dcmread(path)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# One file per compressed transfer syntax the installed, licence-compatible codecs decode.
CODEC_FILES = [
    ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),  # pylibjpeg-openjpeg
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),
    ("examples_jpeg2k.dcm", "1.2.840.10008.1.2.4.90"),  # YBR_RCT colour
    ("SC_rgb_rle.dcm", "1.2.840.10008.1.2.5"),  # RLE colour
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),  # pyjpegls
    ("SC_rgb_jls_lossy_line.dcm", "1.2.840.10008.1.2.4.81"),
    ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),  # Pillow, YBR_FULL
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", "1.2.840.10008.1.2.4.50"),  # YBR_FULL_422
    ("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70"),  # python-gdcm, JPEG lossless SV1
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
    ("liver_1frame.dcm", "1.2.840.10008.1.2.1"),  # 1-bit
    ("examples_palette.dcm", "1.2.840.10008.1.2.1"),  # PALETTE COLOR
]


@pytest.mark.parametrize(("name", "transfer_syntax"), CODEC_FILES)
@pytest.mark.parametrize("media_type", ["image/jpeg", "image/png", "image/gif"])
def test_each_transfer_syntax_renders_a_real_image(name: str, transfer_syntax: str, media_type: str) -> None:
    ds = _read(name)
    assert ds.file_meta.TransferSyntaxUID == transfer_syntax
    assert decodable(transfer_syntax)
    image = _open(render(ds, media_type=media_type))
    assert image.format == {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}[media_type]
    assert image.size == (ds.Columns, ds.Rows)
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert pixels.var() > 0, "the rendered image is blank"


def test_colour_stays_colour_and_grey_stays_grey() -> None:
    colour = np.asarray(_open(render(_read("SC_rgb_rle.dcm"), media_type="image/png")))
    assert colour.ndim == 3 and colour.shape[2] == 3
    assert np.abs(colour[..., 0].astype(int) - colour[..., 2].astype(int)).max() > 100  # red and blue bands
    grey = _open(render(_read("MR_small_RLE.dcm"), media_type="image/png"))
    assert grey.mode == "L"


def test_compressed_and_native_render_the_same() -> None:
    # Lossless codecs must give exactly the native pixels, hence the same rendering.
    native = to_display_pixels(_read("MR_small.dcm"))
    for name in ("MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm"):
        assert np.array_equal(to_display_pixels(_read(name)), native), name


def test_window_changes_the_output_and_follows_the_linear_function() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=64, cols=64)[0]
    soft = to_display_pixels(ds)  # the image's first window: 40/400 HU
    lung = to_display_pixels(ds, window=(-600, 1500, "linear"))
    assert not np.array_equal(soft, lung)
    assert np.array_equal(soft, to_display_pixels(ds, window=(40, 400, "linear")))
    hu = ds.pixel_array.astype(np.float32) - 1024
    # PS3.3 C.11.2.1.2.1: at or below c - 0.5 - (w-1)/2 is black, above c - 0.5 + (w-1)/2 is white.
    assert (soft[hu <= 40 - 0.5 - 399 / 2] == 0).all()
    assert (soft[hu > 40 - 0.5 + 399 / 2] == 255).all()
    assert soft.var() > 0
    assert not np.array_equal(_open(render(ds)).tobytes(), _open(render(ds, window=(500, 100, "sigmoid"))).tobytes())
    exact = to_display_pixels(ds, window=(40, 400, "linear-exact"))
    assert (exact[hu <= -160] == 0).all() and (exact[hu > 240] == 255).all()


def test_rescale_is_applied_before_the_window() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=32, cols=32)[0]
    before = to_display_pixels(ds)
    ds.RescaleIntercept = 0  # stored values are now read as HU, 1024 brighter
    assert not np.array_equal(before, to_display_pixels(ds))


def test_without_a_window_the_frame_range_is_used() -> None:
    ds = dicom_gen.mr_series(n_slices=1, rows=32, cols=32)[0]
    del ds.WindowCenter
    del ds.WindowWidth
    out = to_display_pixels(ds)
    assert out.min() == 0 and out.max() == 255


def test_monochrome1_is_inverted() -> None:
    ds = dicom_gen.dx_image(rows=64, cols=64)[0]
    normal = to_display_pixels(ds)
    ds.PhotometricInterpretation = "MONOCHROME1"
    assert np.array_equal(to_display_pixels(ds), 255 - normal)


def test_multi_frame_chooses_the_frame() -> None:
    ds = _read("SC_rgb_rle_2frame.dcm")
    first, second = to_display_pixels(ds, 1), to_display_pixels(ds, 2)
    assert not np.array_equal(first, second)
    ybr = _read("examples_ybr_color.dcm")
    assert not np.array_equal(to_display_pixels(ybr, 1), to_display_pixels(ybr, 30))
    with pytest.raises(FrameNotFoundError):
        render(ybr, 31)


def test_viewport_scales_keeping_the_aspect_ratio_and_crops() -> None:
    ds = dicom_gen.dx_image(rows=200, cols=100)[0]
    assert _open(render(ds, viewport=(50, 50))).size == (25, 50)
    assert _open(render(ds, viewport=(400, 400))).size == (200, 400)
    full = to_display_pixels(ds)
    cropped = np.asarray(_open(render(ds, media_type="image/png", viewport=(10, 20, 5, 30, 10, 20))))
    assert np.array_equal(cropped, full[30:50, 5:15])
    flipped = np.asarray(_open(render(ds, media_type="image/png", viewport=Viewport(10, 20, 5, 30, -10, 20))))
    assert np.array_equal(flipped, full[30:50, 5:15][:, ::-1])


def test_quality_changes_the_jpeg() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=128, cols=128)[0]
    assert len(render(ds, quality=10)) < len(render(ds, quality=95))
    with pytest.raises(RenderParameterError):
        render(ds, quality=0)
    with pytest.raises(RenderParameterError):
        render(ds, media_type="image/bmp")


def test_thumbnail_is_a_small_jpeg_without_metadata() -> None:
    ds = dicom_gen.ct_series(n_slices=1)[0]
    data = thumbnail(ds)
    image = _open(data)
    assert image.format == "JPEG" and max(image.size) == 128
    assert np.asarray(image).var() > 0
    assert not image.info.get("exif") and b"Zhang" not in data and "张".encode() not in data


def test_a_512_ct_slice_renders_in_a_few_milliseconds() -> None:
    ds = dicom_gen.ct_series(n_slices=1)[0]
    render(ds)  # warm up codecs
    start = time.perf_counter()
    for _ in range(10):
        render(ds)
    per_image = (time.perf_counter() - start) / 10
    assert per_image < 0.025, f"{per_image * 1000:.1f} ms per 512x512 JPEG"


def test_undecodable_pixels_are_reported_in_words() -> None:
    # 12-bit JPEG Extended needs libjpeg (GPL, not installed): Pillow and GDCM's pydicom plugin refuse it.
    with pytest.raises(UndecodablePixelDataError, match="cannot decode"):
        render(_read("JPEG-lossy.dcm"))
    assert not decodable("1.2.3.4")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40,400,linear", (40.0, 400.0, "linear")), ("-600, 1500, SIGMOID", (-600.0, 1500.0, "sigmoid"))],
)
def test_parse_window(text: str, expected: tuple[float, float, str]) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    "text", ["40,400", "40,400,cubic", "a,400,linear", "40,0,linear", "40,0.5,linear", "nan,1,linear"]
)
def test_parse_window_refuses(text: str) -> None:
    with pytest.raises(RenderParameterError):
        parse_window(text)


def test_parse_viewport_and_quality() -> None:
    assert parse_viewport("512,256") == Viewport(512, 256)
    assert parse_viewport("100,100,10,20,-50,60") == Viewport(100, 100, 10, 20, -50, 60)
    assert parse_viewport("100,100,,,50,") == Viewport(100, 100, None, None, 50, None)
    for bad in ("100", "0,10", "10,10,1,2,3", "10,10,-1,0,5,5", "10,10,0,0,0,5", "a,b"):
        with pytest.raises(RenderParameterError):
            parse_viewport(bad)
    assert parse_quality("75") == 75
    for bad in ("0", "101", "high", ""):
        with pytest.raises(RenderParameterError):
            parse_quality(bad)
