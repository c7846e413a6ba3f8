"""Negation segments partition the text (properties on generated texts); findings() per concept."""

from __future__ import annotations

import random

import pytest

from yilian.search.negation import Segment, Status, findings, segment

# Fragments from which random texts are built: cues, findings, punctuation, and noise.
_FRAGMENTS = [
    "未见",
    "无",
    "不除外",
    "可能",
    "考虑",
    "较前无明显变化",
    "结节",
    "胸腔积液",
    "、",
    "及",
    "，",
    "。",
    "；",
    "强化",
    "不明显",
    "伴",
    "但",
    "？",
    "右肺上叶",
    "磨玻璃结节",
    "无回声",
    "未闭",
    "no ",
    "not seen",
    " or ",
    ", ",
    ". ",
    "pleural effusion",
    "cannot be excluded",
    "likely",
    "versus",
    " and the ",
    "without ",
    "nodule",
    "1.5",
    "ＧＧＯ",
    "İ",
    " ",
    "\n",
    "(",
    ")",
    "x",
    "的",
]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 30)))


def _check_partition(text: str, segments: list[Segment]) -> None:
    if not text:
        assert segments == []
        return
    assert segments[0].start == 0 and segments[-1].end == len(text)
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end == after.start, "no gap and no overlap"
        assert before.status != after.status, "neighbours differ (runs are merged)"
    assert all(s.start < s.end and isinstance(s.status, Status) for s in segments)


@pytest.mark.parametrize("seed", range(300))
def test_segments_partition_random_text(seed: int) -> None:
    text = _random_text(random.Random(seed))
    _check_partition(text, segment(text))


@pytest.mark.parametrize("text", ["", "。", "未见", "no", "?", "？", "可能", ",,,", "versus"])
def test_segments_partition_edge_cases(text: str) -> None:
    _check_partition(text, segment(text))


def test_offsets_index_the_original_string() -> None:
    text = "ＧＧＯ，右肺上叶未见结节。"  # full-width letters and punctuation
    negated = [text[s.start : s.end] for s in segment(text) if s.status is Status.NEGATED]
    assert negated == ["未见结节"]


def test_findings_zh() -> None:
    assert findings("右肺上叶磨玻璃结节，未见胸腔积液，纵隔淋巴结未见肿大，考虑肺腺癌可能。") == {
        "right_upper_lobe": Status.PRESENT,
        "ground_glass_nodule": Status.PRESENT,
        "pleural_effusion": Status.NEGATED,
        "mediastinum": Status.PRESENT,
        "lymph_node": Status.PRESENT,
        "lung_adenocarcinoma": Status.UNCERTAIN,
    }


def test_findings_en_matches_zh() -> None:
    zh = findings("右肺上叶磨玻璃结节，无胸腔积液，不除外肺栓塞。")
    en = findings("Ground-glass nodule in the right upper lobe. No pleural effusion. PE cannot be excluded.")
    assert (
        zh
        == en
        == {
            "right_upper_lobe": Status.PRESENT,
            "ground_glass_nodule": Status.PRESENT,
            "pleural_effusion": Status.NEGATED,
            "pulmonary_embolism": Status.UNCERTAIN,
        }
    )


def test_findings_present_wins_over_negated() -> None:
    assert findings("右肺上叶结节，左肺未见结节。")["nodule"] is Status.PRESENT
    assert findings("左肺未见结节，右肺上叶结节。")["nodule"] is Status.PRESENT
    assert findings("No new nodules. Stable nodule in the RUL.")["nodule"] is Status.PRESENT


def test_findings_uncertain_wins_over_negated() -> None:
    assert findings("未见明确结节，可疑结节？")["nodule"] is Status.UNCERTAIN


def test_findings_negated_only() -> None:
    assert findings("双肺未见结节，无胸腔积液。") == {
        "lung": Status.PRESENT,
        "nodule": Status.NEGATED,
        "pleural_effusion": Status.NEGATED,
    }


def test_findings_of_empty_text() -> None:
    assert findings("") == {}


def test_findings_with_segments_at_hand() -> None:
    text = "右肺上叶结节，未见胸腔积液。"
    assert findings(text, segment(text)) == findings(text)
