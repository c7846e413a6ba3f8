"""Teaching cases: the projection and audit writes (from the workflow's activities), proposals, the library's reads,
unknown-case attempts, views and collections. The access rule (domain.teaching.TEACHING_GRANTS) compiled to SQL is
`visible_cases`; a learner's columns never include where the case came from (`LEARNER_COLUMNS`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, cast, delete, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.teaching_access import visible_cases
from yilian.db.schema import (
    referrals,
    report_versions,
    teaching_attempts,
    teaching_cases,
    teaching_collection_items,
    teaching_collections,
    teaching_deid,
    teaching_events,
    teaching_follow_ups,
    teaching_proposals,
    teaching_versions,
    teaching_views,
    users,
)
from yilian.domain.referral import REPORTED_STATES
from yilian.domain.report import Discrepancy, ReportKind
from yilian.domain.roles import Role
from yilian.domain.teaching import (
    RARE_AT_MOST,
    TERMINAL_STATES,
    ProposalReason,
    TeachingAction,
    TeachingEvent,
)
from yilian.domain.teaching_io import TeachingSnapshot

tc = teaching_cases.c
REPORTED = sorted(str(s) for s in REPORTED_STATES)
# What a learner may read of a case: the curation and the de-identified copy, never its source.
LEARNER_COLUMNS = (
    tc.id, tc.state, tc.version, tc.title, tc.diagnosis, tc.icd10, tc.differential, tc.teaching_points,
    tc.key_images, tc.modality, tc.body_part, tc.difficulty, tc.tags, tc.certainty, tc.visibility,
    tc.history, tc.findings, tc.impression, tc.reviewed_images, tc.deid_study_instance_uid, tc.published_at,
    tc.curator_id, tc.updated_at,
)  # fmt: skip


# ---- workflow writes ----------------------------------------------------------------------------
def _projection(s: TeachingSnapshot, event: TeachingEvent) -> dict[str, Any]:
    f, c = s.facts, s.curation
    return {
        "id": f.case_id,
        "referral_id": f.referral_id,
        "source_study_instance_uid": f.study_instance_uid,
        "requesting_hospital_id": f.requesting_hospital_id,
        "patient_ref": f.patient_ref,
        "state": str(s.state),
        "nominated_by": f.nominated_by.user_id,
        "reason": f.reason,
        "curator_id": s.curator_id,
        "version": s.version,
        "title": c.title,
        "diagnosis": c.diagnosis,
        "icd10": c.icd10,
        "differential": list(c.differential),
        "teaching_points": c.teaching_points,
        "key_images": list(c.key_images),
        "modality": c.modality or f.modality,
        "body_part": c.body_part or f.body_part,
        "difficulty": str(c.difficulty),
        "tags": list(c.tags),
        "certainty": str(c.certainty),
        "visibility": str(c.visibility),
        "history": c.history,
        "findings": c.findings,
        "impression": c.impression,
        "reviewed_images": list(c.reviewed_images),
        "last_seq": event.seq,
        "updated_at": event.at,
    }


async def record_step(
    conn: AsyncConnection,
    event: TeachingEvent,
    snapshot: TeachingSnapshot,
    details: dict[str, Any],
    *,
    curation_version: bool,
) -> bool:
    """The audit event, the projection and (with `curation_version`) the new version; False when already recorded
    (a retried activity), so the caller adds nothing else."""
    added = await conn.scalar(
        insert(teaching_events)
        .values(
            case_id=event.case_id,
            seq=event.seq,
            action=str(event.action),
            from_state=str(event.from_state) if event.from_state else None,
            to_state=str(event.to_state),
            actor_id=event.actor.user_id,
            actor_role=str(event.actor.role),
            at=event.at,
            details=details,
        )
        .on_conflict_do_nothing(constraint="uq_teaching_event_seq")
        .returning(teaching_events.c.id)
    )
    if added is None:
        return False
    row = _projection(snapshot, event)
    stmt = insert(teaching_cases).values(**row, created_at=event.at)
    keep = {"id", "created_at", "deid_study_instance_uid", "published_at"}
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[tc.id],
            set_={k: stmt.excluded[k] for k in row if k not in keep},
            where=tc.last_seq < stmt.excluded.last_seq,
        )
    )
    if event.action is TeachingAction.PUBLISH:
        await conn.execute(update(teaching_cases).where(tc.id == event.case_id).values(published_at=event.at))
    if curation_version:
        await conn.execute(
            insert(teaching_versions)
            .values(
                case_id=event.case_id,
                version=snapshot.version,
                curation=_jsonable(asdict(snapshot.curation)),
                author_id=event.actor.user_id,
                created_at=event.at,
            )
            .on_conflict_do_nothing()
        )
    return True


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if hasattr(v, "value") else v) for k, v in d.items()}


async def source_of(conn: AsyncConnection, referral_id: str) -> dict[str, Any] | None:
    """The referral a case is made from, with its newest signed report (final or addendum): what is de-identified."""
    r = referrals.c
    row = (
        (
            await conn.execute(
                select(
                    r.id,
                    r.state,
                    r.study_instance_uid,
                    r.requesting_hospital_id,
                    r.reading_hospital_id,
                    r.patient_ref,
                    r.modality,
                    r.body_part,
                    r.clinical_question,
                    r.reader_id,
                    r.second_reader_id,
                    r.discrepancy,
                    r.critical,
                ).where(r.id == referral_id)
            )  # fmt: skip
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    rv = report_versions.c
    report = (
        (
            await conn.execute(
                select(rv.findings, rv.impression, rv.structured, rv.kind)
                .where(rv.referral_id == referral_id, rv.kind.in_([str(ReportKind.FINAL), str(ReportKind.ADDENDUM)]))
                .order_by(rv.version.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return {**row, "signed": row["state"] in REPORTED, "report": dict(report) if report else None}


async def save_deid(conn: AsyncConnection, case_id: str, values: dict[str, Any], at: datetime) -> None:
    await conn.execute(insert(teaching_deid).values(case_id=case_id, created_at=at, **values).on_conflict_do_nothing())
    await conn.execute(
        update(teaching_cases).where(tc.id == case_id).values(deid_study_instance_uid=values["study_instance_uid"])
    )


async def deid_of(conn: AsyncConnection, case_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(teaching_deid).where(teaching_deid.c.case_id == case_id))).mappings().first()
    return dict(row) if row else None


# ---- reads --------------------------------------------------------------------------------------
async def open_case_for(conn: AsyncConnection, referral_id: str) -> str | None:
    """A teaching case already made from this referral and not dismissed (a case is flagged once)."""
    found: str | None = await conn.scalar(
        select(tc.id).where(tc.referral_id == referral_id, tc.state.notin_(sorted(TERMINAL_STATES))).limit(1)
    )
    return found


async def get_case(conn: AsyncConnection, case_id: str, role: Role, *, full: bool) -> dict[str, Any] | None:
    """One case the role may see; `full` (educators) adds its source and who flagged it."""
    columns = list(teaching_cases.columns) if full else list(LEARNER_COLUMNS)
    row = (await conn.execute(select(*columns).where(tc.id == case_id, visible_cases(role)))).mappings().first()
    return dict(row) if row else None


def _library_filter(
    role: Role, *, q: str, modality: str | None, body_part: str | None, difficulty: str | None, tag: str | None,
    state: str | None,
) -> list[ColumnElement[bool]]:  # fmt: skip
    where: list[ColumnElement[bool]] = [visible_cases(role)]
    if q.strip():
        like = f"%{q.strip()}%"
        where.append(
            or_(tc.title.ilike(like), tc.diagnosis.ilike(like), tc.teaching_points.ilike(like), tc.icd10.ilike(like),
                func.array_to_string(tc.tags, " ").ilike(like))
        )  # fmt: skip
    for column, value in ((tc.modality, modality), (tc.body_part, body_part), (tc.difficulty, difficulty)):
        if value:
            where.append(column == value)
    if tag:
        where.append(tc.tags.any(tag))
    if state:
        where.append(tc.state == state)
    return where


async def library(
    conn: AsyncConnection, role: Role, *, q: str = "", modality: str | None = None, body_part: str | None = None,
    difficulty: str | None = None, tag: str | None = None, state: str | None = None, full: bool = False,
    limit: int, offset: int,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:  # fmt: skip
    """The cases the role may see that match, newest first, and the facet counts over all that match."""
    where = _library_filter(
        role, q=q, modality=modality, body_part=body_part, difficulty=difficulty, tag=tag, state=state
    )
    columns = list(teaching_cases.columns) if full else list(LEARNER_COLUMNS)
    rows = await conn.execute(
        select(*columns).where(*where).order_by(tc.updated_at.desc(), tc.id).limit(limit).offset(offset)
    )
    facets: dict[str, dict[str, int]] = {}
    for name, column in (("modality", tc.modality), ("body_part", tc.body_part), ("difficulty", tc.difficulty)):
        counted = await conn.execute(select(column, func.count()).where(*where).group_by(column))
        facets[name] = {str(k): int(n) for k, n in counted if k}
    tags = select(func.unnest(tc.tags).label("tag")).where(*where).subquery()
    counted = await conn.execute(select(tags.c.tag, func.count()).group_by(tags.c.tag))
    facets["tag"] = {str(k): int(n) for k, n in counted}
    return [dict(r) for r in rows.mappings()], facets


async def similar(conn: AsyncConnection, role: Role, case: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """Other visible cases of the same modality and body part, those sharing the ICD-10 chapter or tags first."""
    shares = or_(
        and_(tc.icd10 != "", func.left(tc.icd10, 3) == str(case.get("icd10", ""))[:3]),
        tc.tags.overlap(list(case.get("tags") or []) or [""]),
    )
    rows = await conn.execute(
        select(*LEARNER_COLUMNS)
        .where(visible_cases(role), tc.id != case["id"], tc.modality == case["modality"],
               tc.body_part == case["body_part"])
        .order_by(shares.desc(), tc.published_at.desc())
        .limit(limit)
    )  # fmt: skip
    return [dict(r) for r in rows.mappings()]


async def events(conn: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    e = teaching_events.c
    rows = await conn.execute(
        select(teaching_events, users.c.display_name.label("actor_name"))
        .select_from(teaching_events.outerjoin(users, users.c.id == e.actor_id))
        .where(e.case_id == case_id)
        .order_by(e.seq)
    )
    return [dict(r) for r in rows.mappings()]


async def versions(conn: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    v = teaching_versions.c
    rows = await conn.execute(select(teaching_versions).where(v.case_id == case_id).order_by(v.version))
    return [dict(r) for r in rows.mappings()]


# ---- proposals ----------------------------------------------------------------------------------
async def proposals(
    conn: AsyncConnection, *, limit: int, offset: int, referral_id: str | None = None
) -> list[dict[str, Any]]:
    """Signed cases worth an educator's look (a discrepancy, a critical finding, a rare diagnosis) that nobody has
    decided on and that are not teaching cases yet; newest first."""
    r, rv = referrals.c, report_versions.c
    newest = (
        select(rv.referral_id, func.max(rv.version).label("version"))
        .where(rv.kind.in_([str(ReportKind.FINAL), str(ReportKind.ADDENDUM)]))
        .group_by(rv.referral_id)
        .subquery()
    )
    signed = report_versions.join(newest, and_(rv.referral_id == newest.c.referral_id, rv.version == newest.c.version))
    code = rv.structured["icd10"].astext
    counts = (
        select(code.label("icd10"), func.count().label("n"))
        .select_from(signed)
        .where(code.is_not(None), code != "")
        .group_by(code)
        .subquery()
    )
    rare = and_(counts.c.n.is_not(None), counts.c.n <= RARE_AT_MOST)
    minor, major = r.discrepancy == str(Discrepancy.MINOR), r.discrepancy == str(Discrepancy.MAJOR)
    decided = select(teaching_proposals.c.referral_id).where(teaching_proposals.c.referral_id == r.id).exists()
    flagged = select(tc.id).where(tc.referral_id == r.id).exists()
    rows = await conn.execute(
        select(
            r.id.label("referral_id"),
            r.modality,
            r.body_part,
            r.final_at,
            r.discrepancy,
            r.critical,
            rv.impression,
            code.label("icd10"),
            minor.label("minor"),
            major.label("major"),
            rare.label("rare"),
        )  # fmt: skip
        .select_from(referrals.join(signed, rv.referral_id == r.id).outerjoin(counts, counts.c.icd10 == code))
        .where(r.state.in_(REPORTED), or_(minor, major, r.critical, rare), ~decided, ~flagged)
        .where(true() if referral_id is None else r.id == referral_id)
        .order_by(r.final_at.desc(), r.id)
        .limit(limit)
        .offset(offset)
    )
    out = []
    for row in rows.mappings():
        reasons = [
            reason
            for reason, holds in (
                (ProposalReason.MAJOR_DISCREPANCY, row["major"]),
                (ProposalReason.MINOR_DISCREPANCY, row["minor"]),
                (ProposalReason.CRITICAL_FINDING, row["critical"]),
                (ProposalReason.RARE_DIAGNOSIS, row["rare"]),
            )
            if holds
        ]
        out.append({**{k: row[k] for k in ("referral_id", "modality", "body_part", "final_at", "impression")},
                    "icd10": row["icd10"] or "", "reasons": reasons})  # fmt: skip
    return out


async def proposal_reasons(conn: AsyncConnection, referral_id: str) -> list[str] | None:
    """Why the referral is proposed, or None when it is not (any more) in the queue."""
    found = await proposals(conn, limit=1, offset=0, referral_id=referral_id)
    return [str(x) for x in found[0]["reasons"]] if found else None


async def decide_proposal(
    conn: AsyncConnection, referral_id: str, decision: str, reasons: list[str], by: str, at: datetime,
    case_id: str | None = None,
) -> bool:  # fmt: skip
    """False when someone decided first."""
    added = await conn.scalar(
        insert(teaching_proposals)
        .values(referral_id=referral_id, decision=decision, reasons=reasons, decided_by=by, decided_at=at,
                case_id=case_id)
        .on_conflict_do_nothing()
        .returning(teaching_proposals.c.referral_id)
    )  # fmt: skip
    return added is not None


# ---- follow-up truth ----------------------------------------------------------------------------
async def follow_ups_for(
    conn: AsyncConnection, patient_ref: str, referral_id: str, at: datetime
) -> list[dict[str, Any]]:
    """Teaching cases of this patient made from another referral: record that `referral_id` was signed (once per
    case) and return the cases newly told, with their curator."""
    rows = await conn.execute(
        select(tc.id, tc.title, tc.curator_id).where(
            tc.patient_ref == patient_ref, tc.referral_id != referral_id, tc.state.notin_(sorted(TERMINAL_STATES))
        )
    )
    told = []
    for row in rows.mappings():
        added = await conn.scalar(
            insert(teaching_follow_ups)
            .values(case_id=row["id"], referral_id=referral_id, at=at)
            .on_conflict_do_nothing()
            .returning(teaching_follow_ups.c.case_id)
        )
        if added is not None:
            told.append(dict(row))
    return told


async def follow_ups(conn: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    f = teaching_follow_ups.c
    rows = await conn.execute(select(f.referral_id, f.at).where(f.case_id == case_id).order_by(f.at))
    return [dict(r) for r in rows.mappings()]


# ---- learners' own records ----------------------------------------------------------------------
async def record_view(conn: AsyncConnection, case_id: str, user_id: str, at: datetime) -> None:
    stmt = insert(teaching_views).values(case_id=case_id, user_id=user_id, first_seen_at=at, last_seen_at=at)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[teaching_views.c.case_id, teaching_views.c.user_id],
            set_={"last_seen_at": at, "views": teaching_views.c.views + 1},
        )
    )


async def add_attempt(
    conn: AsyncConnection, case_id: str, user_id: str, impression: str, comparison: dict[str, Any], at: datetime
) -> int:
    attempt_id: int = await conn.scalar(
        insert(teaching_attempts)
        .values(case_id=case_id, user_id=user_id, impression=impression, comparison=comparison, created_at=at)
        .returning(teaching_attempts.c.id)
    )
    return attempt_id


async def history(conn: AsyncConnection, user_id: str, role: Role, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The cases a person opened (still visible to them), newest first, with their attempts' count and last one."""
    v, a = teaching_views.c, teaching_attempts.c
    attempts = (
        select(a.case_id, func.count().label("attempts"), func.max(a.created_at).label("last_attempt_at"))
        .where(a.user_id == user_id)
        .group_by(a.case_id)
        .subquery()
    )
    rows = await conn.execute(
        select(tc.id, tc.title, tc.modality, tc.body_part, tc.difficulty, v.views, v.first_seen_at, v.last_seen_at,
               func.coalesce(attempts.c.attempts, 0).label("attempts"), attempts.c.last_attempt_at)
        .select_from(teaching_views.join(teaching_cases, tc.id == v.case_id)
                     .outerjoin(attempts, attempts.c.case_id == v.case_id))
        .where(v.user_id == user_id, visible_cases(role))
        .order_by(v.last_seen_at.desc())
        .limit(limit)
        .offset(offset)
    )  # fmt: skip
    return [dict(r) for r in rows.mappings()]


async def attempts_of(conn: AsyncConnection, case_id: str, user_id: str) -> list[dict[str, Any]]:
    a = teaching_attempts.c
    rows = await conn.execute(
        select(teaching_attempts).where(a.case_id == case_id, a.user_id == user_id).order_by(a.id.desc())
    )
    return [dict(r) for r in rows.mappings()]


# ---- collections ------------------------------------------------------------------------------
async def create_collection(
    conn: AsyncConnection, collection_id: str, title: str, description: str, owner_id: str, at: datetime
) -> None:
    await conn.execute(
        insert(teaching_collections).values(
            id=collection_id, title=title, description=description, owner_id=owner_id, created_at=at, updated_at=at
        )
    )


async def set_collection_cases(conn: AsyncConnection, collection_id: str, case_ids: list[str], at: datetime) -> None:
    """The collection's cases, in this order (the whole list: a playlist is small)."""
    i = teaching_collection_items.c
    await conn.execute(delete(teaching_collection_items).where(i.collection_id == collection_id))
    if case_ids:
        await conn.execute(
            insert(teaching_collection_items).values(
                [{"collection_id": collection_id, "case_id": c, "position": n} for n, c in enumerate(case_ids)]
            )
        )
    await conn.execute(
        update(teaching_collections).where(teaching_collections.c.id == collection_id).values(updated_at=at)
    )


async def collections(conn: AsyncConnection, role: Role, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """Every collection, with how many of its cases the role may see (a learner's count leaves drafts out)."""
    c, i = teaching_collections.c, teaching_collection_items.c
    seen = (
        select(i.collection_id, func.count().label("cases"))
        .select_from(teaching_collection_items.join(teaching_cases, tc.id == i.case_id))
        .where(visible_cases(role))
        .group_by(i.collection_id)
        .subquery()
    )
    rows = await conn.execute(
        select(c.id, c.title, c.description, c.owner_id, users.c.display_name.label("owner_name"), c.updated_at,
               func.coalesce(seen.c.cases, 0).label("cases"))
        .select_from(teaching_collections.join(users, users.c.id == c.owner_id)
                     .outerjoin(seen, seen.c.collection_id == c.id))
        .order_by(c.updated_at.desc(), c.id)
        .limit(limit)
        .offset(offset)
    )  # fmt: skip
    return [dict(r) for r in rows.mappings()]


async def collection(conn: AsyncConnection, collection_id: str, role: Role) -> dict[str, Any] | None:
    c, i = teaching_collections.c, teaching_collection_items.c
    head = (
        (
            await conn.execute(
                select(c.id, c.title, c.description, c.owner_id, users.c.display_name.label("owner_name"), c.updated_at)
                .select_from(teaching_collections.join(users, users.c.id == c.owner_id))
                .where(c.id == collection_id)
            )  # fmt: skip
        )
        .mappings()
        .first()
    )
    if head is None:
        return None
    rows = await conn.execute(
        select(*LEARNER_COLUMNS)
        .select_from(teaching_collection_items.join(teaching_cases, tc.id == i.case_id))
        .where(i.collection_id == collection_id, visible_cases(role))
        .order_by(i.position)
    )
    return {**head, "items": [dict(r) for r in rows.mappings()]}


async def visible_ids(conn: AsyncConnection, case_ids: list[str], role: Role) -> set[str]:
    rows = await conn.execute(select(tc.id).where(tc.id.in_(case_ids), visible_cases(role)))
    return {r[0] for r in rows}


async def identifiers_of(conn: AsyncConnection, referral_id: str) -> dict[str, Any]:
    """Who and where the case names: its patient, the people who handled it and the alliance's hospitals and
    doctors. The de-identification removes these wherever they appear, and the leak scan looks for them."""
    from yilian.db.schema import dicom_studies, hospitals, patients

    r, p = referrals.c, patients.c
    row = (
        (
            await conn.execute(
                select(
                    p.name,
                    p.patient_id,
                    p.issuer,
                    p.birth_date,
                    p.sex,
                    r.submitted_by,
                    r.reader_id,
                    r.second_reader_id,
                    r.study_instance_uid,
                    r.requesting_hospital_id,
                )
                .select_from(referrals.join(patients, p.id == r.patient_ref))
                .where(r.id == referral_id)
            )  # fmt: skip
        )
        .mappings()
        .one()
    )
    st = dicom_studies.c
    study = (
        (
            await conn.execute(
                select(st.patient_id, st.patient_name_search, st.accession_number, st.study_date).where(
                    st.study_instance_uid == row["study_instance_uid"]
                )
            )
        )
        .mappings()
        .first()
    )
    stored: dict[str, Any] = {}
    if study is not None:
        day = study["study_date"]
        stored = {
            "dicom_patient_id": study["patient_id"],
            "dicom_patient_name": study["patient_name_search"],
            "accession_number": study["accession_number"],
            "study_dates": [date(int(day[:4]), int(day[4:6]), int(day[6:8]))]
            if len(day) == 8 and day.isdigit()
            else [],
        }
    people = [x for x in (row["submitted_by"], row["reader_id"], row["second_reader_id"]) if x]
    handled = await conn.execute(select(users.c.display_name).where(users.c.id.in_(people)))
    every_doctor = await conn.execute(select(users.c.display_name).where(users.c.role != str(Role.ADMIN)))
    every_hospital = await conn.execute(select(hospitals.c.name))
    return {
        **dict(row),
        **stored,
        "case_people": [x[0] for x in handled],
        "doctors": [x[0] for x in every_doctor],
        "hospitals": [x[0] for x in every_hospital],
    }


async def note_notified(conn: AsyncConnection, case_id: str, seq: int, told: list[dict[str, Any]]) -> None:
    """Who a step's notices reached and by which channel, in its audit event."""
    e = teaching_events.c
    await conn.execute(
        update(teaching_events)
        .where(e.case_id == case_id, e.seq == seq)
        .values(details=e.details.op("||")(func.jsonb_build_object("notified", cast(literal(json.dumps(told)), JSONB))))
    )
