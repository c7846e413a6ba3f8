"""Quality grades against each modality's scale, and scorecards from grade rows."""

from __future__ import annotations

import pytest

from yilian.domain.errors import YilianError
from yilian.domain.quality import DefectReason, QualityScale, grade_of, scorecards


def test_each_modality_has_its_scale_and_only_a_poor_grade_needs_reasons() -> None:
    assert grade_of("DX", "A", []).good and grade_of("DX", "A", []).scale is QualityScale.XRAY
    poor = grade_of("CR", "B", ["positioning", "exposure", "positioning"])
    assert not poor.good and poor.reasons == (DefectReason.EXPOSURE, DefectReason.POSITIONING)
    assert grade_of("MR", "3", []).good and not grade_of("CT", "0", ["motion"]).good
    for modality, grade, reasons in (("DX", "3", []), ("CT", "A", []), ("CT", "1", []), ("DX", "C", ["blur"]),
                                     ("US", "A", [])):  # fmt: skip
        with pytest.raises(YilianError):
            grade_of(modality, grade, reasons)


def test_scorecards_count_good_images_per_month_with_trend_and_top_reasons() -> None:
    rows = [
        {"subject": "h-a", "month": "2026-11", "good": True, "reasons": []},
        {"subject": "h-a", "month": "2026-11", "good": False, "reasons": ["motion"]},
        {"subject": "h-a", "month": "2026-12", "good": True, "reasons": []},
        {"subject": "h-a", "month": "2026-12", "good": True, "reasons": []},
        {"subject": "h-a", "month": "2026-12", "good": False, "reasons": ["motion", "positioning"]},
        {"subject": "h-b", "month": "2026-12", "good": True, "reasons": []},
    ]
    a, b = scorecards(rows, target=0.9)
    assert [(m.month, m.graded, m.good) for m in a.months] == [("2026-11", 2, 1), ("2026-12", 3, 2)]
    assert a.latest_share == pytest.approx(2 / 3) and a.trend == pytest.approx(2 / 3 - 1 / 2)
    assert not a.meets_target and a.top_reasons == (("motion", 2), ("positioning", 1))
    assert b.subject == "h-b" and b.meets_target and b.trend == 0.0
