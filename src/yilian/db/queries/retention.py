"""Retention policies, encounter types, legal holds, the retention audit trail, and deleting a study's rows.

Every write takes the caller's transaction and records its retention_events row in it, so a change and its record
commit together or not at all. A refused deletion is recorded in a transaction of its own (the deletion's rolls back).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import (
    dicom_instances,
    dicom_series,
    dicom_studies,
    hospitals,
    legal_holds,
    referrals,
    retention_events,
    retention_policies,
    study_retention,
)
from yilian.domain.access import Principal
from yilian.domain.referral import OPEN_STATES
from yilian.domain.retention import EncounterType, StudyFacts


class RetentionAction(StrEnum):
    POLICY_SET = "policy_set"
    ENCOUNTER_SET = "encounter_set"
    HOLD_PLACED = "hold_placed"
    HOLD_RELEASED = "hold_released"
    DELETION_REFUSED = "deletion_refused"
    STUDY_DELETED = "study_deleted"


async def record_event(
    conn: AsyncConnection,
    actor: Principal,
    action: RetentionAction,
    *,
    now: datetime,
    study_instance_uid: str | None = None,
    hospital_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    await conn.execute(
        retention_events.insert().values(
            at=now,
            actor_id=actor.user_id,
            actor_role=str(actor.role),
            actor_hospital_id=actor.hospital_id,
            action=str(action),
            study_instance_uid=study_instance_uid,
            hospital_id=hospital_id,
            details=dict(details or {}),
        )
    )


async def events(conn: AsyncConnection, *, study_instance_uid: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(retention_events).order_by(retention_events.c.id.desc()).limit(limit)
    if study_instance_uid is not None:
        query = query.where(retention_events.c.study_instance_uid == study_instance_uid)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# ---- policies -----------------------------------------------------------------------------------
async def set_policies(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """(scope, encounter type) -> years, for every policy someone set."""
    rows = await conn.execute(
        select(retention_policies.c.scope, retention_policies.c.encounter_type, retention_policies.c.years)
    )
    return {(r.scope, r.encounter_type): int(r.years) for r in rows}


async def policy_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = select(retention_policies).order_by(retention_policies.c.scope, retention_policies.c.encounter_type)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def hospital_exists(conn: AsyncConnection, hospital_id: str) -> bool:
    return await conn.scalar(select(hospitals.c.id).where(hospitals.c.id == hospital_id)) is not None


async def set_policy(
    conn: AsyncConnection, actor: Principal, scope: str, encounter: EncounterType, years: int, *, now: datetime
) -> int | None:
    """Upsert the policy; the years it replaced (None: it was not set)."""
    before = await conn.scalar(
        select(retention_policies.c.years)
        .where(retention_policies.c.scope == scope, retention_policies.c.encounter_type == str(encounter))
        .with_for_update()
    )
    stmt = insert(retention_policies).values(
        scope=scope, encounter_type=str(encounter), years=years, updated_by=actor.user_id, updated_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope", "encounter_type"],
            set_={"years": years, "updated_by": actor.user_id, "updated_at": now},
        )
    )
    await record_event(
        conn, actor, RetentionAction.POLICY_SET, now=now, hospital_id=scope,
        details={"encounter_type": str(encounter), "years": years, "before": before},
    )  # fmt: skip
    return None if before is None else int(before)


# ---- a study's facts ----------------------------------------------------------------------------
async def study_facts(conn: AsyncConnection, study_instance_uid: str, *, lock: bool = False) -> StudyFacts | None:
    """What decides the study's retention. With `lock`, the study row is locked for the transaction, so a hold
    placed or a referral made meanwhile waits for the deletion (or sees the study gone)."""
    st = dicom_studies.c
    query = select(st.hospital_id, st.study_date, st.created_at).where(st.study_instance_uid == study_instance_uid)
    if lock:
        query = query.with_for_update(of=dicom_studies)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    encounter = await conn.scalar(
        select(study_retention.c.encounter_type).where(study_retention.c.study_instance_uid == study_instance_uid)
    )
    holds = await conn.scalars(
        select(legal_holds.c.id)
        .where(legal_holds.c.study_instance_uid == study_instance_uid, legal_holds.c.released_at.is_(None))
        .order_by(legal_holds.c.placed_at)
    )
    open_referrals = await conn.scalar(
        select(func.count())
        .select_from(referrals)
        .where(
            referrals.c.study_instance_uid == study_instance_uid,
            referrals.c.state.in_([str(s) for s in OPEN_STATES]),
        )
    )
    return StudyFacts(
        study_instance_uid=study_instance_uid,
        hospital_id=row.hospital_id,
        encounter_type=EncounterType(encounter) if encounter else None,
        study_date=row.study_date,
        received=row.created_at.date(),
        active_holds=list(holds),
        open_referrals=int(open_referrals or 0),
    )


async def study_size(conn: AsyncConnection, study_instance_uid: str) -> tuple[int, int]:
    """(instances, bytes) of the study as stored."""
    row = (
        await conn.execute(
            select(func.count(), func.coalesce(func.sum(dicom_instances.c.size), 0)).where(
                dicom_instances.c.study_instance_uid == study_instance_uid
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def set_encounter(
    conn: AsyncConnection, actor: Principal, facts: StudyFacts, encounter: EncounterType, *, now: datetime
) -> None:
    stmt = insert(study_retention).values(
        study_instance_uid=facts.study_instance_uid, encounter_type=str(encounter), set_by=actor.user_id, set_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["study_instance_uid"],
            set_={"encounter_type": str(encounter), "set_by": actor.user_id, "set_at": now},
        )
    )
    await record_event(
        conn, actor, RetentionAction.ENCOUNTER_SET, now=now, study_instance_uid=facts.study_instance_uid,
        hospital_id=facts.hospital_id,
        details={"encounter_type": str(encounter), "before": facts.encounter_type and str(facts.encounter_type)},
    )  # fmt: skip


# ---- legal holds --------------------------------------------------------------------------------
async def holds_of(conn: AsyncConnection, study_instance_uid: str) -> list[dict[str, Any]]:
    query = (
        select(legal_holds)
        .where(legal_holds.c.study_instance_uid == study_instance_uid)
        .order_by(legal_holds.c.placed_at, legal_holds.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_hold(conn: AsyncConnection, hold_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(legal_holds).where(legal_holds.c.id == hold_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def place_hold(
    conn: AsyncConnection,
    actor: Principal,
    facts: StudyFacts,
    *,
    hold_id: str,
    reason: str,
    case_reference: str,
    now: datetime,
) -> dict[str, Any]:
    await conn.execute(
        legal_holds.insert().values(
            id=hold_id, study_instance_uid=facts.study_instance_uid, reason=reason, case_reference=case_reference,
            placed_by=actor.user_id, placed_at=now,
        )
    )  # fmt: skip
    await record_event(
        conn, actor, RetentionAction.HOLD_PLACED, now=now, study_instance_uid=facts.study_instance_uid,
        hospital_id=facts.hospital_id, details={"hold_id": hold_id, "reason": reason, "case_reference": case_reference},
    )  # fmt: skip
    made = await get_hold(conn, hold_id)
    assert made is not None
    return made


async def release_hold(
    conn: AsyncConnection, actor: Principal, hold: dict[str, Any], hospital_id: str, *, reason: str, now: datetime
) -> dict[str, Any]:
    await conn.execute(
        update(legal_holds)
        .where(legal_holds.c.id == hold["id"])
        .values(released_by=actor.user_id, released_at=now, release_reason=reason)
    )
    await record_event(
        conn, actor, RetentionAction.HOLD_RELEASED, now=now, study_instance_uid=hold["study_instance_uid"],
        hospital_id=hospital_id, details={"hold_id": hold["id"], "reason": reason},
    )  # fmt: skip
    released = await get_hold(conn, hold["id"])
    assert released is not None
    return released


# ---- deleting a study ---------------------------------------------------------------------------
async def lock_for_deletion(conn: AsyncConnection, study_instance_uid: str) -> StudyFacts | None:
    """`study_facts` with the study locked, its series rows locked first, in UID order: the order a batch of
    instances takes them (db/queries/imaging.insert_instances), so a study sent again while it is deleted waits for
    the deletion and is then stored anew. With the study row first, the deletion held it while such a batch held a
    series and waited for the study, and each waited for the other."""
    se = dicom_series.c
    await conn.execute(
        select(se.series_instance_uid)
        .where(se.study_instance_uid == study_instance_uid)
        .order_by(se.series_instance_uid)
        .with_for_update()
    )
    return await study_facts(conn, study_instance_uid, lock=True)


async def delete_study(conn: AsyncConnection, study_instance_uid: str) -> tuple[int, list[str]]:
    """Delete the study's index rows; (instances deleted, blob keys no other instance uses any more).

    The blobs are deleted by the caller after this commits: a crash in between leaves unreferenced blobs (garbage),
    never a row pointing at a missing file.
    """
    deleted = list(
        await conn.scalars(
            delete(dicom_instances)
            .where(dicom_instances.c.study_instance_uid == study_instance_uid)
            .returning(dicom_instances.c.blob_key)
        )
    )
    keys = set(deleted)
    still_used = set(
        await conn.scalars(select(dicom_instances.c.blob_key).where(dicom_instances.c.blob_key.in_(sorted(keys))))
    )
    await conn.execute(delete(dicom_series).where(dicom_series.c.study_instance_uid == study_instance_uid))
    await conn.execute(delete(dicom_studies).where(dicom_studies.c.study_instance_uid == study_instance_uid))
    await conn.execute(delete(study_retention).where(study_retention.c.study_instance_uid == study_instance_uid))
    return len(deleted), sorted(keys - still_used)
