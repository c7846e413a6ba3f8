"""The alliance's members and the rules an administrator's changes must keep: which hospital may take which side
of an agreement, and what a person's account may hold.

Each check takes the facts it needs (hospital levels, the agreements a hospital is party to) and raises one
`validation_failed` error listing every problem as (field, problem); routes gather the facts and call it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import READER_ROLES, Role

Problem = tuple[str, str]  # (the body's field, what is wrong with it)


class HospitalLevel(StrEnum):
    TERTIARY = "tertiary"  # 三甲: where the experts read
    COUNTY = "county"
    TOWNSHIP = "township"


class AgreementSide(StrEnum):
    REQUESTING = "requesting"
    READING = "reading"  # reads for others under a hosting or difficult-only agreement: a tertiary hospital's part
    COOPERATION_READING = "cooperation_reading"  # reads for others under cooperation: a strong county may too


def refuse(problems: list[Problem]) -> None:
    """Raise the one validation error for all `problems` (first one as the message); nothing when there are none.
    A field is in the request body unless it names its place (`path.hospital_id`)."""
    if problems:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            problems[0][1],
            [{"field": _located(field), "problem": problem} for field, problem in problems],
        )


def _located(field: str) -> str:
    return field if field.startswith(("path.", "query.")) else f"body.{field}"


def check_agreement_parties(
    requesting_hospital_id: str,
    reading_hospital_id: str,
    levels: Mapping[str, str],
    *,
    service_mode: str = "",
    term_problems: list[Problem] | None = None,
) -> None:
    """A county or township hospital sends, a tertiary one reads, and never to itself (`levels`: id -> level of
    the hospitals that exist); under `cooperation` a county hospital may read too (a strong hospital that is not
    tertiary reads named subspecialties for others). `term_problems` are the terms' own, reported with these."""
    problems = list(term_problems or [])
    if requesting_hospital_id == reading_hospital_id:
        problems.append(("reading_hospital_id", "a hospital cannot have an agreement with itself"))
    requesting, reading = levels.get(requesting_hospital_id), levels.get(reading_hospital_id)
    if requesting is None:
        problems.append(("requesting_hospital_id", f"no hospital {requesting_hospital_id}"))
    elif requesting == HospitalLevel.TERTIARY:
        problems.append(("requesting_hospital_id", "the requesting hospital must be a county or township hospital"))
    if reading is None:
        problems.append(("reading_hospital_id", f"no hospital {reading_hospital_id}"))
    elif service_mode == "cooperation" and reading == HospitalLevel.TOWNSHIP:
        problems.append(("reading_hospital_id", "under cooperation the reading hospital must be county or tertiary"))
    elif service_mode != "cooperation" and reading != HospitalLevel.TERTIARY:
        problems.append(
            ("reading_hospital_id", "the reading hospital must be a tertiary hospital (or read under cooperation)")
        )
    refuse(problems)


def check_parties_unchanged(before: tuple[str, str], after: tuple[str, str]) -> None:
    """An agreement's (requesting, reading) parties never change: a new pair is a new agreement."""
    refuse(
        [
            (side, "the parties of an agreement do not change: make a new agreement instead")
            for side, old, new in zip(("requesting_hospital_id", "reading_hospital_id"), before, after, strict=True)
            if old != new
        ]
    )


def check_level(level: HospitalLevel, sides: Collection[AgreementSide], *, reads_in_house: bool = False) -> None:
    """A level change must leave every agreement of the hospital (`sides` it takes in them) valid, and its in-house
    reading policy if it has one (domain/in_house.py: a township hospital has no readers of its own)."""
    if reads_in_house and level is HospitalLevel.TOWNSHIP:
        refuse([("level", "this hospital reads its own studies in-house: it must stay county or tertiary")])
    if AgreementSide.READING in sides and level is not HospitalLevel.TERTIARY:
        refuse([("level", "this hospital reads for others under an agreement: it must stay tertiary")])
    if AgreementSide.COOPERATION_READING in sides and level is HospitalLevel.TOWNSHIP:
        refuse([("level", "this hospital reads for others under cooperation: it must stay county or tertiary")])
    if AgreementSide.REQUESTING in sides and level is HospitalLevel.TERTIARY:
        refuse([("level", "this hospital sends cases under an agreement: it cannot be tertiary")])


@dataclass(frozen=True)
class Account:
    """A person's account as an administrator writes it."""

    user_id: str
    role: Role
    hospital_id: str | None
    licensed_for: Collection[str]
    has_subspecialties: bool
    active: bool


def check_account(account: Account, known_hospitals: Collection[str], *, acting_admin: str) -> None:
    """Every role but admin belongs to a hospital that exists; only readers hold licences and subspecialties,
    for hospitals that exist; the acting admin stays an active admin, so the alliance always keeps one."""
    problems: list[Problem] = []
    if account.role is not Role.ADMIN and account.hospital_id is None:
        problems.append(("hospital_id", "every role but admin belongs to a hospital"))
    if account.role not in READER_ROLES:
        if account.licensed_for:
            problems.append(("licensed_for", "only experts and seniors hold reading licences"))
        if account.has_subspecialties:
            problems.append(("subspecialties", "only experts and seniors have subspecialties"))
    if account.hospital_id is not None and account.hospital_id not in known_hospitals:
        problems.append(("hospital_id", f"no hospital {account.hospital_id}"))
    unknown = sorted(set(account.licensed_for) - set(known_hospitals))
    if unknown:
        problems.append(("licensed_for", f"no hospital {', '.join(unknown)}"))
    if account.user_id == acting_admin and account.role is not Role.ADMIN:
        problems.append(("role", "you cannot take the admin role from yourself"))
    if account.user_id == acting_admin and not account.active:
        problems.append(("active", "you cannot deactivate yourself"))
    refuse(problems)
