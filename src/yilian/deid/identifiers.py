"""What is known to identify a case's patient and people: the source's own values, matched in every spelling.

The caller builds `KnownIdentifiers` from the referral (patient row, study attributes, IDs) and a `Directory`
from the alliance (hospital and doctor names); `KnownMatcher` finds them in text, whatever the script, case,
spacing or DICOM PN separators (`Zhang^San=张^三`, `张 三`, `ZHANG SAN`, `San Zhang`, `138-1234-5678`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from yilian.deid.patterns import HAN, IdentifierKind, Span

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_FULL = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
_UID_TOKEN = re.compile(r"(?<![\d.])\d+(?:\.\d+)+(?<!\.)")
_SHORTEST_FREE_ID = 4  # shorter IDs ("1", "A2") match only as a whole value, never inside text


@dataclass(frozen=True)
class Directory:
    """The alliance's hospitals and doctors, every name and alias (中文 and English), as the directory holds them."""

    hospitals: tuple[str, ...] = ()
    doctors: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownIdentifiers:
    """The source's identifying values. Names may be DICOM PN (`Zhang^San=张^三`) or free (`张三 Zhang San`).

    - `ids`: patient ID, medical record, accession and admission numbers, resident ID, other patient IDs.
    - `exact_dates`: dates that must not survive when dates are shifted (the study date); birth dates always.
    - `uids`: the original Study, Series and SOP Instance UIDs (and any other UID the source carried).
    """

    patient_names: tuple[str, ...] = ()
    other_names: tuple[str, ...] = ()  # relatives, referring doctor, reader: people named in the case
    ids: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    birth_dates: tuple[date, ...] = ()
    exact_dates: tuple[date, ...] = ()
    hospitals: tuple[str, ...] = ()
    uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    kind: IdentifierKind
    rule: str


class KnownMatcher:
    """Compiled patterns for one case's known identifiers and the directory; `spans(text)` finds them all."""

    def __init__(self, known: KnownIdentifiers, directory: Directory | None = None) -> None:
        directory = directory or Directory()
        patterns: list[_Pattern] = []
        for name in known.patient_names:
            patterns += _name_patterns(name, IdentifierKind.PATIENT_NAME)
        for name in known.other_names:
            patterns += _name_patterns(name, IdentifierKind.PERSON_NAME)
        for name in directory.doctors:
            patterns += _name_patterns(name, IdentifierKind.DOCTOR_NAME)
        for hospital in (*known.hospitals, *directory.hospitals):
            patterns += _phrase_patterns(hospital, IdentifierKind.HOSPITAL)
        for value in known.ids:
            patterns += _id_patterns(value)
        for phone in known.phones:
            patterns += _phone_patterns(phone)
        for address in known.addresses:
            patterns += _address_patterns(address)
        for day in known.birth_dates:
            patterns.append(_Pattern(date_regex(day), IdentifierKind.BIRTH_DATE, "known_birth_date"))
        for day in known.exact_dates:
            patterns.append(_Pattern(date_regex(day), IdentifierKind.DATE, "known_date"))
        # Thousands of UIDs in a big study: one token scan and a set lookup, not a regex each.
        self._uids = frozenset(uid.strip("\0 ") for uid in known.uids if uid.strip("\0 "))
        self._patterns = list({(p.regex.pattern, p.regex.flags, p.kind): p for p in patterns}.values())
        # One pass that says whether any known pattern can match: most values (and most DICOM text) match none.
        self._any = re.compile(
            "|".join(
                f"(?i:{p.regex.pattern})" if p.regex.flags & re.IGNORECASE else f"(?:{p.regex.pattern})"
                for p in self._patterns
            )
            or r"(?!)"
        )
        self._whole_ids = frozenset(_squash(v) for v in known.ids if 0 < len(_squash(v)) < _SHORTEST_FREE_ID)

    def spans(self, text: str) -> Iterator[Span]:
        patterns = self._patterns if self._any.search(text) else ()
        for pattern in patterns:
            for m in pattern.regex.finditer(text):
                if m.end() > m.start():
                    yield Span(m.start(), m.end(), pattern.kind, pattern.rule)
        if self._uids:
            for m in _UID_TOKEN.finditer(text):
                if m.group() in self._uids:
                    yield Span(m.start(), m.end(), IdentifierKind.UID, "known_uid")

    def is_short_id(self, value: str) -> bool:
        """Whether a whole value is one of the short known IDs (checked on whole DICOM values only)."""
        return bool(value.strip()) and _squash(value) in self._whole_ids


def _squash(value: str) -> str:
    return re.sub(r"[\s\-_^=]", "", value).casefold()


def _name_patterns(name: str, kind: IdentifierKind) -> list[_Pattern]:
    """A person's name in each script it is written in: Han runs (spaces allowed between characters) and
    Latin words in either order (`Zhang San`, `San Zhang`, `ZHANG^SAN`, `ZhangSan`)."""
    out: list[_Pattern] = []
    han_runs = {run for run in re.findall(rf"[{HAN}]+", name.replace("^", "").replace(" ", "")) if len(run) >= 2}
    for run in sorted(han_runs):
        regex = re.compile(r"\s?".join(map(re.escape, run)))
        out.append(_Pattern(regex, kind, "known_name"))
    words = re.findall(r"[A-Za-z]+", name)
    if len(words) >= 2 or (words and len(words[0]) >= 4):  # a lone "Li" would match every Li in the text
        gap = r"[\s^,._-]{0,3}"
        orders = {tuple(words), tuple(reversed(words))}
        for order in sorted(orders):
            body = gap.join(re.escape(w) for w in order)
            regex = re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])", re.IGNORECASE)
            if len(body) >= 2:
                out.append(_Pattern(regex, kind, "known_name"))
    return out


def _phrase_patterns(phrase: str, kind: IdentifierKind) -> list[_Pattern]:
    """A hospital's name: each script's part on its own (`安平县人民医院 Anping County Hospital` is two names)."""
    out: list[_Pattern] = []
    for run in re.findall(rf"[{HAN}0-9（）()]+", phrase):
        if sum(1 for c in run if "\u3400" <= c <= "\u9fff") >= 2:
            out.append(_Pattern(re.compile(r"\s?".join(map(re.escape, run))), kind, "known_hospital"))
    latin = " ".join(re.findall(r"[A-Za-z][A-Za-z'.&-]*", phrase))
    if len(latin) >= 4:
        body = r"[\s^,_-]+".join(re.escape(w) for w in latin.split())
        out.append(_Pattern(re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])", re.IGNORECASE), kind, "known_hospital"))
    return out


def _id_patterns(value: str) -> list[_Pattern]:
    squashed = re.sub(r"[\s-]", "", value.strip())
    if len(squashed) < _SHORTEST_FREE_ID:
        return []
    body = r"[\s-]?".join(map(re.escape, squashed))
    kind = IdentifierKind.RESIDENT_ID if len(squashed) == 18 and squashed[:17].isdigit() else IdentifierKind.RECORD_ID
    return [_Pattern(re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.IGNORECASE), kind, "known_id")]


def _phone_patterns(phone: str) -> list[_Pattern]:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return []
    body = r"[\s()（）-]{0,2}".join(digits)
    return [_Pattern(re.compile(rf"(?<!\d){body}(?!\d)"), IdentifierKind.PHONE, "known_phone")]


def _address_patterns(address: str) -> list[_Pattern]:
    """The whole address, and each part that narrows it to a street, a village or a door (文三路100号, 李家村)."""
    out: list[_Pattern] = []
    text = address.strip()
    parts = {text}
    parts.update(re.findall(rf"[{HAN}0-9]{{2,}}?(?:路|街|巷|弄|大道|村|小区|社区)[0-9一二三四五六七八九十]*号?", text))
    parts.update(p.strip() for p in re.split(r"[,，]", text) if re.search(r"\d", p))
    for part in sorted(p for p in parts if len(p) >= 3):
        body = r"\s*".join(re.escape(c) for c in part if not c.isspace())
        out.append(_Pattern(re.compile(body, re.IGNORECASE), IdentifierKind.ADDRESS, "known_address"))
    return out


def date_regex(day: date) -> re.Pattern[str]:
    """One date in every spelling a record or report uses (19650412, 1965-04-12, 1965/4/12, 1965年4月12日,
    12 Apr 1965, April 12, 1965)."""
    y, m, d = day.year, day.month, day.day
    forms: list[str] = [
        rf"(?<!\d){y}{m:02d}{d:02d}(?!\d)",
        rf"(?<!\d){y}\s*[-/.年]\s*0?{m}\s*[-/.月]\s*0?{d}(?!\d)",
        rf"(?<!\d)0?{d}\s*[-/. ]?\s*(?:{_MONTH_ABBR[m - 1]}|{_MONTH_FULL[m - 1]})\.?,?\s*{y}(?!\d)",
        rf"(?:{_MONTH_ABBR[m - 1]}|{_MONTH_FULL[m - 1]})\.?\s*0?{d}(?:st|nd|rd|th)?,?\s*{y}(?!\d)",
    ]
    return re.compile("|".join(forms), re.IGNORECASE)


def merge_known(parts: Iterable[KnownIdentifiers]) -> KnownIdentifiers:
    """Several sources' identifiers as one (a case built from a referral and its priors)."""
    items = list(parts)
    return KnownIdentifiers(
        **{
            field: tuple(dict.fromkeys(v for item in items for v in getattr(item, field)))
            for field in KnownIdentifiers.__dataclass_fields__
        }
    )
