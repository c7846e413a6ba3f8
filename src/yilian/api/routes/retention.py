"""Retention (docs/retention.md): policies (admins set them; coordinators read them), a study's encounter type and
retention, legal holds (admins, and coordinators for studies they can see), the retention audit trail, and the one
way to delete a study, which these guard: refused before its retention ends or while a hold stands, and audited."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.api.deps import Blobs, Engine, require_role
from yilian.api.models.retention import LegalHold, RetentionEvent, RetentionPolicy, StudyDeleted, StudyRetention
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import imaging
from yilian.db.queries import retention as queries
from yilian.domain import retention
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.retention import ALLIANCE, EncounterType, StudyFacts
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/retention", tags=["retention"])
studies_router = APIRouter(prefix="/api/studies", tags=["retention"])

AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Keeper = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.COORDINATOR))]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PolicyBody(RequestBody):
    hospital_id: str | None = Field(default=None, max_length=64, description="null or omitted: the whole alliance")
    encounter_type: EncounterType
    years: int = Field(ge=1, le=retention.MAX_YEARS)


class EncounterBody(RequestBody):
    encounter_type: EncounterType


class HoldBody(RequestBody):
    reason: Text
    case_reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class ReleaseBody(RequestBody):
    reason: Text


def _now() -> datetime:
    return datetime.now(UTC)


def _no_study(study_instance_uid: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no study {study_instance_uid}")


async def _visible_facts(
    conn: AsyncConnection, principal: Principal, study_instance_uid: str, *, lock: bool = False, deleting: bool = False
) -> StudyFacts:
    """The study's facts, or not found: a study the caller may not see answers exactly as one that does not exist.
    `deleting`: locked for the deletion, its series first (queries.lock_for_deletion)."""
    if deleting:
        facts = await queries.lock_for_deletion(conn, study_instance_uid)
    else:
        facts = await queries.study_facts(conn, study_instance_uid, lock=lock)
    if facts is None or not await imaging.visible_study(conn, principal, study_instance_uid):
        raise _no_study(study_instance_uid)
    return facts


def _hold(row: dict[str, Any]) -> LegalHold:
    return LegalHold.model_validate({**row, "active": row["released_at"] is None})


async def _retention_of(conn: AsyncConnection, facts: StudyFacts) -> StudyRetention:
    policy = retention.effective_policy(facts.encounter(), facts.hospital_id, await queries.set_policies(conn))
    assessed = retention.assess(facts, policy, _now().date())
    instances, size = await queries.study_size(conn, facts.study_instance_uid)
    return StudyRetention(
        study_instance_uid=facts.study_instance_uid,
        hospital_id=facts.hospital_id,
        encounter_type=assessed.encounter_type,
        encounter_type_recorded=facts.encounter_type is not None,
        years=assessed.years,
        policy=assessed.source,
        counted_from=assessed.anchor,
        retain_until=assessed.retain_until,
        deletable=not assessed.blocked_by,
        blocked_by=[str(code) for code in assessed.blocked_by],
        instances=instances,
        bytes=size,
        holds=[_hold(h) for h in await queries.holds_of(conn, facts.study_instance_uid)],
    )


# ---- policies -----------------------------------------------------------------------------------
@router.get("/policies")
async def list_policies(engine: Engine, principal: Keeper) -> Page[RetentionPolicy]:
    """The alliance's policy for each encounter type, then every hospital's own, as they apply."""
    async with reading(engine) as conn:
        set_policies = await queries.set_policies(conn)
    items = []
    for encounter in EncounterType:
        applied = retention.effective_policy(encounter, ALLIANCE, set_policies)
        items.append(_policy(None, encounter, applied))
    for scope, encounter_name in sorted(k for k in set_policies if k[0] != ALLIANCE):
        kind = EncounterType(encounter_name)
        items.append(_policy(scope, kind, retention.effective_policy(kind, scope, set_policies)))
    return Page[RetentionPolicy].of(items)


def _policy(hospital_id: str | None, encounter: EncounterType, applied: retention.Effective) -> RetentionPolicy:
    return RetentionPolicy(
        hospital_id=hospital_id,
        encounter_type=encounter,
        years=applied.years,
        minimum_years=retention.minimum_years(encounter),
        source=applied.source,
    )


@router.put("/policies")
async def set_policy(body: PolicyBody, engine: Engine, principal: AdminPrincipal) -> RetentionPolicy:
    """Set the years for one encounter type, alliance-wide or for one hospital; never under the floor."""
    retention.check_policy(body.encounter_type, body.years)
    scope = body.hospital_id or ALLIANCE
    async with engine.begin() as conn:
        if body.hospital_id is not None and not await queries.hospital_exists(conn, body.hospital_id):
            raise YilianError(
                ErrorCode.VALIDATION_FAILED,
                f"no hospital {body.hospital_id}",
                [{"field": "body.hospital_id", "problem": f"no hospital {body.hospital_id}"}],
            )
        await queries.set_policy(conn, principal, scope, body.encounter_type, body.years, now=_now())
        applied = retention.effective_policy(body.encounter_type, scope, await queries.set_policies(conn))
    return _policy(body.hospital_id, body.encounter_type, applied)


# ---- a study ------------------------------------------------------------------------------------
@router.get("/studies/{study_instance_uid}")
async def study_retention(study_instance_uid: str, engine: Engine, principal: Keeper) -> StudyRetention:
    async with reading(engine) as conn:
        return await _retention_of(conn, await _visible_facts(conn, principal, study_instance_uid))


@router.put("/studies/{study_instance_uid}/encounter")
async def set_encounter(
    study_instance_uid: str, body: EncounterBody, engine: Engine, principal: Keeper
) -> StudyRetention:
    """Record whether the study was outpatient, emergency or inpatient (unrecorded: kept as inpatient)."""
    async with engine.begin() as conn:
        facts = await _visible_facts(conn, principal, study_instance_uid, lock=True)
        await queries.set_encounter(conn, principal, facts, body.encounter_type, now=_now())
        updated = await queries.study_facts(conn, study_instance_uid)
        assert updated is not None
        return await _retention_of(conn, updated)


@router.post("/studies/{study_instance_uid}/holds", status_code=201)
async def place_hold(study_instance_uid: str, body: HoldBody, engine: Engine, principal: Keeper) -> LegalHold:
    """Suspend the study's retention for a disputed case: nothing deletes it until the hold is released."""
    async with engine.begin() as conn:
        facts = await _visible_facts(conn, principal, study_instance_uid, lock=True)
        made = await queries.place_hold(
            conn, principal, facts, hold_id=f"hold-{uuid.uuid4().hex[:12]}", reason=body.reason,
            case_reference=body.case_reference, now=_now(),
        )  # fmt: skip
    return _hold(made)


@router.post("/holds/{hold_id}/release")
async def release_hold(hold_id: str, body: ReleaseBody, engine: Engine, principal: Keeper) -> LegalHold:
    async with engine.begin() as conn:
        hold = await queries.get_hold(conn, hold_id, lock=True)
        if hold is None:
            raise YilianError(ErrorCode.NOT_FOUND, f"no legal hold {hold_id}")
        facts = await _visible_facts(conn, principal, hold["study_instance_uid"], lock=True)
        if hold["released_at"] is not None:
            raise YilianError(ErrorCode.CONFLICT, f"the legal hold {hold_id} was already released")
        released = await queries.release_hold(conn, principal, hold, facts.hospital_id, reason=body.reason, now=_now())
    return _hold(released)


@router.get("/events")
async def list_events(
    engine: Engine,
    principal: AdminPrincipal,
    study_instance_uid: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[RetentionEvent]:
    """The retention audit trail, newest first: policies, encounter types, holds, deletions done and refused."""
    async with reading(engine) as conn:
        rows = await queries.events(conn, study_instance_uid=study_instance_uid, limit=limit)
    return Page[RetentionEvent].of([RetentionEvent.model_validate(r) for r in rows], limit=limit)


# ---- deleting a study ---------------------------------------------------------------------------
@studies_router.delete("/{study_instance_uid}")
async def delete_study(study_instance_uid: str, engine: Engine, blobs: Blobs, principal: Keeper) -> StudyDeleted:
    """Delete a study's images (index rows, then blobs through the blob store): an admin or the owning hospital's
    coordinator, only once its retention has ended, with no legal hold and no referral of it in progress.
    A refusal answers 409 with the reason in `details` and is recorded in the retention audit trail."""
    refused: YilianError | None = None
    async with engine.begin() as conn:
        facts = await _visible_facts(conn, principal, study_instance_uid, deleting=True)
        retention.check_may_delete(principal.role, principal.hospital_id, facts.hospital_id)
        policy = retention.effective_policy(facts.encounter(), facts.hospital_id, await queries.set_policies(conn))
        assessed = retention.assess(facts, policy, _now().date())
        try:
            retention.check_deletion(facts, assessed)
        except YilianError as refusal:
            refused = refusal
        else:
            instances, keys = await queries.delete_study(conn, study_instance_uid)
            await queries.record_event(
                conn, principal, queries.RetentionAction.STUDY_DELETED, now=_now(),
                study_instance_uid=study_instance_uid, hospital_id=facts.hospital_id,
                details={"instances": instances, "blobs": len(keys), "retain_until": assessed.retain_until.isoformat(),
                         "encounter_type": str(assessed.encounter_type), "years": assessed.years},
            )  # fmt: skip
    if refused is not None:
        async with engine.begin() as conn:
            await queries.record_event(
                conn, principal, queries.RetentionAction.DELETION_REFUSED, now=_now(),
                study_instance_uid=study_instance_uid, hospital_id=facts.hospital_id,
                details={"code": str(refused.code), "message": refused.message, "details": refused.details},
            )  # fmt: skip
        raise refused
    for key in keys:
        await asyncio.to_thread(blobs.delete, key)
    return StudyDeleted(study_instance_uid=study_instance_uid, instances=instances, blobs_deleted=len(keys))
