"""SlaClock arithmetic on a 24 h routine target: pausing in needs_info, milestones, status thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yilian.domain.sla import SlaClock, SlaStatus

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(hours=24)


def _clock() -> SlaClock:
    return SlaClock(target=DAY, started_at=T0)


def test_elapsed_runs_with_the_wall_clock() -> None:
    assert _clock().elapsed(T0) == timedelta(0)
    assert _clock().elapsed(T0 + 5 * H) == 5 * H


def test_paused_time_is_excluded() -> None:
    paused = _clock().pause(T0 + 2 * H)
    assert paused.paused_since == T0 + 2 * H
    assert paused.elapsed(T0 + 10 * H) == 2 * H  # frozen while paused
    resumed = paused.resume(T0 + 5 * H)
    assert (resumed.paused_total, resumed.paused_since) == (3 * H, None)
    assert resumed.elapsed(T0 + 7 * H) == 4 * H


def test_pause_twice_keeps_the_first_pause() -> None:
    paused = _clock().pause(T0 + 2 * H)
    assert paused.pause(T0 + 4 * H) == paused
    assert paused.pause(T0 + 4 * H).resume(T0 + 5 * H).paused_total == 3 * H


def test_resume_when_running_is_a_no_op() -> None:
    clock = _clock()
    assert clock.resume(T0 + H) == clock
    assert clock.resume(T0 + H).paused_total == timedelta(0)


def test_pauses_accumulate() -> None:
    clock = _clock().pause(T0 + H).resume(T0 + 2 * H).pause(T0 + 4 * H).resume(T0 + 7 * H)
    assert clock.paused_total == 4 * H
    assert clock.elapsed(T0 + 10 * H) == 6 * H


def test_remaining_until_fraction_and_extra() -> None:
    clock = _clock()
    now = T0 + 6 * H
    assert clock.remaining_until(1.0, now) == 18 * H
    assert clock.remaining_until(0.75, now) == 12 * H
    assert clock.remaining_until(1.0, now, extra=timedelta(minutes=30)) == timedelta(hours=18, minutes=30)
    assert clock.remaining_until(0.75, T0 + 18 * H) == timedelta(0)
    assert clock.remaining_until(1.0, T0 + 25 * H) == -H


def test_remaining_until_ignores_paused_time() -> None:
    clock = _clock().pause(T0 + 6 * H)
    assert clock.remaining_until(1.0, T0 + 20 * H) == 18 * H
    assert clock.resume(T0 + 8 * H).remaining_until(1.0, T0 + 10 * H) == 16 * H


def test_due_at() -> None:
    clock = _clock()
    assert clock.due_at() == T0 + DAY
    assert clock.due_at(0.75) == T0 + 18 * H
    paused = clock.pause(T0 + 3 * H)
    assert paused.due_at() is None
    assert paused.due_at(0.75) is None
    resumed = paused.resume(T0 + 5 * H)
    assert resumed.due_at() == T0 + DAY + 2 * H
    assert resumed.due_at(0.75) == T0 + 20 * H


@pytest.mark.parametrize(
    ("elapsed", "status"),
    [
        (timedelta(0), SlaStatus.ON_TRACK),
        (18 * H - timedelta(microseconds=1), SlaStatus.ON_TRACK),
        (18 * H, SlaStatus.AT_RISK),  # exactly 75 %
        (DAY - timedelta(microseconds=1), SlaStatus.AT_RISK),
        (DAY, SlaStatus.BREACHED),  # exactly 100 %
        (DAY + 5 * H, SlaStatus.BREACHED),
    ],
)
def test_status_thresholds(elapsed: timedelta, status: SlaStatus) -> None:
    assert _clock().status(T0 + elapsed) is status


def test_status_counts_only_running_time() -> None:
    clock = _clock().pause(T0 + 10 * H).resume(T0 + 20 * H)
    assert clock.status(T0 + 27 * H) is SlaStatus.ON_TRACK  # 17 h running
    assert clock.status(T0 + 28 * H) is SlaStatus.AT_RISK  # 18 h
    assert clock.status(T0 + 34 * H) is SlaStatus.BREACHED  # 24 h
