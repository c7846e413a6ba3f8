"""Fixity: the values the daily check's workflow and activity exchange (docs/storage.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

FIXITY_SCHEDULE_ID = "yilian-fixity-daily"


@dataclass(frozen=True)
class FixityInput:
    sample_size: int  # instances re-hashed per run, the least recently checked first


@dataclass(frozen=True)
class FixityRunInput:
    run_id: str
    sample_size: int


@dataclass(frozen=True)
class FixityOutcome:
    run_id: str
    checked: int
    failed: list[str] = field(default_factory=list)  # SOP Instance UIDs whose blob is missing or changed
