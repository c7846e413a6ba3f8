"""The attributes the archive indexes, checked against their VR's limits (PS3.5 §6.2) before anything is written.

An over-long Accession Number or a Patient ID of 5,000 characters is not DICOM; written to its column it would
fail the whole request. Checked here, it refuses that instance alone (FailureReason C000) and the rest is stored.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
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
