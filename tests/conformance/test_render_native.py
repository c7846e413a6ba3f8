"""Rendering's own native decode and in-place window against the old path, byte for byte (dicom/render.py).

`native_pixels` replaces pydicom's decoder for plain native grayscale frames, and `_window` now works in place; a
rendered image must not change by a single byte for any input. The reference is the old path itself: pydicom's
pixel_array (native_pixels answering None) and the old out-of-place window, over every file pydicom bundles and
synthetic frames of every Bits Allocated / Bits Stored / Pixel Representation with garbage in the unused bits.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom.data
import pytest
from numpy.typing import NDArray
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pixel_array
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from tests.support import dicom_gen
from tests.support.dicom_gen import garbage_bits_grayscale
from yilian.dicom import render as dicom_render
from yilian.dicom.frames import number_of_frames

TEST_FILES = sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm"))

# window (None = the image's own), viewport, media type, quality: each rendering path once
OPTIONS: list[dict[str, Any]] = [
    {},
    {"window": (40.0, 400.0, "linear")},
    {"window": (-600.0, 1500.0, "linear-exact")},
    {"window": (100.0, 800.0, "sigmoid")},
    {"window": (0.5, 1.0, "linear")},
    {"media_type": "image/png"},
    {"media_type": "image/gif", "window": (40.0, 400.0, "linear")},
    {"quality": 50, "viewport": (64, 64)},
    {"viewport": (100, 50, 2, 3, -40, 30)},
]


def _old_window(values: NDArray[np.float32], center: float, width: float, function: str) -> NDArray[np.uint8]:
    """dicom/render.py `_window` as it was before it worked in place (commit 60b7e43)."""
    if function == "sigmoid":
        scaled = 255.0 / (1.0 + np.exp(np.float32(-4.0 / width) * (values - np.float32(center))))
    elif function == "linear-exact":
        scaled = (values - np.float32(center - width / 2)) * np.float32(255.0 / width)
    else:
        width_1 = max(width - 1.0, 1e-6)
        scaled = (values - np.float32(center - 0.5 - width_1 / 2)) * np.float32(255.0 / width_1)
    clipped: NDArray[np.floating[Any]] = np.clip(scaled, 0, 255)
    return clipped.astype(np.uint8)


def _reference(pixel_data: Dataset, frame: int, **options: Any) -> bytes | str:
    """The old path's answer: the image's bytes, or the name of the exception it raised."""
    patch = pytest.MonkeyPatch()
    patch.setattr(dicom_render, "native_pixels", lambda ds, index: None)
    patch.setattr(dicom_render, "_window", _old_window)
    try:
        return _outcome(pixel_data, frame, **options)
    finally:
        patch.undo()


def _outcome(ds: Dataset, frame: int, **options: Any) -> bytes | str:
    try:
        return dicom_render.render(ds, frame, **options)
    except Exception as exc:  # the old and new paths must fail alike, too
        return type(exc).__name__


def _pydicom_frame(ds: Dataset, index: int) -> NDArray[Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pixel_array(ds, index=index)
    except Exception:
        return None


def _read(path: Path) -> Dataset | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(path)
    except Exception:
        return None
    return ds if "PixelData" in ds else None


def test_pydicom_bundles_the_files_this_compares() -> None:
    assert len(TEST_FILES) > 50


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_every_bundled_file_renders_the_same_bytes_as_before(path: Path) -> None:
    ds = _read(path)
    if ds is None:
        pytest.skip("no Pixel Data, or pydicom cannot read it")
    frames = number_of_frames(ds)
    for frame in sorted({1, frames}):
        native = dicom_render.native_pixels(ds, frame - 1)
        if native is not None:
            expected = _pydicom_frame(ds, frame - 1)
            assert expected is not None, "the fast path decoded what pydicom refuses"
            assert native.dtype == expected.dtype and native.shape == expected.shape
            assert np.array_equal(native, expected)
        for options in OPTIONS:
            assert _outcome(ds, frame, **options) == _reference(ds, frame, **options), (frame, options)


def test_the_bundled_files_exercise_the_native_path() -> None:
    """The comparison above is only worth something if bundled files of several kinds take the new path (none of them
    is native MONOCHROME1 or 8-bit: the synthetic frames below are)."""
    kinds = set()
    for path in TEST_FILES:
        ds = _read(path)
        if ds is not None and dicom_render.native_pixels(ds, 0) is not None:
            kinds.add((ds.BitsAllocated, ds.BitsStored < ds.BitsAllocated, ds.PixelRepresentation))
            kinds.add(str(ds.PhotometricInterpretation))
            kinds.add("multi-frame" if number_of_frames(ds) > 1 else "single")
    assert {"MONOCHROME2", "multi-frame", (16, True, 0), (16, False, 1), (32, False, 0)} <= kinds, kinds


SYNTHETIC = [
    (allocated, stored, representation, syntax)
    for allocated in (8, 16, 32)
    for stored in sorted({1, allocated // 2 + 1, allocated - 4, allocated})
    for representation, syntax in itertools.product((0, 1), (ExplicitVRLittleEndian, ImplicitVRLittleEndian))
]


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
@pytest.mark.parametrize(("allocated", "stored", "representation", "syntax"), SYNTHETIC)
def test_native_pixels_equal_pydicom_for_every_bit_layout(
    allocated: int, stored: int, representation: int, syntax: str, photometric: str
) -> None:
    ds = garbage_bits_grayscale(allocated, stored, representation, syntax, frames=3, photometric=photometric)
    for index in range(3):
        native, expected = dicom_render.native_pixels(ds, index), _pydicom_frame(ds, index)
        assert native is not None and expected is not None
        assert native.dtype == expected.dtype and native.shape == expected.shape
        assert np.array_equal(native, expected)
    for options in OPTIONS:
        assert _outcome(ds, 2, **options) == _reference(ds, 2, **options), options


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
def test_a_real_ct_slice_renders_the_same_bytes_as_before(photometric: str) -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=512, cols=512)[0]
    ds.PhotometricInterpretation = photometric
    assert dicom_render.native_pixels(ds, 0) is not None
    for options in OPTIONS:
        assert _outcome(ds, 1, **options) == _reference(ds, 1, **options), options


def test_a_voi_lut_and_a_modality_lut_render_the_same_bytes_as_before() -> None:
    ds = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    lut.LUTData = [(v * 16) % 65536 for v in range(4096)]
    voi = Dataset()
    voi.LUTDescriptor = [4096, 0, 8]
    voi.LUTData = [v // 16 for v in range(4096)]
    ds.VOILUTSequence = [voi]
    assert _outcome(ds, 1) == _reference(ds, 1)
    ds.ModalityLUTSequence = [lut]
    del ds.RescaleSlope, ds.RescaleIntercept
    assert _outcome(ds, 1) == _reference(ds, 1)


def test_what_the_native_path_leaves_to_pydicom() -> None:
    """Big endian, colour, a value too short for its frames, odd attributes: pydicom decodes or refuses these."""
    assert dicom_render.native_pixels(garbage_bits_grayscale(16, 12, 0, ExplicitVRBigEndian), 0) is None
    assert (
        dicom_render.native_pixels(garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian, photometric="RGB"), 0)
        is None
    )
    short = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian, frames=3)
    short.PixelData = short.PixelData[: 2 * 7 * 5 * 2]  # two frames' worth of three: pydicom refuses the file
    assert dicom_render.native_pixels(short, 0) is None
    assert _outcome(short, 1) == _reference(short, 1) == "UndecodablePixelDataError"
    odd = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    odd.BitsStored = 17
    assert dicom_render.native_pixels(odd, 0) is None
    assert (
        dicom_render.native_pixels(garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian), 1) is None
    )  # no frame 2
