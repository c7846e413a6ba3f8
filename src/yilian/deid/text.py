"""Redacting a case's free text (clinical question, report) in Chinese and English, with the list of what changed.

Entry point (stable, called by the teaching-case activities):

    redact_text(text, known=KnownIdentifiers(...), directory=Directory(...), date_shift_days=-123) -> Redaction

Known identifiers of the case and the alliance's directory are removed wherever they appear, in any script;
generic patterns then catch what the case did not name (resident IDs with a valid check digit, mobiles and
landlines, labelled record numbers, names in context, addresses, hospitals). Exact dates move by the case's
shift (the same days as its images) in the format they were written; birth dates are removed. `Redaction`
carries the new text and each replacement with its place in both texts, for the educator's review.

Apply it once to the source text: its output is already shifted, so a second pass would shift dates again.
The placeholders (`[患者]`, `[PATIENT]`) are part of the redacted document, in the document's own language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from yilian.deid.identifiers import Directory, KnownIdentifiers, KnownMatcher
from yilian.deid.patterns import HAN, IdentifierKind, Span, dates, format_like, generic_spans

_HAN_CHAR = re.compile(f"[{HAN}]")
_PLACEHOLDERS_ZH = {
    IdentifierKind.PATIENT_NAME: "[患者]",
    IdentifierKind.PERSON_NAME: "[姓名]",
    IdentifierKind.DOCTOR_NAME: "[医生]",
    IdentifierKind.HOSPITAL: "[医院]",
    IdentifierKind.RESIDENT_ID: "[身份证号]",
    IdentifierKind.RECORD_ID: "[编号]",
    IdentifierKind.PHONE: "[电话]",
    IdentifierKind.ADDRESS: "[地址]",
    IdentifierKind.BIRTH_DATE: "[出生日期]",
    IdentifierKind.DATE: "[日期]",
    IdentifierKind.UID: "[UID]",
}
_PLACEHOLDERS_EN = {
    IdentifierKind.PATIENT_NAME: "[PATIENT]",
    IdentifierKind.PERSON_NAME: "[NAME]",
    IdentifierKind.DOCTOR_NAME: "[DOCTOR]",
    IdentifierKind.HOSPITAL: "[HOSPITAL]",
    IdentifierKind.RESIDENT_ID: "[ID NUMBER]",
    IdentifierKind.RECORD_ID: "[RECORD NUMBER]",
    IdentifierKind.PHONE: "[PHONE]",
    IdentifierKind.ADDRESS: "[ADDRESS]",
    IdentifierKind.BIRTH_DATE: "[BIRTH DATE]",
    IdentifierKind.DATE: "[DATE]",
    IdentifierKind.UID: "[UID]",
}


@dataclass(frozen=True)
class Replacement:
    """One change: where it was in the source (`start`, `end`) and is in the result (`new_start`, `new_end`).

    `original` is the identifying text itself: show it to the educator, never log it (it is left out of repr).
    """

    kind: IdentifierKind
    rule: str
    start: int
    end: int
    new_start: int
    new_end: int
    replacement: str
    original: str = field(repr=False)


@dataclass(frozen=True)
class Redaction:
    text: str
    replacements: tuple[Replacement, ...]

    @property
    def changed(self) -> bool:
        return bool(self.replacements)


@dataclass(frozen=True)
class _Edit:
    span: Span
    replacement: str
    priority: int


def redact_text(
    text: str,
    *,
    known: KnownIdentifiers,
    directory: Directory | None = None,
    date_shift_days: int | None = None,
    matcher: KnownMatcher | None = None,
) -> Redaction:
    """The text without identifiers, and each replacement made (see the module docstring).

    `date_shift_days`: None keeps exact dates as written; a number moves each one by that many days (the
    case's shift, the same as its images'). Pass `matcher` to reuse one compiled for the case.
    """
    matcher = matcher or KnownMatcher(known, directory)
    placeholders = _PLACEHOLDERS_ZH if _HAN_CHAR.search(text) else _PLACEHOLDERS_EN
    edits: list[_Edit] = []
    for span in matcher.spans(text):
        if span.kind is not IdentifierKind.DATE:  # known exact dates are for the scan; text dates shift below
            edits.append(_Edit(span, placeholders[span.kind], 3))
    for span in generic_spans(text):
        edits.append(_Edit(span, placeholders[span.kind], 2))
    if date_shift_days is not None:
        for found in dates(text):
            shifted = format_like(found, found.day + timedelta(days=date_shift_days))
            edits.append(_Edit(Span(found.start, found.end, IdentifierKind.DATE, "date_shift"), shifted, 1))
    return _apply(text, _choose(edits))


def _choose(edits: list[_Edit]) -> list[_Edit]:
    """Non-overlapping edits: known identifiers first, then generic patterns, then date shifts; longer first."""
    chosen: list[_Edit] = []
    taken: list[tuple[int, int]] = []
    for edit in sorted(edits, key=lambda e: (-e.priority, -(e.span.end - e.span.start), e.span.start)):
        s = edit.span
        if all(s.end <= start or s.start >= end for start, end in taken):
            chosen.append(edit)
            taken.append((s.start, s.end))
    return sorted(chosen, key=lambda e: e.span.start)


def _apply(text: str, edits: list[_Edit]) -> Redaction:
    out: list[str] = []
    replacements: list[Replacement] = []
    position = length = 0
    for edit in edits:
        s = edit.span
        out.append(text[position : s.start])
        length += s.start - position
        out.append(edit.replacement)
        replacements.append(
            Replacement(
                kind=s.kind,
                rule=s.rule,
                start=s.start,
                end=s.end,
                new_start=length,
                new_end=length + len(edit.replacement),
                replacement=edit.replacement,
                original=text[s.start : s.end],
            )
        )
        length += len(edit.replacement)
        position = s.end
    out.append(text[position:])
    return Redaction("".join(out), tuple(replacements))
