"""A plain file rendered from its bytes (`render_file`) against pydicom's reader and `render`, byte for byte.

`render_file` walks the file's elements itself instead of `dcmread`, so for every file it accepts (it answers None
for the rest, which imaging/retrieve.py renders the old way) the image, or the exception, must be the one the old
path gives: `render(dcmread(file))`. Compared over every file pydicom bundles and synthetic files of every bit layout
and of each spelling of the attributes rendering reads (DS and IS texts, VRs, VOI LUT Functions, absent and empty
values), both encodings; the plain path must be taken for most of them, or the comparison would prove nothing.
"""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path
from typing import Any

import pydicom.data
import pytest
from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from tests.support import dicom_gen
from tests.support.dicom_gen import garbage_bits_grayscale
from yilian.dicom import render as dicom_render
from yilian.dicom.frames import number_of_frames

TEST_FILES = sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm"))

OPTIONS: list[dict[str, Any]] = [
    {},
    {"window": (40.0, 400.0, "linear")},
    {"window": (-600.0, 1500.0, "linear-exact")},
    {"window": (100.0, 800.0, "sigmoid")},
    {"media_type": "image/png"},
    {"media_type": "image/gif"},
    {"quality": 50, "viewport": (64, 64)},
    {"viewport": (100, 50, 2, 3, -40, 30)},
    {"viewport": (10, 10, 9999, 0)},  # outside the image: RenderParameterError from both
    {"quality": 0},  # RenderParameterError from both
    {"media_type": "image/webp"},
]


def _old(data: bytes, frame: int, **options: Any) -> bytes | str:
    """The old path: pydicom reads the file, `render` renders it; or the name of what either raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data))
            return dicom_render.render(ds, frame, **options)
    except Exception as exc:
        return type(exc).__name__


def _new(data: bytes, frame: int, **options: Any) -> bytes | str | None:
    try:
        return dicom_render.render_file(data, frame, **options)
    except Exception as exc:
        return type(exc).__name__


def _compare(data: bytes, frames: list[int], options_list: list[dict[str, Any]] = OPTIONS) -> bool:
    """Whether the plain path took the file; every answer it gave equals the old path's."""
    taken = False
    for frame, options in itertools.product(frames, options_list):
        new = _new(data, frame, **options)
        if new is None:
            continue
        taken = True
        assert new == _old(data, frame, **options), (frame, options)
    return taken


def _file(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_pydicom_bundles_the_files_this_compares() -> None:
    assert len(TEST_FILES) > 50


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_every_bundled_file_renders_the_same_bytes_as_before(path: Path) -> None:
    data = path.read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames = number_of_frames(dcmread(io.BytesIO(data)))
    except Exception:
        frames = 1
    _compare(data, sorted({1, frames, frames + 1}), OPTIONS[:3] + OPTIONS[-3:])


def test_bundled_files_of_several_kinds_take_the_plain_path() -> None:
    taken = {path.name for path in TEST_FILES if dicom_render.render_file(path.read_bytes()) is not None}
    # every bundled file the native decode takes: CT and MR, Explicit and Implicit VR, multi-frame, two windows
    expected = {"CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_padded.dcm", "rtdose.dcm",
                "rtdose_1frame.dcm", "examples_overlay.dcm"}  # fmt: skip
    assert expected <= taken, expected - taken


SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
LAYOUTS = [
    (allocated, stored, representation)
    for allocated in (8, 16, 32)
    for stored in sorted({1, allocated // 2 + 1, allocated - 4, allocated})
    for representation in (0, 1)
]


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
@pytest.mark.parametrize(("allocated", "stored", "representation"), LAYOUTS)
def test_every_bit_layout_renders_the_same_bytes(
    allocated: int, stored: int, representation: int, photometric: str, syntax: str
) -> None:
    ds = garbage_bits_grayscale(allocated, stored, representation, syntax, frames=3, photometric=photometric)
    assert _compare(_file(ds), [1, 3, 4])


# Each attribute rendering reads, spelt every way that matters: (keyword, raw text or None to delete it).
SPELLINGS: list[tuple[str, str | None]] = (
    [("RescaleSlope", s) for s in ("1", "0", "-0", " 2.5 ", "1e1", "+2.", ".5", "", None, "1\\2", "abc", "0x10")]
    + [("RescaleIntercept", s) for s in ("-1024", "0", "-0.0", " 7 ", "", None, "1E-1", "5\\6", "-")]
    + [("WindowCenter", s) for s in ("3", "40\\-600", "-600\\40", "", None, "x", "1\\")]
    + [("WindowWidth", s) for s in ("10", "400\\1500", "0", "-5", "0.5", "", None, "1.5e0")]
    + [("VOILUTFunction", s) for s in ("LINEAR", "LINEAR_EXACT", "SIGMOID", "linear", "FOO", "", None)]
    + [("NumberOfFrames", s) for s in ("1", "3", " 2", "0", "", "1.0", None)]
    + [("PhotometricInterpretation", s) for s in ("MONOCHROME1", "MONOCHROME2", "monochrome2", "RGB", " MONOCHROME2")]
)


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize(("keyword", "text"), SPELLINGS)
def test_each_spelling_of_an_attribute_renders_the_same_bytes(keyword: str, text: str | None, syntax: str) -> None:
    _compare(_spelt(keyword, text, syntax), [1, 2, 3], OPTIONS[:3])


def _spelt(keyword: str, text: str | None, syntax: str) -> bytes:
    """A synthetic file with `keyword` written as `text` byte for byte (pydicom would refuse to write some), or
    without it."""
    ds = garbage_bits_grayscale(16, 12, 1, syntax, frames=3)
    ds.WindowCenter, ds.WindowWidth = "-20", "300"
    tag = Tag(tag_for_keyword(keyword))
    if text is None:
        ds.pop(tag, None)
    else:
        raw = text.encode("ascii") + b" " * (len(text) % 2)
        vr = {"VOILUTFunction": "CS", "PhotometricInterpretation": "CS", "NumberOfFrames": "IS"}.get(keyword, "DS")
        ds[tag] = RawDataElement(tag, vr, len(raw), raw, 0, syntax == ImplicitVRLittleEndian, True)
    return _file(ds)


def test_the_plain_spellings_take_the_plain_path() -> None:
    """The comparisons above prove something only where render_file answered."""
    plain = [("RescaleSlope", "0"), ("RescaleSlope", ""), ("RescaleIntercept", "-0.0"),
             ("WindowCenter", "40\\-600"), ("WindowWidth", "0"), ("VOILUTFunction", "SIGMOID"),
             ("NumberOfFrames", "3"), ("WindowCenter", None)]  # fmt: skip
    for (keyword, text), syntax in itertools.product(plain, SYNTAXES):
        assert dicom_render.render_file(_spelt(keyword, text, syntax), 1) is not None, (keyword, text, syntax)


def test_another_vr_a_lut_or_functional_groups_go_the_old_way() -> None:
    base = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    assert dicom_render.render_file(_file(base)) is not None
    signed_rows = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    signed_rows["Rows"] = DataElement(0x00280010, "SS", 7)
    voi = Dataset()
    voi["LUTDescriptor"] = DataElement(0x00283002, "US", [4096, 0, 8])
    voi["LUTData"] = DataElement(0x00283006, "US", [v // 16 for v in range(4096)])
    with_voi = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    with_voi.VOILUTSequence = [voi]
    modality = Dataset()
    modality["LUTDescriptor"] = DataElement(0x00283002, "US", [4096, 0, 16])
    modality["LUTData"] = DataElement(0x00283006, "US", [(v * 16) % 65536 for v in range(4096)])
    with_modality = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    with_modality.ModalityLUTSequence = [modality]
    grouped = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian)
    grouped.SharedFunctionalGroupsSequence = [Dataset()]
    big = garbage_bits_grayscale(16, 12, 0, ExplicitVRBigEndian)
    short = garbage_bits_grayscale(16, 12, 0, ExplicitVRLittleEndian, frames=3)
    short.PixelData = short.PixelData[: 2 * 7 * 5 * 2]
    for ds in (signed_rows, with_voi, with_modality, grouped, big, short):
        data = _file(ds)
        assert dicom_render.render_file(data) is None
        assert _old(data, 1)  # the old path still answers them (an image or its refusal)


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
def test_a_real_ct_slice_renders_the_same_bytes(photometric: str) -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=512, cols=512)[0]
    ds.PhotometricInterpretation = photometric
    assert _compare(_file(ds), [1, 2])
