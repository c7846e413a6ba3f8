"""Quality audit rules: how a sample is drawn, the month's bounds, who may record which outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.quality_audit import (
    AuditFacts,
    AuditItem,
    OutcomeInput,
    SampleMode,
    Verdict,
    check_outcome,
    draw,
    month_bounds,
)
from yilian.domain.roles import Actor, Role

T0 = datetime(2026, 12, 1, tzinfo=UTC)
COORD = Actor("liu.coord", Role.COORDINATOR, "h-provincial", "Liu")


def item(rid: str, grade: str, minutes: int = 0, modality: str = "CT") -> AuditItem:
    scale = "xray" if modality == "DX" else "cross_sectional"
    return AuditItem(
        rid, modality, scale, grade, [] if grade in ("3", "A") else ["motion"], "", T0 + timedelta(minutes=minutes)
    )


GRADED = [item("r1", "3", 1), item("r2", "1", 2), item("r3", "0", 3), item("r4", "1", 4), item("x1", "C", 5, "DX")]


def test_the_worst_come_first_and_ties_the_latest_first() -> None:
    assert [g.referral_id for g in draw(GRADED, 3, SampleMode.WORST, "qa-1")] == ["r3", "x1", "r4"]


def test_a_random_sample_is_the_same_for_the_same_audit_and_differs_between_audits() -> None:
    one = [g.referral_id for g in draw(GRADED, 3, SampleMode.RANDOM, "qa-1")]
    assert one == [g.referral_id for g in draw(GRADED, 3, SampleMode.RANDOM, "qa-1")]
    assert len(set(one)) == 3
    draws = {tuple(g.referral_id for g in draw(GRADED, 3, SampleMode.RANDOM, f"qa-{n}")) for n in range(20)}
    assert len(draws) > 1
    assert len(draw(GRADED, 50, SampleMode.RANDOM, "qa-1")) == len(GRADED)


def test_a_month_is_counted_in_shanghai_time() -> None:
    start, end = month_bounds("2026-12")
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert month_bounds("2026-02")[1] == datetime(2026, 2, 28, 16, tzinfo=UTC)
    for bad in ("2026-13", "2026-1", "26-12-01", "abcd-ef"):
        with pytest.raises(YilianError) as caught:
            month_bounds(bad)
        assert caught.value.code is ErrorCode.VALIDATION_FAILED


def _facts() -> AuditFacts:
    return AuditFacts("qa-1", "h-provincial", "h-anping", "2026-12", SampleMode.WORST, 2, COORD, T0, GRADED[1:3])


def _refused(inp: OutcomeInput, recorded: frozenset[str] = frozenset()) -> ErrorCode:
    with pytest.raises(YilianError) as caught:
        check_outcome(_facts(), recorded, inp)
    return caught.value.code


def test_who_may_record_what() -> None:
    assert check_outcome(_facts(), frozenset(), OutcomeInput(COORD, "r2", "confirmed")) == (Verdict.CONFIRMED, None)
    verdict, regrade = check_outcome(
        _facts(), frozenset(), OutcomeInput(COORD, "r2", "regraded", "2", ["motion"], "ok")
    )
    assert verdict is Verdict.REGRADED and regrade is not None and regrade.grade == "2"

    other = Actor("coord.other", Role.COORDINATOR, "h-anping", "Other")
    expert = Actor("wang.expert", Role.EXPERT, "h-provincial", "Wang")
    assert _refused(OutcomeInput(other, "r2", "confirmed")) is ErrorCode.FORBIDDEN
    assert _refused(OutcomeInput(expert, "r2", "confirmed")) is ErrorCode.FORBIDDEN
    assert _refused(OutcomeInput(COORD, "r1", "confirmed")) is ErrorCode.VALIDATION_FAILED  # not sampled
    assert _refused(OutcomeInput(COORD, "r2", "confirmed"), frozenset({"r2"})) is ErrorCode.INVALID_TRANSITION
    assert _refused(OutcomeInput(COORD, "r2", "agreed")) is ErrorCode.VALIDATION_FAILED
    assert _refused(OutcomeInput(COORD, "r2", "regraded", "1", ["motion"], "same")) is ErrorCode.VALIDATION_FAILED
    assert _refused(OutcomeInput(COORD, "r2", "regraded", "2", [], "no reason")) is ErrorCode.VALIDATION_FAILED
    assert _refused(OutcomeInput(COORD, "r2", "regraded", "2", ["motion"], " ")) is ErrorCode.VALIDATION_FAILED
    assert _refused(OutcomeInput(COORD, "r3", "regraded", "B", ["motion"], "x")) is ErrorCode.VALIDATION_FAILED
