"""Quality audits (影像质控抽检): the graded cases a sample is drawn from, the audit, its items and its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import quality_audit_events, quality_audit_items, quality_audits, quality_grades, referrals
from yilian.domain.quality_audit import AuditAction, AuditFacts, AuditItem, AuditState, RecordOutcomeInput


async def graded_cases(
    conn: AsyncConnection, scope: ColumnElement[bool], hospital_id: str, since: datetime, until: datetime
) -> list[AuditItem]:
    """The graded cases of a sending hospital in [since, until) that `scope` lets the caller see."""
    g = quality_grades.c
    rows = await conn.execute(
        select(g.referral_id, g.modality, g.scale, g.grade, g.reasons, g.technician, g.graded_at)
        .select_from(quality_grades.join(referrals, referrals.c.id == g.referral_id))
        .where(scope, g.requesting_hospital_id == hospital_id, g.graded_at >= since, g.graded_at < until)
    )
    return [
        AuditItem(r.referral_id, r.modality, r.scale, r.grade, list(r.reasons or []), r.technician, r.graded_at)
        for r in rows
    ]


async def save_sample(conn: AsyncConnection, facts: AuditFacts) -> None:
    """The audit, its sampled items and its first event; nothing when a retried activity finds it written."""
    inserted = await conn.scalar(
        insert(quality_audits)
        .values(
            id=facts.audit_id,
            auditor_hospital_id=facts.auditor_hospital_id,
            hospital_id=facts.hospital_id,
            month=facts.month,
            mode=str(facts.mode),
            requested=facts.requested,
            state=str(AuditState.OPEN),
            requested_by=facts.requested_by.user_id,
            requested_at=facts.requested_at,
        )
        .on_conflict_do_nothing()
        .returning(quality_audits.c.id)
    )
    if inserted is None:
        return
    await conn.execute(
        insert(quality_audit_items),
        [
            {
                "audit_id": facts.audit_id,
                "position": n,
                "referral_id": i.referral_id,
                "modality": i.modality,
                "scale": i.scale,
                "grade": i.grade,
                "reasons": i.reasons,
                "technician": i.technician,
            }
            for n, i in enumerate(facts.items, 1)
        ],
    )
    await _event(conn, facts.audit_id, 1, AuditAction.SAMPLED, facts.requested_by.user_id,
                 str(facts.requested_by.role), facts.requested_at,
                 {"mode": str(facts.mode), "requested": facts.requested,
                  "referral_ids": [i.referral_id for i in facts.items]})  # fmt: skip


async def save_outcome(conn: AsyncConnection, o: RecordOutcomeInput) -> None:
    """One study's outcome and its event (and, for the last, the audit's completion); once, however often retried."""
    stmt = insert(quality_audit_events).values(
        audit_id=o.audit_id, seq=o.seq, action=str(AuditAction.OUTCOME), actor_id=o.actor.user_id,
        actor_role=str(o.actor.role), at=o.at,
        details={"referral_id": o.referral_id, "verdict": str(o.verdict), "grade": o.grade, "reasons": o.reasons,
                 "comment": o.comment},
    ).on_conflict_do_nothing().returning(quality_audit_events.c.seq)  # fmt: skip
    if await conn.scalar(stmt) is None:
        return
    i = quality_audit_items.c
    await conn.execute(
        update(quality_audit_items)
        .where(i.audit_id == o.audit_id, i.referral_id == o.referral_id)
        .values(verdict=str(o.verdict), auditor_grade=o.grade or None, auditor_reasons=o.reasons,
                comment=o.comment, audited_by=o.actor.user_id, audited_at=o.at)
    )  # fmt: skip
    if o.completed:
        await conn.execute(
            update(quality_audits)
            .where(quality_audits.c.id == o.audit_id)
            .values(state=str(AuditState.COMPLETED), completed_at=o.at)
        )
        await _event(conn, o.audit_id, o.seq + 1, AuditAction.COMPLETED, "system", "system", o.at, {})


async def _event(
    conn: AsyncConnection, audit_id: str, seq: int, action: AuditAction, actor_id: str, actor_role: str,
    at: datetime, details: dict[str, Any],
) -> None:  # fmt: skip
    await conn.execute(
        insert(quality_audit_events)
        .values(audit_id=audit_id, seq=seq, action=str(action), actor_id=actor_id, actor_role=actor_role, at=at,
                details=details)
        .on_conflict_do_nothing()
    )  # fmt: skip


async def audits(conn: AsyncConnection, auditor_hospital_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    """The hospital's audits, newest first, with how many outcomes are recorded."""
    a, i = quality_audits.c, quality_audit_items.c
    counts = (
        select(
            i.audit_id,
            func.count().label("total"),
            func.count(i.verdict).label("recorded"),
        )
        .group_by(i.audit_id)
        .subquery()
    )
    rows = await conn.execute(
        select(quality_audits, counts.c.total, counts.c.recorded)
        .select_from(quality_audits.join(counts, counts.c.audit_id == a.id))
        .where(a.auditor_hospital_id == auditor_hospital_id)
        .order_by(a.requested_at.desc(), a.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in rows.mappings()]


async def audit(conn: AsyncConnection, audit_id: str) -> dict[str, Any] | None:
    """One audit with its items in sample order, or None."""
    row = (await conn.execute(select(quality_audits).where(quality_audits.c.id == audit_id))).mappings().first()
    if row is None:
        return None
    items = await conn.execute(
        select(quality_audit_items)
        .where(quality_audit_items.c.audit_id == audit_id)
        .order_by(quality_audit_items.c.position)
    )
    return {**dict(row), "items": [dict(r) for r in items.mappings()]}


async def events(conn: AsyncConnection, audit_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(quality_audit_events)
        .where(quality_audit_events.c.audit_id == audit_id)
        .order_by(quality_audit_events.c.seq)
    )
    return [dict(r) for r in rows.mappings()]
