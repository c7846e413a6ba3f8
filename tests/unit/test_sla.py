"""SlaClock arithmetic on a 24 h routine target: pausing in needs_info, milestones; the status a badge shows."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from yilian.domain.sla import SlaClock, SlaRecord, SlaStatus, sla_status

ROOT = Path(__file__).resolve().parents[2]

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
    assert sla_status(SlaRecord.of(_clock()), T0 + elapsed) is status


def test_status_counts_only_running_time() -> None:
    record = SlaRecord.of(_clock().pause(T0 + 10 * H).resume(T0 + 20 * H))
    assert sla_status(record, T0 + 27 * H) is SlaStatus.ON_TRACK  # 17 h running
    assert sla_status(record, T0 + 28 * H) is SlaStatus.AT_RISK  # 18 h
    assert sla_status(record, T0 + 34 * H) is SlaStatus.BREACHED  # 24 h


def test_a_paused_clock_shows_paused_however_late() -> None:
    record = SlaRecord.of(_clock().pause(T0 + 10 * H))
    assert record.due_at is None and sla_status(record, T0 + 10 * DAY) is SlaStatus.PAUSED


def test_the_workflows_declarations_count_before_the_milestone() -> None:
    """The workflow's timers are the source of truth: a warning or breach it declared stays shown."""
    record = SlaRecord.of(_clock())
    assert sla_status(replace(record, warned=True), T0) is SlaStatus.AT_RISK
    assert sla_status(replace(record, breached=True), T0) is SlaStatus.BREACHED
    assert sla_status(replace(record, paused=True, breached=True), T0) is SlaStatus.BREACHED


@pytest.mark.parametrize(
    ("reported", "breached", "status"),
    [
        (True, False, SlaStatus.MET),
        (True, True, SlaStatus.BREACHED),
        (False, False, SlaStatus.NOT_APPLICABLE),  # cancelled
    ],
)
def test_a_finished_case(reported: bool, breached: bool, status: SlaStatus) -> None:
    """Once finished the clock no longer runs: a late read of a case reported in time still shows met."""
    record = replace(SlaRecord.of(_clock(), open=False, reported=reported), breached=breached)
    assert sla_status(record, T0 + 10 * DAY) is status


def test_the_web_app_has_words_for_every_status() -> None:
    """The badge's text comes from the web app's i18n (en and zh-CN): a status it has no words for shows raw."""
    common = (ROOT / "web" / "src" / "i18n" / "common.ts").read_text()
    blocks = re.findall(r"\bsla: \{\n(.*?)\n\s*\},", common, re.DOTALL)
    assert len(blocks) == 2, "one sla block per language"
    for block in blocks:
        keys = {k.strip('"') for k in re.findall(r'^\s*([\w/"]+):', block, re.MULTILINE)}
        assert {s.value for s in SlaStatus} <= keys
