"""ReportContent.problems: drafts may be incomplete, submitted reports may not; length limits always hold."""

from __future__ import annotations

import pytest

from yilian.domain.report import ReportContent

EMPTY_FINDINGS = "findings are empty"
EMPTY_IMPRESSION = "impression is empty"
CRITICAL = "a critical finding needs a note saying what is critical"
TOO_LONG = "report text is too long"


@pytest.mark.parametrize(
    ("content", "complete", "expected"),
    [
        pytest.param(ReportContent("", ""), False, [], id="empty-draft"),
        pytest.param(ReportContent("", "", critical=True), False, [], id="critical-draft-without-note"),
        pytest.param(ReportContent("ok", "ok"), True, [], id="complete"),
        pytest.param(ReportContent("", ""), True, [EMPTY_FINDINGS, EMPTY_IMPRESSION], id="empty-report"),
        pytest.param(ReportContent("  \n", "fine"), True, [EMPTY_FINDINGS], id="blank-findings"),
        pytest.param(ReportContent("fine", "\t"), True, [EMPTY_IMPRESSION], id="blank-impression"),
        pytest.param(ReportContent("nodule", "LR-5", critical=True), True, [CRITICAL], id="critical-without-note"),
        pytest.param(
            ReportContent("nodule", "LR-5", critical=True, critical_note="  "),
            True,
            [CRITICAL],
            id="critical-blank-note",
        ),
        pytest.param(
            ReportContent("bleed", "SAH", critical=True, critical_note="acute SAH"), True, [], id="critical-with-note"
        ),
        pytest.param(
            ReportContent("", "", critical=True),
            True,
            [EMPTY_FINDINGS, EMPTY_IMPRESSION, CRITICAL],
            id="everything-missing",
        ),
    ],
)
def test_problems(content: ReportContent, complete: bool, expected: list[str]) -> None:
    assert content.problems(complete=complete) == expected


@pytest.mark.parametrize("complete", [False, True])
@pytest.mark.parametrize(
    ("findings_len", "impression_len", "too_long"),
    [(20000, 5000, False), (20001, 1, True), (1, 5001, True), (20001, 5001, True)],
)
def test_length_limits_hold_for_drafts_too(
    complete: bool, findings_len: int, impression_len: int, too_long: bool
) -> None:
    content = ReportContent("x" * findings_len, "y" * impression_len)
    assert content.problems(complete=complete) == ([TOO_LONG] if too_long else [])
