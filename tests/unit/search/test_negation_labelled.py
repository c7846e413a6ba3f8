"""Every hand-labelled sentence in negation_labelled.tsv gets its expected status from the negation tagger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from yilian.search.negation import Status, segment

LABELLED = Path(__file__).with_name("negation_labelled.tsv")


@dataclass(frozen=True)
class Row:
    line: int
    sentence: str
    target: str
    occurrence: int
    expected: Status
    note: str


def _rows() -> list[Row]:
    rows = []
    for line, text in enumerate(LABELLED.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip() or text.startswith("#"):
            continue
        sentence, target, expected, note = text.split("\t")
        target, _, nth = target.partition("#")
        rows.append(Row(line, sentence, target, int(nth or 1), Status(expected), note))
    return rows


ROWS = _rows()


def _offset(row: Row) -> int:
    start = -1
    for _ in range(row.occurrence):
        start = row.sentence.index(row.target, start + 1)
    return start


def test_the_labelled_set_is_large_and_bilingual() -> None:
    chinese = [row for row in ROWS if any("\u4e00" <= ch <= "\u9fff" for ch in row.sentence)]
    english = [row for row in ROWS if row.sentence.isascii()]
    assert len(ROWS) >= 200
    assert len(chinese) >= 100 and len(english) >= 80
    assert {row.expected for row in chinese} == set(Status) == {row.expected for row in english}


@pytest.mark.parametrize("row", ROWS, ids=[f"line{row.line}" for row in ROWS])
def test_labelled_sentence(row: Row) -> None:
    start = _offset(row)
    statuses = {
        segment_.status
        for segment_ in segment(row.sentence)
        if segment_.start < start + len(row.target) and segment_.end > start
    }
    assert statuses == {row.expected}, f"{row.sentence!r}: {row.target!r} ({row.note}) -> " + ", ".join(
        f"{row.sentence[s.start : s.end]!r}={s.status}" for s in segment(row.sentence)
    )
