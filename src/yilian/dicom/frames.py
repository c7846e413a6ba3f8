"""Frames of Pixel Data as stored, undecoded, for WADO-RS frame retrieval (PS3.18 §10.4, §8.7.3; PS3.5 §8, A.4)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from yilian.dicom.transfer_syntax import decoded_frame

# A data set in memory, a path, or an open seekable binary file (which iter_frames closes when done).
Source = Dataset | str | os.PathLike[str] | BinaryIO
"""A data set already read, or the path of a Part-10 file (read up to Pixel Data, then only the frames asked)."""

_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
_PIXEL_DATA_TAG_BIG = b"\x7f\xe0\x00\x10"
_UNDEFINED_LENGTH = 0xFFFFFFFF
_NATIVE = frozenset(
    {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian}
)

# Bulkdata media types for the compressed transfer syntaxes (PS3.18 Tables 8.7.3-4 and 8.7.3-5).
_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.4.100": "video/mpeg2",
    "1.2.840.10008.1.2.4.101": "video/mpeg2",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
    "1.2.840.10008.1.2.4.107": "video/mp4",
    "1.2.840.10008.1.2.4.108": "video/mp4",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


class FrameNotFoundError(LookupError):
    """The instance has no frame with that number, or no Pixel Data at all; WADO-RS answers 404."""


class FrameListError(ValueError):
    """A frame list in a WADO-RS path is not comma-separated positive integers (PS3.18 §10.4.1.1.5); 400."""


def is_native(transfer_syntax_uid: str) -> bool:
    """Whether Pixel Data in this transfer syntax is native (uncompressed), not encapsulated (PS3.5 §8.2)."""
    return transfer_syntax_uid in _NATIVE


def frame_media_type(transfer_syntax_uid: str) -> str:
    """The Content-Type of one frame's part, always with its `transfer-syntax` (PS3.18 §8.7.3.5.2).

    Native frames are served little endian whatever the file held, so they are labelled Explicit VR Little
    Endian (Implicit VR LE and Big Endian must not be used on the web, PS3.18 §8.7.3.4). Viewers such as
    Cornerstone take an unlabelled part for uncompressed data, so the label is never left off.
    """
    if is_native(transfer_syntax_uid):
        return f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}"
    media_type = _MEDIA_TYPES.get(transfer_syntax_uid, "application/octet-stream")
    return f"{media_type}; transfer-syntax={transfer_syntax_uid}"


def parse_frame_list(text: str) -> list[int]:
    """The frame numbers of a `/frames/{list}` path segment: 1-based, comma-separated (PS3.18 §10.4.1.1.5).

    Lenient on order and repeats: they are kept as given, since the response has one part per number asked.
    """
    numbers: list[int] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece.isdigit() or int(piece) < 1:
            raise FrameListError(f"the frame list {text!r} must be whole numbers from 1, separated by commas")
        numbers.append(int(piece))
    return numbers


def number_of_frames(ds: Dataset) -> int:
    """Number of Frames (0028,0008), 1 when absent or empty (PS3.3 C.7.6.6)."""
    value = ds.get("NumberOfFrames")
    try:
        return max(1, int(value)) if value not in (None, "") else 1
    except (TypeError, ValueError):
        return 1


def frame(source: Source, frame_number: int) -> bytes:
    """The bytes of one frame (1-based) as stored; native frames little endian, encapsulated frames as encoded."""
    return next(iter_frames(source, [frame_number]))


def iter_frames(
    source: Source, frame_numbers: Iterable[int], *, decoded: bool = False, layout: PixelLayout | None = None
) -> Iterator[bytes]:
    """The bytes of each frame asked, in order, read one at a time so a large file is never in memory whole.

    `decoded`: encapsulated frames decoded to native little endian pixels (transfer_syntax.decoded_frame).
    `layout`: the file's `read_layout`, read before: the header is not parsed again.

    Raises FrameNotFoundError for a number outside 1..NumberOfFrames, checked for all numbers before the
    first frame is produced so a response does not fail half-way.
    """
    numbers = list(frame_numbers)
    with ExitStack() as stack:
        pixels = stack.enter_context(_PixelSource.open(source, layout))
        for number in numbers:
            if not 1 <= number <= pixels.frames:
                raise FrameNotFoundError(f"frame {number} does not exist: the instance has {pixels.frames} frame(s)")
        decode = decoded and not is_native(pixels.transfer_syntax)
        for number in numbers:
            data = pixels.read(number)
            yield decoded_frame(pixels.ds, pixels.transfer_syntax, data) if decode else data


@dataclass(frozen=True)
class PixelLayout:
    """Where a Part-10 file's Pixel Data value lies, and the header before it: all a frame read needs.

    A file's layout never changes, so a caller may keep it (imaging/retrieve.py does, per content-addressed blob)
    and read any later frame with one seek and read, without parsing the header again.
    """

    header: Dataset  # the data set up to Pixel Data
    transfer_syntax: UID
    frames: int
    vr: str
    value_offset: int
    value_length: int
    bits_allocated: int = 0  # native only
    frame_bits: int = 0  # native only: the bits of one frame (Rows x Columns x Samples x Bits Allocated)


def read_layout(file: BinaryIO) -> PixelLayout | None:
    """The Pixel Data layout of the Part-10 file open in `file` (read from its start; the file stays open).

    None for a deflated data set, whose Pixel Data cannot be seeked into. FrameNotFoundError when there is no
    Pixel Data, or native Pixel Data of undefined length (PS3.5 §A.4 forbids it).
    """
    file.seek(0)
    ds = dcmread(file, stop_before_pixels=True)
    transfer_syntax = _transfer_syntax(ds)
    if transfer_syntax == DeflatedExplicitVRLittleEndian:
        return None
    # pydicom leaves the file at the start of the element it stopped before (PS3.5 §7.1.2 header layout).
    start = file.tell()
    header = file.read(12)
    big = transfer_syntax == ExplicitVRBigEndian
    if header[:4] != (_PIXEL_DATA_TAG_BIG if big else _PIXEL_DATA_TAG):
        raise FrameNotFoundError("the instance has no Pixel Data")
    if transfer_syntax == ImplicitVRLittleEndian:
        offset, length, vr = start + 8, int.from_bytes(header[4:8], "little"), "OW"
    else:
        offset, length = start + 12, int.from_bytes(header[8:12], "big" if big else "little")
        vr = header[4:6].decode("ascii", errors="replace")
    bits = frame_bits = 0
    if is_native(transfer_syntax):
        if length == _UNDEFINED_LENGTH:
            raise FrameNotFoundError("native Pixel Data has an undefined length, which PS3.5 §A.4 forbids")
        bits = int(ds.BitsAllocated)
        frame_bits = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * bits
    return PixelLayout(ds, transfer_syntax, number_of_frames(ds), vr, offset, length, bits, frame_bits)


def native_frame_span(layout: PixelLayout, number: int) -> tuple[int, int] | None:
    """Where frame `number` lies in the file, as (offset, length), when its bytes are the frame as `iter_frames`
    gives it: native little endian pixels of whole bytes (Bits Allocated 8, 16, 32...), a number within the
    instance's frames, the frame within the value. None for anything else (big endian, 1-bit, encapsulated, a number
    out of range, a value shorter than its attributes say): `iter_frames` answers those, or refuses them, as always.
    """
    if not is_native(layout.transfer_syntax) or layout.transfer_syntax == ExplicitVRBigEndian:
        return None
    if layout.bits_allocated < 8 or layout.frame_bits % 8 or not 1 <= number <= layout.frames:
        return None
    size = layout.frame_bits // 8
    start = (number - 1) * size
    if start + size > layout.value_length:
        return None
    return layout.value_offset + start, size


@dataclass
class _PixelSource:
    """Where the Pixel Data value is: in a data set's memory, or at an offset of an open file."""

    ds: Dataset
    transfer_syntax: UID
    frames: int
    vr: str = "OB"
    data: bytes | None = None  # the whole value, when it is in memory
    file: BinaryIO | None = None
    value_offset: int = 0
    value_length: int = 0
    bits_allocated: int = 0  # native, from a file's layout (0: ask the data set)
    frame_bits: int = 0

    @classmethod
    def open(cls, source: Source, layout: PixelLayout | None = None) -> _PixelSource:
        if isinstance(source, Dataset):
            return cls._in_memory(source)
        # closed by _PixelSource.close
        file = open(source, "rb") if isinstance(source, (str, os.PathLike)) else cast(BinaryIO, source)
        try:
            return cls._in_file(file, layout)
        except BaseException:
            file.close()
            raise

    @classmethod
    def _in_memory(cls, ds: Dataset) -> _PixelSource:
        if "PixelData" not in ds:
            raise FrameNotFoundError("the instance has no Pixel Data")
        transfer_syntax = _transfer_syntax(ds)
        data = ds.PixelData
        vr = ds["PixelData"].VR
        return cls(ds, transfer_syntax, number_of_frames(ds), vr=vr, data=data, value_length=len(data))

    @classmethod
    def _in_file(cls, file: BinaryIO, layout: PixelLayout | None) -> _PixelSource:
        layout = layout or read_layout(file)
        if layout is None:
            # A deflated body cannot be seeked into; read it whole.
            file.seek(0)
            try:
                return cls._in_memory(dcmread(file))
            finally:
                file.close()
        return cls(
            layout.header, layout.transfer_syntax, layout.frames, vr=layout.vr, file=file,
            value_offset=layout.value_offset, value_length=layout.value_length,
            bits_allocated=layout.bits_allocated, frame_bits=layout.frame_bits,
        )  # fmt: skip

    def __enter__(self) -> _PixelSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def read(self, number: int) -> bytes:
        if is_native(self.transfer_syntax):
            return self._native(number)
        return self._encapsulated(number)

    def _range(self, start: int, stop: int) -> bytes:
        stop = min(stop, self.value_length)
        if self.data is not None:
            return bytes(self.data[start:stop])
        assert self.file is not None
        self.file.seek(self.value_offset + start)
        return self.file.read(max(0, stop - start))

    def _native(self, number: int) -> bytes:
        ds = self.ds
        bits = self.bits_allocated or int(ds.BitsAllocated)
        frame_bits = self.frame_bits or int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * bits
        first_bit = (number - 1) * frame_bits
        start, stop = first_bit // 8, (first_bit + frame_bits + 7) // 8
        big = self.transfer_syntax == ExplicitVRBigEndian
        if big and bits <= 8 and self.vr == "OW":
            # Big endian OW holds 8-bit samples in swapped byte pairs (PS3.5 §7.3): read whole words.
            word_start, word_stop = start - start % 2, stop + stop % 2
            raw = _swap(self._range(word_start, word_stop), 2)[start - word_start : stop - word_start]
        else:
            raw = self._range(start, stop)
        if len(raw) < stop - start:
            raise FrameNotFoundError(
                f"the Pixel Data ends before frame {number}: it is shorter than its attributes say"
            )
        if bits == 1:
            return _realign_bits(raw, first_bit % 8, frame_bits)
        if big and bits > 8:
            return _swap(raw, bits // 8)
        return raw

    def _encapsulated(self, number: int) -> bytes:
        ds = self.ds
        extended = None
        if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
            extended = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
        buffer: bytes | BinaryIO
        if self.data is not None:
            buffer = self.data
        else:
            assert self.file is not None
            self.file.seek(self.value_offset)
            buffer = self.file
        try:
            return get_frame(buffer, number - 1, number_of_frames=self.frames, extended_offsets=extended)
        except (ValueError, IndexError, EOFError) as exc:
            raise FrameNotFoundError(f"frame {number} cannot be found in the encapsulated Pixel Data: {exc}") from exc


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    value = getattr(meta, "TransferSyntaxUID", None)
    if value is None:
        # A data set built in memory without File Meta: pydicom's own flags say how it is encoded.
        little = getattr(ds, "is_little_endian", True) is not False
        return ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    return UID(str(value))


def _swap(data: bytes, width: int) -> bytes:
    usable = len(data) - len(data) % width
    words = np.frombuffer(data, dtype=f">u{width}", count=usable // width)
    return words.astype(f"<u{width}").tobytes() + data[usable:]


def _realign_bits(raw: bytes, bit_offset: int, frame_bits: int) -> bytes:
    """A 1-bit frame that starts mid-byte, moved to start at bit 0 (PS3.5 §8.1.1: bits packed LSB first)."""
    if bit_offset == 0 and frame_bits % 8 == 0:
        return raw
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")[bit_offset : bit_offset + frame_bits]
    return np.packbits(bits, bitorder="little").tobytes()
