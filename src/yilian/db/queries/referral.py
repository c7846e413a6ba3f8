"""Referral projection and audit writes (from activities) and the reads behind worklists and timelines."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from yilian.db.queries.access import visible_referrals
from yilian.db.queries.alliance import licensed_for_column
from yilian.db.queries.events import announcement
from yilian.db.schema import audit_events, referrals, report_versions, share_links, users
from yilian.domain.access import Principal
from yilian.domain.in_house import is_in_house
from yilian.domain.referral import OPEN_STATES, AuditEvent, ReferralState
from yilian.domain.referral_io import ProjectionSnapshot, ReportVersionInput, ShareLinkInput
from yilian.domain.roles import READER_ROLES, Role

OPEN_STATE_VALUES = sorted(str(s) for s in OPEN_STATES)


def projection_row(s: ProjectionSnapshot, seq: int, at: datetime) -> dict[str, Any]:
    """The referrals row a step writes (all columns but submitted_at, which only the first step sets)."""
    f = s.facts
    return {
        "id": f.referral_id,
        "requesting_hospital_id": f.requesting_hospital_id,
        "reading_hospital_id": f.reading_hospital_id,
        # An in-house case has no agreement: its terms came from its hospital's policy (domain/in_house.py).
        "agreement_id": None if is_in_house(f.requesting_hospital_id, f.reading_hospital_id) else s.agreement_id,
        "patient_ref": f.patient_ref,
        "study_instance_uid": f.study_instance_uid,
        "modality": f.modality,
        "body_part": f.body_part,
        "clinical_question": f.clinical_question,
        "priority": str(f.priority),
        "difficult": f.difficult,
        "submitted_by": f.submitted_by.user_id,
        "state": str(s.state),
        "offered_to": s.offered_to,
        "reader_id": s.reader_id,
        "second_reader_id": s.second_reader_id,
        "sla_target_minutes": s.sla_target_minutes,
        "sla_due_at": s.sla_due_at,
        "sla_warn_at": s.sla_warn_at,
        "sla_paused": s.sla_paused,
        "warned": s.warned,
        "breached": s.breached,
        "escalated": s.escalated,
        "critical": s.critical,
        "critical_open": s.critical_open,
        "report_version": s.report_version,
        "preliminary_at": s.preliminary_at,
        "final_at": s.final_at,
        "closed_at": s.closed_at,
        "signer_id": s.signer_id,
        "discrepancy": str(s.discrepancy) if s.discrepancy else None,
        "last_seq": seq,
        "updated_at": at,
    }


def audit_row(e: AuditEvent, details: dict[str, Any]) -> dict[str, Any]:
    """The audit_events row of an event (its id is the table's)."""
    return {
        "referral_id": e.referral_id,
        "seq": e.seq,
        "action": str(e.action),
        "from_state": str(e.from_state) if e.from_state else None,
        "to_state": str(e.to_state),
        "actor_id": e.actor.user_id,
        "actor_role": str(e.actor.role),
        "actor_hospital_id": e.actor.hospital_id,
        "at": e.at,
        "details": details,
    }


_PROJECTION = "p_"  # the projection row's parameters, apart from the audit row's


def _record_statement() -> Any:
    """Audit insert, projection upsert and live-update announcement as one statement (one round trip).

    The audit row is inserted once per (referral, seq); the projection moves only when it was, and only forward
    (last_seq); the announcement goes out only when the row moved, at commit.
    """
    a = audit_events.c
    audit = (
        insert(audit_events)
        .values({c.name: bindparam(c.name, type_=c.type) for c in audit_events.columns if c is not a.id})
        .on_conflict_do_nothing(constraint="uq_audit_referral_seq")
        .returning(a.id)
        .cte("recorded")
    )
    recorded = exists(select(audit.c.id))
    row = select(*(bindparam(_PROJECTION + c.name, type_=c.type) for c in referrals.columns)).where(recorded)
    stmt = insert(referrals).from_select([c.name for c in referrals.columns], row)
    keep = {"id", "submitted_at"}
    moved = (
        stmt.on_conflict_do_update(
            index_elements=[referrals.c.id],
            set_={c.name: stmt.excluded[c.name] for c in referrals.columns if c.name not in keep},
            where=referrals.c.last_seq < stmt.excluded.last_seq,
        )
        .returning(referrals.c.id, referrals.c.submitted_at)
        .cte("moved")
    )
    return select(
        recorded.label("recorded"),
        select(moved.c.submitted_at).scalar_subquery().label("submitted_at"),
        select(announcement(moved.c.id)).select_from(moved).scalar_subquery().label("announced"),
    )


# Built once: the same statement object hits SQLAlchemy's compiled cache on every step.
RECORD_EVENT = _record_statement()


@dataclass(frozen=True)
class Recorded:
    """An audit event just inserted; `submitted_at` is the projection row's when the event moved it, else None."""

    submitted_at: datetime | None


async def record_event(
    conn: AsyncConnection, e: AuditEvent, snapshot: ProjectionSnapshot, details: dict[str, Any]
) -> Recorded | None:
    """Insert the audit event and move the projection forward; None if this event was already recorded.

    Idempotent under (referral_id, seq): a retried activity changes nothing. The projection only moves
    forward (last_seq), so an out-of-order retry cannot roll it back. When the row moves, listeners of
    live updates are told in the same statement (so they hear of it exactly when it commits). One statement,
    so it is atomic on its own and may run outside a transaction.
    """
    projection = projection_row(snapshot, e.seq, e.at)
    projection["submitted_at"] = e.at  # used only by the first event's insert
    params = audit_row(e, details) | {_PROJECTION + k: v for k, v in projection.items()}
    result = (await conn.execute(RECORD_EVENT, params)).one()
    if not result.recorded:
        return None
    return Recorded(result.submitted_at)


async def create_return_link(conn: AsyncConnection, link_id: str, link: ShareLinkInput) -> None:
    await conn.execute(
        insert(share_links)
        .values(
            id=link_id,
            referral_id=link.referral_id,
            patient_ref=link.patient_ref,
            created_at=link.created_at,
            expires_at=link.expires_at,
        )
        .on_conflict_do_nothing()
    )


async def save_report_version(conn: AsyncConnection, inp: ReportVersionInput) -> None:
    c = inp.content
    await conn.execute(
        insert(report_versions)
        .values(
            referral_id=inp.referral_id,
            version=inp.version,
            kind=str(inp.kind),
            author_id=inp.author.user_id,
            author_role=str(inp.author.role),
            author_name=inp.author.name or await _display_name(conn, inp.author.user_id),
            findings=c.findings,
            impression=c.impression,
            structured=dict(c.structured),
            critical=c.critical,
            critical_note=c.critical_note,
            created_at=inp.at,
        )
        .on_conflict_do_nothing()
    )


async def _display_name(conn: AsyncConnection, user_id: str) -> str:
    name = await conn.scalar(select(users.c.display_name).where(users.c.id == user_id))
    return str(name) if name else user_id


GET_REFERRAL = select(referrals).where(referrals.c.id == bindparam("referral_id"))
_CASE_PREFIX = "referral_"
# The caller's users row (as alliance.principal_row) and the referral's projection row, in one round trip.
CALLER_AND_REFERRAL = (
    select(users, licensed_for_column(), *(c.label(_CASE_PREFIX + c.name) for c in referrals.columns))
    .select_from(users.outerjoin(referrals, referrals.c.id == bindparam("referral_id")))
    .where(users.c.id == bindparam("user_id"))
)


async def get_referral(conn: AsyncConnection, referral_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(GET_REFERRAL, {"referral_id": referral_id})).mappings().first()
    return dict(row) if row else None


async def caller_and_referral(
    conn: AsyncConnection, user_id: str, referral_id: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The caller's users row with the hospitals they may read for, and the referral's projection row (either
    None when absent): what a request about one case needs before the access rule, in one query."""
    found = (await conn.execute(CALLER_AND_REFERRAL, {"user_id": user_id, "referral_id": referral_id})).mappings()
    row = found.first()
    if row is None:
        return None, None
    user = {k: v for k, v in row.items() if not k.startswith(_CASE_PREFIX)}
    case = {k[len(_CASE_PREFIX) :]: v for k, v in row.items() if k.startswith(_CASE_PREFIX)}
    return user, case if case["id"] is not None else None


async def audit_trail(conn: AsyncConnection, referral_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(audit_events, users.c.display_name.label("actor_name"))
        .select_from(audit_events.outerjoin(users, users.c.id == audit_events.c.actor_id))
        .where(audit_events.c.referral_id == referral_id)
        .order_by(audit_events.c.seq)
    )
    return [dict(r) for r in rows.mappings()]


# Built once: every case detail runs one of them.
REPORT_HISTORY = (
    select(report_versions)
    .where(report_versions.c.referral_id == bindparam("referral_id"))
    .order_by(report_versions.c.version)
)
SIGNED_REPORTS = REPORT_HISTORY.where(report_versions.c.kind.in_(["final", "addendum"]))


async def report_history(conn: AsyncConnection, referral_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(REPORT_HISTORY, {"referral_id": referral_id})
    return [dict(r) for r in rows.mappings()]


async def signed_reports(conn: AsyncConnection, referral_id: str) -> list[dict[str, Any]]:
    """The final report and its addenda: what the county and the patient may read."""
    rows = await conn.execute(SIGNED_REPORTS, {"referral_id": referral_id})
    return [dict(r) for r in rows.mappings()]


def worklist_focus(p: Principal) -> ColumnElement[bool]:
    """Which of the cases a person may see their worklist lists: a reader's own cases (and a senior's hospital's
    preliminary reports, for second reading); everyone else's lists all they may see."""
    r = referrals.c
    if p.role not in READER_ROLES:
        return true()
    mine = or_(r.offered_to == p.user_id, r.reader_id == p.user_id)
    if p.role is Role.SENIOR and p.hospital_id is not None:
        return or_(mine, and_(r.reading_hospital_id == p.hospital_id, r.state == str(ReferralState.PRELIMINARY)))
    return mine


async def worklist(
    conn: AsyncConnection,
    p: Principal,
    *,
    states: list[str] | None,
    priority: str | None,
    modality: str | None,
    hospital_id: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The cases `p` may see (the one access rule) and their worklist lists, most urgent SLA first."""
    query = _worklist(p, bool(states), bool(priority), bool(modality), bool(hospital_id))
    filters = {"states": states, "priority": priority, "modality": modality, "hospital_id": hospital_id}
    params: dict[str, Any] = {name: value for name, value in filters.items() if value}
    params |= {"depth": offset + limit, "limit": limit, "offset": offset}
    return [dict(x) for x in (await conn.execute(query, params)).mappings()]


@functools.lru_cache(maxsize=1024)
def _worklist(p: Principal, states: bool, priority: bool, modality: bool, hospital_id: bool) -> Select[Any]:
    """The worklist statement of one caller and set of filters, built once: each poll binds only the values (the
    access rule's clauses are not built again, and SQLAlchemy memoises the statement's cache key)."""
    r = referrals.c
    q = select(referrals).where(visible_referrals(p), worklist_focus(p))
    if states:
        q = q.where(r.state.in_(bindparam("states", expanding=True)))
    if priority:
        q = q.where(r.priority == bindparam("priority"))
    if modality:
        q = q.where(r.modality == bindparam("modality"))
    if hospital_id:
        q = q.where(r.requesting_hospital_id == bindparam("hospital_id"))
    # SLA urgency first: open cases by due time, then the rest by recency (a finished case's due time says
    # nothing now: ordering by it put a reader's oldest cases first). Each part is its own limited query, so each
    # walks an index in its order and stops at the page (ix_referrals_open_due, ix_referrals_submitted_at): one
    # sort over both read every case a reader ever had (150,000 in a province's year: 1.3 s, bench/region.py).
    is_open = r.state.in_(OPEN_STATE_VALUES)
    depth = bindparam("depth", type_=Integer)
    urgent = q.where(is_open).order_by(r.sla_due_at.asc().nulls_last(), r.submitted_at.desc()).limit(depth)
    recent = q.where(~is_open).order_by(r.submitted_at.desc()).limit(depth)
    both = union_all(urgent, recent).subquery()
    b = both.c
    open_row = b.state.in_(OPEN_STATE_VALUES)
    return (
        select(both)
        .order_by(~open_row, case((open_row, b.sla_due_at)).asc().nulls_last(), b.submitted_at.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


async def priors(conn: AsyncConnection, patient_ref: str, exclude_id: str) -> list[dict[str, Any]]:
    """The patient's earlier cases at the same hospital (same Patient ID + issuer) with their signed report."""
    r = referrals.c
    latest = (
        select(report_versions.c.referral_id, func.max(report_versions.c.version).label("v"))
        .where(report_versions.c.kind.in_(["final", "addendum"]))
        .group_by(report_versions.c.referral_id)
        .subquery()
    )
    q = (
        select(
            r.id,
            r.study_instance_uid,
            r.modality,
            r.body_part,
            r.clinical_question,
            r.state,
            r.submitted_at,
            r.final_at,
            r.reader_id,
            report_versions.c.findings,
            report_versions.c.impression,
        )
        .select_from(
            referrals.outerjoin(latest, latest.c.referral_id == r.id).outerjoin(
                report_versions,
                and_(report_versions.c.referral_id == r.id, report_versions.c.version == latest.c.v),
            )
        )
        .where(r.patient_ref == patient_ref, r.id != exclude_id)
        .order_by(r.submitted_at.desc())
    )
    return [dict(x) for x in (await conn.execute(q)).mappings()]


# Built once with the UIDs as one array parameter (`= ANY`): asked after every STOW-RS request, whose IN list of up to
# 64 UIDs SQLAlchemy rendered again at each call.
_AWAITING_IMAGES = select(referrals.c.id).where(
    referrals.c.state == "awaiting_images",
    referrals.c.study_instance_uid == any_(bindparam("studies", type_=ARRAY(String(64)))),
)


async def awaiting_images(conn: AsyncConnection, study_instance_uids: set[str]) -> list[str]:
    """Referrals waiting in `awaiting_images` for one of these studies."""
    return list((await conn.scalars(_AWAITING_IMAGES, {"studies": sorted(study_instance_uids)})).all())
