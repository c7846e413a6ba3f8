"""Keeping the regional patient index: enrolling a hospital record, deciding a review, unlinking and relinking.

The rule of what matches is domain.patient_index.match; this module reads the candidates and writes the outcome and
its audit event in one transaction per act, holding the record's index row lock so two acts on one record queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.queries import alliance
from yilian.db.queries import patient_index as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.patient_index import (
    Demographics,
    IndexAction,
    LinkHow,
    ReviewState,
    match,
    national_id_hash,
    normalise_national_id,
)
from yilian.domain.patient_sign_in import normalise_phone
from yilian.domain.roles import Actor, Role


@dataclass(frozen=True)
class Enrolment:
    patient_ref: str
    regional_patient_id: str
    outcome: str  # linked | review | own
    review_id: str | None


def _phone(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    phone = normalise_phone(raw)
    if phone is None:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "not a mobile phone number", [{"field": "phone"}])
    return phone


async def _claim_phone(conn: AsyncConnection, regional_id: str, phone: str | None) -> None:
    """Give the regional patient this phone, unless another regional patient has it already."""
    if phone is None:
        return
    holder = await q.regional_by_phone(conn, phone)
    if holder is not None and holder["id"] != regional_id:
        raise YilianError(ErrorCode.CONFLICT, "this phone number belongs to another patient in the regional index")
    await q.set_phone(conn, regional_id, phone)


async def enrol(
    engine: AsyncEngine,
    secret: str,
    principal: Principal,
    patient_ref: str,
    national_id: str | None,
    phone: str | None,
    now: datetime,
) -> Enrolment:
    """Put a hospital record into the index: linked at once on an exact match, else a regional patient of its own
    (with a review opened when something uncertain matched). Only the record's own hospital (or an admin) enrols it."""
    hashed: str | None = None
    if national_id is not None and national_id.strip():
        normalised = normalise_national_id(national_id)
        if normalised is None:
            raise YilianError(ErrorCode.VALIDATION_FAILED, "not a valid national ID number", [{"field": "national_id"}])
        hashed = national_id_hash(secret, normalised)
    wanted_phone = _phone(phone)
    actor = principal.actor
    async with engine.begin() as conn:
        record = await alliance.get_patient(conn, patient_ref)
        if record is None or (principal.role is not Role.ADMIN and record["hospital_id"] != principal.hospital_id):
            raise YilianError(ErrorCode.NOT_FOUND, "no such patient record at your hospital")
        if await q.entry(conn, patient_ref, for_update=True) is not None:
            raise YilianError(ErrorCode.CONFLICT, "this record is in the regional index already: link or unlink it")
        who = Demographics(record["name"], record["sex"], record["birth_date"])
        found = match(hashed, who, await q.candidates(conn, hashed, who.birth_date, patient_ref))
        if found.exact:
            assert found.regional_patient_id is not None
            rid = found.regional_patient_id
            await q.put_entry(conn, patient_ref, rid, hashed, LinkHow.EXACT, now)
            await q.record_event(
                conn, patient_ref=patient_ref, regional_id=rid, from_regional_id=None, action=IndexAction.LINKED,
                actor=actor, now=now, details={"national_id": hashed is not None},
            )  # fmt: skip
            await _claim_phone(conn, rid, wanted_phone)
            return Enrolment(patient_ref, rid, "linked", None)
        rid = await q.create_regional_patient(conn, who, None, now)
        await q.put_entry(conn, patient_ref, rid, hashed, LinkHow.OWN, now)
        await q.record_event(
            conn, patient_ref=patient_ref, regional_id=rid, from_regional_id=None, action=IndexAction.ENROLLED,
            actor=actor, now=now, details={"national_id": hashed is not None},
        )  # fmt: skip
        await _claim_phone(conn, rid, wanted_phone)
        if found.regional_patient_id is None:
            return Enrolment(patient_ref, rid, "own", None)
        assert found.uncertainty is not None
        review_id = await q.open_review(conn, patient_ref, found.regional_patient_id, found.uncertainty, now)
        await q.record_event(
            conn, patient_ref=patient_ref, regional_id=rid, from_regional_id=None, action=IndexAction.REVIEW_OPENED,
            actor=actor, now=now,
            details={"review_id": review_id, "candidate_id": found.regional_patient_id, "reason": found.uncertainty},
        )  # fmt: skip
        return Enrolment(patient_ref, rid, "review", review_id)


async def _move(
    conn: AsyncConnection,
    patient_ref: str,
    to: str,
    how: LinkHow,
    action: IndexAction,
    actor: Actor,
    now: datetime,
    details: dict[str, str],
) -> str:
    """Move an indexed record to regional patient `to`, audited with where it was. A regional patient left empty
    hands its phone on (if `to` has none), so the person still signs in to the records they hold."""
    current = await q.entry(conn, patient_ref, for_update=True)
    if current is None:
        raise YilianError(ErrorCode.NOT_FOUND, "this record is not in the regional index")
    was = str(current["regional_patient_id"])
    if was == to:
        raise YilianError(ErrorCode.CONFLICT, "the record already belongs to that regional patient")
    await q.put_entry(conn, patient_ref, to, current["national_id_hash"], how, now)
    await q.record_event(
        conn, patient_ref=patient_ref, regional_id=to, from_regional_id=was, action=action, actor=actor, now=now,
        details=details,
    )  # fmt: skip
    left = await q.get_regional_patient(conn, was)
    target = await q.get_regional_patient(conn, to)
    assert left is not None and target is not None
    if left["phone"] and not target["phone"] and await q.count_records(conn, was) == 0:
        await q.set_phone(conn, was, None)
        await q.set_phone(conn, to, left["phone"])
    return to


async def decide_review(engine: AsyncEngine, principal: Principal, review_id: str, link: bool, now: datetime) -> str:
    """A coordinator's decision on a review: link the record to the candidate, or keep it apart. The regional
    patient the record belongs to afterwards."""
    async with engine.begin() as conn:
        review = await q.get_review(conn, review_id, for_update=True)
        if review is None:
            raise YilianError(ErrorCode.NOT_FOUND, "no such review")
        if review["state"] != ReviewState.OPEN:
            raise YilianError(ErrorCode.INVALID_TRANSITION, f"this review was decided already ({review['state']})")
        ref = str(review["patient_ref"])
        details = {"review_id": review_id, "reason": str(review["reason"])}
        if link:
            rid = await _move(
                conn, ref, str(review["candidate_id"]), LinkHow.REVIEWED, IndexAction.REVIEW_LINKED,
                principal.actor, now, details,
            )  # fmt: skip
            await q.close_review(conn, review_id, ReviewState.LINKED, principal.user_id, now)
            return rid
        current = await q.entry(conn, ref, for_update=True)
        assert current is not None
        rid = str(current["regional_patient_id"])
        await q.record_event(
            conn, patient_ref=ref, regional_id=rid, from_regional_id=rid, action=IndexAction.REVIEW_KEPT_APART,
            actor=principal.actor, now=now, details={**details, "candidate_id": str(review["candidate_id"])},
        )  # fmt: skip
        await q.close_review(conn, review_id, ReviewState.KEPT_APART, principal.user_id, now)
        return rid


async def unlink(engine: AsyncEngine, principal: Principal, patient_ref: str, now: datetime) -> str:
    """Split a record off to a regional patient of its own (undone by `relink` to the one it left)."""
    async with engine.begin() as conn:
        current = await q.entry(conn, patient_ref, for_update=True)
        if current is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this record is not in the regional index")
        if await q.count_records(conn, str(current["regional_patient_id"])) < 2:
            raise YilianError(ErrorCode.INVALID_TRANSITION, "this record is the regional patient's only one")
        record = await alliance.get_patient(conn, patient_ref)
        assert record is not None
        own = await q.create_regional_patient(
            conn, Demographics(record["name"], record["sex"], record["birth_date"]), None, now
        )
        for review_id in await q.open_reviews_of(conn, patient_ref):
            await q.close_review(conn, review_id, ReviewState.KEPT_APART, principal.user_id, now)
        return await _move(conn, patient_ref, own, LinkHow.OWN, IndexAction.UNLINKED, principal.actor, now, {})


async def relink(engine: AsyncEngine, principal: Principal, patient_ref: str, regional_id: str, now: datetime) -> str:
    """Move a record to a named regional patient (how an unlink, or a wrong link, is reversed)."""
    async with engine.begin() as conn:
        if await q.get_regional_patient(conn, regional_id) is None:
            raise YilianError(ErrorCode.NOT_FOUND, "no such regional patient")
        for review_id in await q.open_reviews_of(conn, patient_ref):
            await q.close_review(conn, review_id, ReviewState.LINKED, principal.user_id, now)
        return await _move(conn, patient_ref, regional_id, LinkHow.MANUAL, IndexAction.MOVED, principal.actor, now, {})
