"""The directory a signed-in person's screens need: hospital names, their agreements' coverage, a case's readers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from yilian.api.deps import CurrentPrincipal, Engine, require_role
from yilian.api.models.agreement import AgreementTerms
from yilian.api.models.consult import Person
from yilian.api.models.directory import (
    AgreementSummary,
    Hospital,
    Reader,
    ReadingChoice,
    ReadingChoices,
    Subspecialty,
)
from yilian.api.referral_view import visible_referral
from yilian.api.schemas import Page
from yilian.db.engine import reading
from yilian.db.queries import alliance as alliance_queries
from yilian.db.queries import consult as consult_queries
from yilian.db.queries import directory as queries
from yilian.db.queries import in_house as in_house_queries
from yilian.db.queries import reader as reader_queries
from yilian.db.queries.alliance import agreement_from_row
from yilian.domain.access import Principal
from yilian.domain.agreement import Agreement, SecondReadingPolicy, ServiceMode
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.in_house import reading_choices
from yilian.domain.roles import Role

router = APIRouter(prefix="/api", tags=["directory"])
STAFF = (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR, Role.ADMIN)


async def agreement_party(principal: Annotated[Principal, Depends(require_role(*STAFF))]) -> str | None:
    """Whose agreements the caller sees: their hospital's (either side), or every one for an admin (None)."""
    if principal.role is Role.ADMIN:
        return None
    return principal.hospital_id or ""


def covers(a: Agreement) -> str:
    """What the agreement sends out, in words for the county doctor's form."""
    mode = a.service_mode
    if mode is ServiceMode.FULL_HOSTING:
        return "every study"
    if mode is ServiceMode.DIFFICULT_ONLY:
        return "only cases flagged difficult"
    if mode is ServiceMode.COOPERATION:
        mods = sorted(a.terms.cooperation_modalities)
        return f"{', '.join(mods)} studies" if mods else "studies of every modality"
    rules = a.terms.half_hosting
    parts = []
    if rules and rules.modalities:
        parts.append(f"{', '.join(sorted(rules.modalities))} studies")
    if rules and rules.hours_start is not None and rules.hours_end is not None:
        parts.append(f"any study sent {rules.hours_start:%H:%M}-{rules.hours_end:%H:%M} ({a.terms.timezone})")
    if rules and rules.overflow_daily_cap:
        parts.append(f"declared overflow, up to {rules.overflow_daily_cap} cases a day")
    return "; ".join(parts) or "nothing"


def _second_reading(a: Agreement) -> str:
    policy = a.terms.second_reading
    if policy is SecondReadingPolicy.RANDOM_SHARE:
        return f"a random {a.terms.second_reading_share:.0%} of cases"
    return {
        SecondReadingPolicy.ALWAYS: "every case",
        SecondReadingPolicy.DIFFICULT: "cases flagged difficult",
        SecondReadingPolicy.JUNIOR_READERS: "reports by junior readers",
        SecondReadingPolicy.NEVER: "none",
    }[policy]


def agreement_summary(row: dict[str, Any]) -> AgreementSummary:
    """What a party to the agreement sees: its terms, both parties' names, and the coverage in words."""
    a = agreement_from_row(row)
    return AgreementSummary(
        **AgreementTerms.of(a.terms).model_dump(),
        id=a.id,
        requesting_hospital_id=a.requesting_hospital_id,
        requesting_hospital_name=row["requesting_hospital_name"],
        reading_hospital_id=a.reading_hospital_id,
        reading_hospital_name=row["reading_hospital_name"],
        service_mode=a.service_mode,
        active=a.active,
        covers=covers(a),
        second_reading_covers=_second_reading(a),
    )


@router.get("/hospitals")
async def list_hospitals(engine: Engine, principal: CurrentPrincipal) -> Page[Hospital]:
    """Every hospital of the alliance (id, name, level)."""
    async with reading(engine) as conn:
        rows = await queries.hospital_names(conn)
    return Page[Hospital].of([Hospital.model_validate(r) for r in rows])


@router.get("/agreements")
async def list_agreements(
    engine: Engine, party: Annotated[str | None, Depends(agreement_party)]
) -> Page[AgreementSummary]:
    """The agreements the caller's hospital is a party to (an admin: all), with what each covers."""
    async with reading(engine) as conn:
        rows = await queries.agreement_rows(conn, party)
    return Page[AgreementSummary].of([agreement_summary(r) for r in rows])


async def sender_of(
    hospital_id: str, principal: Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR, Role.ADMIN))]
) -> Principal:
    """A county doctor of the hospital, or an admin (refused before the query is looked at)."""
    if principal.role is not Role.ADMIN and principal.hospital_id != hospital_id:
        raise YilianError(
            ErrorCode.FORBIDDEN, "you may see only your own hospital's reading choices", {"hospital_id": hospital_id}
        )
    return principal


@router.get("/hospitals/{hospital_id}/reading-choices")
async def get_reading_choices(
    hospital_id: str,
    engine: Engine,
    principal: Annotated[Principal, Depends(sender_of)],
    modality: Annotated[str, Query(pattern=r"^[A-Za-z]{2,16}$", description="the case's modality code, e.g. DX")],
) -> ReadingChoices:
    """The hospitals a doctor of this hospital may name as the reading hospital of a case of `modality`
    (`reading_hospital_id` of POST /api/referrals): its own when its in-house policy covers the modality, and the
    reading hospital of each of its agreements that may cover it, with when it does. A county doctor sees only their
    own hospital's; an admin any hospital's."""
    modality = modality.upper()
    async with reading(engine) as conn:
        names = {r["id"]: r["name"] for r in await queries.hospital_names(conn)}
        if hospital_id not in names:
            raise YilianError(ErrorCode.NOT_FOUND, f"no hospital {hospital_id}")
        policy = await in_house_queries.policy_of(conn, hospital_id)
        agreements = await alliance_queries.agreements_for(conn, hospital_id)
    choices = reading_choices(hospital_id, policy, agreements, modality)
    return ReadingChoices(
        hospital_id=hospital_id,
        modality=modality,
        automatic_in_house=any(c.in_house for c in choices),
        choices=[
            ReadingChoice(
                hospital_id=c.hospital_id,
                hospital_name=names.get(c.hospital_id, c.hospital_id),
                in_house=c.in_house,
                agreement_ids=list(c.agreement_ids),
                service_modes=list(c.service_modes),
                when=list(c.when),
            )
            for c in choices
        ],
    )


@router.get("/readers")
async def list_readers(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.COORDINATOR))],
    referral_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Page[Reader]:
    """Who could read this case (domain.routing.may_read): active experts and seniors of its reading hospital
    licensed for its sender, on duty or not."""
    row = await visible_referral(engine, principal, referral_id)
    async with reading(engine) as conn:
        readers = await reader_queries.readers_of(conn, row["reading_hospital_id"], row["requesting_hospital_id"])
    return Page[Reader].of(
        [
            Reader(
                id=r.user_id,
                display_name=r.name,
                role=r.role,
                title=r.title,
                is_junior=r.is_junior,
                on_duty=r.on_duty,
                subspecialties=[Subspecialty(modality=m, body_part=b) for m, b in r.subspecialties],
                open_cases=r.open_load,
            )
            for r in readers
        ]
    )


INVITABLE = (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR)


@router.get("/people")
async def list_people(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(*STAFF))],
    role: Annotated[list[Role] | None, Query()] = None,
    specialty: Annotated[str | None, Query(max_length=64)] = None,
    hospital_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[Person]:
    """Active people of every alliance hospital by role and specialty: whom a consult may invite."""
    roles = [str(r) for r in (role or INVITABLE) if r in INVITABLE]
    async with reading(engine) as conn:
        rows = await consult_queries.people(
            conn, roles=roles, specialty=specialty, hospital_id=hospital_id, limit=limit, offset=offset
        )
    return Page[Person].of([Person.model_validate(r) for r in rows], limit=limit, offset=offset)
