"""Radiology synonyms, zh <-> en <-> abbreviation, from the curated `synonyms.tsv`: query expansion and concept lookup.

The file is read once from the package on first use (no I/O at import). Matching is done on `phrases.fold(text)`,
which keeps every offset of the original string. English terms also match their plural (+s, +es, y -> ies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from yilian.search.phrases import fold, is_latin, phrase_pattern

__all__ = [
    "Concept",
    "ConceptKind",
    "Mention",
    "canonical",
    "concept",
    "concepts",
    "expand",
    "fold",
    "mentions",
]


class ConceptKind(StrEnum):
    ANATOMY = "anatomy"
    FINDING = "finding"
    DIAGNOSIS = "diagnosis"
    MODALITY = "modality"


@dataclass(frozen=True, slots=True)
class Concept:
    """One synonym group; `id` is the canonical name, stable across languages."""

    id: str
    kind: ConceptKind
    zh: tuple[str, ...]
    en: tuple[str, ...]
    abbreviations: tuple[str, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return self.zh + self.en + self.abbreviations


@dataclass(frozen=True, slots=True)
class Mention:
    """A lexicon term found in a text: `text[start:end]` names `concept`."""

    start: int
    end: int
    concept: str


@dataclass(frozen=True, slots=True)
class _Lexicon:
    concepts: dict[str, Concept]
    by_key: dict[str, str]  # folded term -> concept id (all terms, abbreviations included)
    by_form: dict[str, str]  # folded term or its plural -> concept id (words only)
    abbreviations: dict[str, str]  # abbreviation as written, or its plural -> concept id
    text_pattern: re.Pattern[str]  # folded words and their plurals, for report text
    abbreviation_pattern: re.Pattern[str]  # abbreviations as written, for report text
    query_pattern: re.Pattern[str]  # every folded term and plural, abbreviations too, for queries


def _split(cell: str) -> tuple[str, ...]:
    return tuple(term.strip() for term in cell.split("|") if term.strip())


def _parse(source: str) -> list[Concept]:
    parsed: list[Concept] = []
    for number, line in enumerate(source.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 5:
            raise ValueError(f"synonyms.tsv line {number}: expected 5 tab-separated columns, got {len(cells)}")
        ident, kind, zh, en, abbreviations = cells
        parsed.append(Concept(ident.strip(), ConceptKind(kind.strip()), _split(zh), _split(en), _split(abbreviations)))
    return parsed


def _plurals(term: str) -> tuple[str, ...]:
    """The English plural forms matched besides `term` itself."""
    if not is_latin(term[-1]):
        return ()
    if len(term) > 1 and term[-1] == "y" and term[-2] not in "aeiou":
        return (term[:-1] + "ies",)
    return (term + "s", term + "es")


def _build(parsed: list[Concept]) -> _Lexicon:
    concepts: dict[str, Concept] = {}
    by_key: dict[str, str] = {}
    by_form: dict[str, str] = {}
    abbreviations: dict[str, str] = {}
    for item in parsed:
        if item.id in concepts:
            raise ValueError(f"synonyms.tsv: concept {item.id!r} defined twice")
        concepts[item.id] = item
        for term in item.terms:
            owner = by_key.setdefault(fold(term), item.id)
            if owner != item.id:
                raise ValueError(f"synonyms.tsv: term {term!r} belongs to both {owner!r} and {item.id!r}")
    for item in parsed:
        by_form.update({fold(term): item.id for term in item.zh + item.en})
    for item in parsed:
        for term in item.en:
            for form in _plurals(fold(term)):
                by_form.setdefault(form, item.id)  # an exact term beats another term's plural
        for term in item.abbreviations:
            for form in (term, term + "s"):
                abbreviations.setdefault(form, item.id)
    query_forms = set(by_form) | {fold(form) for form in abbreviations}
    return _Lexicon(
        concepts=concepts,
        by_key=by_key,
        by_form=by_form,
        abbreviations=abbreviations,
        text_pattern=phrase_pattern(by_form),
        abbreviation_pattern=phrase_pattern(abbreviations, word="A-Za-z0-9"),
        query_pattern=phrase_pattern(query_forms),
    )


@cache
def _lexicon() -> _Lexicon:
    source = resources.files("yilian.search").joinpath("synonyms.tsv").read_text(encoding="utf-8")
    return _build(_parse(source))


def concepts() -> tuple[Concept, ...]:
    """Every concept in file order."""
    return tuple(_lexicon().concepts.values())


def concept(ident: str) -> Concept:
    """The concept named `ident` (KeyError if there is none)."""
    return _lexicon().concepts[ident]


def _concept_of(folded: str, lexicon: _Lexicon) -> str | None:
    """The concept a folded word or phrase names, allowing an English plural or an abbreviation in any case."""
    if (ident := lexicon.by_key.get(folded) or lexicon.by_form.get(folded)) is not None:
        return ident
    for form, ident in lexicon.abbreviations.items():
        if fold(form) == folded:
            return ident
    return None


def canonical(term: str) -> str | None:
    """The concept id `term` names (any language, abbreviation or plural, case-insensitive), or None."""
    return _concept_of(" ".join(fold(term).split()), _lexicon())


_WORD = re.compile(r"[0-9A-Za-z]+|(?:(?![0-9A-Za-z_])\w)+")


def expand(query: str) -> list[list[str]]:
    """The query as slots: each known term (longest first) with its equivalents, the words as typed first.

    Unknown text becomes one-element slots: a Latin word each, a run of CJK characters as one.
    "磨玻璃结节 随访" -> [["磨玻璃结节", "磨玻璃影", ..., "ground-glass nodule", ..., "GGO", "GGN"], ["随访"]].
    """
    lexicon = _lexicon()
    folded = fold(query)
    slots: list[list[str]] = []

    def unknown(start: int, end: int) -> None:
        slots.extend([word.group()] for word in _WORD.finditer(query, start, end))

    position = 0
    for match in lexicon.query_pattern.finditer(folded):
        unknown(position, match.start())
        original = query[match.start() : match.end()]
        ident = _concept_of(match.group(), lexicon)
        assert ident is not None  # the pattern is built from the lexicon's forms
        slot = [original]
        seen = {fold(original)}
        for term in lexicon.concepts[ident].terms:
            if (term_key := fold(term)) not in seen:
                seen.add(term_key)
                slot.append(term)
        slots.append(slot)
        position = match.end()
    unknown(position, len(query))
    return slots


def mentions(text: str) -> list[Mention]:
    """The lexicon terms in a report text, left to right, longest first, never overlapping.

    Words match case-insensitively; abbreviations only as written (so "PE" is pulmonary embolism, "pe" nothing).
    """
    lexicon = _lexicon()
    folded = fold(text)
    found = [Mention(m.start(), m.end(), lexicon.by_form[m.group()]) for m in lexicon.text_pattern.finditer(folded)]
    by_abbreviation = lexicon.abbreviations
    abbreviations = [
        Mention(m.start(), m.end(), by_abbreviation[m.group()]) for m in lexicon.abbreviation_pattern.finditer(text)
    ]
    if not abbreviations:
        return found  # one pass: already in order and never overlapping
    found += abbreviations
    # Two passes may overlap (rare: an abbreviation inside a word match); keep the longer, then the earlier.
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Mention] = []
    for mention in found:
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept
