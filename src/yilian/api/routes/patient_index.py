"""The regional patient index: a hospital enrols its records; the alliance's coordinators decide the uncertain
matches, and link or unlink records (every change audited, each undone by another)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from yilian.api import cloud_film_service as film_service
from yilian.api import patient_index_service as service
from yilian.api import patient_sign_in_service as sign_in
from yilian.api.deps import AppSettings, Engine, require_role
from yilian.api.models.cloud_film import FilmConsent, FilmReport, FilmStudy
from yilian.api.models.patient_index import (
    Enrolment,
    HospitalRecord,
    IndexedRecord,
    IndexEvent,
    LinkReview,
    RegionalPatient,
)
from yilian.api.models.patient_sign_in import CodeRequested
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import patient_index as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.patient_index import ENROLLERS, KEEPERS, ReviewState
from yilian.domain.patient_sign_in import CODE_TTL, RESEND_AFTER
from yilian.domain.roles import Role
from yilian.notify.sms import sms_sender

router = APIRouter(prefix="/api/patient-index", tags=["patient index"])
# A hospital's doctors and coordinators: consent at the desk, and their patients' studies from other hospitals.
HospitalStaff = Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR, Role.COORDINATOR))]
Enroller = Annotated[Principal, Depends(require_role(*ENROLLERS))]
Keeper = Annotated[Principal, Depends(require_role(*KEEPERS))]


class EnrolBody(RequestBody):
    patient_ref: str = Field(max_length=64, description="the hospital's patient record (a referral's patient_ref)")
    national_id: str | None = Field(
        default=None, max_length=32, description="居民身份证号: hashed with the region's key at once, never stored"
    )
    phone: str | None = Field(default=None, max_length=32, description="the mobile number one-time codes go to")


class RelinkBody(RequestBody):
    regional_patient_id: str = Field(max_length=64)


@router.post("/enrolments", status_code=201)
async def enrol(body: EnrolBody, engine: Engine, settings: AppSettings, principal: Enroller) -> Enrolment:
    done = await service.enrol(
        engine, settings.patient_index_secret, principal, body.patient_ref, body.national_id, body.phone,
        datetime.now(UTC),
    )  # fmt: skip
    return Enrolment(
        patient_ref=done.patient_ref,
        regional_patient_id=done.regional_patient_id,
        outcome=done.outcome,
        review_id=done.review_id,
    )


def film_report(r: dict[str, Any]) -> FilmReport:
    return FilmReport(
        kind=r["kind"], version=r["version"], findings=r["findings"], impression=r["impression"],
        signed_by=r["author_name"], signed_at=r["created_at"],
    )  # fmt: skip


def _review(row: dict[str, Any]) -> LinkReview:
    return LinkReview.model_validate({**row, "record": HospitalRecord.model_validate(row)})


@router.get("/reviews")
async def reviews(engine: Engine, principal: Keeper, state: ReviewState = ReviewState.OPEN) -> Page[LinkReview]:
    """The coordinators' queue: uncertain matches, oldest first (or the decided ones, with ?state=)."""
    async with reading(engine) as conn:
        rows = await q.reviews(conn, state)
    return Page[LinkReview].of([_review(r) for r in rows])


async def _regional(engine: Engine, regional_id: str) -> RegionalPatient:
    async with reading(engine) as conn:
        row = await q.get_regional_patient(conn, regional_id)
        if row is None:
            raise YilianError(ErrorCode.NOT_FOUND, "no such regional patient")
        records = await q.records_of(conn, regional_id)
        events = await q.events_of(conn, regional_id)
    return RegionalPatient(
        id=row["id"],
        name=row["name"],
        sex=row["sex"],
        birth_date=row["birth_date"],
        has_phone=row["phone"] is not None,
        records=[IndexedRecord.model_validate(r) for r in records],
        events=[IndexEvent.model_validate(e) for e in events],
    )


@router.post("/reviews/{review_id}/link")
async def link_review(review_id: str, engine: Engine, principal: Keeper) -> RegionalPatient:
    """The record and the candidate are one person: link them."""
    rid = await service.decide_review(engine, principal, review_id, True, datetime.now(UTC))
    return await _regional(engine, rid)


@router.post("/reviews/{review_id}/keep-apart")
async def keep_apart(review_id: str, engine: Engine, principal: Keeper) -> RegionalPatient:
    """Two people: the record stays a regional patient of its own."""
    rid = await service.decide_review(engine, principal, review_id, False, datetime.now(UTC))
    return await _regional(engine, rid)


@router.get("/regional-patients/{regional_patient_id}")
async def regional_patient(regional_patient_id: str, engine: Engine, principal: Keeper) -> RegionalPatient:
    return await _regional(engine, regional_patient_id)


@router.post("/records/{patient_ref}/unlink")
async def unlink(patient_ref: str, engine: Engine, principal: Keeper) -> RegionalPatient:
    """Split the record off to a regional patient of its own; answers that new one."""
    rid = await service.unlink(engine, principal, patient_ref, datetime.now(UTC))
    return await _regional(engine, rid)


@router.post("/records/{patient_ref}/link")
async def relink(patient_ref: str, body: RelinkBody, engine: Engine, principal: Keeper) -> RegionalPatient:
    """Move the record to a named regional patient: how an unlink or a wrong link is undone."""
    rid = await service.relink(engine, principal, patient_ref, body.regional_patient_id, datetime.now(UTC))
    return await _regional(engine, rid)


class DeskConsent(RequestBody):
    code: str = Field(pattern=r"^\d{6}$", description="the code the patient received by SMS and reads out")


@router.post("/records/{patient_ref}/consent-code", status_code=202)
async def consent_code(
    patient_ref: str, engine: Engine, settings: AppSettings, principal: HospitalStaff
) -> CodeRequested:
    """At the desk: text the patient a code (to the phone in the index) to confirm consent to 检查结果互认."""
    now = datetime.now(UTC)
    async with reading(engine) as conn:
        rid = await film_service.record_at_hospital(conn, patient_ref, principal.hospital_id)
        person = await q.get_regional_patient(conn, rid)
    if person is None or not person["phone"]:
        raise YilianError(ErrorCode.INVALID_TRANSITION, "the patient has no phone in the regional index")
    await sign_in.send_code(engine, settings.patient_index_secret, sms_sender(settings), person["phone"], now)
    return CodeRequested(
        sent=True, expires_in=int(CODE_TTL.total_seconds()), resend_after=int(RESEND_AFTER.total_seconds())
    )


@router.post("/records/{patient_ref}/consent")
async def desk_consent(
    patient_ref: str, body: DeskConsent, engine: Engine, settings: AppSettings, principal: HospitalStaff
) -> FilmConsent:
    """At the desk: the code the patient read out grants consent (recorded as given at the desk)."""
    now = datetime.now(UTC)
    async with reading(engine) as conn:
        rid = await film_service.record_at_hospital(conn, patient_ref, principal.hospital_id)
        person = await q.get_regional_patient(conn, rid)
    assert person is not None
    if not person["phone"]:
        raise YilianError(ErrorCode.INVALID_TRANSITION, "the patient has no phone in the regional index")
    await sign_in.check_code(engine, settings.patient_index_secret, person["phone"], body.code, now)
    return FilmConsent.model_validate(await film_service.set_consent(engine, rid, True, "desk", now))


@router.get("/records/{patient_ref}/recognised-studies")
async def recognised_studies(patient_ref: str, engine: Engine, principal: HospitalStaff) -> Page[FilmStudy]:
    """The patient's studies from other alliance hospitals, to take as priors (检查结果互认): empty unless the
    patient consents; each shown is in the patient's access log. They open in the viewer like the hospital's own."""
    who = f"{principal.name} ({principal.hospital_id})"
    rows = await film_service.recognised(engine, patient_ref, principal.hospital_id, who, datetime.now(UTC))
    return Page[FilmStudy].of(
        [FilmStudy.model_validate({**r, "reports": [film_report(x) for x in r["reports"]]}) for r in rows]
    )
