"""Text folding and phrase-list regexes shared by the negation tagger and the synonym lexicon.

A list of a few hundred phrases compiled as one plain alternation is tried phrase by phrase at every position
(milliseconds per report). Compiled as a trie whose every branch starts with a literal character, the regex
engine skips in C to the next character that can start a phrase, and a deeper branch is tried before the end of
a shorter phrase, so the leftmost match is also the longest (不除外 before 不, "not seen" before "not").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["fold", "is_latin", "phrase_pattern"]

# Full-width ASCII (U+FF01..U+FF5E) to ASCII, the ideographic space to a space, hyphens and dashes to a space.
_FOLD_TABLE: dict[int, int] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD_TABLE.update({0x3000: 0x20, ord("-"): 0x20, 0xFF0D: 0x20, 0x2010: 0x20, 0x2011: 0x20, 0x2013: 0x20})
_FOLD_TABLE[0x2014] = 0x20


def fold(text: str) -> str:
    """The matching form of `text`, the same length, so an offset in it is an offset in `text`.

    Full-width ASCII becomes ASCII, letters are lower-cased and a hyphen reads as a space: "ＧＧＯ" and "ggo",
    "ground-glass" and "ground glass" meet.
    """
    folded = text.translate(_FOLD_TABLE)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # A few letters (e.g. U+0130) lower-case to two characters; keep those as they are.
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in folded)


def is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_Trie = dict[str, "_Trie"]
_END = ""


def phrase_pattern(phrases: Iterable[str], word: str = "a-z0-9") -> re.Pattern[str]:
    """One regex matching any of `phrases`, leftmost then longest; a phrase's Latin edge must be a word edge.

    `word` is the character class (inside [...]) of word characters: "a-z0-9" for folded text, "A-Za-z0-9" for
    case-sensitive matching of abbreviations.
    """
    root: _Trie = {}
    for phrase in phrases:
        if not phrase:
            continue
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[_END] = {}

    def emit(node: _Trie, last: str) -> str:
        branches = [re.escape(ch) + emit(child, ch) for ch, child in sorted(node.items()) if ch != _END]
        if _END in node:  # after the longer branches: the end of this phrase is the fallback
            branches.append(f"(?![{word}])" if is_latin(last) else "")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    # The word-edge check before a Latin phrase sits after its first character, a look-behind over two
    # characters, so that every branch starts with a literal and the engine can skip ahead in C.
    branches = [
        re.escape(ch) + (f"(?<![{word}]{re.escape(ch)})" if is_latin(ch) else "") + emit(child, ch)
        for ch, child in sorted(root.items())
    ]
    return re.compile("|".join(branches) if branches else "(?!)")
