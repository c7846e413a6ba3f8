"""SLA arithmetic: a clock that runs from submission to the final report and can pause in needs_info."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

WARN_FRACTION = 0.75


class SlaStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"  # past 75 % of the target
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaClock:
    target: timedelta
    started_at: datetime
    paused_total: timedelta = timedelta(0)
    paused_since: datetime | None = None

    def elapsed(self, now: datetime) -> timedelta:
        running_until = self.paused_since or now
        return running_until - self.started_at - self.paused_total

    def pause(self, now: datetime) -> SlaClock:
        return self if self.paused_since else replace(self, paused_since=now)

    def resume(self, now: datetime) -> SlaClock:
        if self.paused_since is None:
            return self
        return replace(self, paused_total=self.paused_total + (now - self.paused_since), paused_since=None)

    def remaining_until(self, fraction: float, now: datetime, extra: timedelta = timedelta(0)) -> timedelta:
        """Time left until `fraction` of the target (plus `extra`) has elapsed; <= 0 when due."""
        return self.target * fraction + extra - self.elapsed(now)

    def due_at(self, fraction: float = 1.0) -> datetime | None:
        """Wall-clock moment of the milestone if the clock keeps running; None while paused."""
        if self.paused_since is not None:
            return None
        return self.started_at + self.paused_total + self.target * fraction

    def status(self, now: datetime) -> SlaStatus:
        elapsed = self.elapsed(now)
        if elapsed >= self.target:
            return SlaStatus.BREACHED
        if elapsed >= self.target * WARN_FRACTION:
            return SlaStatus.AT_RISK
        return SlaStatus.ON_TRACK
