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
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom import config
from pydicom.datadict import tag_for_keyword

from yilian.dicom.instance import IMAGE_STORAGE_SOP_CLASSES, uid_problem
from yilian.dicom.json import ALWAYS_BULK, DEFAULT_BULK_DATA_THRESHOLD, raw_json_value_of
from yilian.dicom.value_limits import INDEXED, any_value_problem, value_problem

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_PREAMBLE_END = 132
_LONG_LENGTH_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"})
_DEFAULT_STRING_VRS = frozenset({"AS", "CS", "DA", "DT", "TM", "UI", "IS", "DS"})
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"})
_MULTI_TEXT_VRS = frozenset({"SH", "LO", "UC"})  # split on backslashes after decoding (PS3.5 §6.2)
_SINGLE_TEXT_VRS = frozenset({"ST", "LT", "UT"})  # one value; a backslash is text
_BINARY_VRS = frozenset({"OB", "OW"})
_HANDLED_VRS = _DEFAULT_STRING_VRS | _NUMBER_VRS | _MULTI_TEXT_VRS | _SINGLE_TEXT_VRS | _BINARY_VRS | {"PN"}
# Specific Character Set (0008,0005) values taken here, as the Python codec pydicom uses for each (PS3.3 C.12.1.1.2).
# Anything else (code extensions such as ISO 2022 IR 58, several values, other repertoires) goes to pydicom.
_CODECS = {"": "latin_1", "ISO_IR 6": "latin_1", "ISO_IR 100": "latin_1", "ISO_IR 192": "utf_8",
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
_UL = struct.Struct("<L")
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
    meta, offset = _walk(data, _PREAMBLE_END, group_2_only=True)
    if meta is None:
        return None
    meta_values = {tag: _strings(data, start, end) for tag, vr, start, end in meta if vr == "UI"}
    syntax = meta_values.get(0x00020010)
    if syntax != [EXPLICIT_VR_LITTLE_ENDIAN]:
        return None
    elements, _ = _walk(data, offset, group_2_only=False)
    if not elements:
        return None
    return _checked(data, meta_values, elements, bulk_data_uri_of)


def _walk(data: bytes, offset: int, *, group_2_only: bool) -> tuple[list[tuple[int, str, int, int]] | None, int]:
    """(tag, VR, value start, value end) of each element in ascending tag order from `offset`; None when not plain."""
    out: list[tuple[int, str, int, int]] = []
    end_of_data = len(data)
    previous = -1
    while offset < end_of_data:
        if offset + 8 > end_of_data:
            return None, offset
        group, element = _HH.unpack_from(data, offset)
        if group_2_only and group != 2:
            break
        if not group_2_only and group == 2:
            return None, offset  # File Meta Information after the data set began: let pydicom judge
        tag = group << 16 | element
        raw_vr = data[offset + 4 : offset + 6]
        if raw_vr in _LONG_LENGTH_VRS:
            if offset + 12 > end_of_data:
                return None, offset
            length = _UL.unpack_from(data, offset + 8)[0]
            start = offset + 12
        else:
            length = _H.unpack_from(data, offset + 6)[0]
            start = offset + 8
        end = start + length
        if tag <= previous or length == 0xFFFFFFFF or end > end_of_data:
            return None, offset
        vr = raw_vr.decode("latin-1")
        if not (vr.isalpha() and vr.isupper()) or (not group_2_only and vr not in _HANDLED_VRS):
            return None, offset
        out.append((tag, vr, start, end))
        previous = tag
        offset = end
    return out, offset


def _strings(data: bytes, start: int, end: int) -> list[str]:
    """A default-repertoire value as pydicom's reader splits it ([''] when empty)."""
    return data[start:end].decode("latin-1").rstrip(" \x00").split("\\")


def _checked(
    data: bytes,
    meta: dict[int, list[str]],
    elements: list[tuple[int, str, int, int]],
    bulk_data_uri_of: BulkDataUriOf,
) -> Header | None:
    charset = next((_strings(data, s, e) for tag, vr, s, e in elements if tag == _SPECIFIC_CHARACTER_SET), [""])
    if len(charset) != 1 or charset[0].strip() not in _CODECS or charset[0] != charset[0].strip():
        return None
    codec = _CODECS[charset[0]]

    values: dict[int, tuple[str, list[Any]]] = {}  # strings, numbers and decoded text, as pydicom gives them
    json_of: dict[int, dict[str, Any]] = {}
    binary: list[tuple[int, str, int, int]] = []
    for tag, vr, start, end in elements:
        if tag & 0xFFFF == 0:
            continue  # group lengths: not in the model, binary (no check)
        if vr in _BINARY_VRS:
            binary.append((tag, vr, start, end))
            continue
        raw = data[start:end]
        if vr in _DEFAULT_STRING_VRS or vr in _NUMBER_VRS:
            js = raw_json_value_of(vr, raw, True)
            if js is None:
                return None
            json_of[tag] = js
            if vr in _DEFAULT_STRING_VRS:
                values[tag] = (vr, _strings(data, start, end))
            continue
        if b"\x1b" in raw:
            return None  # code extensions: pydicom's fragment decoding
        if vr == "PN":
            try:
                text = raw.rstrip(b"\x00 ").decode(codec)
            except UnicodeDecodeError:
                return None
            names = text.split("\\")
            groups = [name.split("=") for name in names]
            if any(len(g) > 3 for g in groups):
                return None
            values[tag] = (vr, names)
            if text:
                json_of[tag] = {"vr": "PN", "Value": [_person_name(g) for g in groups]}
            else:
                json_of[tag] = {"vr": "PN"}
            continue
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            return None
        items = [text.rstrip("\0 ")] if vr in _SINGLE_TEXT_VRS else [v.rstrip("\0 ") for v in text.split("\\")]
        values[tag] = (vr, items)
        json_of[tag] = {"vr": vr} if len(items) == 1 and not items[0] else {"vr": vr, "Value": items}

    identity = [_single(values, tag) for tag in _IDENTITY]
    sop_class, sop_instance, study, series = identity
    if not (sop_class and sop_instance and study and series) or any(uid_problem(uid) for uid in identity):
        return None
    if sop_instance in (study, series):
        return None
    for meta_tag, uid in ((0x00020002, sop_class), (0x00020003, sop_instance)):
        declared = meta.get(meta_tag)
        if declared is not None and (len(declared) != 1 or declared[0].strip("\0 ") not in ("", uid)):
            return None
    if sop_class in IMAGE_STORAGE_SOP_CLASSES and not _image_pixel_ok(data, values, json_of, elements):
        return None
    if not _values_ok(values):
        return None

    bulk_data_uri = bulk_data_uri_of(study, series, sop_instance)
    for tag, vr, start, end in binary:
        key = f"{tag:08X}"
        if start == end:
            json_of[tag] = {"vr": vr}
        elif (
            tag in ALWAYS_BULK
            or end - start > (DEFAULT_BULK_DATA_THRESHOLD // 4) * 3
            or (tag & 0xFF00FFFF == 0x60003000)
        ):
            json_of[tag] = {"vr": vr, "BulkDataURI": bulk_data_uri(key)}
        else:
            json_of[tag] = {"vr": vr, "InlineBinary": base64.b64encode(data[start:end]).decode("ascii")}
    full = {f"{tag:08X}": json_of[tag] for tag, _, _, _ in elements if tag in json_of}
    return Header(meta[0x00020010][0], sop_class, sop_instance, study, series, full)


def _person_name(groups: list[str]) -> dict[str, str]:
    return {name: text for name, text in zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False) if text}


def _single(values: dict[int, tuple[str, list[Any]]], tag: int) -> str:
    """The one value of a UI, stripped as check_instance reads it; '' when absent, empty or several."""
    found = values.get(tag)
    if found is None or found[0] != "UI" or len(found[1]) != 1:
        return ""
    value = str(found[1][0])
    return value if value == value.strip("\0 ") else ""  # padded inside: pydicom's path keeps what it keeps


def _image_pixel_ok(
    data: bytes,
    values: dict[int, tuple[str, list[Any]]],
    json_of: dict[int, dict[str, Any]],
    elements: list[tuple[int, str, int, int]],
) -> bool:
    present = {tag for tag, _, _, _ in elements}
    if any(tag not in present for tag in _IMAGE_PIXEL):
        return False
    numbers = []
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated"):
        found = json_of.get(_TAG[keyword], {}).get("Value")
        if not found or len(found) != 1 or found[0] is None:
            return False
        numbers.append(int(found[0]))
    frames = 1
    if _TAG["NumberOfFrames"] in json_of:
        found = json_of[_TAG["NumberOfFrames"]].get("Value")
        if found is not None:
            if len(found) != 1:
                return False
            frames = int(found[0]) or 1
    pixel = next((end - start for tag, _, start, end in elements if tag == _TAG["PixelData"]))
    rows, columns, samples, bits = numbers
    return pixel * 8 >= rows * columns * samples * bits * frames


def _values_ok(values: dict[int, tuple[str, list[Any]]]) -> bool:
    """No indexed value breaks its VR's format and no value of any checked VR breaks its length or characters."""
    for tag, vr in _INDEXED:
        found = values.get(tag)
        if found is None:
            continue
        if found[0] != vr:
            return False  # an indexed attribute sent with another VR: pydicom decides what it means
        for value in found[1]:
            if value != "" and value_problem(vr, value):
                return False
    for tag, (vr, items) in values.items():
        if tag >> 16 == 2:
            continue
        for value in items:
            if any_value_problem(vr, value):
                return False
    return True
