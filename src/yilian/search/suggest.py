"""Suggestions as you type, from the curated terms dictionary (synonyms.tsv): no report text, so nothing to hide."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from yilian.search import synonyms


@dataclass(frozen=True)
class Suggestion:
    text: str
    concept: str  # the synonym group's id: the other names of the same thing
    kind: str


@cache
def _terms() -> tuple[tuple[str, Suggestion], ...]:
    return tuple(
        (synonyms.fold(term), Suggestion(term, c.id, str(c.kind))) for c in synonyms.concepts() for term in c.terms
    )


def suggest(prefix: str, limit: int = 10) -> list[Suggestion]:
    """Terms that start with what was typed (shortest first), then terms that contain it."""
    typed = synonyms.fold(prefix.strip())
    if not typed:
        return []
    starts = [s for folded, s in _terms() if folded.startswith(typed)]
    inside = [s for folded, s in _terms() if typed in folded and not folded.startswith(typed)]
    ranked = sorted(starts, key=lambda s: (len(s.text), s.text)) + sorted(inside, key=lambda s: (len(s.text), s.text))
    out: list[Suggestion] = []
    for s in ranked:
        if s.text not in {o.text for o in out}:
            out.append(s)
        if len(out) == limit:
            break
    return out
