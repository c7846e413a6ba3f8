"""Rendering a frame to 8-bit JPEG, PNG or GIF for /rendered and /thumbnail (PS3.18 §8.3.5, §10.4.1.1.4; PS3.3 C.11)."""

from __future__ import annotations

import io
import math
import re
import warnings
from typing import Any, Literal, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydicom import config
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from yilian.dicom.frames import FrameNotFoundError, is_native, number_of_frames
from yilian.dicom.header import walk_elements

MediaType = Literal["image/jpeg", "image/png", "image/gif"]
Window = tuple[float, float, str]
"""(center, width, function) as in the `window` query parameter (PS3.18 §8.3.5.1.4)."""

RENDERED_MEDIA_TYPES: tuple[MediaType, ...] = ("image/jpeg", "image/png", "image/gif")
DEFAULT_QUALITY = 90
THUMBNAIL_SIZE = 128
_WINDOW_FUNCTIONS = ("linear", "linear-exact", "sigmoid")
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}


class RenderParameterError(ValueError):
    """A rendering query parameter is malformed or out of range (PS3.18 §8.3.5.1); the route answers 400."""


class UndecodablePixelDataError(ValueError):
    """The frame cannot be decoded with the codecs installed (e.g. 12-bit JPEG needs GPL libjpeg)."""


class Viewport(NamedTuple):
    """`viewport=vw,vh[,sx,sy,sw,sh]` (PS3.18 §8.3.5.1.3): output size, then the source region (None = whole)."""

    vw: int
    vh: int
    sx: int | None = None
    sy: int | None = None
    sw: int | None = None
    sh: int | None = None


# --- Query parameters --------------------------------------------------------------------------------------


def parse_window(text: str) -> Window:
    """`window=center,width,function` (PS3.18 §8.3.5.1.4): all three are required."""
    pieces = [piece.strip() for piece in text.split(",")]
    if len(pieces) != 3:
        raise RenderParameterError(f"window={text!r} needs three values: center, width and function")
    center, width = _number("window center", pieces[0]), _number("window width", pieces[1])
    function = pieces[2].lower()
    if function not in _WINDOW_FUNCTIONS:
        raise RenderParameterError(f"window function {pieces[2]!r} is not one of linear, linear-exact, sigmoid")
    minimum = 1.0 if function == "linear" else 0.0  # PS3.3 C.11.2.1.2: width >= 1 for LINEAR, > 0 otherwise
    if width < minimum or width <= 0:
        raise RenderParameterError(f"window width {pieces[1]} is too small for the {function} function")
    return center, width, function


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RenderParameterError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RenderParameterError(f"{name} {text!r} is not a finite number")
    return value


def parse_viewport(text: str) -> Viewport:
    """`viewport=vw,vh` or `viewport=vw,vh,sx,sy,sw,sh` (PS3.18 §8.3.5.1.3); sw or sh negative flips the image."""
    pieces = [piece.strip() for piece in text.split(",")]
    if len(pieces) not in (2, 6):
        raise RenderParameterError(f"viewport={text!r} needs 2 values (vw,vh) or 6 (vw,vh,sx,sy,sw,sh)")
    names = ("vw", "vh", "sx", "sy", "sw", "sh")
    values: list[int | None] = []
    for name, piece in zip(names, pieces, strict=False):
        if piece == "" and name not in ("vw", "vh"):
            values.append(None)  # an omitted region value takes its default
            continue
        try:
            values.append(int(piece))
        except ValueError:
            raise RenderParameterError(f"viewport {name} {piece!r} is not a whole number") from None
    vw, vh = values[0], values[1]
    if vw is None or vh is None or vw < 1 or vh < 1:
        raise RenderParameterError("viewport width and height must be at least 1 pixel")
    if any(v is not None and v < 0 for v in values[2:4]):
        raise RenderParameterError("viewport sx and sy must not be negative")
    if any(v == 0 for v in values[4:6]):
        raise RenderParameterError("viewport sw and sh must not be 0")
    return Viewport(vw, vh, *values[2:])


def parse_quality(text: str) -> int:
    """`quality=1..100` (PS3.18 §8.3.5.1.2); anything else is a 400."""
    try:
        value = int(text.strip())
    except ValueError:
        raise RenderParameterError(f"quality {text!r} is not a whole number from 1 to 100") from None
    if not 1 <= value <= 100:
        raise RenderParameterError(f"quality {value} is outside 1 to 100")
    return value


def decodable(transfer_syntax_uid: str) -> bool:
    """Whether an installed pydicom decoder plugin handles this transfer syntax (native is always decodable)."""
    if is_native(transfer_syntax_uid):
        return True
    try:
        return bool(get_decoder(UID(transfer_syntax_uid)).is_available)
    except (NotImplementedError, ValueError, KeyError):
        return False


# --- Rendering ---------------------------------------------------------------------------------------------


def render(
    ds: Dataset,
    frame: int = 1,
    *,
    media_type: str = "image/jpeg",
    window: Window | None = None,
    quality: int | None = None,
    viewport: Viewport | tuple[int, ...] | None = None,
) -> bytes:
    """One frame (1-based) as an 8-bit image (PS3.18 §8.3.5): Modality LUT, VOI, then the viewport and encoding.

    Grayscale goes through the Modality LUT (rescale or LUT, PS3.3 C.11.1) and the VOI: the `window` given,
    else the image's first Window Center/Width (or VOI LUT), else the frame's own range; MONOCHROME1 is
    inverted so that display is always MONOCHROME2-like. Colour (RGB, YBR, palette) is output as RGB. The
    encoded image carries no metadata, so nothing of the patient leaks through it.
    """
    _check_options(media_type, quality)
    return _finish(to_display_pixels(ds, frame, window=window), media_type, quality, viewport)


def _check_options(media_type: str, quality: int | None) -> None:
    if media_type not in _PIL_FORMATS:
        raise RenderParameterError(f"{media_type} is not a rendered media type (image/jpeg, image/png, image/gif)")
    if quality is not None and not 1 <= quality <= 100:
        raise RenderParameterError(f"quality {quality} is outside 1 to 100")


def _finish(
    pixels: NDArray[np.uint8], media_type: str, quality: int | None, viewport: Viewport | tuple[int, ...] | None
) -> bytes:
    image = Image.fromarray(pixels)
    if viewport is not None:
        image = _apply_viewport(image, Viewport(*viewport))
    return _encode(image, media_type, quality)


def render_file(
    data: bytes,
    frame: int = 1,
    *,
    media_type: str = "image/jpeg",
    window: Window | None = None,
    quality: int | None = None,
    viewport: Viewport | tuple[int, ...] | None = None,
) -> bytes | None:
    """`render(dcmread(data), frame, ...)`, the same bytes, for a plain Part-10 file read from one walk over its
    elements instead of pydicom's reader (which is most of the CPU of reading a file to render it): native Explicit
    or Implicit VR Little Endian grayscale of one sample, Bits Allocated 8, 16 or 32, with no Modality or VOI LUT, no
    functional groups, and every attribute rendering reads in the one plain form pydicom reads to the same value.
    None for anything else (or a frame it does not have): the caller reads the file with pydicom and renders it."""
    plain = _plain_frame(data, frame - 1)
    if plain is None:
        return None
    _check_options(media_type, quality)
    values = _rescale(plain.pixels, plain.slope, plain.intercept)
    if window is None:
        window = plain.window
    out = _window(values, *window) if window is not None else _stretch(values)
    if plain.monochrome1:
        np.subtract(255, out, out=out)
    return _finish(out, media_type, quality, viewport)


def thumbnail(ds: Dataset, *, size: int = THUMBNAIL_SIZE, quality: int = 80) -> bytes:
    """A small JPEG of the middle frame that fits in size x size (PS3.18 §10.4.1.1.4: no patient information).

    Only pixels are encoded, no EXIF or comment; text burned into the pixels themselves stays, so a caller
    exposing thumbnails publicly checks BurnedInAnnotation first.
    """
    middle = (number_of_frames(ds) + 1) // 2
    image = Image.fromarray(to_display_pixels(ds, middle))
    image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return _encode(image, "image/jpeg", quality)


def to_display_pixels(ds: Dataset, frame: int = 1, *, window: Window | None = None) -> NDArray[np.uint8]:
    """The frame as uint8, rows x columns (grayscale) or rows x columns x 3 (RGB), ready to encode."""
    frames = number_of_frames(ds)
    if not 1 <= frame <= frames:
        raise FrameNotFoundError(f"frame {frame} does not exist: the instance has {frames} frame(s)")
    pixels = _decode(ds, frame - 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, ds)
        return _color_to_8_bit(pixels, 16 if pixels.dtype.itemsize > 1 else 8, window)
    if pixels.ndim == 3:
        return _color_to_8_bit(pixels, int(ds.get("BitsStored", ds.get("BitsAllocated", 8))), window)
    values = _modality(pixels, ds, frame - 1)
    if window is not None:
        out = _window(values, *window)
    else:
        out = _default_voi(values, ds, frame - 1)
    if photometric == "MONOCHROME1":
        np.subtract(255, out, out=out)
    return out


def _decode(ds: Dataset, index: int) -> NDArray[Any]:
    native = native_pixels(ds, index)
    if native is not None:
        return native
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on harmless quirks (odd padding, YBR labels)
            return pixel_array(ds, index=index)
    except (RuntimeError, NotImplementedError, ValueError, AttributeError, KeyError) as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise UndecodablePixelDataError(f"cannot decode the pixel data ({syntax}): {exc}") from exc


def native_pixels(ds: Dataset, index: int) -> NDArray[Any] | None:
    """Frame `index` (0-based) as the array pydicom's pixel_array gives for it, without pydicom's decoder (a third of
    its cost): for plain native grayscale only (MONOCHROME1/2, one sample, little endian, Bits Allocated 8, 16 or 32,
    every attribute pydicom reads present and sane, a Pixel Data value long enough for all the frames); None for
    anything else, which pydicom decodes (or refuses) as always.

    As pydicom does (PS3.5 §8.1.1): the dtype is "<u" or "<i" by Pixel Representation, and when Bits Stored is less
    than Bits Allocated the unused high bits are shifted out and back, which masks them for unsigned pixels and
    extends the sign for signed ones (tests/conformance/test_render_native.py compares the two over many files).
    """
    meta = getattr(ds, "file_meta", None)
    if getattr(meta, "TransferSyntaxUID", None) not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return None
    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        return None
    data = ds.get("PixelData")
    values = [ds.get(name) for name in _NATIVE_ATTRIBUTES]
    if not isinstance(data, bytes | bytearray) or not all(type(value) is int for value in values):
        return None
    rows, columns, samples, allocated, stored, representation = values
    if ds.get("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2") or samples != 1:
        return None
    if representation not in (0, 1) or allocated not in (8, 16, 32) or not 1 <= stored <= allocated:
        return None
    frames = ds.get("NumberOfFrames")
    if frames is not None and not (isinstance(frames, int) and frames >= 1):
        return None
    size = rows * columns * allocated // 8
    if rows < 1 or columns < 1 or not 0 <= index < (frames or 1) or len(data) < (frames or 1) * size:
        return None  # pydicom refuses a value too short for all the frames; let it say so
    return _native_frame(data, rows, columns, allocated, stored, representation, index)


def _native_frame(
    data: bytes | bytearray | memoryview,
    rows: int,
    columns: int,
    allocated: int,
    stored: int,
    representation: int,
    index: int,
) -> NDArray[Any]:
    """Frame `index` of a native value whose attributes `native_pixels` (or `_plain_frame`) found sane."""
    dtype = f"<{'ui'[representation]}{allocated // 8}"
    size = rows * columns * allocated // 8
    pixels = np.frombuffer(data, dtype=dtype, count=rows * columns, offset=index * size).reshape(rows, columns)
    if stored < allocated:
        shift = allocated - stored
        pixels = np.left_shift(pixels, shift)
        np.right_shift(pixels, shift, out=pixels)
    return pixels  # read-only when nothing was shifted: rendering never writes into the decoded frame


_NATIVE_ATTRIBUTES = ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "PixelRepresentation")


# --- Plain files: the attributes rendering reads, from the file's bytes -------------------------------------


class _PlainFrame(NamedTuple):
    pixels: NDArray[Any]  # as native_pixels gives the frame
    monochrome1: bool
    slope: float
    intercept: float
    window: Window | None  # the image's own


class _NotPlain(Exception):
    """Something `_plain_frame` leaves to pydicom."""


def _tags(*keywords: str) -> dict[str, int]:
    tags = {keyword: tag_for_keyword(keyword) for keyword in keywords}
    if None in tags.values():
        raise KeyError(f"not a DICOM keyword: {[keyword for keyword, tag in tags.items() if tag is None]}")
    return cast(dict[str, int], tags)


_PLAIN_VRS = {"Rows": b"US", "Columns": b"US", "SamplesPerPixel": b"US", "BitsAllocated": b"US", "BitsStored": b"US",
              "PixelRepresentation": b"US", "PhotometricInterpretation": b"CS", "NumberOfFrames": b"IS",
              "RescaleSlope": b"DS", "RescaleIntercept": b"DS", "WindowCenter": b"DS", "WindowWidth": b"DS",
              "VOILUTFunction": b"CS"}  # fmt: skip
_PLAIN_TAGS = _tags(*_PLAIN_VRS, "PixelData")
# Present at all (even empty), each sends rendering another way: the file is not plain.
_NOT_PLAIN = ("FloatPixelData", "DoubleFloatPixelData", "ModalityLUTSequence", "VOILUTSequence",
               "PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence")  # fmt: skip
_NOT_PLAIN_TAGS = frozenset(_tags(*_NOT_PLAIN).values())
_WALKED = frozenset(_PLAIN_TAGS.values()) | _NOT_PLAIN_TAGS
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN_FUNCTIONS = {b"LINEAR": "LINEAR", b"LINEAR_EXACT": "LINEAR_EXACT", b"SIGMOID": "SIGMOID"}
_PHOTOMETRIC = {b"MONOCHROME1": True, b"MONOCHROME2": False}  # inverted?


def _plain_frame(data: bytes, index: int) -> _PlainFrame | None:
    """Frame `index` (0-based) and the attributes rendering reads, as the Dataset path finds them, or None."""
    if config.use_DS_numpy or config.use_DS_decimal or config.use_IS_numpy:
        return None  # pydicom's DS and IS would not be plain floats and ints
    walked = walk_elements(data, _WALKED)
    if walked is None:
        return None
    _, implicit, found = walked
    if not _NOT_PLAIN_TAGS.isdisjoint(found):
        return None
    try:
        return _plain_values(data, found, implicit, index)
    except _NotPlain:
        return None


def _plain_values(data: bytes, found: dict[int, tuple[bytes, int, int]], implicit: bool, index: int) -> _PlainFrame:
    def raw(keyword: str) -> bytes | None:
        element = found.get(_PLAIN_TAGS[keyword])
        if element is None:
            return None
        vr, start, end = element
        if not implicit and vr != _PLAIN_VRS.get(keyword, vr):
            raise _NotPlain(keyword)  # another VR: pydicom reads another value
        return data[start:end]

    rows, columns, samples, allocated, stored, representation = (_us(raw(keyword)) for keyword in _NATIVE_ATTRIBUTES)
    frames = _frames(raw("NumberOfFrames"))
    pixel_data = found.get(_PLAIN_TAGS["PixelData"])
    photometric = _PHOTOMETRIC.get((raw("PhotometricInterpretation") or b"").rstrip(b" "))
    if pixel_data is None or (not implicit and pixel_data[0] not in (b"OB", b"OW")) or photometric is None:
        raise _NotPlain("pixels")
    if samples != 1 or representation not in (0, 1) or allocated not in (8, 16, 32) or not 1 <= stored <= allocated:
        raise _NotPlain("layout")
    size = rows * columns * allocated // 8
    _, start, end = pixel_data
    if rows < 1 or columns < 1 or not 0 <= index < frames or end - start < frames * size:
        raise _NotPlain("frames")
    pixels = _native_frame(memoryview(data)[start:end], rows, columns, allocated, stored, representation, index)
    slope, intercept = _single_ds(raw("RescaleSlope")), _single_ds(raw("RescaleIntercept"))
    center, width = _ds_values(raw("WindowCenter")), _ds_values(raw("WindowWidth"))
    function = raw("VOILUTFunction")
    name = "LINEAR" if function is None else _PLAIN_FUNCTIONS.get(function.rstrip(b" "))
    if name is None:
        raise _NotPlain("VOILUTFunction")
    window = _image_window(center[0] if center else None, width[0] if width else None, name)
    return _PlainFrame(pixels, photometric, float(slope or 1), float(intercept or 0), window)


def _us(value: bytes | None) -> int:
    if value is None or len(value) != 2:
        raise _NotPlain("US")  # absent or multi-valued: pydicom's value is not one int
    return int.from_bytes(value, "little")


def _frames(value: bytes | None) -> int:
    if value is None:
        return 1
    text = value.strip(b" ")
    if not text.isdigit() or int(text) < 1:
        raise _NotPlain("NumberOfFrames")
    return int(text)


def _ds_values(value: bytes | None) -> list[float] | None:
    """A DS value's numbers as pydicom reads them (DSfloat is a float of the same text); None when empty."""
    if value is None or not value.strip(b" "):
        return None
    texts = [text.strip(b" ") for text in value.split(b"\\")]
    if not all(_DECIMAL.fullmatch(text) for text in texts):
        raise _NotPlain("DS")
    return [float(text) for text in texts]


def _single_ds(value: bytes | None) -> float | None:
    numbers = _ds_values(value)
    if numbers is not None and len(numbers) != 1:
        raise _NotPlain("DS")  # pydicom's value is a MultiValue, which float() refuses
    return numbers[0] if numbers else None


def _functional_group(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """The item of a functional group macro for a frame: per-frame first, then shared (PS3.3 C.7.6.16)."""
    for groups, position in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        items = ds.get(groups)
        if items and len(items) > position and sequence in items[position]:
            found = items[position][sequence]
            if len(found.value):
                item: Dataset = found.value[0]
                return item
    return None


def _modality(pixels: NDArray[Any], ds: Dataset, index: int) -> NDArray[np.float32]:
    """Stored values to modality values (PS3.3 C.11.1): rescale slope/intercept, or the Modality LUT."""
    source = _functional_group(ds, index, "PixelValueTransformationSequence") or ds
    if "ModalityLUTSequence" in ds:
        return np.asarray(apply_modality_lut(pixels, ds), dtype=np.float32)
    return _rescale(pixels, float(source.get("RescaleSlope", 1) or 1), float(source.get("RescaleIntercept", 0) or 0))


def _rescale(pixels: NDArray[Any], slope: float, intercept: float) -> NDArray[np.float32]:
    values = pixels.astype(np.float32)
    if slope != 1:
        values *= np.float32(slope)
    if intercept != 0:
        values += np.float32(intercept)
    return values


def _default_voi(values: NDArray[np.float32], ds: Dataset, index: int) -> NDArray[np.uint8]:
    source = _functional_group(ds, index, "FrameVOILUTSequence") or ds
    center, width = _first(source.get("WindowCenter")), _first(source.get("WindowWidth"))
    window = _image_window(center, width, source.get("VOILUTFunction", "LINEAR"))
    if window is not None:
        return _window(values, *window)
    if "VOILUTSequence" in ds:
        return _stretch(np.asarray(apply_voi(values, ds), dtype=np.float32))
    return _stretch(values)


def _image_window(center: float | None, width: float | None, function: Any) -> Window | None:
    """The image's own window (its first Window Center/Width and VOI LUT Function), when it has a usable one."""
    if center is None or width is None or width <= 0:
        return None
    name = str(function).strip().lower().replace("_", "-")
    return center, max(width, 1.0), name if name in _WINDOW_FUNCTIONS else "linear"


def _first(value: Any) -> float | None:
    """The first value of a possibly multi-valued DS (Window Center and Width may list several windows)."""
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _window(values: NDArray[np.float32], center: float, width: float, function: str) -> NDArray[np.uint8]:
    """The VOI window functions of PS3.3 C.11.2.1.2 and C.11.2.1.3, to 0..255, vectorised."""
    scaled: NDArray[np.floating[Any]]
    if function == "sigmoid":
        scaled = 255.0 / (1.0 + np.exp(np.float32(-4.0 / width) * (values - np.float32(center))))
    elif function == "linear-exact":
        scaled = np.subtract(values, np.float32(center - width / 2))
        scaled *= np.float32(255.0 / width)
    else:  # linear: y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clipped
        width_1 = max(width - 1.0, 1e-6)
        scaled = np.subtract(values, np.float32(center - 0.5 - width_1 / 2))
        scaled *= np.float32(255.0 / width_1)
    np.clip(scaled, 0, 255, out=scaled)  # in place: the same float32 operations as before, fewer arrays
    return scaled.astype(np.uint8)


def _stretch(values: NDArray[np.float32]) -> NDArray[np.uint8]:
    """The frame's own range to 0..255, for images that carry no window."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return ((values - np.float32(low)) * np.float32(255.0 / (high - low))).astype(np.uint8)


def _color_to_8_bit(pixels: NDArray[Any], bits: int, window: Window | None) -> NDArray[np.uint8]:
    if window is not None:
        return _window(pixels.astype(np.float32), *window)
    if pixels.dtype == np.uint8 or bits <= 8:
        return pixels.astype(np.uint8, copy=False)
    return (pixels >> (bits - 8)).astype(np.uint8)


def _apply_viewport(image: Image.Image, viewport: Viewport) -> Image.Image:
    """Crop to the source region, flip for negative sw/sh, and scale to fit vw x vh keeping the aspect ratio."""
    columns, rows = image.size
    sx, sy = viewport.sx or 0, viewport.sy or 0
    if sx >= columns or sy >= rows:
        raise RenderParameterError(f"viewport region starts at {sx},{sy}, outside the {columns}x{rows} image")
    sw = viewport.sw if viewport.sw is not None else columns - sx
    sh = viewport.sh if viewport.sh is not None else rows - sy
    box = (sx, sy, min(columns, sx + abs(sw)), min(rows, sy + abs(sh)))
    if box != (0, 0, columns, rows):
        image = image.crop(box)
    if sw < 0:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if sh < 0:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    width, height = image.size
    scale = min(viewport.vw / width, viewport.vh / height)
    size = (max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if scale < 0.5 else None)
    return image


def _encode(image: Image.Image, media_type: str, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    if media_type == "image/jpeg":
        image.save(buffer, "JPEG", quality=quality or DEFAULT_QUALITY)
    elif media_type == "image/png":
        image.save(buffer, "PNG", compress_level=1)  # speed over size: rendered images are transient
    else:
        if image.mode == "RGB":
            image = image.quantize(colors=256)  # GIF is palette-only (at most 256 colours)
        image.save(buffer, "GIF")
    return buffer.getvalue()
