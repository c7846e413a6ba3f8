"""Negation and uncertainty in zh/en radiology reports, NegEx/ConText style: a text as present/negated/uncertain spans.

No lexicon of Chinese radiology cues exists publicly; this one is ours, tested on hand-labelled sentences in
tests/unit/search/negation_labelled.tsv. The rules, in the order they apply:

* Cues are found longest first, left to right, never overlapping: 不除外 is one uncertainty cue (not 不 + 除外),
  较前无明显变化 / "no change" are pseudo-negations (present), 无回声 and 动脉导管未闭 are findings, not negations.
* A forward cue (未见, 无, "no", "without", 考虑, "possible") covers the text after it up to the end of its clause:
  ，。；,.;:!? or a bracket, a termination word (但, 而, "but", "which", "and the" ...) or the next cue.
  So 结节未见强化 negates 强化 and leaves 结节 present, and "The spleen is not enlarged" negates "not enlarged".
  Lists joined by 、/及/和/与/或/"and"/"or" stay in scope; an English comma list stays in scope when it is closed by
  "or"/"and"/"nor" ("no effusion, consolidation, or pneumothorax").
* A backward cue (可能性大, 不除外 at a clause end, 阴性, "was not seen", "cannot be excluded") covers the clause
  before it; a few (不明显) reach only the word before them (结节强化不明显: only 强化 is negated).
  Some cues read either way (可能, 不除外, 可排除, "likely", "suspected"): forward when words follow them in
  the clause, backward otherwise. "versus" hedges both sides. 伴/并 stop a backward scope only: in
  胆囊结石伴胆囊炎可能 the stones are certain, in 考虑肺癌伴纵隔淋巴结转移 the metastasis is hedged too.
* Inside a negation, an uncertainty cue does not start a new scope: 未见可疑结节 / "no suspicious ..." stay negated.

Offsets always index the original string, so a highlighter can map a span straight back.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache

from yilian.search.phrases import fold, phrase_pattern
from yilian.search.synonyms import mentions

__all__ = ["Segment", "Status", "findings", "segment"]


class Status(StrEnum):
    PRESENT = "present"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, slots=True)
class Segment:
    """`text[start:end]` has one status; the segments of a text partition it."""

    start: int
    end: int
    status: Status


class _Kind(Enum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    PSEUDO = "pseudo"  # looks like a cue, is not one: present, and it closes any open scope
    TERMINATION = "termination"  # closes any open scope
    WORD = "word"  # a word that contains a cue and is none: matched only to hide the cue, then transparent


class _Direction(Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    EITHER = "either"  # forward if words follow in the clause, else backward
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class _Cue:
    kind: _Kind
    direction: _Direction
    reach: int | None = None  # backward scope limit in characters; None: to the clause start


_N, _U, _P, _T, _W = _Kind.NEGATION, _Kind.UNCERTAINTY, _Kind.PSEUDO, _Kind.TERMINATION, _Kind.WORD
_F, _B, _E, _BOTH = _Direction.FORWARD, _Direction.BACKWARD, _Direction.EITHER, _Direction.BOTH

# (kind, direction, phrases). Phrases are in folded form (lower case, hyphen as space).
_TABLE: list[tuple[_Kind, _Direction, str]] = [
    # zh negation
    (
        _N,
        _F,
        "未见|未发现|未探及|未及|未触及|未闻及|未显示|未检出|未见明确|未见确切|未见明显|未累及|未侵犯|无|没有"
        "|不伴|不伴有|否认|并非|不是|而非|而不是|不考虑|不支持|未提示",
    ),
    (_N, _E, "可排除|已排除|排除|可除外|已除外|除外"),
    (_N, _B, "阴性|已吸收|基本吸收|完全吸收|已消失|已切除"),
    # zh uncertainty
    (
        _U,
        _F,
        "考虑|考虑为|首先考虑|多考虑|疑|疑似|疑为|可疑|怀疑|倾向|倾向于|似见|似有|似为|拟诊|可能为|可能是"
        "|需除外|需排除|建议排除|建议除外|应除外|请除外",
    ),
    (
        _U,
        _E,
        "可能|不除外|不能除外|不排除|不能排除|不能完全除外|不能完全排除|难以除外|难以排除|无法除外|无法排除"
        "|未除外|未能除外|未排除|尚不能除外|待排|待排除|待除外",
    ),
    (_U, _B, "可能大|可能性大|可能性较大|可能性小|之可能|待查|待鉴别|存疑|?"),
    # zh pseudo-negation: no change is a statement that the finding is there
    (
        _P,
        _F,
        "较前无明显变化|无明显变化|未见明显变化|无变化|未见变化|无著变|未见著变|无显著变化|无明显改变"
        "|未见明显改变|无明显进展|未见明显进展",
    ),
    # words that start like a cue and are none: findings (无回声 anechoic, 动脉导管未闭 PDA), history phrases
    (_W, _F, "无回声|无名|无功能|无痛性|无明显诱因|无明显原因|无意|无疑|无法|无创|未闭"),
    # zh termination
    (_T, _F, "但|但是|然而|而|唯|惟|另见"),
    # zh "with": a hedge after it is about what follows it only (胆囊结石伴胆囊炎可能); a forward scope runs on
    (_T, _B, "伴|伴有|并|合并"),
    # en negation
    (
        _N,
        _F,
        "no|not|without|absence of|negative for|free of|denies|denied|neither|nor|no longer|resolution of|rather than",
    ),
    (
        _N,
        _B,
        "not seen|not identified|not visualized|not visualised|not demonstrated|not detected|not present"
        "|not appreciated|not evident|not noted|not observed|not apparent|no longer seen|no longer visible"
        "|no longer identified|no longer present|no longer evident|absent|resolved|ruled out|excluded"
        "|can be excluded|negative",
    ),
    # en uncertainty
    (
        _U,
        _F,
        "possible|possibly|probable|probably|suspicious for|suspicious of|suggestive of|concerning for"
        "|worrisome for|questionable|question of|equivocal|may represent|may be|could represent|could be"
        "|might represent|might be|may reflect|could reflect|might reflect|may indicate|could indicate"
        "|presumed|presumably|consider|cannot exclude|can not exclude"
        "|cannot rule out|rule out|r/o|differential diagnosis includes|differential diagnosis"
        "|raises the possibility of|possibility of|favor|favors|favoring|favour|favours|favouring",
    ),
    (_U, _E, "likely|most likely|suspected|considered|unlikely"),
    (
        _U,
        _B,
        "cannot be excluded|can not be excluded|could not be excluded|cannot be ruled out"
        "|could not be ruled out|not excluded|not ruled out|not entirely excluded|not completely excluded"
        "|is suspected|are suspected|is possible|is not excluded",
    ),
    (_U, _BOTH, "versus|vs"),
    # en pseudo-negation
    (
        _P,
        _F,
        "no change|no interval change|no significant change|no significant interval change"
        "|no appreciable change|no substantial change|no definite change|no increase|no significant increase"
        "|without change|without interval change|without significant change|not only",
    ),
    (_W, _F, "gram negative"),
    # en termination
    (
        _T,
        _F,
        "but|however|although|though|except|apart from|aside from|other than|which|whereas|while|yet|besides"
        "|with the exception of|and the|and there|and a|and an|and it|and this|and these|and those|and its"
        "|and otherwise",
    ),
]

# Backward cues that reach only the word before them, in characters: 结节强化不明显 negates 强化, not 结节.
_SHORT_REACH: dict[str, int] = {"不明显": 2}


def _build_cues() -> dict[str, _Cue]:
    cues: dict[str, _Cue] = {}
    for kind, direction, phrases in _TABLE:
        for phrase in phrases.split("|"):
            if phrase in cues:
                raise ValueError(f"negation cue {phrase!r} listed twice")
            cues[phrase] = _Cue(kind, direction)
    cues.update({phrase: _Cue(_N, _B, reach) for phrase, reach in _SHORT_REACH.items()})
    return cues


_CUES = _build_cues()


_CUE_RE = phrase_pattern(_CUES)
# Clause ends after folding (，；：！？（） are ASCII by then); a comma is a soft stop an English list runs past.
_STOPS = frozenset(".;:!?。()[]\n\r,")
_STOP_RE = re.compile(r"[.;:!?。()\[\]\n\r,]")
# A point after these ends no clause ("atelectasis vs. pneumonia", "e.g. effusion").
_ABBREVIATION_DOT = re.compile(r"(?<![a-z])(?:vs|approx|e\.g|i\.e|cf)$")
_LIST_WORDS = frozenset({"or", "and", "nor"})
_VERBS = frozenset(
    "is are was were be been has have had remains remain appears appear shows show demonstrates demonstrated "
    "measures measuring measured seen noted identified there which it".split()
)
_TRAILING_VERB = re.compile(
    r"\s+(?:is|are|was|were)(?:\s+(?:seen|identified|noted|present|demonstrated|evident|visualized|appreciated))?\s*$"
)
_MAX_LIST_WORDS = 6
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    cue: _Cue


def _is_stop(folded: str, i: int) -> bool:
    """A clause boundary at i; a point or comma between digits (1.5 cm, 1,000) is not one."""
    ch = folded[i]
    if ch not in _STOPS:
        return False
    if ch in ".," and 0 < i < len(folded) - 1 and folded[i - 1].isdigit() and folded[i + 1].isdigit():
        return False
    return not (ch == "." and _ABBREVIATION_DOT.search(folded, max(0, i - 8), i))


@dataclass(frozen=True, slots=True)
class _Clauses:
    """The clause boundaries of one folded text: every stop, and the stops that are not commas."""

    length: int
    stops: list[int]
    hard_stops: list[int]

    @classmethod
    def of(cls, folded: str) -> _Clauses:
        stops = [m.start() for m in _STOP_RE.finditer(folded) if _is_stop(folded, m.start())]
        return cls(len(folded), stops, [i for i in stops if folded[i] != ","])

    @staticmethod
    def _after(positions: list[int], start: int, length: int) -> int:
        index = bisect.bisect_left(positions, start)
        return positions[index] if index < len(positions) else length

    @staticmethod
    def _before(positions: list[int], end: int, floor: int) -> int:
        index = bisect.bisect_left(positions, end) - 1
        return max(floor, positions[index] + 1) if index >= 0 else floor

    def next_stop(self, start: int) -> int:
        """The first clause boundary at or after `start` (the text's length if none)."""
        return self._after(self.stops, start, self.length)

    def next_hard_stop(self, start: int) -> int:
        return self._after(self.hard_stops, start, self.length)

    def clause_start(self, end: int, floor: int) -> int:
        """The start of the clause holding position `end - 1`, not before `floor`."""
        return self._before(self.stops, end, floor)

    def sentence_start(self, end: int, floor: int) -> int:
        return self._before(self.hard_stops, end, floor)


def _is_list(chunks: list[str], closing: str) -> bool:
    """Comma-separated noun phrases closed by or/and/nor in the chunk `closing` ("first" or "last")."""
    if not chunks:
        return False
    for chunk in chunks:
        words = chunk.split()
        if not 1 <= len(words) <= _MAX_LIST_WORDS or _VERBS.intersection(words):
            return False
    end = chunks[-1] if closing == "last" else chunks[0]
    return bool(_LIST_WORDS.intersection(end.split()))


def _has_cue(starts: list[int], low: int, high: int) -> bool:
    index = bisect.bisect_left(starts, low)
    return index < len(starts) and starts[index] < high


def _scope_end(folded: str, clauses: _Clauses, start: int, starts: list[int]) -> int:
    """Where a forward scope opened at `start` ends at the latest: its clause's end, past an English comma list."""
    stop = clauses.next_stop(start)
    if stop == len(folded) or folded[stop] != ",":
        return stop
    sentence_end = clauses.next_hard_stop(stop)
    tail = _TRAILING_VERB.sub("", folded[stop + 1 : sentence_end])
    if not _has_cue(starts, stop, sentence_end) and _is_list(tail.split(","), closing="last"):
        return sentence_end
    return stop


def _scope_start(folded: str, clauses: _Clauses, end: int, floor: int, starts: list[int]) -> int:
    """Where a backward scope closed at `end` starts at the earliest: its clause's start, across a comma list."""
    clause_start = clauses.clause_start(end, floor)
    if clause_start == floor or folded[clause_start - 1] != ",":
        return clause_start
    sentence_start = clauses.sentence_start(end, floor)
    head = _TRAILING_VERB.sub("", folded[sentence_start:end])
    chunks = head.split(",")
    if not _has_cue(starts, sentence_start, end) and _is_list(chunks[::-1], closing="first"):
        return sentence_start
    return clause_start


def _find_cues(folded: str) -> list[_Match]:
    found = (_Match(m.start(), m.end(), _CUES[m.group()]) for m in _CUE_RE.finditer(folded))
    return [match for match in found if match.cue.kind is not _W]


def _spans(text: str) -> list[tuple[int, int, Status]]:
    """The negated and uncertain spans of `text`, in order, never overlapping."""
    folded = fold(text)
    matches = _find_cues(folded)
    if not matches:
        return []
    clauses = _Clauses.of(folded)
    starts = [m.start for m in matches]
    spans: list[tuple[int, int, Status]] = []
    barrier = 0  # a backward scope never reaches before the end of what an earlier cue decided
    absorbed: set[int] = set()
    for index, match in enumerate(matches):
        if index in absorbed:
            continue
        cue = match.cue
        if cue.kind in (_P, _T):
            barrier = max(barrier, match.end)
            continue
        status = Status.NEGATED if cue.kind is _N else Status.UNCERTAIN
        direction = cue.direction
        if direction is _E:
            following_start = matches[index + 1].start if index + 1 < len(matches) else len(folded)
            limit = min(clauses.next_stop(match.end), following_start)
            direction = _F if _WORD_CHAR.search(folded, match.end, limit) else _B
        start, end = match.start, match.end
        if direction in (_B, _BOTH):
            start = max(_scope_start(folded, clauses, match.start, barrier, starts), barrier)
            if cue.reach is not None:
                start = max(start, match.start - cue.reach)
        if direction in (_F, _BOTH):
            end = _scope_end(folded, clauses, match.end, starts)
            for other in range(index + 1, len(matches)):
                following = matches[other]
                if following.start >= end:
                    break
                if cue.kind is _N and following.cue.kind is _U and following.cue.direction is not _B:
                    absorbed.add(other)  # 未见可疑结节: "suspicious" inside a negation stays negated
                    continue
                if following.cue.kind is _T and following.cue.direction is _B:
                    continue  # 伴 ends backward scopes only
                end = following.start
                break
        spans.append((start, end, status))
        barrier = max(barrier, end)
    return spans


def segment(text: str) -> list[Segment]:
    """The text as consecutive segments, each present, negated or uncertain; they partition `text` exactly."""
    return list(_segments(text))


@lru_cache(maxsize=256)
def _segments(text: str) -> tuple[Segment, ...]:
    # Cached: an indexer asks for the same section's segments more than once (its parts, then its findings).
    segments: list[Segment] = []
    position = 0
    for start, end, status in _spans(text):
        if start > position:
            segments.append(Segment(position, start, Status.PRESENT))
        if end > start:
            if segments and segments[-1].status is status and segments[-1].end == start:
                segments[-1] = Segment(segments[-1].start, end, status)
            else:
                segments.append(Segment(start, end, status))
        position = max(position, end)
    if position < len(text):
        segments.append(Segment(position, len(text), Status.PRESENT))
    return tuple(segments)


_PRECEDENCE = {Status.PRESENT: 2, Status.UNCERTAIN: 1, Status.NEGATED: 0}


def status_at(segments: list[Segment], offset: int) -> Status:
    """The status of the character at `offset` (segments as `segment` returns them)."""
    index = bisect.bisect_right([s.start for s in segments], offset) - 1
    return segments[index].status


def findings(text: str, segments: list[Segment] | None = None) -> dict[str, Status]:
    """Each lexicon concept the text mentions (canonical id from synonyms.tsv) and its status.

    A mention takes the status of its last character (胸腔积液不明显: the 积液 part is negated). A concept mentioned
    more than once keeps the strongest status, present over uncertain over negated: a report that affirms a finding
    anywhere has it, and its negations then speak of other places or times ("右肺上叶结节，左肺未见结节" has a
    nodule; "no new nodules ... the known nodule" still has one); a hedge says more than a denial.
    Pass `segments` when `segment(text)` is already at hand (an indexer splits the text by status anyway).
    """
    if segments is None:
        segments = segment(text)
    if not segments:
        return {}
    found: dict[str, Status] = {}
    for mention in mentions(text):
        status = status_at(segments, mention.end - 1)
        current = found.get(mention.concept)
        if current is None or _PRECEDENCE[status] > _PRECEDENCE[current]:
            found[mention.concept] = status
    return found
