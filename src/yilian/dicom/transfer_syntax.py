"""Transfer syntaxes on the web: which one a WADO-RS answer uses, and transcoding into it (PS3.18 §8.7.3; PS3.5 §10).

Without a `transfer-syntax` parameter an instance, its frames and its bulk data go out in Explicit VR Little Endian,
compressed pixels decoded on the fly (PS3.18 §8.7.3.5.2); `*` sends them as stored; an explicit syntax is honoured
when a permissively licensed codec here can produce it. Encoding is offered only into lossless syntaxes: the
archive never throws pixels away for a client.
"""

from __future__ import annotations

import io

import numpy as np
from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.encoders.base import get_encoder
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGExtended12Bit,
    JPEGLSLossless,
    RLELossless,
)

DEFAULT = str(ExplicitVRLittleEndian)
ANY = "*"
_NATIVE = frozenset(
    {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian}
)
# Never used on the web (PS3.18 §8.7.3.4): an instance stored in one of these goes out as Explicit VR Little Endian,
# which needs no pixel decoding.
_NOT_ON_THE_WEB = frozenset({ImplicitVRLittleEndian, ExplicitVRBigEndian})
# Lossless syntaxes made on request (pydicom's RLE or pylibjpeg-rle, pyjpegls, pylibjpeg-openjpeg: all permissive).
ENCODABLE = (str(RLELossless), str(JPEGLSLossless), str(JPEG2000Lossless))
# Values that are bytes, swapped word by word when a big endian data set becomes little endian (PS3.5 §7.3).
_WORD_WIDTHS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
_IMAGE_PIXEL = (
    "Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "PhotometricInterpretation", "PlanarConfiguration",
)  # fmt: skip


class TranscodeError(ValueError):
    """The instance cannot be turned into that transfer syntax here (its pixels defeat the codec)."""


def is_native(transfer_syntax: str) -> bool:
    return transfer_syntax in _NATIVE


def can_decode(transfer_syntax: str) -> bool:
    """Whether pixels stored in this syntax can be decoded here (pydicom with the installed plugins)."""
    if transfer_syntax in _NATIVE:
        return True
    if transfer_syntax == JPEGExtended12Bit:
        return False  # pydicom lists GDCM and Pillow for it, but neither decodes 12-bit samples, its reason to exist
    try:
        return bool(get_decoder(transfer_syntax).is_available)
    except NotImplementedError:  # no decoder at all for this syntax (video, private syntaxes)
        return False


def can_encode(transfer_syntax: str) -> bool:
    if transfer_syntax not in ENCODABLE:
        return False
    try:
        return bool(get_encoder(transfer_syntax).is_available)
    except NotImplementedError:
        return False


def as_stored(stored: str) -> str:
    """What `transfer-syntax=*` sends: the stored syntax, or Explicit VR Little Endian for the two never on the web."""
    return DEFAULT if stored in _NOT_ON_THE_WEB else stored


def offered(stored: str) -> list[str]:
    """Every syntax an instance stored in `stored` can be sent in, as stored first."""
    out = [as_stored(stored)]
    if can_decode(stored):
        out += [DEFAULT, *(ts for ts in ENCODABLE if can_encode(ts))]
    return list(dict.fromkeys(out))


def choose(stored: str, wanted: str | None) -> str | None:
    """The syntax to send for one acceptable `transfer-syntax` value (None: the parameter is absent), or None.

    Absent means Explicit VR Little Endian (PS3.18 §8.7.3.5.2), decoded on the fly; only pixels no decoder here can
    read (video, say) then go as stored, the one form the archive has.
    """
    if wanted is None:
        return DEFAULT if can_decode(stored) else as_stored(stored)
    if wanted == ANY:
        return as_stored(stored)
    return wanted if wanted in offered(stored) else None


def transcode(data: bytes, target: str) -> bytes:
    """A Part-10 instance re-encoded in `target` (one of `offered`), its UIDs and every other attribute unchanged."""
    ds = dcmread(io.BytesIO(data))
    current = str(ds.file_meta.TransferSyntaxUID)
    if current == target:
        return data
    try:
        if "PixelData" in ds and UID(current).is_compressed:
            ds.decompress(generate_instance_uid=False)  # now Explicit VR Little Endian
        elif current == ExplicitVRBigEndian:
            _to_little_endian(ds)
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        if UID(target).is_compressed:
            ds.compress(target, generate_instance_uid=False)
        else:
            ds.file_meta.TransferSyntaxUID = UID(target)
        out = io.BytesIO()
        dcmwrite(out, ds, enforce_file_format=True)
    except (ValueError, TypeError, RuntimeError, NotImplementedError, AttributeError) as exc:
        raise TranscodeError(f"cannot re-encode the instance from {current} to {target}: {exc}") from exc
    return out.getvalue()


def decoded_frame(header: Dataset, transfer_syntax: str, encoded: bytes) -> bytes:
    """One encapsulated frame decoded to native little endian bytes (as Explicit VR Little Endian would hold it).

    Colour frames come out interleaved and, from YBR JPEG, as RGB: what pydicom's decompress makes of a whole instance.
    """
    frame = Dataset()
    for keyword in _IMAGE_PIXEL:
        if keyword in header:
            setattr(frame, keyword, header[keyword].value)
    frame.file_meta = FileMetaDataset()
    frame.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    frame.NumberOfFrames = 1
    frame.PixelData = encapsulate([encoded])
    frame["PixelData"].VR = "OB"
    try:
        array, _ = get_decoder(transfer_syntax).as_array(frame, index=0)
    except (ValueError, TypeError, RuntimeError, NotImplementedError) as exc:
        raise TranscodeError(f"cannot decode the frame ({transfer_syntax}): {exc}") from exc
    return bytes(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def _to_little_endian(ds: Dataset) -> None:
    """Swap the byte-valued elements of a big endian data set; pydicom re-encodes numbers and text itself."""
    for element in ds.iterall():
        width = _WORD_WIDTHS.get(element.VR)
        if width and isinstance(element.value, bytes):
            usable = len(element.value) - len(element.value) % width
            words = np.frombuffer(element.value, dtype=f">u{width}", count=usable // width)
            element.value = words.astype(f"<u{width}").tobytes() + element.value[usable:]
