"""The curated synonym groups: loading rules, canonical names, query expansion and report mentions."""

from __future__ import annotations

import pytest

from yilian.search import synonyms
from yilian.search.synonyms import ConceptKind, canonical, concept, concepts, expand, fold, mentions


def test_the_lexicon_covers_common_radiology_concepts() -> None:
    every = concepts()
    assert len(every) >= 80
    assert {c.kind for c in every} == set(ConceptKind)
    assert all(c.zh and c.en for c in every), "each concept has a Chinese and an English name"


@pytest.mark.parametrize(
    ("term", "ident"),
    [
        ("磨玻璃结节", "ground_glass_nodule"),
        ("GGO", "ground_glass_nodule"),
        ("ggo", "ground_glass_nodule"),
        ("ground-glass nodule", "ground_glass_nodule"),
        ("Ground glass opacity", "ground_glass_nodule"),
        ("ground-glass opacities", "ground_glass_nodule"),
        ("肝血管瘤", "hepatic_hemangioma"),
        ("hepatic hemangiomas", "hepatic_hemangioma"),
        ("胸腔积液", "pleural_effusion"),
        ("pleural effusions", "pleural_effusion"),
        ("右肺上叶", "right_upper_lobe"),
        ("RUL", "right_upper_lobe"),
        ("right  upper lobe", "right_upper_lobe"),
        ("ＧＧＯ", "ground_glass_nodule"),
        ("masses", "mass"),
    ],
)
def test_canonical(term: str, ident: str) -> None:
    assert canonical(term) == ident


def test_canonical_of_an_unknown_word_is_none() -> None:
    assert canonical("随访") is None
    assert canonical("glass") is None
    assert canonical("") is None


def test_concept_labels() -> None:
    ggo = concept("ground_glass_nodule")
    assert ggo.zh[0] == "磨玻璃结节" and ggo.en[0] == "ground-glass nodule" and "GGO" in ggo.abbreviations
    with pytest.raises(KeyError):
        concept("no_such_concept")


def test_expand_known_terms_keep_the_original_first() -> None:
    slots = expand("磨玻璃结节 右肺上叶")
    assert len(slots) == 2
    assert slots[0][0] == "磨玻璃结节" and {"GGO", "ground-glass nodule", "毛玻璃影"} <= set(slots[0])
    assert slots[1][0] == "右肺上叶" and {"right upper lobe", "RUL"} <= set(slots[1])
    assert all(len(slot) == len(set(slot)) for slot in slots)


def test_expand_splits_chinese_by_the_longest_known_term() -> None:
    slots = expand("肝血管瘤随访")
    assert [slot[0] for slot in slots] == ["肝血管瘤", "随访"]
    assert "hepatic hemangioma" in slots[0]
    assert slots[1] == ["随访"]


def test_expand_english_words_and_phrases() -> None:
    slots = expand("ground-glass nodule follow up")
    assert [slot[0] for slot in slots] == ["ground-glass nodule", "follow", "up"]
    assert "磨玻璃结节" in slots[0]
    assert slots[1:] == [["follow"], ["up"]]


def test_expand_abbreviations_ignore_case_and_keep_what_was_typed() -> None:
    slots = expand("ggo")
    assert slots[0][0] == "ggo"
    assert "GGO" not in slots[0], "the typed form stands for itself"
    assert "磨玻璃结节" in slots[0]


def test_expand_mixed_query_and_punctuation() -> None:
    slots = expand("RUL磨玻璃结节，8mm?")
    assert [slot[0] for slot in slots] == ["RUL", "磨玻璃结节", "8mm"]


def test_expand_empty() -> None:
    assert expand("") == []
    assert expand("  ，。 ") == []


def test_a_latin_term_never_matches_inside_a_word() -> None:
    assert [m.concept for m in mentions("The spurious finding")] == []
    assert [m.concept for m in mentions("a colonic lesion")] == ["lesion"]


def test_mentions_in_a_report() -> None:
    text = "右肺上叶磨玻璃结节，No PE. pe is not an abbreviation here; RUL GGOs."
    found = [(text[m.start : m.end], m.concept) for m in mentions(text)]
    assert found == [
        ("右肺上叶", "right_upper_lobe"),
        ("磨玻璃结节", "ground_glass_nodule"),
        ("PE", "pulmonary_embolism"),
        ("RUL", "right_upper_lobe"),
        ("GGOs", "ground_glass_nodule"),
    ]


def test_fold_keeps_offsets() -> None:
    text = "ＧＧＯ，Ground-Glass\u3000结节 İ"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded.startswith("ggo,ground glass 结节")


def test_the_loader_refuses_a_term_in_two_groups() -> None:
    source = "a\tfinding\t结节\tnodule\t\nb\tfinding\t小结节\tNodule\t\n"
    with pytest.raises(ValueError, match="both"):
        synonyms._build(synonyms._parse(source))


def test_the_loader_refuses_a_malformed_line() -> None:
    with pytest.raises(ValueError, match="line 1"):
        synonyms._parse("a\tfinding\t结节\n")
