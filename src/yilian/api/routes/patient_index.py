"""The regional patient index: a hospital enrols its records; the alliance's coordinators decide the uncertain
matches, and link or unlink records (every change audited, each undone by another)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from yilian.api import patient_index_service as service
from yilian.api.deps import AppSettings, Engine, require_role
from yilian.api.models.patient_index import (
    Enrolment,
    HospitalRecord,
    IndexedRecord,
    IndexEvent,
    LinkReview,
    RegionalPatient,
)
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import patient_index as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.patient_index import ENROLLERS, KEEPERS, ReviewState

router = APIRouter(prefix="/api/patient-index", tags=["patient index"])
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
