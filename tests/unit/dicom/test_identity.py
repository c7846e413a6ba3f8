"""dicom.header.read_identity against pydicom's path (read_instance, then check_instance): the same identity, or no
answer; in Explicit and Implicit VR Little Endian, over pydicom's test files, ours, and damaged bytes."""

from __future__ import annotations

import functools
import io
import random
import struct
from collections.abc import Iterator

import pydicom.data
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from tests.support import dicom_gen

from yilian.dicom.header import Identity, read_identity
from yilian.dicom.instance import UnreadableInstanceError, check_instance, read_instance, uid_value

pytestmark = pytest.mark.filterwarnings("ignore")  # pydicom warns about what it repairs; the answers are compared

ENCODINGS = {"explicit": ExplicitVRLittleEndian, "implicit": ImplicitVRLittleEndian}


def _slow(data: bytes) -> Identity | str:
    """What the pydicom path makes of the bytes: the identity, or why not (a refusal or an exception)."""
    try:
        ds = read_instance(data)
        problems = check_instance(ds)
    except UnreadableInstanceError as exc:
        return f"unreadable: {exc}"
    except Exception as exc:  # the gateway answers 0110 for these
        return f"raised {type(exc).__name__}: {exc}"
    if problems:
        return "; ".join(problem.reason for problem in problems)
    syntax = str(ds.file_meta.TransferSyntaxUID)
    keywords = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
    return Identity(syntax, *(uid_value(ds, keyword) for keyword in keywords))


def _encoded(ds: Dataset, syntax: str) -> bytes | None:
    """The data set written again in `syntax` (a native transfer syntax), or None when pydicom cannot."""
    ds = ds.copy()
    ds.file_meta = ds.file_meta.copy() if hasattr(ds, "file_meta") else pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    buf = io.BytesIO()
    try:
        ds.save_as(buf, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=True, enforce_file_format=True)
    except Exception:  # a few of pydicom's files cannot be written back; nothing to compare
        return None
    return buf.getvalue()


def _undefined_lengths(ds: Dataset) -> Dataset:
    ds = ds.copy()
    for element in ds.iterall():
        if element.VR == "SQ":
            element.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
    return ds


def _generated() -> Iterator[tuple[str, Dataset]]:
    for charset in ("ISO_IR 192", "GB18030", ["", "ISO 2022 IR 58"]):
        yield f"ct {charset}", dicom_gen.ct_series(1, 16, 16, charset=charset)[0]
    yield "mr", dicom_gen.mr_series(1, 16, 16)[0]
    yield "dx", dicom_gen.dx_image(16, 16)[0]
    yield "with sequences", _with_sequences()
    for name, change in _changes().items():
        ds = dicom_gen.ct_series(1, 8, 8)[0]
        change(ds)
        yield name, ds


def _with_sequences() -> Dataset:
    """Sequences as modalities send them: nested, empty, a private one, bulk data in an item."""
    ds = dicom_gen.with_sequences()
    block = ds.private_block(0x0029, "YILIAN TEST", create=True)
    block.add_new(0x01, "LO", "private value")
    private_item = Dataset()
    private_item.add_new(0x00291010, "LO", "x")
    block.add_new(0x02, "SQ", [private_item])
    ds.add_new(0x00291020, "UN", b"\x01\x02\x03\x04")
    return ds


def _changes() -> dict[str, object]:
    def delete(keyword: str) -> object:
        return lambda ds: delattr(ds, keyword)

    def assign(**values: object) -> object:
        return lambda ds: [setattr(ds, k, v) for k, v in values.items()]

    def same_uids(ds: Dataset) -> None:
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ds.SeriesInstanceUID

    def two_rows(ds: Dataset) -> None:
        ds.Rows = [8, 8]

    return {
        "no SOP Instance UID": delete("SOPInstanceUID"),
        "no Study Instance UID": delete("StudyInstanceUID"),
        "no Series Instance UID": delete("SeriesInstanceUID"),
        "no Pixel Data": delete("PixelData"),
        "no Rows": delete("Rows"),
        "no Photometric Interpretation": delete("PhotometricInterpretation"),
        "UID with a letter": assign(SeriesInstanceUID="1.2.3.a"),
        "UID over 64": assign(StudyInstanceUID="1." + "2" * 64),
        "UID with an empty component": assign(StudyInstanceUID="1..2"),
        "UID with leading zeros": assign(StudyInstanceUID="1.02.003"),
        "two UIDs": assign(StudyInstanceUID="1.2.3\\1.2.4"),
        "empty UID": assign(StudyInstanceUID=""),
        "SOP instance is the series": same_uids,
        "short pixel data": assign(PixelData=b"\0" * 10),
        "empty pixel data": assign(PixelData=b""),
        "zero rows, empty pixel data": assign(Rows=0, PixelData=b""),
        "two values of Rows": two_rows,
        "frames 1": assign(NumberOfFrames="1"),
        "frames 01": assign(NumberOfFrames="01"),
        "frames 0": assign(NumberOfFrames="0"),
        "frames 2 (too few bytes)": assign(NumberOfFrames="2"),
        "frames empty": assign(NumberOfFrames=""),
        "frames 1.0": assign(NumberOfFrames="1.0"),
        "frames 1\\1": assign(NumberOfFrames="1\\1"),
        "not an image class": assign(SOPClassUID="1.2.840.10008.5.1.4.1.1.88.11", PixelData=b"\0" * 2),
        "over-long PatientID (the gateway does not check values)": assign(PatientID="P" * 70),
    }


def _corpus() -> Iterator[tuple[str, bytes]]:
    for path in dicom_gen.pydicom_test_files():
        data = path.read_bytes()
        yield path.name, data
        try:
            ds = dcmread(io.BytesIO(data), force=True)
            compressed = ds.file_meta.TransferSyntaxUID.is_compressed
        except Exception:  # a few of pydicom's files are deliberately broken
            continue
        if compressed:
            continue
        for encoding, syntax in ENCODINGS.items():
            for suffix, variant in (("", ds), (", undefined lengths", _undefined_lengths(ds))):
                again = _encoded(variant, syntax)
                if again is not None:
                    yield f"{path.name} ({encoding}{suffix})", again
    for name, ds in _generated():
        ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", ds.file_meta.MediaStorageSOPInstanceUID)
        for encoding, syntax in ENCODINGS.items():
            for suffix, variant in (("", ds), (", undefined lengths", _undefined_lengths(ds))):
                again = _encoded(variant, syntax)
                if again is not None:
                    yield f"{name} ({encoding}{suffix})", again


@functools.cache
def _by_name() -> dict[str, bytes]:
    return dict(_corpus())


def test_the_walk_answers_only_what_pydicom_would_and_the_same() -> None:
    answered: list[str] = []
    for name, data in _corpus():
        identity = read_identity(data)
        if identity is None:
            continue
        assert _slow(data) == identity, name
        answered.append(name)
    # Not vacuous: generated files and many of pydicom's, in both encodings, with and without sequences.
    assert len(answered) > 80, answered
    expected_hits = ["ct ISO_IR 192", "mr", "dx", "with sequences", "frames 01", "frames empty", "frames 0",
                     "UID with leading zeros", "not an image class",
                     "over-long PatientID (the gateway does not check values)"]  # fmt: skip
    for expected in expected_hits:
        for variant in ("explicit", "implicit", "explicit, undefined lengths", "implicit, undefined lengths"):
            assert f"{expected} ({variant})" in answered, (expected, variant)
    assert sum("(implicit" in name for name in answered) > 40
    assert "MR_small_implicit.dcm" in answered and "CT_small.dcm" in answered


@pytest.mark.parametrize(
    "name",
    ["no SOP Instance UID", "no Study Instance UID", "no Series Instance UID", "no Pixel Data", "no Rows",
     "no Photometric Interpretation", "UID with a letter", "UID over 64", "UID with an empty component", "two UIDs",
     "empty UID", "SOP instance is the series", "short pixel data", "empty pixel data", "zero rows, empty pixel data",
     "two values of Rows", "frames 2 (too few bytes)", "frames 1\\1", "frames 1.0"],
)  # fmt: skip
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_what_pydicom_refuses_or_repairs_is_left_to_it(name: str, encoding: str) -> None:
    data = _by_name()[f"{name} ({encoding})"]
    assert read_identity(data) is None
    if name == "frames 1.0":
        assert isinstance(_slow(data), Identity)  # pydicom reads it as 1: the walk leaves such forms to it
    else:
        assert not isinstance(_slow(data), Identity), name  # the slow path words the refusal (or fails), as before


def test_an_implicit_data_set_that_looks_explicit_is_left_to_pydicom() -> None:
    """pydicom reads a data set whose first element's length bytes are two capitals as Explicit VR."""
    data = _by_name()["ct ISO_IR 192 (implicit)"]
    meta_end = 132 + 12 + struct.unpack_from("<L", data, 140)[0]
    first = struct.pack("<HHL", 0x0001, 0x0010, 0x4141) + b"A" * 0x4141  # (0001,0010), length bytes "AA"
    assert read_identity(data[:meta_end] + first + data[meta_end:]) is None


def test_damaged_files_never_raise_and_never_answer_differently() -> None:
    """Cut and flipped bytes in the header elements of files with sequences, in both encodings: the walk answers
    None or exactly what pydicom's path makes of them."""
    rng = random.Random(10)
    corpus = _by_name()
    sources = [corpus[f"with sequences ({encoding})"] for encoding in
               ("explicit", "implicit", "explicit, undefined lengths", "implicit, undefined lengths")]  # fmt: skip
    answered = 0
    for _ in range(1500):
        source = rng.choice(sources)
        header_end = len(source) - 8 * 8 * 2  # the pixel data's 128 bytes are last
        data = bytearray(source)
        if rng.random() < 0.3:
            del data[rng.randrange(300, len(data)) :]
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(300, min(header_end, len(data)))] = rng.randrange(256)
        identity = read_identity(bytes(data))  # must not raise
        if identity is not None:
            assert _slow(bytes(data)) == identity
            answered += 1
    assert answered > 100  # much damage lands in values no check reads, and those are compared too


def test_sequences_nested_past_the_stack_are_left_to_pydicom() -> None:
    for encoding, syntax in ENCODINGS.items():
        data = _encoded(dicom_gen.ct_series(1, 8, 8)[0], syntax)
        assert data is not None
        undefined = b"\xff\xff\xff\xff"
        if encoding == "explicit":
            opening = b"\x08\x00\x40\x11SQ\x00\x00" + undefined + b"\xfe\xff\x00\xe0" + undefined
        else:
            opening = b"\x08\x00\x40\x11" + undefined + b"\xfe\xff\x00\xe0" + undefined
        closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
        at = data.index(b"\x10\x00\x10\x00")  # Patient's Name, the first element after (0008,1140)
        assert read_identity(data[:at] + opening * 5000 + closing * 5000 + data[at:]) is None
