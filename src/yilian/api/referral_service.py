"""What the referral routes do beyond one query: submission (the agreement, the patient, the workflow started) and
the reader a coordinator names. The rules are the domain's (domain.routing); this module fetches what they decide on.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.api.workflow_client import ReferralCommands
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import in_house as in_house_queries
from yilian.db.queries import reader as reader_queries
from yilian.domain.agreement import Agreement, CoverageRequest, Priority
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.in_house import reads_in_house
from yilian.domain.referral_io import ActionResult, CaseFacts, ReferralInput, ReferralPolicy
from yilian.domain.roles import Actor
from yilian.domain.routing import (
    Reader,
    agreement_candidates,
    choose_agreement,
    overflow_day_start,
    reassign_target,
    require_agreement,
)


@dataclass(frozen=True)
class PatientDetails:
    patient_id: str
    issuer: str | None  # None: the sending hospital's own issuer
    name: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class Submission:
    patient: PatientDetails
    study_instance_uid: str
    modality: str
    body_part: str
    clinical_question: str
    priority: Priority
    difficult: bool
    overflow: bool  # half hosting: the county's own readers are overloaded
    reading_hospital_id: str | None  # None: whichever agreement covers the case


async def covering_agreement(conn: AsyncConnection, hospital_id: str, s: Submission, now: datetime) -> Agreement:
    """The sending hospital's agreement that covers the case, or the refusal with every agreement's reason."""
    candidates = agreement_candidates(await alliance.agreements_for(conn, hospital_id), s.reading_hospital_id)
    used = (
        {a.id: await alliance.overflow_used(conn, hospital_id, overflow_day_start(a, now)) for a in candidates}
        if s.overflow
        else {}
    )
    request = CoverageRequest(s.modality, s.body_part, s.priority, s.difficult, now, s.overflow)
    return require_agreement(choose_agreement(candidates, request, used))


async def case_terms(
    conn: AsyncConnection, hospital_id: str, s: Submission, now: datetime, *, share_link_days: int
) -> tuple[str, ReferralPolicy]:
    """Where the case is read and the terms it follows: in-house under the hospital's policy when that covers it
    (domain.in_house.reads_in_house), or at the reading hospital of the agreement that covers it."""
    policy = await in_house_queries.policy_of(conn, hospital_id)
    if reads_in_house(policy, hospital_id, s.modality, s.reading_hospital_id, overflow=s.overflow) and policy:
        return hospital_id, ReferralPolicy.from_in_house(policy, share_link_days=share_link_days)
    agreement = await covering_agreement(conn, hospital_id, s, now)
    return agreement.reading_hospital_id, ReferralPolicy.from_agreement(agreement, share_link_days=share_link_days)


async def patient_ref(conn: AsyncConnection, hospital_id: str, p: PatientDetails, now: datetime) -> str:
    """The registered patient (matched by Patient ID + issuer, never by name), added if new."""
    issuer = p.issuer or await alliance.patient_id_issuer(conn, hospital_id)
    existing = await alliance.find_patient(conn, hospital_id, issuer, p.patient_id)
    if existing and (existing["birth_date"] != p.birth_date or existing["sex"] != p.sex):
        raise YilianError(
            ErrorCode.PATIENT_IDENTITY_MISMATCH,
            "a patient with this Patient ID is registered with a different birth date or sex",
            {"patient_id": p.patient_id, "issuer": issuer},
        )
    return await alliance.register_patient(
        conn,
        hospital_id=hospital_id,
        issuer=issuer,
        patient_id=p.patient_id,
        name=p.name,
        birth_date=p.birth_date,
        sex=p.sex,
        now=now,
    )


async def submit(
    engine: AsyncEngine,
    commands: ReferralCommands,
    actor: Actor,
    s: Submission,
    now: datetime,
    *,
    share_link_days: int,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Start the referral of a county doctor's case; the recorded submission (its id, and the projection row it
    wrote). Refused when no agreement covers it. With an idempotency key the id is derived from it, so a client
    that retries after a lost answer (a proxy's 502, a dropped connection) gets the same case, not a second one."""
    hospital_id = actor.hospital_id or ""
    async with engine.begin() as conn:
        reading_hospital_id, policy = await case_terms(conn, hospital_id, s, now, share_link_days=share_link_days)
        patient = await patient_ref(conn, hospital_id, s.patient, now)
    referral_id = keyed_referral_id(hospital_id, idempotency_key) if idempotency_key else random_referral_id(now)
    facts = CaseFacts(
        referral_id=referral_id,
        requesting_hospital_id=hospital_id,
        reading_hospital_id=reading_hospital_id,
        patient_ref=patient,
        study_instance_uid=s.study_instance_uid,
        modality=s.modality,
        body_part=s.body_part,
        clinical_question=s.clinical_question,
        priority=s.priority,
        difficult=s.difficult,
        submitted_by=actor,
        overflow=s.overflow,
    )
    return await commands.start(ReferralInput(facts, policy), existing_ok=idempotency_key is not None)


def random_referral_id(now: datetime) -> str:
    return f"ref-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"


def keyed_referral_id(hospital_id: str, idempotency_key: str) -> str:
    """The same hospital and key give the same id on any day and any API process; another hospital's key never
    collides with it."""
    digest = hashlib.sha256(f"{hospital_id}\0{idempotency_key}".encode()).hexdigest()
    return f"ref-k-{digest[:20]}"


async def named_reader(
    engine: AsyncEngine, expert_id: str, reading_hospital_id: str, requesting_hospital_id: str
) -> Reader:
    """The reader a coordinator hands a case to, refused unless `domain.routing.may_read` lets them read it."""
    async with reading(engine) as conn:
        reader = await reader_queries.person(conn, expert_id)
    return reassign_target(expert_id, reader, reading_hospital_id, requesting_hospital_id)
