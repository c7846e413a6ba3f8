"""Choosing the reader: subspecialty, licence for the sending hospital, duty, load, continuity."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpertCandidate:
    user_id: str
    name: str
    on_duty: bool
    licensed: bool  # registered to read for the requesting hospital (多机构执业备案)
    subspecialty_match: bool  # reads this modality / body part
    open_load: int  # cases currently offered to or held by this reader
    read_patient_before: bool  # read one of this patient's previous cases
    specificity: int = 0  # 2: exact modality and body part, 1: modality only, 0: a generalist ('*')
    is_senior: bool = False  # seniors are kept for second reading unless no one else can read
    is_junior: bool = False


def eligible(candidate: ExpertCandidate) -> bool:
    return candidate.on_duty and candidate.licensed and candidate.subspecialty_match


def rank_candidates(candidates: list[ExpertCandidate], exclude: frozenset[str] = frozenset()) -> list[ExpertCandidate]:
    """Eligible readers, best first: same patient same reader, experts before seniors, subspecialists
    before generalists, then the lightest load.

    Readers who already declined or let the offer lapse are excluded by the caller's `exclude`.
    """
    pool = [c for c in candidates if eligible(c) and c.user_id not in exclude]
    return sorted(pool, key=lambda c: (not c.read_patient_before, c.is_senior, -c.specificity, c.open_load, c.user_id))
