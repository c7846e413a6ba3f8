"""Synthetic reports: deterministic by number, bilingual, with common findings common and rare ones rare."""

from __future__ import annotations

from yilian.search.negation import Status, findings
from yilian.search.synthetic import CHUNK, RARE_TERMS, hospitals, readers, report, reports

SAMPLE = list(reports(6000, seed=5))


def test_a_report_is_the_same_whatever_range_it_comes_from() -> None:
    for number in (0, 1, CHUNK - 1, CHUNK, CHUNK + 17, 5999):
        assert report(number, seed=5) == SAMPLE[number]
    assert list(reports(3, seed=5, start=CHUNK - 1)) == SAMPLE[CHUNK - 1 : CHUNK + 2]
    assert report(10, seed=6) != report(10, seed=5)


def test_languages_exams_and_facets_are_mixed() -> None:
    zh = sum(r.language == "zh" for r in SAMPLE) / len(SAMPLE)
    assert 0.75 < zh < 0.85
    assert {r.modality for r in SAMPLE} == {"CT", "MR", "DX", "US"}
    assert len({r.hospital for r in SAMPLE}) == len(hospitals()) == 40
    assert len({r.reader for r in SAMPLE}) == len(readers()) == 60
    assert any(r.critical for r in SAMPLE) and not all(r.critical for r in SAMPLE)
    assert {r.discrepancy for r in SAMPLE} >= {None, "agree"}
    assert all(r.findings and r.impression for r in SAMPLE)
    for r in SAMPLE[:200]:
        if r.language == "en":
            assert r.findings.isascii() and r.impression.isascii()


def test_common_findings_are_common_and_rare_ones_rare() -> None:
    nodules = sum(findings(r.findings).get("nodule") is Status.PRESENT or "结节" in r.impression for r in SAMPLE)
    assert nodules / len(SAMPLE) > 0.05
    rare = sum(any(term in r.findings + r.impression for term in RARE_TERMS) for r in SAMPLE)
    assert rare / len(SAMPLE) < 0.005


def test_normal_lines_are_negated_for_the_tagger() -> None:
    negated = [findings(r.findings) for r in SAMPLE[:300]]
    assert sum(Status.NEGATED in f.values() for f in negated) > 250
