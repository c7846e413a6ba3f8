"""The trie regex behind the cue and term lists: leftmost, then longest, Latin phrases on word edges only."""

from __future__ import annotations

from yilian.search.phrases import fold, phrase_pattern


def _found(phrases: list[str], text: str, word: str = "a-z0-9") -> list[str]:
    return [m.group() for m in phrase_pattern(phrases, word).finditer(text)]


def test_longest_phrase_at_the_same_start_wins() -> None:
    assert _found(["不", "不除外", "除外"], "不除外肺结核") == ["不除外"]
    assert _found(["not", "not seen"], "was not seen") == ["not seen"]


def test_leftmost_match_wins_over_a_longer_later_one() -> None:
    assert _found(["无明显变化", "较前无明显变化"], "较前无明显变化") == ["较前无明显变化"]
    assert _found(["ab", "bcd"], "x abcd") == []  # "ab" is no word there; "bcd" starts inside a word


def test_latin_phrases_sit_on_word_edges() -> None:
    assert _found(["no", "not"], "nodule cannot notably no") == ["no"]
    assert _found(["no"], "右肺no结节") == ["no"]


def test_case_sensitive_word_class() -> None:
    assert _found(["PE"], "PE, pe, PET", word="A-Za-z0-9") == ["PE"]


def test_an_empty_list_matches_nothing() -> None:
    assert _found([], "anything") == []


def test_fold_is_offset_preserving() -> None:
    assert fold("ＮＯ　Effusion，ground-glass") == "no effusion,ground glass"
