"""The attributes the archive indexes, checked against their VR's limits (PS3.5 §6.2) before anything is written.

An over-long Accession Number or a Patient ID of 5,000 characters is not DICOM; written to its column it would
fail the whole request. Checked here, it refuses that instance alone (FailureReason C000) and the rest is stored.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

from yilian.dicom.instance import FailureReason, Problem

# Maximum characters of one value (PS3.5 Table 6.2-1); PN is 64 per component group.
_MAX_CHARACTERS = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "UI": 64, "DA": 8, "TM": 14, "IS": 12}
_FORMATS = {
    "DA": re.compile(r"\d{8}"),
    "TM": re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?"),
    "IS": re.compile(r"[+-]?\d{1,11}"),
}
_IS_RANGE = (-(2**31), 2**31 - 1)  # PS3.5 Table 6.2-1: IS is a signed 32-bit integer
# Control characters are not allowed in these VRs (ESC excepted, for ISO 2022 code extensions); NUL also cannot
# be stored in a PostgreSQL text column.
_CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")

# The data set attributes that become index columns (imaging/index.py), with their VRs (PS3.6).
INDEXED = (
    ("PatientID", "LO"),
    ("IssuerOfPatientID", "LO"),
    ("PatientName", "PN"),
    ("PatientBirthDate", "DA"),
    ("StudyDate", "DA"),
    ("StudyTime", "TM"),
    ("AccessionNumber", "SH"),
    ("StudyID", "SH"),
    ("ReferringPhysicianName", "PN"),
    ("StudyDescription", "LO"),
    ("Modality", "CS"),
    ("SeriesNumber", "IS"),
    ("SeriesDescription", "LO"),
    ("PerformedProcedureStepStartDate", "DA"),
    ("PerformedProcedureStepStartTime", "TM"),
    ("InstanceNumber", "IS"),
    ("NumberOfFrames", "IS"),
)


def indexed_value_problems(ds: Dataset) -> list[Problem]:
    """A Problem (FailureReason C000) for each indexed attribute whose value breaks its VR's length or format."""
    problems: list[Problem] = []
    for keyword, vr in INDEXED:
        try:
            values = _values(ds, keyword)
        except (ValueError, TypeError, OverflowError):  # pydicom could not convert it (e.g. an IS of letters)
            problems.append(Problem(f"{keyword} is not a {vr} value", FailureReason.CANNOT_UNDERSTAND, keyword))
            continue
        for value in values:
            reason = value_problem(vr, value)
            if reason:
                problems.append(Problem(f"{keyword} {reason}", FailureReason.CANNOT_UNDERSTAND, keyword))
                break
    meta = getattr(ds, "file_meta", None)
    syntax = "" if meta is None else str(meta.get("TransferSyntaxUID", "") or "")
    if len(syntax) > _MAX_CHARACTERS["UI"]:
        problems.append(
            Problem("TransferSyntaxUID is over 64 characters", FailureReason.CANNOT_UNDERSTAND, "TransferSyntaxUID")
        )
    return problems


def value_problem(vr: str, value: Any) -> str | None:
    """Why one value breaks its VR (as words after the attribute name), or None when it is acceptable."""
    limit = _MAX_CHARACTERS[vr]
    if vr == "PN":
        groups = value.components if isinstance(value, PersonName) else str(value).split("=")
        for group in groups:
            if len(group) > limit:
                return f"has a component group of {len(group)} characters, over the {limit} allowed"
            if _CONTROL.search(group):
                return "holds a control character"
        return None
    text = str(value)
    if vr in ("DA", "TM", "IS"):
        text = text.strip(" ")  # padding and leading/trailing spaces are allowed in these VRs
    else:
        text = text.rstrip(" ")
    if len(text) > limit:
        return f"is {len(text)} characters long, over the {limit} allowed for {vr}"
    if _CONTROL.search(text):
        return "holds a control character"
    pattern = _FORMATS.get(vr)
    if pattern is not None and text and not pattern.fullmatch(text):
        return f"{text!r} is not a {vr} value"
    if vr == "IS" and text and not _IS_RANGE[0] <= int(text) <= _IS_RANGE[1]:
        return f"{text} is outside the range of IS"
    return None


def _values(ds: Dataset, keyword: str) -> list[Any]:
    """The element's values as read (raw strings where pydicom would convert), skipping an empty element."""
    if keyword not in ds:
        return []
    value = ds[keyword].value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return [v for v in value if v is not None and v != ""]
    return [value]


# --- every other attribute: length and characters (PS3.5 Table 6.2-1) ---------------------------------------------
# Refused rather than coerced, like the indexed ones: a value that breaks its VR is not stored silently as sent, and
# changing it would change the bytes the archive promises to keep (docs/dicomweb.md).
_ALL_MAX_CHARACTERS = {**_MAX_CHARACTERS, "AS": 4, "DS": 16, "DT": 26, "LT": 10240, "ST": 1024}
_REPERTOIRES = {
    "CS": (re.compile(r"[A-Z0-9 _]*"), "upper-case letters, digits, space and underscore"),
    "DS": (re.compile(r"[0-9+\-Ee. ]*"), "digits, +, -, E, e, . and space"),
    "IS": (re.compile(r"[0-9+\- ]*"), "digits, +, - and space"),
    "UI": (re.compile(r"[0-9.\0]*"), "digits and dots"),
    "AS": (re.compile(r"[0-9DWMY]*"), "digits and D, W, M or Y"),
}
# LT, ST and UT may also hold TAB, LF, FF and CR (PS3.5 §6.1.3); the other text VRs only ESC.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_TEXT_VRS = frozenset({"LT", "ST", "UT"})
_CHECKED_VRS = frozenset(_ALL_MAX_CHARACTERS) | {"UC", "UR", "UT"}


def dataset_value_problems(ds: Dataset) -> list[Problem]:
    """A Problem (C000) for the first value of each attribute, nested ones too, that breaks its VR's length or
    character rules; indexed attributes are also checked more closely by `indexed_value_problems`."""
    problems: list[Problem] = []
    for tag in sorted(ds.keys()):
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement) and raw.VR in _AS_READ_VRS and isinstance(raw.value, bytes):
            # Checked on the strings pydicom would make (imaging's JSON reads them from the bytes as well), without
            # converting the element: converting every element was most of an ingest's CPU.
            vr, values = raw.VR, raw_strings(raw.value)
        elif isinstance(raw, RawDataElement) and raw.VR in _BINARY_VRS:
            continue  # numbers and bytes have no length or character rule: not worth converting to find that out
        else:
            element = ds[tag]
            if element.VR == "SQ":
                for item in element.value or ():
                    problems.extend(dataset_value_problems(item))
                continue
            vr = element.VR
            if vr not in _CHECKED_VRS or element.tag.group == 0x0002:
                continue
            values = element.value if isinstance(element.value, (list, MultiValue)) else [element.value]
        if vr not in _CHECKED_VRS or BaseTag(tag).group == 0x0002:
            continue
        for value in values:
            if value is None or isinstance(value, bytes):  # undecodable text is the character set's business
                continue
            reason = any_value_problem(vr, value)
            if reason:
                keyword = keyword_for_tag(tag)
                name = keyword or f"({BaseTag(tag).group:04X},{BaseTag(tag).element:04X})"
                problems.append(Problem(f"{name} {reason}", FailureReason.CANNOT_UNDERSTAND, keyword or None))
                break
    return problems


# Binary VRs (PS3.5 Table 6.2-1): an explicit-VR element of one of these is never checked here.
_BINARY_VRS = frozenset({"AT", "FD", "FL", "OB", "OD", "OF", "OL", "OV", "OW", "SL", "SS", "SV", "UL", "US", "UV"})
# Default-repertoire VRs that pydicom reads as latin-1 strings split on backslashes, trailing padding removed.
_AS_READ_VRS = frozenset({"AS", "CS", "DA", "DT", "TM", "UI", "DS", "IS"})


def raw_strings(value: bytes) -> list[str]:
    """The values of an AS, CS, DA, DT, TM, UI, DS or IS element as pydicom's reader splits them ([''] if empty)."""
    return value.decode("latin-1").rstrip(" \x00").split("\\")


def any_value_problem(vr: str, value: Any) -> str | None:
    """Why one value breaks its VR's length or character rules (any attribute), or None."""
    if vr == "PN":
        return value_problem("PN", value)
    text = str(getattr(value, "original_string", value))
    text = text.strip(" ") if vr in ("DS", "IS", "DA", "TM", "DT", "AE") else text.rstrip(" ")
    limit = _ALL_MAX_CHARACTERS.get(vr)
    if limit is not None and len(text) > limit:
        return f"is {len(text)} characters long, over the {limit} allowed for {vr}"
    control = _TEXT_CONTROL if vr in _TEXT_VRS else _CONTROL
    if control.search(text):
        return "holds a control character"
    repertoire = _REPERTOIRES.get(vr)
    if repertoire is not None and not repertoire[0].fullmatch(text):
        return f"{text[:32]!r} holds characters {vr} does not allow (only {repertoire[1]})"
    return None
