"""Generic identifier patterns in Chinese and English text: names, IDs, phone numbers, addresses, hospitals, dates.

Each detector returns spans (start, end, kind) and never decides what replaces them; `text.redact_text` and
`leak_scan` both use them, so what redaction removes is exactly what the scan would flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yilian.deid.names import COMPOUND_SURNAMES, NOT_NAMES, PINYIN_SURNAMES, PINYIN_SYLLABLES, SINGLE_SURNAMES


class IdentifierKind(StrEnum):
    """What an identifier is; the wire value names it in findings and in the educator's diff."""

    PATIENT_NAME = "patient_name"
    PERSON_NAME = "person_name"
    DOCTOR_NAME = "doctor_name"
    HOSPITAL = "hospital"
    RESIDENT_ID = "resident_id"  # 居民身份证号 (GB 11643)
    RECORD_ID = "record_id"  # patient ID, medical record, accession, admission numbers
    PHONE = "phone"
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    DATE = "date"
    UID = "uid"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: IdentifierKind
    rule: str  # which detector found it (for findings and tests; never the value)


HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_SURNAME = "(?:" + "|".join(sorted(COMPOUND_SURNAMES)) + "|[" + "".join(sorted(SINGLE_SURNAMES)) + "])"
_HAN_NAME = _SURNAME + f"[{HAN}]{{1,2}}"

# --- 18-digit resident identity number (GB 11643-1999): 6 area, 8 birth date, 3 sequence, 1 check (ISO 7064).
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})[ ]?((?:19|20)\d{6})[ ]?(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(number: str) -> bool:
    """Whether 18 characters form a resident identity number: valid birth date and check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11]
    return number[17].upper() == check


def resident_ids(text: str) -> Iterator[Span]:
    for m in _RESIDENT_ID.finditer(text):
        if resident_id_valid("".join(m.groups())):
            yield Span(m.start(), m.end(), IdentifierKind.RESIDENT_ID, "resident_id")


# --- numbers named by a label: 住院号 12345, MRN: A-778, Accession No. 2026-001.
_RECORD_LABEL = re.compile(
    r"(?:住院号|门诊号|病历号|病案号|检查号|影像号|登记号|就诊号|就诊卡号|医保卡?号|卡号|流水号|申请单号|ID号|身份证号?|"
    r"\bMRN\b|\bmedical record (?:number|no\.?)|\baccession (?:number|no\.?)|\bpatient id\b|"
    r"\bhospital (?:number|no\.?)|"
    r"\bID\b)\s*[:：#]?\s*",
    re.IGNORECASE,
)
_RECORD_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,29}")


def labelled_record_ids(text: str) -> Iterator[Span]:
    for label in _RECORD_LABEL.finditer(text):
        value = _RECORD_VALUE.match(text, label.end())
        if value and any(c.isdigit() for c in value.group()):
            yield Span(value.start(), value.end(), IdentifierKind.RECORD_ID, "labelled_record_id")


# --- phone numbers: mobiles (1[3-9]x xxxx xxxx, optional +86) and landlines with an area code.
_MOBILE = re.compile(r"(?<!\d)(?<!\d\.)(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\.?\d)")
_LANDLINE = re.compile(
    r"(?<!\d)(?<!\d\.)(?:\(0\d{2,3}\)\s?|（0\d{2,3}）|0\d{2,3}[-\s])\d{7,8}(?:(?:-|转|ext\.?\s?)\d{1,5})?(?!\.?\d)"
)
_PHONE_LABEL = re.compile(r"(?:电话|手机|联系方式|联系电话|\btel\b|\bphone\b|\bmobile\b)\s*[:：]?\s*", re.IGNORECASE)
_PHONE_VALUE = re.compile(r"\+?[\d(（][\d\s()（）-]{5,18}\d")


def phones(text: str) -> Iterator[Span]:
    for pattern in (_MOBILE, _LANDLINE):
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), IdentifierKind.PHONE, "phone")
    for label in _PHONE_LABEL.finditer(text):
        value = _PHONE_VALUE.match(text, label.end())
        if value and sum(c.isdigit() for c in value.group()) >= 7:
            yield Span(value.start(), value.end(), IdentifierKind.PHONE, "labelled_phone")


# --- names. A surname alone is an ordinary character too often; a name needs a context.
_NAME_LABEL = re.compile(
    rf"(?:姓名\s*[:：]?|(?:患者姓名|病人姓名|联系人|家属|申请医生|申请医师|报告医生|报告医师|审核医生|审核医师|送检医生|签名)"
    rf"\s*[:：])\s*([{HAN}]{{2,4}}|[A-Z][a-zA-Z'-]+(?:[ ^][A-Z][a-zA-Z'-]+){{0,2}})"
)
_PATIENT_WORD = re.compile(rf"(?:患者|病人|病患|受检者)({_HAN_NAME})(?=[，,、。；;\s（(:：]|[男女]|先生|女士|$)")
_TITLE = "医生|医师|大夫|主任|教授|护士|护师|技师|院长|先生|女士|老师|同志"
_DOCTOR_TITLES = frozenset({"医生", "医师", "大夫", "主任", "教授", "护士", "护师", "技师", "院长"})
_WITH_TITLE = re.compile(rf"({_SURNAME}[{HAN}]{{0,2}}?)({_TITLE})")
_SEX_AGE = re.compile(rf"({_HAN_NAME})(?=[，,、\s]*[男女][，,、\s]*\d{{1,3}}\s*岁)")
_EN_TITLE = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Miss|Prof|Doctor|Professor)\.?\s+([A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?)")
_EN_LABEL = re.compile(
    r"\b(?i:patient(?:'s)? name|name|patient|referring physician|physician|radiologist|reported by|dictated by|"
    r"signed by|read by|reviewed by)\s*[:：]\s*([A-Z][a-zA-Z'-]+(?:[ ^][A-Z][a-zA-Z'-]+){0,2})"
)
_NOT_EN_NAMES = frozenset({"male", "female", "unknown", "anonymous", "none", "other", "adult", "child", "ct", "mr"})
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)?")
_NAME_GAP = re.compile(r"[ ^,]{1,3}")


def names(text: str) -> Iterator[Span]:
    for m in _NAME_LABEL.finditer(text):
        candidate = m.group(1)
        if candidate.lower() not in _NOT_EN_NAMES:
            yield Span(m.start(1), m.end(1), IdentifierKind.PERSON_NAME, "labelled_name")
    for m in _PATIENT_WORD.finditer(text):
        yield Span(m.start(1), m.end(1), IdentifierKind.PATIENT_NAME, "patient_word")
    for m in _SEX_AGE.finditer(text):
        yield Span(m.start(1), m.end(1), IdentifierKind.PERSON_NAME, "name_sex_age")
    for m in _WITH_TITLE.finditer(text):
        name = m.group(1)
        before = text[max(0, m.start() - 1) : m.start()]
        if name in NOT_NAMES or (before + name[:1]) in NOT_NAMES or name[-2:] in NOT_NAMES:
            continue
        kind = IdentifierKind.DOCTOR_NAME if m.group(2) in _DOCTOR_TITLES else IdentifierKind.PERSON_NAME
        yield Span(m.start(), m.end(), kind, "name_with_title")
    for m in _EN_TITLE.finditer(text):
        yield Span(m.start(), m.end(), IdentifierKind.PERSON_NAME, "title_name")
    for m in _EN_LABEL.finditer(text):
        if m.group(1).split()[0].lower() not in _NOT_EN_NAMES:
            yield Span(m.start(1), m.end(1), IdentifierKind.PERSON_NAME, "labelled_name")
    yield from pinyin_names(text)


def pinyin_names(text: str) -> Iterator[Span]:
    """`Zhang San`, `WANG Xiaoming`, `Li^Na`: a pinyin surname, then a given name of one or two syllables."""
    words = list(_LATIN_WORD.finditer(text))
    for first, second in zip(words, words[1:], strict=False):
        surname, given = first.group(), second.group()
        if surname.lower() not in PINYIN_SURNAMES or not _NAME_GAP.fullmatch(text, first.end(), second.start()):
            continue
        if _capitalised(surname) and _capitalised(given) and is_given_name(given):
            yield Span(first.start(), second.end(), IdentifierKind.PERSON_NAME, "pinyin_name")


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and (word[1:].islower() or word[1:].isupper() or not word[1:])


# Neutral-tone particles almost never end a given name, and they make English words split into pinyin
# (bo+ne, mo+le, li+ne); common English words that are one syllable of pinyin are not taken as given names.
_NOT_IN_NAMES = frozenset("ne le me de se te re".split())
_ENGLISH_WORDS = frozenset("can me she he die lie tie pie man men hen pen den gun".split())


def is_given_name(word: str) -> bool:
    """A pinyin given name of one or two syllables that is not an English word (Ming, Xiaoming, Wei-Guo)."""
    return word.lower() not in _ENGLISH_WORDS and is_pinyin(word, exclude=_NOT_IN_NAMES)


def is_pinyin(word: str, max_syllables: int = 2, exclude: frozenset[str] = frozenset()) -> bool:
    """Whether the word splits into at most `max_syllables` Mandarin syllables (Xiaoming, Na, Wei-Guo)."""
    word = word.lower().replace("-", "").replace("'", "")

    def split(rest: str, left: int) -> bool:
        if not rest:
            return True
        if left == 0:
            return False
        return any(
            rest[:n] in PINYIN_SYLLABLES and rest[:n] not in exclude and split(rest[n:], left - 1)
            for n in range(min(6, len(rest)), 0, -1)
        )

    return bool(word) and split(word, max_syllables)


# --- addresses: a label, or at least two administrative parts in a row (XX县XX镇, XX路12号3栋).
_ADDRESS_LABEL = re.compile(
    r"(?:住址|地址|家住|现住址?|居住地|户籍地?|籍贯|\baddress\b|\baddr\b)\s*[:：]?\s*", re.IGNORECASE
)
_ADDRESS_VALUE = re.compile(r"[^，,。；;\n\[]{2,60}")  # "[" starts a placeholder: already redacted
# 区 alone is too often anatomy (肝区, 心前区), and 路 too often a pathway (通路, 旁路): they count only as glue
# between stronger parts, and a street only with its house number.
_UNITS = "省|自治区|市|县|旗|镇|乡|街道|村|社区|小区"
_STRONG_UNIT = f"(?:{_UNITS})(?![静痛定咳])"  # 镇静, 镇痛: sedation, analgesia
_ADMIN_PART = rf"[{HAN}]{{2,7}}?(?:{_UNITS}|区)(?![静痛定咳])"
_STREET_PART = rf"[{HAN}0-9]{{1,10}}?(?:路|街|巷|弄|大道)[0-9一二三四五六七八九十]+号"
_UNIT_PART = r"[0-9]+(?:号楼|栋|幢|单元|室|组)"
_CN_ADDRESS = re.compile(rf"(?:{_ADMIN_PART}|{_STREET_PART}|{_UNIT_PART}){{2,}}")
_STRONG_PART = re.compile(
    rf"{_STRONG_UNIT}|(?:路|街|巷|弄|大道)[0-9一二三四五六七八九十]+号|[0-9]+(?:号楼|栋|幢|单元|室|组)"
)
_EN_ADDRESS = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Boulevard|Blvd\.?|"
    r"Drive|Way|Court|Place)(?=\W|$)"
)
# Words a greedy Han match takes in front of a place (患者住, 曾于2026年在): the place starts after the last.
_CUT_AFTER = frozenset("在于到至往去回赴送入经由从来自转行与及者住时的、年月日")  # not 和: 协和医院


def addresses(text: str) -> Iterator[Span]:
    for label in _ADDRESS_LABEL.finditer(text):
        value = _ADDRESS_VALUE.match(text, label.end())
        if value:
            yield Span(value.start(), value.end(), IdentifierKind.ADDRESS, "labelled_address")
    for m in _CN_ADDRESS.finditer(text):
        first = re.match(rf"{_ADMIN_PART}|{_STREET_PART}|{_UNIT_PART}", m.group())
        start = _cut_left(text, m.start(), m.start() + (first.end() if first else 0))
        if len(_STRONG_PART.findall(text, start, m.end())) >= 2:
            yield Span(start, m.end(), IdentifierKind.ADDRESS, "address")
    for m in _EN_ADDRESS.finditer(text):
        yield Span(m.start(), m.end(), IdentifierKind.ADDRESS, "address")


def _cut_left(text: str, start: int, limit: int) -> int:
    cut = start
    for index in range(start, limit):
        if text[index] in _CUT_AFTER:
            cut = index + 1
    return cut


# --- hospitals not in the directory: a Han run ending in 医院/卫生院…, or capitalised words before "Hospital".
_CN_HOSPITAL = re.compile(
    rf"[{HAN}0-9]{{2,14}}?(?P<suffix>医院|卫生院|卫生服务中心|卫生服务站|卫生室|保健院|诊所|医疗中心|医学中心)"
)
_EN_HOSPITAL = re.compile(
    r"\b(?:[A-Z][A-Za-z'&.-]*\s+){1,6}(?:Hospital|Medical Center|Medical Centre|Clinic|Health Center|Infirmary)\b"
)
# Kinds of hospital, not a hospital: they name no one.
_NOT_HOSPITALS = frozenset(
    "我院 本院 外院 上级医院 当地医院 基层医院 县级医院 县医院 市医院 省医院 人民医院 中医院 乡镇卫生院 卫生院 "
    "社区卫生服务中心 村卫生室 专科医院 综合医院 三甲医院 二甲医院".split()
)


def hospitals(text: str) -> Iterator[Span]:
    for m in _CN_HOSPITAL.finditer(text):
        start = _cut_left(text, m.start(), m.start("suffix"))
        if text[start : m.end()] not in _NOT_HOSPITALS and m.start("suffix") - start >= 2:
            yield Span(start, m.end(), IdentifierKind.HOSPITAL, "hospital")
    for m in _EN_HOSPITAL.finditer(text):
        yield Span(m.start(), m.end(), IdentifierKind.HOSPITAL, "hospital")


# --- exact dates (day precision), with the pieces needed to write the shifted date back in the same format.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_Y, _M, _D = r"(?P<y>(?:19|20)\d{2})", r"(?P<m>0?[1-9]|1[0-2])", r"(?P<d>0?[1-9]|[12]\d|3[01])"
_NOT_AFTER_NUMBER, _NOT_BEFORE_NUMBER = r"(?<!\d)(?<!\d\.)", r"(?!\.?\d)"
DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ymd_sep", re.compile(rf"{_NOT_AFTER_NUMBER}{_Y}(?P<s>[-/.]){_M}(?P=s){_D}{_NOT_BEFORE_NUMBER}")),
    ("ymd_cn", re.compile(rf"{_Y}\s*年\s*{_M}\s*月\s*{_D}\s*[日号]")),
    ("ymd_compact", re.compile(
        rf"{_NOT_AFTER_NUMBER}{_Y}(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01]){_NOT_BEFORE_NUMBER}")),
    ("dmy_en", re.compile(rf"\b{_D}\s+(?P<mn>{_MONTH_NAMES})\.?,?\s+{_Y}\b", re.I)),
    ("mdy_en", re.compile(rf"\b(?P<mn>{_MONTH_NAMES})\.?\s+{_D}(?:st|nd|rd|th)?,?\s+{_Y}\b", re.I)),
)  # fmt: skip


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    day: date
    style: str
    groups: dict[str, str]


def dates(text: str) -> Iterator[DateMatch]:
    """Every exact date in the text (day precision) that is a real calendar day."""
    for style, pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            month = int(groups["m"]) if "m" in groups else _MONTHS.index(groups["mn"][:3].lower()) + 1
            try:
                day = date(int(groups["y"]), month, int(groups["d"]))
            except ValueError:
                continue
            yield DateMatch(m.start(), m.end(), day, style, groups)


def format_like(match: DateMatch, day: date) -> str:
    """`day` written the way the matched date was (2026-11-23, 2026年11月23日, 20261123, 23 Nov 2026…)."""
    g = match.groups

    def pad(original: str, value: int) -> str:
        return f"{value:02d}" if len(original) == 2 else str(value)

    if match.style == "ymd_sep":
        return f"{day.year}{g['s']}{pad(g['m'], day.month)}{g['s']}{pad(g['d'], day.day)}"
    if match.style == "ymd_cn":
        return f"{day.year}年{pad(g['m'], day.month)}月{pad(g['d'], day.day)}日"
    if match.style == "ymd_compact":
        return day.strftime("%Y%m%d")
    month = day.strftime("%B") if len(g["mn"]) > 4 else day.strftime("%b")
    if match.style == "dmy_en":
        return f"{pad(g['d'], day.day)} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def generic_spans(text: str) -> Iterator[Span]:
    """Every span a generic pattern finds (dates excepted: they are shifted, not removed)."""
    yield from resident_ids(text)
    yield from labelled_record_ids(text)
    yield from phones(text)
    yield from names(text)
    yield from addresses(text)
    yield from hospitals(text)
