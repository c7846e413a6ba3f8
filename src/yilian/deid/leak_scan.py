"""The leak scan: every tag of every de-identified instance and every text field of a case, checked before publishing.

Entry point (stable, called by the teaching-case activities and by `imaging.deid_copy.scan_copy`):

    leak_scan(known=..., directory=..., instances=[bytes | Dataset, ...], texts={"report": ...},
              allowed=[pseudonym.patient_id, pseudonym.patient_name]) -> LeakReport

It walks each data set (File Meta, nested sequences, private elements), decodes text with the Specific
Character Set and, for raw bytes, also as UTF-8 and GB18030 (a county modality may write GB18030 under a
UTF-8 label), and looks for (a) the source's known identifiers in every spelling and (b) generic patterns
(resident IDs, phones, names in context, addresses, hospitals). It also flags what Annex E says must not
remain: any private element, a person name other than the pseudonym, a birth date, an original UID, and a
missing PatientIdentityRemoved = YES. A finding says where and what kind, never the value, so findings may
be logged and stored. `LeakReport.blocks_publication` is true while any finding remains.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom import dcmread
from pydicom.charset import python_encoding
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from yilian.deid.identifiers import Directory, KnownIdentifiers, KnownMatcher
from yilian.deid.patterns import IdentifierKind, Span, generic_spans
from yilian.dicom.charset import strip_iso_2022_escapes

PRIVATE_TAG = "private_tag"
IDENTITY_NOT_REMOVED = "identity_not_removed"
UNREADABLE = "unreadable"

_TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"})
_FREE_TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # where generic patterns apply
_BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW"})
_ALWAYS_DECODE = ("utf-8", "gb18030")
_BIRTH_TAGS = frozenset({0x00100030, 0x00100032, 0x00101005})  # birth date, birth time, birth name
_PIXEL_DATA = 0x7FE00010
_DATE_KINDS = frozenset({IdentifierKind.BIRTH_DATE, IdentifierKind.DATE})


@dataclass(frozen=True)
class Finding:
    """One thing that should not be there: `where` (instance and tag path, or text field and offsets),
    `kind` (an IdentifierKind value, or private_tag / identity_not_removed / unreadable) and the `rule`."""

    where: str
    kind: str
    rule: str


@dataclass(frozen=True)
class LeakReport:
    findings: tuple[Finding, ...]
    instances_scanned: int
    elements_scanned: int
    texts_scanned: int

    @property
    def blocks_publication(self) -> bool:
        return bool(self.findings)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for finding in self.findings:
            out[finding.kind] = out.get(finding.kind, 0) + 1
        return out


def leak_scan(
    *,
    known: KnownIdentifiers,
    directory: Directory | None = None,
    instances: Iterable[Dataset | bytes] = (),
    texts: Mapping[str, str] | None = None,
    allowed: Iterable[str] = (),
) -> LeakReport:
    """Scan de-identified instances (Part-10 bytes or data sets) and text fields; see the module docstring.

    `allowed`: whole values that may remain (the pseudonym's ID and name written into the copy).
    """
    scanner = _Scanner(KnownMatcher(known, directory), frozenset(a.strip() for a in allowed if a.strip()))
    count = 0
    for index, instance in enumerate(instances):
        scanner.instance(index, instance)
        count += 1
    fields = texts or {}
    for name, text in fields.items():
        scanner.text(name, text or "")
    return LeakReport(tuple(scanner.findings), count, scanner.elements, len(fields))


class _Scanner:
    def __init__(self, matcher: KnownMatcher, allowed: frozenset[str]) -> None:
        self.matcher = matcher
        self.allowed = allowed
        self.findings: list[Finding] = []
        self.elements = 0
        self._memo: dict[tuple[str, bool], list[Span]] = {}

    def text(self, name: str, text: str) -> None:
        for span in (*self.matcher.spans(text), *generic_spans(text)):
            self.findings.append(Finding(f"text {name}[{span.start}:{span.end}]", span.kind.value, span.rule))

    def instance(self, index: int, instance: Dataset | bytes) -> None:
        ds: Dataset
        if isinstance(instance, bytes):
            try:
                ds = dcmread(io.BytesIO(instance), force=False)
            except (InvalidDicomError, OSError, ValueError) as exc:
                self.findings.append(Finding(f"instance {index}", UNREADABLE, type(exc).__name__))
                return
        else:
            ds = instance
        label = f"instance {index}"  # by position: a UID left unreplaced would itself be the leak
        if str(ds.get("PatientIdentityRemoved", "")).strip().upper() != "YES":
            self.findings.append(Finding(f"{label} (0012,0062)", IDENTITY_NOT_REMOVED, "patient_identity_removed"))
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            self.dataset(meta, label, _charsets(ds))
        self.dataset(ds, label, _charsets(ds))

    def dataset(self, ds: Dataset, path: str, charsets: tuple[str, ...]) -> None:
        for tag in list(ds.keys()):
            self.elements += 1
            where = f"{path} {_tag_name(int(tag))}"
            try:
                raw = ds.get_item(tag)
                element = ds[tag]
            except (ValueError, TypeError, KeyError, LookupError) as exc:  # a value pydicom cannot convert
                self.findings.append(Finding(where, UNREADABLE, type(exc).__name__))
                continue
            if (int(tag) >> 16) % 2:
                self.findings.append(Finding(where, PRIVATE_TAG, "private_element"))
            if element.VR == "SQ":
                for number, item in enumerate(element.value or []):
                    self.dataset(item, f"{where}[{number}]", charsets)
                continue
            if int(tag) == _PIXEL_DATA:
                continue
            self.element(element, raw, where, charsets)

    def element(self, element: DataElement, raw: Any, where: str, charsets: tuple[str, ...]) -> None:
        tag, vr = int(element.tag), element.VR
        texts = _texts(element, raw, charsets)
        if not texts:
            return
        if vr == "UI":  # only a UID can leak from a UID: a date-like component is not a date
            self._spans(texts, where, generic=False, kinds=frozenset({IdentifierKind.UID}))
            return
        if vr in ("DA", "DT", "TM"):
            if tag in _BIRTH_TAGS:
                self.findings.append(Finding(where, IdentifierKind.BIRTH_DATE.value, "birth_date_present"))
            self._spans(texts, where, generic=False, kinds=_DATE_KINDS)
            return
        if vr in _BULK_VRS and (tag >> 16) % 2 == 0:
            self._spans(texts, where, generic=False)
            return
        if tag in _BIRTH_TAGS:
            self.findings.append(Finding(where, IdentifierKind.BIRTH_DATE.value, "birth_date_present"))
        values = [v for t in texts for v in t.split("\\") if v.strip()]
        if vr == "PN":
            for value in values:
                if value.strip() not in self.allowed and value.strip("^= ").upper() not in ("ANONYMOUS", ""):
                    self.findings.append(Finding(where, IdentifierKind.PERSON_NAME.value, "person_name_present"))
                    break
        if vr in ("LO", "SH") and any(self.matcher.is_short_id(v) for v in values):
            self.findings.append(Finding(where, IdentifierKind.RECORD_ID.value, "known_short_id"))
        checked = [v for v in values if v.strip() not in self.allowed]
        generic = vr in _FREE_TEXT_VRS or vr == "UN" or bool((tag >> 16) % 2)  # and bytes of unknown meaning
        self._spans(checked, where, generic=generic)

    def _found(self, text: str, generic: bool) -> list[Span]:
        """Spans in one value; remembered, as a study repeats the same values in every instance."""
        key = (text, generic)
        if key not in self._memo:
            spans = list(self.matcher.spans(text))
            if generic:
                spans += generic_spans(text)
            self._memo[key] = spans
        return self._memo[key]

    def _spans(
        self, texts: Iterable[str], where: str, *, generic: bool, kinds: frozenset[IdentifierKind] | None = None
    ) -> None:
        seen: set[tuple[str, str]] = set()
        for text in texts:
            for span in self._found(text, generic):
                if kinds is not None and span.kind not in kinds:
                    continue
                key = (span.kind.value, span.rule)
                if key not in seen:
                    seen.add(key)
                    self.findings.append(Finding(where, span.kind.value, span.rule))


def _tag_name(tag: int) -> str:
    keyword = keyword_for_tag(tag) if (tag >> 16) % 2 == 0 else ""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}){' ' + keyword if keyword else ''}"


def _charsets(ds: Dataset) -> tuple[str, ...]:
    value = ds.get("SpecificCharacterSet") or "ISO_IR 6"
    terms = [value] if isinstance(value, str) else list(value)
    codecs = [python_encoding.get(str(t).strip(), "") for t in terms]
    return tuple(dict.fromkeys(c for c in (*codecs, *_ALWAYS_DECODE) if c))


def _texts(element: DataElement, raw: Any, charsets: tuple[str, ...]) -> list[str]:
    """The element's value as text: as pydicom decoded it, and its raw bytes in each plausible encoding."""
    out: list[str] = []
    raw_bytes = raw.value if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes) else None
    value = element.value
    if isinstance(value, bytes):
        raw_bytes = value
    elif value is not None:
        out += [str(v) for v in _flatten(value)]
    if raw_bytes:
        for codec in charsets:
            try:
                decoded = raw_bytes.decode(codec, errors="ignore")
            except LookupError:
                continue
            out.append(strip_iso_2022_escapes(decoded).replace("\0", ""))
    return [t for t in dict.fromkeys(out) if t.strip()]


def _flatten(value: object) -> Iterator[object]:
    if isinstance(value, MultiValue | list | tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, PersonName):
        yield str(value)
    else:
        yield value
