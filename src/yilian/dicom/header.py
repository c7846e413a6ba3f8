"""One pass over a plain Part-10 header straight from its bytes (PS3.10 §7, PS3.5 §7.1.2): the common case fast.

Most instances an archive receives are Explicit VR Little Endian with a handful of simple attributes. For those,
pydicom's reader (a DataElement per attribute, its value converted through hooks and value classes) was most of the
CPU an ingest costs. `read_header` walks the elements once and gives each value as pydicom would convert it
(strings, numbers, decoded text), the DICOM JSON of the data set exactly as `dicom.json.to_dicom_json` makes it,
and whether every check the archive runs before storing (`dicom.instance.check_instance`,
`dicom.value_limits.indexed_value_problems` and `dataset_value_problems`) passes.

It answers None for anything outside that common case, and the caller reads the file with pydicom as before: another
transfer syntax, a sequence, an undefined length, a VR or character set not handled here, a value that cannot be
decoded strictly, elements out of order, a file cut short, or any check that does not pass (the slow path then words
the refusal exactly as it always has). So a None costs a second parse, never a different answer;
tests/unit/test_dicom_header.py compares both paths over pydicom's test files and ours.

`read_identity` is the same walk cut down to what a receiver that keeps the bytes as sent needs (the gateway): in
Explicit or Implicit VR Little Endian (what modalities send), the identity UIDs of a file that
`dicom.instance.read_instance` reads and `check_instance` passes, or None and the caller asks pydicom;
tests/unit/dicom/test_identity.py compares it with that path in both encodings and on damaged bytes.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydicom import config
from pydicom.datadict import _dictionary_vr_fast, tag_for_keyword
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from yilian.dicom.instance import IMAGE_STORAGE_SOP_CLASSES, uid_problem
from yilian.dicom.json import ALWAYS_BULK, DEFAULT_BULK_DATA_THRESHOLD, raw_json_value_of
from yilian.dicom.value_limits import INDEXED, any_value_problem, value_problem

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
_PREAMBLE_END = 132
_LONG_LENGTH_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"})
_DEFAULT_STRING_VRS = frozenset({"AS", "CS", "DA", "DT", "TM", "UI", "IS", "DS"})
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"})
_MULTI_TEXT_VRS = frozenset({"SH", "LO", "UC"})  # split on backslashes after decoding (PS3.5 §6.2)
_SINGLE_TEXT_VRS = frozenset({"ST", "LT", "UT"})  # one value; a backslash is text
_BINARY_VRS = frozenset({"OB", "OW"})
_HANDLED_VRS = _DEFAULT_STRING_VRS | _NUMBER_VRS | _MULTI_TEXT_VRS | _SINGLE_TEXT_VRS | _BINARY_VRS | {"PN"}
_WALKED_VRS = {vr.encode("ascii"): vr for vr in (*_HANDLED_VRS, "SQ")}  # as bytes in the file: the VR walked
# Specific Character Set (0008,0005) values taken here, as the Python codec pydicom uses for each (PS3.3 C.12.1.1.2).
# Anything else (code extensions such as ISO 2022 IR 58, several values, other repertoires) goes to pydicom.
_CODECS = {"": "latin_1", "ISO_IR 100": "latin_1", "ISO_IR 192": "utf_8",
           "GB18030": "gb18030", "GBK": "gbk"}  # fmt: skip
_SPECIFIC_CHARACTER_SET = 0x00080005


def _tag_of(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return tag


_TAG = {keyword: _tag_of(keyword) for keyword in (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "Columns", "SamplesPerPixel",
    "PhotometricInterpretation", "BitsAllocated", "PixelData", "NumberOfFrames",
)}  # fmt: skip
_INDEXED = tuple((_tag_of(keyword), vr) for keyword, vr in INDEXED)
_IDENTITY = tuple(_TAG[k] for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"))
_IMAGE_PIXEL = tuple(
    _TAG[k] for k in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "PixelData")
)
_UNDEFINED = 0xFFFFFFFF
_INLINE_LIMIT = (DEFAULT_BULK_DATA_THRESHOLD // 4) * 3  # a longer binary value is a BulkDataURI (dicom.json)
_UL = struct.Struct("<L")
_HHL = struct.Struct("<HHL")
_HH = struct.Struct("<HH")
_H = struct.Struct("<H")

BulkDataUriOf = Callable[[str, str, str], Callable[[str], str]]
"""Given the study, series and SOP Instance UIDs, the BulkDataURI maker of that instance (see dicom.json)."""


@dataclass(frozen=True)
class Header:
    """A header that passed every check before storing, with its DICOM JSON (File Meta Information left out)."""

    transfer_syntax_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    dicom_json: dict[str, Any]


def read_header(data: bytes, bulk_data_uri_of: BulkDataUriOf) -> Header | None:
    """The checked header and DICOM JSON of a plain Explicit VR Little Endian Part-10 file, or None: use pydicom."""
    if config.datetime_conversion or config.use_IS_numpy or config.use_DS_numpy or config.use_DS_decimal:
        return None
    if data[128:_PREAMBLE_END] != b"DICM":
        return None
    try:
        meta, offset = _meta(data)
        if meta is None or meta.get(0x00020010) != [EXPLICIT_VR_LITTLE_ENDIAN]:
            return None
        walked = _elements(data, offset, len(data), delimited=False)
        if walked is None or not walked[0]:
            return None
        return _checked(data, meta, walked[0], bulk_data_uri_of)
    except (RecursionError, struct.error, IndexError, ValueError, TypeError):
        return None  # whatever the walk did not foresee (sequences nested beyond Python's stack...): pydicom judges


# An element as walked: tag, VR, value start and end in the file, and for a sequence its items' elements.
_Element = tuple[int, str, int, int, list[list[Any]] | None]


def _meta(data: bytes) -> tuple[dict[int, list[str]] | None, int]:
    """The UI values of the File Meta Information (group 0002, always Explicit VR Little Endian), and where it ends."""
    out: dict[int, list[str]] = {}
    offset, end_of_data = _PREAMBLE_END, len(data)
    while offset + 8 <= end_of_data:
        group, element = _HH.unpack_from(data, offset)
        if group != 2:
            return out, offset
        raw_vr = data[offset + 4 : offset + 6]
        if raw_vr in _LONG_LENGTH_VRS:
            if offset + 12 > end_of_data:
                return None, offset
            length, start = _UL.unpack_from(data, offset + 8)[0], offset + 12
        else:
            length, start = _H.unpack_from(data, offset + 6)[0], offset + 8
        if length == _UNDEFINED or start + length > end_of_data or not (raw_vr.isalpha() and raw_vr.isupper()):
            return None, offset
        if raw_vr == b"UI":
            out[element | 0x00020000] = _strings(data, start, start + length)
        offset = start + length
    return None, offset


def _elements(data: bytes, offset: int, limit: int, *, delimited: bool) -> tuple[list[_Element], int] | None:
    """The elements from `offset` in ascending tag order up to `limit` or, when `delimited`, an Item Delimitation
    Item (PS3.5 §7.5); None when anything is not plain (an undefined length outside a sequence, a VR not handled)."""
    out: list[_Element] = []
    previous = -1
    while offset < limit:
        if offset + 8 > limit:
            return None
        group, element = _HH.unpack_from(data, offset)
        if group == 0xFFFE:
            if delimited and element == 0xE00D and _UL.unpack_from(data, offset + 4)[0] == 0:
                return out, offset + 8
            return None
        if group == 2:
            return None  # File Meta Information inside the data set: let pydicom judge
        tag = group << 16 | element
        raw_vr = data[offset + 4 : offset + 6]
        vr = _WALKED_VRS.get(raw_vr)
        if vr is None or tag <= previous:
            return None
        if raw_vr in _LONG_LENGTH_VRS:
            if offset + 12 > limit:
                return None
            length, start = _UL.unpack_from(data, offset + 8)[0], offset + 12
        else:
            length, start = _H.unpack_from(data, offset + 6)[0], offset + 8
        if vr == "SQ":
            items = _items(data, start, length, limit)
            if items is None:
                return None
            out.append((tag, vr, start, items[1], items[0]))
            offset = items[1]
        else:
            end = start + length
            if length == _UNDEFINED or end > limit:
                return None
            out.append((tag, vr, start, end, None))
            offset = end
        previous = tag
    return None if delimited else (out, offset)


def _items(data: bytes, offset: int, length: int, limit: int) -> tuple[list[list[_Element]], int] | None:
    """A sequence's items (PS3.5 §7.5), of defined or undefined length, and where the sequence ends."""
    undefined = length == _UNDEFINED
    end = limit if undefined else offset + length
    if end > limit:
        return None
    items: list[list[_Element]] = []
    while True:
        if not undefined and offset == end:
            return items, offset
        if offset + 8 > end:
            return None
        group, element, item_length = _HHL.unpack_from(data, offset)
        if undefined and (group, element) == (0xFFFE, 0xE0DD):
            return items, offset + 8
        if (group, element) != (0xFFFE, 0xE000):
            return None
        if item_length == _UNDEFINED:
            walked = _elements(data, offset + 8, end, delimited=True)
        else:
            if offset + 8 + item_length > end:
                return None
            walked = _elements(data, offset + 8, offset + 8 + item_length, delimited=False)
        if walked is None:
            return None
        items.append(walked[0])
        offset = walked[1]


def _strings(data: bytes, start: int, end: int) -> list[str]:
    """A default-repertoire value as pydicom's reader splits it ([''] when empty)."""
    return data[start:end].decode("latin-1").rstrip(" \x00").split("\\")


class _NotPlain(Exception):
    """Raised inside the conversion when pydicom must read the file after all."""


def _checked(
    data: bytes,
    meta: dict[int, list[str]],
    elements: list[_Element],
    bulk_data_uri_of: BulkDataUriOf,
) -> Header | None:
    top = {element[0]: element for element in elements}
    charset = top.get(_SPECIFIC_CHARACTER_SET)
    charset_value = [""] if charset is None else _strings(data, charset[2], charset[3])
    if (charset is not None and charset[1] != "CS") or len(charset_value) != 1 or charset_value[0] not in _CODECS:
        return None
    codec = _CODECS[charset_value[0]]

    identity = [_uid(data, top.get(tag)) for tag in _IDENTITY]
    sop_class, sop_instance, study, series = identity
    if not (sop_class and sop_instance and study and series) or any(uid_problem(uid) for uid in identity):
        return None
    if sop_instance in (study, series):
        return None
    for meta_tag, uid in ((0x00020002, sop_class), (0x00020003, sop_instance)):
        declared = meta.get(meta_tag)
        if declared is not None and (len(declared) != 1 or declared[0].strip("\0 ") not in ("", uid)):
            return None

    every: list[tuple[str, Sequence[Any]]] = []  # the text VRs' values, nested ones too (the rest: _plain_value)
    values: dict[int, tuple[str, Sequence[Any]]] = {}  # the data set's own (not nested) values
    try:
        full = _convert(data, elements, codec, "", bulk_data_uri_of(study, series, sop_instance), every, values)
    except _NotPlain:
        return None
    if sop_class in IMAGE_STORAGE_SOP_CLASSES and not _image_pixel_ok(top, full):
        return None
    if not _values_ok(top, values, every):
        return None
    return Header(meta[0x00020010][0], sop_class, sop_instance, study, series, full)


def _convert(
    data: bytes,
    elements: list[_Element],
    codec: str,
    prefix: str,
    bulk_data_uri: Callable[[str], str],
    every: list[tuple[str, Sequence[Any]]],
    values: dict[int, tuple[str, Sequence[Any]]] | None,
) -> dict[str, Any]:
    """The DICOM JSON of one data set or item, as dicom.json.to_dicom_json makes it; the text values it read into
    `every` for the every-attribute check (the default-repertoire ones pass it in `_plain_value`), and the data
    set's own values into `values`."""
    out: dict[str, Any] = {}
    for tag, vr, start, end, items in elements:
        if tag & 0xFFFF == 0:
            continue  # group lengths: not in the model, binary (no check)
        key = f"{tag:08X}"
        if items is not None:
            if any(element[0] == _SPECIFIC_CHARACTER_SET for item in items for element in item):
                raise _NotPlain  # an item with a character set of its own
            out[key] = {"vr": "SQ"}
            if items:
                out[key]["Value"] = [
                    _convert(data, item, codec, f"{prefix}{key}/{index}/", bulk_data_uri, every, None)
                    for index, item in enumerate(items)
                ]
            continue
        if vr in _BINARY_VRS:
            if start == end:
                out[key] = {"vr": vr}
            elif tag in ALWAYS_BULK or tag & 0xFF00FFFF == 0x60003000 or end - start > _INLINE_LIMIT:
                out[key] = {"vr": vr, "BulkDataURI": bulk_data_uri(prefix + key)}
            else:
                out[key] = {"vr": vr, "InlineBinary": base64.b64encode(data[start:end]).decode("ascii")}
            continue
        raw = data[start:end]
        if vr in _DEFAULT_STRING_VRS or vr in _NUMBER_VRS:
            plain = _plain_value(vr, raw) if end - start <= _CACHED_LENGTH else _plain_value.__wrapped__(vr, raw)
            if plain is None:
                raise _NotPlain
            js_value, strings = plain
            out[key] = {"vr": vr} if js_value is None else {"vr": vr, "Value": list(js_value)}  # a fresh JSON value
            if strings is not None and values is not None:  # already checked by _plain_value: not in `every`
                values[tag] = (vr, strings)
            continue
        if b"\x1b" in raw:
            raise _NotPlain  # code extensions: pydicom's fragment decoding
        try:
            text = (raw.rstrip(b"\x00 ") if vr == "PN" else raw).decode(codec)
        except UnicodeDecodeError:
            raise _NotPlain from None  # pydicom decodes it with replacement characters, and warns
        if vr == "PN":
            names = text.split("\\")
            groups = [name.split("=") for name in names]
            if any(len(g) > 3 for g in groups):
                raise _NotPlain
            out[key] = {"vr": "PN", "Value": [_person_name(g) for g in groups]} if text else {"vr": "PN"}
            read: tuple[str, Sequence[Any]] = (vr, names)
        else:
            split = [text] if vr in _SINGLE_TEXT_VRS else text.split("\\")
            items_read = [v.rstrip("\0 ") for v in split]
            out[key] = {"vr": vr} if len(items_read) == 1 and not items_read[0] else {"vr": vr, "Value": items_read}
            read = (vr, items_read)
        every.append(read)
        if values is not None:
            values[tag] = read
    return out


# A series repeats most of its values from instance to instance (patient, study, equipment, geometry): each short
# value's conversion and checks are pure functions of its VR and bytes, kept for the next instance that has them.
_CACHED_LENGTH = 256
_CACHED_VALUES = 8192


@lru_cache(maxsize=_CACHED_VALUES)
def _plain_value(vr: str, raw: bytes) -> tuple[tuple[Any, ...] | None, tuple[str, ...] | None] | None:
    """For a default-repertoire string or binary number VR: the JSON "Value" items as `raw_json_value_of` gives them
    (None: no "Value"), and the strings as pydicom's reader splits them (None for numbers); None when not plain, or
    when a string breaks its VR's length or characters (`any_value_problem`, the every-attribute check, kept with
    the conversion so that a repeated value is neither converted nor checked again)."""
    js = raw_json_value_of(vr, raw, True)
    if js is None:
        return None
    found = js.get("Value")
    strings = None
    if vr in _DEFAULT_STRING_VRS:
        strings = tuple(_strings(raw, 0, len(raw)))
        if any(any_value_problem(vr, value) for value in strings):
            return None
    return (None if found is None else tuple(found)), strings


_cached_any_value_problem = lru_cache(maxsize=_CACHED_VALUES)(any_value_problem)
_cached_value_problem = lru_cache(maxsize=_CACHED_VALUES)(value_problem)


def _kept_for_short_strings(
    check: Callable[[str, Any], str | None], cached: Callable[[str, Any], str | None]
) -> Callable[[str, Any], str | None]:
    """`check`, answered from `cached` (the same check, remembered) for a string short enough to recur."""

    def problem(vr: str, value: Any) -> str | None:
        if type(value) is str and len(value) <= _CACHED_LENGTH:
            return cached(vr, value)
        return check(vr, value)

    return problem


_any_problem = _kept_for_short_strings(any_value_problem, _cached_any_value_problem)  # the every-attribute check
_indexed_problem = _kept_for_short_strings(value_problem, _cached_value_problem)  # an indexed value's format


def _person_name(groups: list[str]) -> dict[str, str]:
    return {name: text for name, text in zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False) if text}


def _uid(data: bytes, element: _Element | None) -> str:
    """The one value of a UI as check_instance reads it; '' when absent, empty, several or padded inside."""
    if element is None or element[1] != "UI":
        return ""
    found = _strings(data, element[2], element[3])
    if len(found) != 1:
        return ""
    return found[0] if found[0] == found[0].strip("\0 ") else ""


def _image_pixel_ok(top: dict[int, _Element], full: dict[str, Any]) -> bool:
    if any(tag not in top for tag in _IMAGE_PIXEL):
        return False
    numbers = []
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated"):
        found = full.get(f"{_TAG[keyword]:08X}", {}).get("Value")
        if not found or len(found) != 1 or not isinstance(found[0], int):
            return False
        numbers.append(found[0])
    frames = 1
    if _TAG["NumberOfFrames"] in top:
        found = full.get(f"{_TAG['NumberOfFrames']:08X}", {}).get("Value")
        if found is not None:
            if len(found) != 1 or not isinstance(found[0], int):
                return False
            frames = found[0] or 1
    pixel = top[_TAG["PixelData"]]
    if pixel[1] not in _BINARY_VRS:
        return False
    rows, columns, samples, bits = numbers
    return (pixel[3] - pixel[2]) * 8 >= rows * columns * samples * bits * frames


def _values_ok(
    top: dict[int, _Element], values: dict[int, tuple[str, Sequence[Any]]], every: list[tuple[str, Sequence[Any]]]
) -> bool:
    """No indexed value breaks its VR's format and no text value breaks its length or characters (the
    default-repertoire values were checked as they were converted, `_plain_value`)."""
    for tag, vr in _INDEXED:
        if tag not in top:
            continue
        found = values.get(tag)
        if found is None or found[0] != vr:
            return False  # an indexed attribute sent with another VR: pydicom decides what it means
        for value in found[1]:
            if value != "" and _indexed_problem(vr, value):
                return False
    for vr, items in every:
        for value in items:
            if _any_problem(vr, value):
                return False
    return True


# -- the identity a receiver needs, in Explicit or Implicit VR Little Endian ------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The identity UIDs of an instance that dicom.instance.read_instance reads and check_instance passes."""

    transfer_syntax_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str


# The VRs pydicom's reader knows in Explicit VR, and those with a 32-bit length (PS3.5 Table 7.1-1): read as it does.
_KNOWN_VRS = frozenset(vr.encode("ascii") for vr in VR)
_LONG_VRS = frozenset(vr.encode("ascii") for vr in EXPLICIT_VR_LENGTH_32)
_ITEM = b"\xfe\xff\x00\xe0"
_NUMBER_OF_FRAMES = _TAG["NumberOfFrames"]
_IMAGE_NUMBERS = tuple(_TAG[k] for k in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated"))
_IDENTITY_WANTED = frozenset(_IDENTITY + _IMAGE_PIXEL + (_NUMBER_OF_FRAMES,))
# An element of the data set as walked: its Explicit VR (b"" in Implicit VR) and where its value starts and ends.
_Found = dict[int, tuple[bytes, int, int]]


def read_identity(data: bytes) -> Identity | None:
    """The identity of a Part-10 file in Explicit or Implicit VR Little Endian, when pydicom's path
    (`read_instance`, then `check_instance`) would read it and find no problem, from one walk over its elements;
    else None: anything that path would refuse, or that this walk does not follow exactly as pydicom reads it (another
    transfer syntax, a sequence, value or VR pydicom would read another way), is left to it.

    What pydicom parses when it reads is checked here as it parses it: every element fits in the file, every
    undefined-length sequence (PS3.5 §7.5) and its items to their delimiters. Defined-length sequences it keeps as raw
    bytes until asked, so they are skipped whole here too.
    """
    walked = walk_elements(data, _IDENTITY_WANTED)
    if walked is None:
        return None
    meta, implicit, found = walked
    try:
        return _identity(data, meta, found, implicit)
    except (RecursionError, struct.error, IndexError, ValueError, TypeError):
        return None


def walk_elements(data: bytes, wanted: frozenset[int]) -> tuple[dict[int, list[str]], bool, _Found] | None:
    """The File Meta UIs, whether the data set is Implicit VR, and where the top-level elements of `wanted` lie (a
    sequence's too, of defined length or not) in a Part-10 file in Explicit or Implicit VR Little Endian, from one walk
    over all its elements that reads it as pydicom reads it; None for anything pydicom would read another way or
    refuse (as `read_identity` says)."""
    if config.settings.reading_validation_mode == config.RAISE or data[128:_PREAMBLE_END] != b"DICM":
        return None
    try:
        meta, offset = _meta(data)
        if meta is None:
            return None
        syntax = meta.get(0x00020010)
        if syntax == [EXPLICIT_VR_LITTLE_ENDIAN]:
            implicit = False
        elif syntax == [IMPLICIT_VR_LITTLE_ENDIAN]:
            implicit = True
            # pydicom reads a data set whose first element looks explicit as Explicit VR, whatever the syntax says.
            if offset + 6 <= len(data) and 0x40 < data[offset + 4] < 0x5B and 0x40 < data[offset + 5] < 0x5B:
                return None
        else:
            return None
        found: _Found = {}
        if offset >= len(data) or _walk(data, offset, len(data), implicit, False, found, wanted) != len(data):
            return None
        return meta, implicit, found
    except (RecursionError, struct.error, IndexError, ValueError, TypeError):
        return None


def _walk(
    data: bytes,
    offset: int,
    limit: int,
    implicit: bool,
    delimited: bool,
    found: _Found | None,
    wanted: frozenset[int] = _IDENTITY_WANTED,
) -> int | None:
    """Past the elements from `offset` to `limit` or, when `delimited`, past the Item Delimitation Item (PS3.5 §7.5);
    None when pydicom would read them otherwise. At the top level (`found`), tags must ascend, and where the values
    of the `wanted` tags lie is noted."""
    previous = -1
    while offset < limit:
        if offset + 8 > limit:
            return None
        group, element = _HH.unpack_from(data, offset)
        tag = group << 16 | element
        if group == 0xFFFE:
            if delimited and element == 0xE00D:
                return offset + 8  # pydicom reads no further whatever the length says; the caller sees where
            return None
        if found is not None and (tag <= previous or group in (0x0000, 0x0002)):
            return None  # duplicates, a command set or File Meta Information in the data set: pydicom's to judge
        if implicit:
            vr = b""
            length, start = _UL.unpack_from(data, offset + 4)[0], offset + 8
        else:
            vr = data[offset + 4 : offset + 6]
            if vr not in _KNOWN_VRS:
                return None
            if vr in _LONG_VRS:
                if offset + 12 > limit:
                    return None
                length, start = _UL.unpack_from(data, offset + 8)[0], offset + 12
            else:
                length, start = _H.unpack_from(data, offset + 6)[0], offset + 8
        if length == _UNDEFINED:
            if not _is_sequence(data, tag, vr, start, implicit):
                return None
            end = _skip_items(data, start, limit, implicit)
            if end is None:
                return None
            if found is not None and tag in wanted:
                found[tag] = (vr, start, end)  # an undefined-length sequence: only its presence matters
            offset = end
        else:
            end = start + length
            if end > limit:
                return None
            if found is not None and tag in wanted:
                found[tag] = (vr, start, end)
            offset = end
        previous = tag
    return None if delimited else offset


def _is_sequence(data: bytes, tag: int, vr: bytes, start: int, implicit: bool) -> bool:
    """Whether pydicom reads an undefined-length element as a sequence whose items share the data set's encoding."""
    if not implicit:
        return vr == b"SQ"  # an undefined-length UN is a sequence of Implicit VR items (PS3.5 §6.2.2): pydicom's
    try:
        return _dictionary_vr_fast(tag) == "SQ"
    except KeyError:  # not in the dictionary (a private tag): a sequence if an item follows, as pydicom looks
        return data[start : start + 4] == _ITEM


def _skip_items(data: bytes, offset: int, limit: int, implicit: bool) -> int | None:
    """Past an undefined-length sequence's items and its Sequence Delimitation Item (PS3.5 §7.5)."""
    while True:
        if offset + 8 > limit:
            return None
        group, element, length = _HHL.unpack_from(data, offset)
        if (group, element) == (0xFFFE, 0xE0DD):
            return offset + 8
        if (group, element) != (0xFFFE, 0xE000):
            return None
        if length == _UNDEFINED:
            end = _walk(data, offset + 8, limit, implicit, True, None)
        else:
            stop = offset + 8 + length
            end = None if stop > limit else _walk(data, offset + 8, stop, implicit, False, None)
        if end is None:
            return None
        offset = end


def _identity(data: bytes, meta: dict[int, list[str]], found: _Found, implicit: bool) -> Identity | None:
    """check_instance's checks on the walked values: an Identity when none finds a problem, else None."""
    uids: list[str] = []
    for tag in _IDENTITY:
        element = found.get(tag)
        if element is None or (not implicit and element[0] != b"UI"):
            return None
        values = _strings(data, element[1], element[2])
        if len(values) != 1 or not values[0] or values[0] != values[0].strip("\0 ") or uid_problem(values[0]):
            return None
        uids.append(values[0])
    sop_class, sop_instance, study, series = uids
    if sop_instance in (study, series):
        return None
    for meta_tag, uid in ((0x00020002, sop_class), (0x00020003, sop_instance)):
        declared = meta.get(meta_tag)
        if declared is not None and (len(declared) != 1 or declared[0].strip("\0 ") not in ("", uid)):
            return None
    if sop_class in IMAGE_STORAGE_SOP_CLASSES and not _native_pixels_ok(data, found, implicit):
        return None
    return Identity(meta[0x00020010][0], sop_class, sop_instance, study, series)


def _native_pixels_ok(data: bytes, found: _Found, implicit: bool) -> bool:
    """The Image Pixel attributes are there and Pixel Data holds at least Rows x Columns x Samples x Bits x Frames
    (PS3.3 C.7.6.3, PS3.5 §8.1.1), each read as check_instance converts it; False also when it would not convert."""
    if any(tag not in found for tag in _IMAGE_PIXEL):
        return False
    product = 1
    for tag in _IMAGE_NUMBERS:
        vr, start, end = found[tag]
        if (not implicit and vr != b"US") or end - start != 2:
            return False
        product *= _H.unpack_from(data, start)[0]
    frames = found.get(_NUMBER_OF_FRAMES)
    if frames is not None:
        vr, start, end = frames
        text = data[start:end].rstrip(b" ")
        if (not implicit and vr != b"IS") or not (text.isdigit() or text == b""):
            return False
        product *= int(text or b"0") or 1
    vr, start, end = found[_TAG["PixelData"]]
    if (not implicit and vr not in (b"OB", b"OW")) or end == start:
        return False
    return (end - start) * 8 >= product
