"""Raw frame retrieval (PS3.18 §10.4, §8.7.3): native slicing, big endian, 1-bit, encapsulated, media types."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian
from tests.support import dicom_gen

from yilian.dicom.frames import (
    FrameListError,
    FrameNotFoundError,
    frame,
    frame_media_type,
    iter_frames,
    number_of_frames,
    parse_frame_list,
    read_layout,
)


def _path(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, name
    return str(path)


@pytest.mark.parametrize(
    ("transfer_syntax", "expected"),
    [
        ("1.2.840.10008.1.2.1", "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"),
        ("1.2.840.10008.1.2", "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"),
        ("1.2.840.10008.1.2.2", "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"),
        ("1.2.840.10008.1.2.4.50", "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"),
        ("1.2.840.10008.1.2.4.57", "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.57"),
        ("1.2.840.10008.1.2.4.70", "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.70"),
        ("1.2.840.10008.1.2.4.80", "image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"),
        ("1.2.840.10008.1.2.4.81", "image/jls; transfer-syntax=1.2.840.10008.1.2.4.81"),
        ("1.2.840.10008.1.2.4.90", "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"),
        ("1.2.840.10008.1.2.4.91", "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.91"),
        ("1.2.840.10008.1.2.5", "image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5"),
        ("1.2.3.4.5", "application/octet-stream; transfer-syntax=1.2.3.4.5"),
    ],
)
def test_frame_media_type(transfer_syntax: str, expected: str) -> None:
    assert frame_media_type(transfer_syntax) == expected


def test_synthetic_ct_frame_is_the_pixel_bytes(tmp_path: Path) -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=64, cols=48)[0]
    path = dicom_gen.write(ds, tmp_path / "ct.dcm")
    expected = ds.pixel_array.astype("<u2").tobytes()
    assert frame(ds, 1) == expected
    assert frame(str(path), 1) == expected
    with pytest.raises(FrameNotFoundError, match="frame 2 does not exist"):
        frame(path, 2)
    with pytest.raises(FrameNotFoundError):
        frame(ds, 0)


@pytest.mark.parametrize(
    ("little", "big"),
    [
        ("MR_small.dcm", "MR_small_bigendian.dcm"),
        ("rtdose.dcm", "rtdose_expb.dcm"),  # 15 frames of 32-bit
        ("SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm"),  # 27 bytes: odd, padded in the file
        ("liver_1frame.dcm", "liver_expb_1frame.dcm"),  # 1-bit
    ],
)
def test_native_frames_are_little_endian_from_any_source(little: str, big: str) -> None:
    ds = dcmread(_path(little))
    count = number_of_frames(ds)
    expected = list(iter_frames(ds, range(1, count + 1)))
    frame_bits = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated
    assert all(len(f) == (frame_bits + 7) // 8 for f in expected)
    assert list(iter_frames(_path(little), range(1, count + 1))) == expected
    assert list(iter_frames(_path(big), range(1, count + 1))) == expected
    assert list(iter_frames(dcmread(_path(big)), range(1, count + 1))) == expected


@pytest.mark.parametrize(
    "name",
    [
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "rtdose_expb.dcm",
        "liver_1frame.dcm",
        "rtdose_rle.dcm",
        "MR_small_implicit.dcm",
    ],
)
def test_a_kept_layout_reads_the_same_frames(name: str) -> None:
    # The API keeps each blob's layout and reads later frames with it, never parsing the header again.
    count = number_of_frames(dcmread(_path(name), stop_before_pixels=True))
    with open(_path(name), "rb") as f:
        layout = read_layout(f)
    assert layout is not None and layout.frames == count
    expected = list(iter_frames(_path(name), range(1, count + 1)))
    for numbers in ([count, 1], list(range(1, count + 1))):
        got = list(iter_frames(open(_path(name), "rb"), numbers, layout=layout))  # noqa: SIM115 - closed by it
        assert got == [expected[n - 1] for n in numbers]
    with pytest.raises(FrameNotFoundError, match=f"frame {count + 1} does not exist"):
        list(iter_frames(open(_path(name), "rb"), [count + 1], layout=layout))  # noqa: SIM115


def test_a_deflated_file_has_no_layout_to_keep() -> None:
    with open(_path("image_dfl.dcm"), "rb") as f:
        assert read_layout(f) is None


def test_native_frame_matches_decoded_pixels() -> None:
    ds = dcmread(_path("rtdose.dcm"))
    pixels = ds.pixel_array
    for number in (1, 7, 15):
        got = np.frombuffer(frame(ds, number), dtype="<u4").reshape(ds.Rows, ds.Columns)
        assert np.array_equal(got, pixels[number - 1])
    with pytest.raises(FrameNotFoundError):
        frame(ds, 16)


def test_one_bit_frames_not_on_byte_boundaries() -> None:
    # 3 frames of 5x3 = 15 bits each: frames 2 and 3 start mid-byte and must be realigned to bit 0.
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(3, 15), dtype=np.uint8)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.NumberOfFrames = 5, 3, 1, 1, 3
    packed = np.packbits(bits.ravel(), bitorder="little").tobytes()
    ds.PixelData = packed + b"\0" * (len(packed) % 2)
    for number in (1, 2, 3):
        got = np.unpackbits(np.frombuffer(frame(ds, number), np.uint8), bitorder="little")[:15]
        assert np.array_equal(got, bits[number - 1])
        assert len(frame(ds, number)) == 2


def test_short_native_pixel_data_is_reported() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=8, cols=8)[0]
    ds.NumberOfFrames = 2
    with pytest.raises(FrameNotFoundError, match="ends before frame 2"):
        frame(ds, 2)


@pytest.mark.parametrize(
    ("name", "signature"),
    [
        ("examples_ybr_color.dcm", b"\xff\xd8"),  # 30 JPEG frames
        ("SC_rgb_rle_2frame.dcm", b"\x03\x00\x00\x00"),  # RLE header: 3 segments
        ("JPEG2000.dcm", b"\xff\x4f"),  # J2K codestream SOC, after an empty first fragment
        ("MR_small_jpeg_ls_lossless.dcm", b"\xff\xd8"),
        ("SC_rgb_jpeg_gdcm.dcm", b"\xff\xd8"),
    ],
)
def test_encapsulated_frames_are_returned_undecoded(name: str, signature: bytes) -> None:
    ds = dcmread(_path(name))
    count = number_of_frames(ds)
    from_file = list(iter_frames(_path(name), range(1, count + 1)))
    assert from_file == list(iter_frames(ds, range(1, count + 1)))
    assert from_file == list(generate_frames(ds.PixelData, number_of_frames=count))
    assert all(f.startswith(signature) for f in from_file)
    with pytest.raises(FrameNotFoundError):
        frame(_path(name), count + 1)


def test_a_jpeg_frame_decodes_on_its_own() -> None:
    ds = dcmread(_path("examples_ybr_color.dcm"))
    image = Image.open(io.BytesIO(frame(ds, 30)))
    assert image.size == (ds.Columns, ds.Rows)


def test_out_of_range_numbers_fail_before_any_frame() -> None:
    frames = iter_frames(dcmread(_path("SC_rgb_rle_2frame.dcm")), [1, 3])
    with pytest.raises(FrameNotFoundError):
        next(frames)


def test_an_instance_without_pixel_data() -> None:
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3"
    with pytest.raises(FrameNotFoundError, match="no Pixel Data"):
        frame(ds, 1)


def test_parse_frame_list() -> None:
    assert parse_frame_list("1,3, 5") == [1, 3, 5]
    for bad in ("", "0", "1,,2", "a", "-1", "1.5"):
        with pytest.raises(FrameListError):
            parse_frame_list(bad)
