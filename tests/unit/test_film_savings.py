"""The repeat-avoided rule of cloud film's savings (domain/film_savings.py), at its edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from yilian.domain.film_savings import CrossView, Exam, repeat_avoided, repeats_avoided, study_day

CT_CHEST = frozenset({("CT", "CHEST")})
TAKEN = date(2026, 11, 1)
SCAN = Exam("1.1", "h-a", TAKEN, CT_CHEST)  # taken at hospital A


def view(days_after: int, hospital: str = "h-b", at_hour: int = 9) -> CrossView:
    day = TAKEN + timedelta(days=days_after)
    at = datetime(day.year, day.month, day.day, at_hour, tzinfo=UTC)
    return CrossView("rp-1", "1.1", hospital, at, day, f"{day:%Y-%m}")


def test_a_recent_study_opened_elsewhere_stands_in_for_a_new_one_up_to_30_days() -> None:
    assert repeat_avoided(view(0), SCAN, [SCAN])
    assert repeat_avoided(view(30), SCAN, [SCAN])
    assert not repeat_avoided(view(31), SCAN, [SCAN])
    assert not repeat_avoided(view(-1), SCAN, [SCAN])  # a view dated before the study: clocks disagree, no credit
    assert not repeat_avoided(view(3, hospital="h-a"), SCAN, [SCAN])  # its own hospital avoided nothing
    assert not repeat_avoided(view(3), Exam("1.1", "h-a", None, CT_CHEST), [])  # no study date: stands in for nothing


def test_a_same_kind_study_at_the_viewing_hospital_within_30_days_means_the_exam_was_repeated() -> None:
    repeated = Exam("2.1", "h-b", TAKEN + timedelta(days=10), CT_CHEST)
    other_kind = Exam("2.2", "h-b", TAKEN + timedelta(days=10), frozenset({("CT", "HEAD")}))
    later = Exam("2.3", "h-b", TAKEN + timedelta(days=31), CT_CHEST)
    elsewhere = Exam("2.4", "h-c", TAKEN + timedelta(days=2), CT_CHEST)
    assert not repeat_avoided(view(3), SCAN, [SCAN, repeated])
    assert repeat_avoided(view(3), SCAN, [SCAN, other_kind, later, elsewhere])


def test_each_hospital_and_study_counts_once_in_the_month_of_its_first_view() -> None:
    views = [view(29, at_hour=10), view(20), view(20, hospital="h-c"), view(45)]
    assert repeats_avoided(views, {"rp-1": [SCAN]}) == {("h-b", "2026-11"): 1, ("h-c", "2026-11"): 1}
    assert repeats_avoided(views, {"rp-1": []}) == {}  # the study is no longer the patient's (unlinked)


def test_study_day_reads_dicom_dates() -> None:
    assert study_day("20261101") == TAKEN
    assert study_day("") is None and study_day("20261341") is None and study_day("2026-11") is None
