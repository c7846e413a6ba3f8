"""The DICOM JSON Model of a data set (PS3.18 Annex F.2), with BulkDataURIs for large binary values."""

from __future__ import annotations

import copy
import json
import re
import struct
from collections.abc import Callable
from typing import Any

from pydicom import config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filewriter import correct_ambiguous_vr_element
from pydicom.sequence import Sequence

from yilian.dicom.charset import strip_iso_2022_escapes, uses_iso_2022_ir_58

try:
    import orjson
except ImportError:  # a virtualenv made before orjson was a dependency: json.dumps makes every text, as it did
    orjson = None  # type: ignore[assignment]

BulkDataUri = Callable[[str], str]
"""Gives the BulkDataURI for an attribute path such as "7FE00010" or "00540016/0/00181072" (item index 0-based)."""

DEFAULT_BULK_DATA_THRESHOLD = 1024
# Always by reference, whatever their size (PS3.18 §10.4.1.1.2; WADO-05): pixel data in every form, waveform samples,
# encapsulated documents, spectroscopy data. Overlay Data (60xx,3000) is matched by its group below.
ALWAYS_BULK = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0x00420011, 0x56000020})
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


# Where orjson's text may differ from json.dumps': a float Python writes with an exponent (below 1e-4, from 1e16),
# which orjson writes with another exponent (a digit then "e") or as "0.0000…" decimals, and NaN or Infinity, which
# orjson writes null. Three scans of the text (each a C loop) cost far less than a regular expression's one.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _may_differ(text: bytes) -> bool:
    return b"null" in text or b"0.0000" in text or b"0e" in text.translate(_DIGITS_AS_ZERO)


def dicom_json_text(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, the same text, made by orjson where that is
    known to be the same text: about a third of the CPU for an instance's metadata.

    Both write the same escapes, the same integers and the same shortest round-trip digits of a float; they differ
    only where `_may_differ` looks (and rarely does orjson's text look so without differing: json.dumps then
    makes it). What orjson refuses (an integer past 64 bits, a lone surrogate, a key not a string, a type it does not
    serialise) is made by json.dumps as before, with its answer or its error. tests/unit/test_dicom_json_text.py
    compares both over every float magnitude, every code point and the DICOM JSON of the test files."""
    text = _orjson_text(value)
    if text is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.decode()


# Every byte but a quote, a comma and a colon: what `_separator_in_string` deletes before it looks.
_NOT_QUOTE_OR_SEPARATOR = bytes(b for b in range(256) if b not in b'",:')


def spaced_json_text(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, the same text (its separators ", " and ": "), made by orjson where
    that is known to be the same text: `dicom_json_text`'s text with a space after each comma and colon between
    values, when no string holds a comma or a colon (then json.dumps makes it). The study and series rows'
    attributes: about a quarter of json.dumps' CPU."""
    text = _orjson_text(value)
    if text is None or _separator_in_string(text):
        return json.dumps(value, ensure_ascii=False)
    return text.replace(b",", b", ").replace(b":", b": ").decode()


def _orjson_text(value: Any) -> bytes | None:
    """orjson's compact text of `value` when it is json.dumps' compact text exactly, else None."""
    try:
        text = orjson.dumps(value) if orjson is not None else None
    except TypeError:  # orjson.JSONEncodeError
        return None
    return None if text is None or _may_differ(text) else text


def _separator_in_string(text: bytes) -> bool:
    """Whether a string in this JSON text may hold a comma or a colon. Without an escaped quote, quotes open and
    close strings in turn, and valid JSON has a comma or a colon between one string and the next: so with the other
    bytes deleted, each string without one is a pair of adjacent quotes, and any quote left once those pairs are
    removed belongs to a string with one."""
    if b'\\"' in text:
        return True
    return b'"' in text.translate(None, _NOT_QUOTE_OR_SEPARATOR).replace(b'""', b"")


def to_dicom_json(
    ds: Dataset,
    bulk_data_uri: BulkDataUri | None = None,
    bulk_data_threshold: int = DEFAULT_BULK_DATA_THRESHOLD,
) -> dict[str, Any]:
    """The data set as a DICOM JSON object (PS3.18 F.2): keys are tags as 8 upper-case hex digits.

    Binary values (OB, OW, OF, OD, OL, OV, UN) longer than the threshold in base64, and pixel data, waveform data
    and encapsulated documents of any size, become a BulkDataURI (F.2.6) when `bulk_data_uri` is given, else
    InlineBinary. Text is decoded from the data set's Specific Character Set (UTF-8, GB18030, GBK, ISO 2022 IR 58)
    and is Unicode in the JSON. Person names keep their Alphabetic, Ideographic and Phonetic groups (F.2.2); empty
    groups are left out. File Meta Information and group lengths are not part of the model and are omitted.
    """
    return _dataset(ds, "", bulk_data_uri, bulk_data_threshold, uses_iso_2022_ir_58(ds))


def _dataset(
    ds: Dataset, prefix: str, bulk_data_uri: BulkDataUri | None, threshold: int, iso_2022: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in sorted(ds.keys()):
        if tag.element == 0 or tag.group == 0x0002:
            continue
        key = f"{tag:08X}"
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement) and (fast := raw_json_value(raw)) is not None:
            out[key] = fast  # most attributes: straight from their bytes, without pydicom's conversion
            continue
        element = ds[tag]  # converts the raw element, decoding text with the inherited character set
        path = f"{prefix}{key}"
        if element.VR == "SQ" and isinstance(element.value, Sequence):
            out[key] = {"vr": "SQ"}
            if len(element.value):
                out[key]["Value"] = [
                    _dataset(item, f"{path}/{index}/", bulk_data_uri, threshold, iso_2022)
                    for index, item in enumerate(element.value)
                ]
            continue
        if " or " in element.VR:
            element = _resolved_vr(element, ds)
        handler = None if bulk_data_uri is None else _for_path(bulk_data_uri, path)
        always = element.tag in ALWAYS_BULK or (element.tag.group & 0xFF00 == 0x6000 and element.tag.element == 0x3000)
        value = element.to_json_dict(bulk_data_element_handler=handler, bulk_data_threshold=-1 if always else threshold)
        if element.VR == "PN" and "Value" in value:
            value["Value"] = [_person_name(name, iso_2022) for name in value["Value"]]
        elif iso_2022 and element.VR in _TEXT_VRS and "Value" in value:
            value["Value"] = [strip_iso_2022_escapes(v) if isinstance(v, str) else v for v in value["Value"]]
        out[key] = value
    return out


def _resolved_vr(element: DataElement, ds: Dataset) -> DataElement:
    # JSON carries one VR (F.2.3); resolve "OB or OW", "US or SS"... from the data set as a writer would (PS3.5 A.1).
    resolved = copy.copy(element)
    try:
        corrected = correct_ambiguous_vr_element(resolved, ds, is_little_endian=True)
    except AttributeError:  # the attribute that decides it is absent: take the first choice
        resolved.VR = element.VR.split(" or ")[0]
        return resolved
    return corrected if isinstance(corrected, DataElement) else resolved


def _for_path(bulk_data_uri: BulkDataUri, path: str) -> Callable[[Any], str]:
    return lambda _element: bulk_data_uri(path)


def _person_name(name: dict[str, str], iso_2022: bool) -> dict[str, str]:
    groups = {group: name.get(group, "") for group in _PN_GROUPS}
    if iso_2022:
        groups = {group: strip_iso_2022_escapes(text) for group, text in groups.items()}
    return {group: text for group, text in groups.items() if text}


# --- The common attributes straight from their bytes -----------------------------------------------------------
# pydicom converts every raw element (hooks, value objects, validation) before its to_json_dict runs: most of an
# ingest's CPU. The VRs below have one obvious JSON form, made here from the bytes exactly as pydicom would make
# it (tests/unit/test_dicom_json.py compares every element both ways); anything unusual falls back to pydicom.
_STRING_VRS = frozenset({"AS", "CS", "DA", "DT", "TM", "UI"})  # default repertoire: no character set applies
_NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}
_IS = re.compile(r"\s*[+-]?\d+\s*")
_DS = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def raw_json_value(raw: RawDataElement) -> dict[str, Any] | None:
    """The DICOM JSON of an explicit-VR element of a simple VR, from its raw bytes; None: let pydicom convert it."""
    vr, value = raw.VR, raw.value
    if vr is None or not isinstance(value, bytes) or config.datetime_conversion:
        return None
    return raw_json_value_of(vr, value, raw.is_little_endian)


def raw_json_value_of(vr: str, value: bytes, is_little_endian: bool) -> dict[str, Any] | None:
    """`raw_json_value` of a VR and its value bytes (dicom/header.py reads them without a RawDataElement)."""
    if vr in _STRING_VRS or vr == "IS" or vr == "DS":
        items = value.decode("latin-1").rstrip(" \x00").split("\\")
        if len(items) == 1 and not items[0]:
            return {"vr": vr}
        if vr == "IS":
            if config.use_IS_numpy or not all(_IS.fullmatch(item) for item in items):
                return None
            return {"vr": vr, "Value": [int(item) for item in items]}
        if vr == "DS":
            if config.use_DS_numpy or config.use_DS_decimal or not all(_DS.fullmatch(item) for item in items):
                return None
            return {"vr": vr, "Value": [float(item) for item in items]}
        return {"vr": vr, "Value": items}
    number = _NUMBER_FORMATS.get(vr)
    if number is not None:
        size = struct.calcsize("<" + number)  # standard sizes: a native L is 8 bytes
        if len(value) % size:
            return None
        if not value:
            return {"vr": vr}
        endian = "<" if is_little_endian else ">"
        values = struct.unpack(f"{endian}{len(value) // size}{number}", value)
        return {"vr": vr, "Value": [int(v) for v in values] if number in "HhLlQq" else [float(v) for v in values]}
    return None
