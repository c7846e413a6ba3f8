"""QIDO-RS query parameters (PS3.18 §8.3.4, §10.6): attribute matching, includefield, paging."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pydicom.datadict import dictionary_VR, tag_for_keyword

from yilian.dicom.instance import uid_problem

_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_RESERVED = frozenset({"limit", "offset", "fuzzymatching", "includefield"})
# C-FIND wild card matching is allowed only for these VRs (PS3.4 C.2.2.2.4).
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
_DATE = re.compile(r"\d{8}")
_TIME = re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?")


class QueryLevel(StrEnum):
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


class QidoQueryError(ValueError):
    """A query the server cannot parse: 400 with this message (PS3.18 §10.6.3.1)."""


@dataclass(frozen=True)
class Match:
    """One matching key: the tag as 8 upper-case hex digits, its VR, and how to match (PS3.4 C.2.2.2)."""

    tag: str
    vr: str
    value: str

    @property
    def is_universal(self) -> bool:
        return self.value == ""

    @property
    def is_wildcard(self) -> bool:
        return self.vr in WILDCARD_VRS and ("*" in self.value or "?" in self.value)

    def uid_list(self) -> list[str]:
        """A List of UID match: DICOMweb separates by commas, DIMSE (and OHIF) by backslashes (QIDO-02)."""
        return [uid for uid in re.split(r"[,\\]", self.value) if uid]

    def range(self) -> tuple[str | None, str | None]:
        """(low, high) inclusive of a DA/TM/DT range match; a single value is both ends."""
        if "-" not in self.value:
            return self.value, self.value
        low, _, high = self.value.partition("-")
        return low or None, high or None


@dataclass(frozen=True)
class QidoQuery:
    matches: tuple[Match, ...] = ()
    include_all: bool = False
    include: frozenset[str] = frozenset()
    limit: int | None = None
    offset: int = 0
    fuzzy_requested: bool = False
    warnings: tuple[str, ...] = field(default=())


def parse_qido(params: Iterable[tuple[str, str]], max_limit: int) -> QidoQuery:
    """Parse the query string pairs of a QIDO-RS request; raise QidoQueryError with plain words."""
    matches: dict[str, Match] = {}
    include: set[str] = set()
    include_all = False
    limit: int | None = None
    offset = 0
    fuzzy = False
    for name, value in params:
        if name in _RESERVED:
            if name == "limit":
                limit = _non_negative(name, value)
            elif name == "offset":
                offset = _non_negative(name, value)
            elif name == "fuzzymatching":
                if value not in ("true", "false"):
                    raise QidoQueryError("fuzzymatching must be true or false")
                fuzzy = value == "true"
            else:
                for item in (v.strip() for v in value.split(",")):
                    if item == "all":
                        include_all = True
                    elif item:
                        include.add(attribute_tag(item))
            continue
        if "." in name:
            raise QidoQueryError(f"matching inside sequences ({name}) is not supported")
        tag = attribute_tag(name)
        if tag in matches:
            raise QidoQueryError(f"the attribute {name} appears more than once (PS3.18 §8.3.4.1)")
        vr = _vr(tag)
        match = Match(tag, vr, value)
        _check_value(name, match)
        matches[tag] = match
    if include_all and include:
        raise QidoQueryError("includefield=all cannot be combined with other includefield values")
    warnings: tuple[str, ...] = ()
    if fuzzy:
        warnings = ("The fuzzymatching parameter is not supported. Only literal matching has been performed.",)
    effective_limit = min(limit, max_limit) if limit is not None else max_limit
    return QidoQuery(tuple(matches.values()), include_all, frozenset(include), effective_limit, offset, fuzzy, warnings)


def attribute_tag(name: str) -> str:
    """An attribute named by keyword or 8-hex tag (QIDO-01) as 8 upper-case hex digits."""
    if _HEX_TAG.fullmatch(name):
        return name.upper()
    tag = tag_for_keyword(name)
    if tag is None:
        raise QidoQueryError(f"{name!r} is neither a DICOM keyword nor an 8-digit hexadecimal tag")
    return f"{tag:08X}"


def _vr(tag: str) -> str:
    try:
        return str(dictionary_VR(int(tag, 16)))
    except KeyError:
        return "UN"


def _check_value(name: str, match: Match) -> None:
    if match.is_universal:
        return
    if match.vr == "UI":  # a List of UID match: each one a UID (PS3.5 §9.1), so a typo is a 400, not "no match"
        for uid in match.uid_list():
            if problem := uid_problem(uid):
                raise QidoQueryError(f"{name}: {uid!r} {problem}")
    if match.vr in RANGE_VRS:
        low, high = match.range()
        pattern = _DATE if match.vr == "DA" else _TIME if match.vr == "TM" else None
        for end in (low, high):
            if end is not None and pattern is not None and not pattern.fullmatch(end):
                raise QidoQueryError(
                    f"{name}={match.value!r} is not a {match.vr} value or range (e.g. 20260101-20261231)"
                )
        if low is None and high is None:
            raise QidoQueryError(f"{name}=- is not a range: give at least one end")
    elif ("*" in match.value or "?" in match.value) and match.vr not in WILDCARD_VRS:
        raise QidoQueryError(f"wild cards are not allowed for {name} (VR {match.vr}); see PS3.4 C.2.2.2.4")


def _non_negative(name: str, value: str) -> int:
    if not value.isdigit():
        raise QidoQueryError(f"{name} must be a non-negative integer, not {value!r}")
    return int(value)
