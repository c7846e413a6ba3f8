"""In-house reading (本院写片): a hospital's own radiologists read its own studies on the cloud, with no agreement.

A hospital that reads for itself (a tertiary hospital, or a strong county hospital) keeps one policy: which of its
own studies it reads in-house (by modality), who reads them (named readers, or every reader of the hospital), the
case terms agreements have (SLA targets, offers, second reading, needs-info pause, critical results) and whether
arriving studies become cases by themselves (`auto_read`, as under full hosting). An in-house case is a referral
whose requesting and reading hospital are the same; the policy is its terms' source instead of an agreement.

Precedence (docs/reading-service.md): an enabled policy wins for its modalities; a doctor who names another
reading hospital still refers the case out under an agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from yilian.domain.agreement import Agreement, AgreementTerms, CaseTerms, CoverCondition, ServiceMode, cover_conditions
from yilian.domain.alliance import HospitalLevel, Problem
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import READER_ROLES
from yilian.domain.routing import Reader

# The image modalities a policy may name (DICOM PS3.3 C.7.3.1.1.1 defined terms that are images to read; DR and
# DF are retired terms some modalities still send).
IMAGE_MODALITIES = frozenset(
    {"CR", "CT", "DF", "DR", "DX", "ES", "GM", "IO", "IVOCT", "IVUS", "MG", "MR", "NM", "OCT", "OP", "OPT", "PT",
     "PX", "RF", "RG", "SM", "TG", "US", "XA", "XC"}
)  # fmt: skip
CASE_TERM_NAMES = tuple(f.name for f in fields(CaseTerms))


@dataclass(frozen=True)
class InHousePolicy:
    hospital_id: str
    enabled: bool = True
    modalities: frozenset[str] = frozenset()
    reader_ids: tuple[str, ...] = ()  # empty: every reader of the hospital
    terms: CaseTerms = field(default_factory=CaseTerms)
    auto_read: bool = False  # arriving covered studies become cases by themselves (the auto-referral path)

    def covers(self, modality: str) -> bool:
        return self.enabled and modality in self.modalities

    def terms_json(self) -> dict[str, Any]:
        """The case terms in the agreements' JSON form (the same names and nesting), as the table stores them."""
        whole = AgreementTerms(**{name: getattr(self.terms, name) for name in CASE_TERM_NAMES}).as_json()
        return {name: whole[name] for name in CASE_TERM_NAMES}


def terms_from_json(data: Mapping[str, Any]) -> CaseTerms:
    """Lenient like an agreement's terms: a term the JSON lacks takes its default."""
    whole = AgreementTerms.from_json(data)
    return CaseTerms(**{name: getattr(whole, name) for name in CASE_TERM_NAMES})


def in_house_policy_id(hospital_id: str) -> str:
    """What an in-house case's terms snapshot names as its source (an agreement's id otherwise)."""
    return f"in-house/{hospital_id}"


def is_in_house(requesting_hospital_id: str, reading_hospital_id: str) -> bool:
    """No agreement joins a hospital to itself (domain.alliance), so a case read where it was sent is in-house."""
    return requesting_hospital_id == reading_hospital_id


def reads_modality(reader: Reader, modalities: Iterable[str]) -> bool:
    """A subspecialty of the reader covers one of the modalities ('*' covers any)."""
    wanted = set(modalities)
    return any(m == "*" or m in wanted for m, _ in reader.subspecialties)


def check_policy(policy: InHousePolicy, level: HospitalLevel, people: Mapping[str, Reader]) -> list[Problem]:
    """What is wrong with a policy for a hospital of `level` whose people (user id -> person, of that hospital
    only) are `people`: township hospitals have no readers of their own; at least one image modality; every named
    reader an active expert or senior of the hospital whose subspecialties cover one of the modalities."""
    problems: list[Problem] = []
    if level is HospitalLevel.TOWNSHIP:
        problems.append(("path.hospital_id", "a township hospital has no readers of its own to read in-house"))
    if not policy.modalities:
        problems.append(("modalities", "name at least one modality the hospital reads in-house"))
    unknown = sorted(policy.modalities - IMAGE_MODALITIES)
    if unknown:
        problems.append(("modalities", f"not an image modality to read: {', '.join(unknown)}"))
    for i, uid in enumerate(policy.reader_ids):
        person = people.get(uid)
        if person is None or person.role not in READER_ROLES or not person.active:
            problems.append((f"reader_ids.{i}", f"{uid} is not an active expert or senior of this hospital"))
        elif policy.modalities and not reads_modality(person, policy.modalities):
            problems.append((f"reader_ids.{i}", f"{uid} reads none of {', '.join(sorted(policy.modalities))}"))
    if len(set(policy.reader_ids)) != len(policy.reader_ids):
        problems.append(("reader_ids", "a reader is named twice"))
    return problems


def routed_readers(people: Iterable[Reader], policy: InHousePolicy | None) -> list[Reader]:
    """Whom routing may offer an in-house case: the named readers, or everyone when none are named (or the policy
    is gone: the case was accepted under it, so it is still read). `may_read` still decides each of them."""
    if policy is None or not policy.reader_ids:
        return list(people)
    named = set(policy.reader_ids)
    return [p for p in people if p.user_id in named]


def reads_in_house(
    policy: InHousePolicy | None, hospital_id: str, modality: str, named: str | None, *, overflow: bool = False
) -> bool:
    """Whether a case the hospital's doctor sends is read in-house (True) or goes out under an agreement (False).

    The policy wins for its modalities unless the doctor refers the case out: names another reading hospital, or
    declares overflow (half hosting: "our own readers are overloaded", which is what in-house reading would need).
    Naming their own hospital for a modality the policy does not cover is refused (nobody reads it there)."""
    if named not in (None, hospital_id) or (overflow and named is None):
        return False
    if policy is not None and policy.covers(modality):
        return True
    if named == hospital_id:
        if policy is None:
            reason = "this hospital has no in-house reading policy"
        elif not policy.enabled:
            reason = "this hospital's in-house reading is switched off"
        else:
            reason = f"this hospital does not read {modality} in-house"
        raise YilianError(ErrorCode.NOT_COVERED_BY_AGREEMENT, reason, {"in_house": True, "modality": modality})
    return False


@dataclass(frozen=True)
class ReadingChoice:
    """A hospital the doctor may name as the reading hospital of a case of one modality (`reading_hospital_id`)."""

    hospital_id: str
    in_house: bool  # the sender's own hospital, under its in-house policy
    agreement_ids: tuple[str, ...] = ()  # the agreements with that hospital that may cover the case
    service_modes: tuple[ServiceMode, ...] = ()
    when: tuple[CoverCondition, ...] = (CoverCondition.ALWAYS,)


def reading_choices(
    hospital_id: str, policy: InHousePolicy | None, agreements: Iterable[Agreement], modality: str
) -> list[ReadingChoice]:
    """Where a doctor of `hospital_id` may send a case of `modality`: their own hospital first when its enabled
    policy covers the modality, then each reading hospital of the hospital's agreements that may cover it (in
    agreement order), with the conditions under which one of them does (`reads_in_house`, `coverage`)."""
    choices: list[ReadingChoice] = []
    if policy is not None and policy.covers(modality):
        choices.append(ReadingChoice(hospital_id, in_house=True))
    by_reader: dict[str, list[tuple[Agreement, tuple[CoverCondition, ...]]]] = {}
    for a in agreements:
        when = cover_conditions(a, modality) if a.requesting_hospital_id == hospital_id else ()
        if when:
            by_reader.setdefault(a.reading_hospital_id, []).append((a, when))
    for reader, covering in by_reader.items():
        when = tuple(dict.fromkeys(c for _, conditions in covering for c in conditions))
        always = (CoverCondition.ALWAYS,) if CoverCondition.ALWAYS in when else when
        choices.append(
            ReadingChoice(
                reader,
                in_house=False,
                agreement_ids=tuple(a.id for a, _ in covering),
                service_modes=tuple(dict.fromkeys(a.service_mode for a, _ in covering)),
                when=always,
            )
        )
    return choices
