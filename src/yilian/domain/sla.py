"""SLA arithmetic: a clock that runs from submission to the final report and can pause in needs_info."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

WARN_FRACTION = 0.75


class SlaStatus(StrEnum):
    """What a referral's SLA badge shows; the values are the wire strings the web app renders."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"  # past 75 % of the target
    BREACHED = "breached"
    PAUSED = "paused"  # in needs_info under an agreement that stops the clock there
    MET = "met"  # the final report came in time
    NOT_APPLICABLE = "n/a"  # finished without a final report (cancelled)


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


@dataclass(frozen=True)
class SlaRecord:
    """The clock as a referral's projection records it: its milestones and what the workflow has declared."""

    open: bool  # still being worked on (not final, returned, closed or cancelled)
    reported: bool  # a final report was signed
    paused: bool
    warned: bool  # the workflow's 75 % timer fired
    breached: bool  # the workflow's 100 % timer fired
    warn_at: datetime | None  # SlaClock.due_at(WARN_FRACTION); None while paused
    due_at: datetime | None  # SlaClock.due_at(); None while paused

    @classmethod
    def of(cls, clock: SlaClock, *, open: bool = True, reported: bool = False) -> SlaRecord:
        """What the workflow writes for `clock` before any of its timers fired."""
        paused = clock.paused_since is not None
        return cls(open, reported, paused, False, False, clock.due_at(WARN_FRACTION), clock.due_at())


def sla_status(record: SlaRecord, now: datetime) -> SlaStatus:
    """The badge at `now`. A milestone counts once reached, even before the workflow's timer has fired."""
    if record.breached:
        return SlaStatus.BREACHED
    if not record.open:
        return SlaStatus.MET if record.reported else SlaStatus.NOT_APPLICABLE
    if record.paused:
        return SlaStatus.PAUSED
    if record.due_at is not None and now >= record.due_at:
        return SlaStatus.BREACHED
    if record.warned or (record.warn_at is not None and now >= record.warn_at):
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK
