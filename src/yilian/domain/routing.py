"""Where a case goes: the agreement that covers it, then the reader (licence, duty, subspecialty, load, continuity).

Submission chooses the agreement here; routing, the coordinator's reassignment and the directory's list of a
case's readers all ask `may_read` who may read a case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from yilian.domain.agreement import Agreement, CoverageRequest, ServiceMode, coverage
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import READER_ROLES, Role


# ---- the agreement ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why one of the sending hospital's agreements does not cover the case (shown to the county doctor)."""

    agreement_id: str
    service_mode: ServiceMode
    reason: str


@dataclass(frozen=True)
class AgreementChoice:
    chosen: Agreement | None
    refusals: tuple[Refusal, ...]


def agreement_candidates(agreements: Iterable[Agreement], reading_hospital_id: str | None) -> list[Agreement]:
    """The sending hospital's agreements in order; only those with the reading hospital the doctor named, if any."""
    return [a for a in agreements if reading_hospital_id in (None, a.reading_hospital_id)]


def overflow_day_start(a: Agreement, now: datetime) -> datetime:
    """Start of the agreement's local day: its overflow cap counts the cases declared since then."""
    local = now.astimezone(ZoneInfo(a.terms.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def choose_agreement(
    candidates: Sequence[Agreement], request: CoverageRequest, overflow_used: Mapping[str, int]
) -> AgreementChoice:
    """The first candidate that covers the case, with the reasons of those before it that did not.

    `overflow_used`: per agreement id, the overflow cases already sent today (only read for declared overflow).
    """
    refusals: list[Refusal] = []
    for a in candidates:
        cov = coverage(a, replace(request, overflow_used_today=overflow_used.get(a.id, 0)))
        if cov.covered:
            return AgreementChoice(a, tuple(refusals))
        refusals.append(Refusal(a.id, a.service_mode, cov.reason))
    return AgreementChoice(None, tuple(refusals))


def require_agreement(choice: AgreementChoice) -> Agreement:
    """The chosen agreement, or the refusal the county doctor sees: the first reason, and every agreement's."""
    if choice.chosen is not None:
        return choice.chosen
    message = choice.refusals[0].reason if choice.refusals else "this hospital has no service agreement"
    details = [{"agreement_id": r.agreement_id, "service_mode": str(r.service_mode), "reason": r.reason}
               for r in choice.refusals]  # fmt: skip
    raise YilianError(ErrorCode.NOT_COVERED_BY_AGREEMENT, message, {"agreements": details})


# ---- the reader -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reader:
    """A person of a hospital as routing and reassignment see them."""

    user_id: str
    name: str
    role: Role
    hospital_id: str | None
    active: bool
    on_duty: bool
    is_junior: bool
    licensed_for: frozenset[str]  # hospitals they are registered to read for (多机构执业备案)
    subspecialties: tuple[tuple[str, str], ...] = ()  # (modality, body part), '*' for any, in a stable order
    title: str = ""
    open_load: int = 0  # cases currently offered to or held by this reader


def may_read(reader: Reader, reading_hospital_id: str, requesting_hospital_id: str) -> bool:
    """Who may read a case at all: an active expert or senior of the reading hospital, licensed for the sender
    (多机构执业备案), or, for an in-house case (sent and read by one hospital), a reader of that hospital: reading for
    one's own hospital needs no registration elsewhere.

    Routing offers only to those of them on duty with the subspecialty; a coordinator may hand the case to any.
    """
    return (
        reader.active
        and reader.role in READER_ROLES
        and reader.hospital_id == reading_hospital_id
        and (requesting_hospital_id in reader.licensed_for or requesting_hospital_id == reading_hospital_id)
    )


def reassign_target(
    expert_id: str, reader: Reader | None, reading_hospital_id: str, requesting_hospital_id: str
) -> Reader:
    """The reader a coordinator names for a case (`reader`: who `expert_id` is, if anyone), refused unless they
    may read it."""
    if reader is None or not may_read(reader, reading_hospital_id, requesting_hospital_id):
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            "that expert is not a reader of the reading hospital licensed for the sending hospital",
            {"expert_id": expert_id},
        )
    return reader


@dataclass(frozen=True)
class ExpertCandidate:
    user_id: str
    name: str
    on_duty: bool
    licensed: bool  # may read the case (`may_read`: active reader of the reading hospital, licensed for the sender)
    subspecialty_match: bool  # reads this modality / body part
    open_load: int  # cases currently offered to or held by this reader
    read_patient_before: bool  # read one of this patient's previous cases
    specificity: int = 0  # 2: exact modality and body part, 1: modality only, 0: a generalist ('*')
    is_senior: bool = False  # seniors are kept for second reading unless no one else can read
    is_junior: bool = False


@dataclass(frozen=True)
class CaseToRoute:
    reading_hospital_id: str
    requesting_hospital_id: str
    modality: str
    body_part: str


def subspecialty_fit(reader: Reader, modality: str, body_part: str) -> tuple[bool, int]:
    """Whether one of the reader's subspecialties covers the case, and how specific their subspecialties are
    for its modality (2: the exact pair, 1: the modality, 0: neither; over all their subspecialties)."""
    match = any(m in (modality, "*") and b in (body_part, "*") for m, b in reader.subspecialties)
    specificity = max(
        (2 if (m, b) == (modality, body_part) else 1 if m == modality else 0 for m, b in reader.subspecialties),
        default=0,
    )
    return match, specificity


def candidate(reader: Reader, case: CaseToRoute, *, read_patient_before: bool) -> ExpertCandidate:
    match, specificity = subspecialty_fit(reader, case.modality, case.body_part)
    return ExpertCandidate(
        user_id=reader.user_id,
        name=reader.name,
        on_duty=reader.on_duty,
        licensed=may_read(reader, case.reading_hospital_id, case.requesting_hospital_id),
        subspecialty_match=match,
        open_load=reader.open_load,
        read_patient_before=read_patient_before,
        specificity=specificity,
        is_senior=reader.role is Role.SENIOR,
        is_junior=reader.is_junior,
    )


def eligible(candidate: ExpertCandidate) -> bool:
    return candidate.on_duty and candidate.licensed and candidate.subspecialty_match


def rank_candidates(candidates: list[ExpertCandidate], exclude: frozenset[str] = frozenset()) -> list[ExpertCandidate]:
    """Eligible readers, best first: same patient same reader, experts before seniors, subspecialists
    before generalists, then the lightest load.

    Readers who already declined or let the offer lapse are excluded by the caller's `exclude`.
    """
    pool = [c for c in candidates if eligible(c) and c.user_id not in exclude]
    return sorted(pool, key=lambda c: (not c.read_patient_before, c.is_senior, -c.specificity, c.open_load, c.user_id))


def route(
    readers: Iterable[Reader], case: CaseToRoute, *, read_patient_before: frozenset[str], exclude: frozenset[str]
) -> list[ExpertCandidate]:
    """The readers to offer the case to, best first."""
    pool = [candidate(r, case, read_patient_before=r.user_id in read_patient_before) for r in readers]
    return rank_candidates(pool, exclude)
