"""Password guessing: how many failed sign-ins an account or an address may have before it waits, and how long.

Each failure past the free ones doubles the wait, up to a ceiling; a quiet hour forgets the failures. A right
password during a wait is refused like a wrong one (it is not even checked), so guessing gains nothing from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Subject(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class Throttle:
    free_failures: int  # failures allowed before the first wait
    first_wait: timedelta
    longest_wait: timedelta


# An address may be a hospital's NAT, where many people mistype: it gets more free failures than one account.
THROTTLES = {
    Subject.ACCOUNT: Throttle(5, timedelta(seconds=30), timedelta(minutes=15)),
    Subject.ADDRESS: Throttle(20, timedelta(seconds=30), timedelta(minutes=15)),
}
FORGET_AFTER = timedelta(hours=1)


def key(subject: Subject, value: str) -> str:
    return f"{subject.value}:{value.lower()[:180]}"


def failures_so_far(failures: int, last_failure_at: datetime | None, now: datetime) -> int:
    """The failures that still count: none once a quiet FORGET_AFTER has passed."""
    if last_failure_at is None or now - last_failure_at >= FORGET_AFTER:
        return 0
    return failures


def wait_after(subject: Subject, failures: int) -> timedelta | None:
    """How long the subject waits after its `failures`-th failure in a row (None: no wait yet)."""
    rule = THROTTLES[subject]
    over = failures - rule.free_failures
    if over < 0:
        return None
    return min(rule.first_wait * (1 << min(over, 20)), rule.longest_wait)
