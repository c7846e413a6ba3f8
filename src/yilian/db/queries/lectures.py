"""Lectures: the projection and audit writes (from activities), registrations, segment views, Q&A, quiz attempts,
the tally's standings and credits, and the reads behind the lecture screens. Who may watch is
domain.lecture.in_audience, compiled here to SQL (`visible_lectures`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, any_, cast, delete, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import (
    hospitals,
    lecture_credits,
    lecture_events,
    lecture_questions,
    lecture_quiz_attempts,
    lecture_registrations,
    lecture_views,
    lecture_votes,
    lectures,
    users,
)
from yilian.domain.access import Principal
from yilian.domain.lecture import ALWAYS_WATCH, WATCHER_ROLES, Plan, Quiz, QuizQuestion
from yilian.domain.lecture_io import RecordLectureStepInput

L = lectures.c


# ---- who may see a lecture ----------------------------------------------------------------------------------------
def visible_lectures(p: Principal) -> ColumnElement[bool]:
    """Lecture rows `p` may see and watch: exactly those `domain.lecture.in_audience` lets through."""
    if p.role not in WATCHER_ROLES:
        return false()
    if p.role in ALWAYS_WATCH:
        return true()
    hospital = literal(p.hospital_id) == any_(L.audience_hospital_ids) if p.hospital_id is not None else false()
    return or_(
        L.organiser_id == p.user_id,
        literal(p.user_id) == any_(L.speaker_ids),
        func.cardinality(L.audience_hospital_ids) == 0,
        hospital,
    )


# ---- plans as rows and back ---------------------------------------------------------------------------------------
def quiz_json(q: Quiz) -> dict[str, Any]:
    return {
        "questions": [{"text": x.text, "options": list(x.options), "answer": x.answer} for x in q.questions],
        "pass_mark": q.pass_mark,
    }


def quiz_of(row: dict[str, Any]) -> Quiz:
    raw = row.get("quiz") or {}
    questions = tuple(
        QuizQuestion(str(x["text"]), tuple(str(o) for o in x["options"]), int(x["answer"]))
        for x in raw.get("questions", [])
    )
    return Quiz(questions, float(raw.get("pass_mark", 0.6)))


def plan_of(row: dict[str, Any]) -> Plan:
    return Plan(
        title=row["title"],
        starts_at=row["starts_at"],
        duration_minutes=row["duration_minutes"],
        speaker_ids=tuple(row["speaker_ids"]),
        abstract=row["abstract"],
        audience_hospital_ids=tuple(row["audience_hospital_ids"]),
        credit=row["credit"],
        threshold=row["threshold"],
        quiz=quiz_of(row),
        case_ids=tuple(row["case_ids"]),
    )


# ---- writes from the workflow's activities ------------------------------------------------------------------------
async def record_step(conn: AsyncConnection, inp: RecordLectureStepInput, details: dict[str, Any]) -> bool:
    """The audit event and the projection (only forward); False if the step was already recorded."""
    e, s = inp.event, inp.snapshot
    inserted = await conn.scalar(
        insert(lecture_events)
        .values(
            lecture_id=e.lecture_id, seq=e.seq, action=str(e.action),
            from_state=str(e.from_state) if e.from_state else None, to_state=str(e.to_state),
            actor_id=e.actor.user_id, actor_role=str(e.actor.role), at=e.at, details=details,
        )
        .on_conflict_do_nothing(constraint="uq_lecture_event_seq")
        .returning(lecture_events.c.id)
    )  # fmt: skip
    if inserted is None:
        return False
    p = s.plan
    row = {
        "id": s.lecture_id, "title": p.title, "abstract": p.abstract, "state": str(s.state),
        "organiser_id": s.organiser_id, "speaker_ids": list(p.speaker_ids),
        "audience_hospital_ids": list(p.audience_hospital_ids), "starts_at": p.starts_at,
        "duration_minutes": p.duration_minutes, "credit": p.credit, "threshold": p.threshold,
        "quiz": quiz_json(p.quiz), "case_ids": list(p.case_ids), "cancel_reason": s.cancel_reason,
        "recorded_seconds": s.recorded_seconds, "last_seq": e.seq, "created_at": e.at, "updated_at": e.at,
    }  # fmt: skip
    stmt = insert(lectures).values(row)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[L.id],
            set_={k: stmt.excluded[k] for k in row if k not in ("id", "created_at")},
            where=L.last_seq < stmt.excluded.last_seq,
        )
    )
    return True


async def registered_ids(conn: AsyncConnection, lecture_id: str) -> list[str]:
    r = lecture_registrations.c
    return list((await conn.scalars(select(r.user_id).where(r.lecture_id == lecture_id).order_by(r.user_id))).all())


async def standings(conn: AsyncConnection, lecture_id: str, user_ids: list[str] | None) -> list[dict[str, Any]]:
    """Each doctor who watched: their hospital, seconds watched (distinct segments) and whether they passed the quiz
    (None when they never tried; the caller knows whether the lecture has one)."""
    v, a = lecture_views.c, lecture_quiz_attempts.c
    watched = select(v.user_id, func.sum(v.seconds).label("watched_seconds")).where(v.lecture_id == lecture_id)
    if user_ids is not None:
        watched = watched.where(v.user_id.in_(user_ids))
    w = watched.group_by(v.user_id).subquery()
    passed = (
        select(func.bool_or(a.passed)).where(a.lecture_id == lecture_id, a.user_id == w.c.user_id).scalar_subquery()
    )
    rows = await conn.execute(
        select(w.c.user_id, users.c.hospital_id, w.c.watched_seconds, passed.label("quiz_passed"))
        .select_from(w.join(users, users.c.id == w.c.user_id))
        .order_by(w.c.user_id)
    )
    return [dict(r) for r in rows.mappings()]


async def award(conn: AsyncConnection, lecture_id: str, rows: list[dict[str, Any]], at: datetime) -> list[str]:
    """Credits for these doctors, once each: the user ids newly awarded."""
    if not rows:
        return []
    values = [{**r, "lecture_id": lecture_id, "awarded_at": at} for r in rows]
    got = await conn.scalars(insert(lecture_credits).values(values).on_conflict_do_nothing()
                             .returning(lecture_credits.c.user_id))  # fmt: skip
    return sorted(got.all())


# ---- people's own records -----------------------------------------------------------------------------------------
async def register(conn: AsyncConnection, lecture_id: str, user_id: str, at: datetime) -> None:
    await conn.execute(
        insert(lecture_registrations).values(lecture_id=lecture_id, user_id=user_id, at=at).on_conflict_do_nothing()
    )


async def unregister(conn: AsyncConnection, lecture_id: str, user_id: str) -> None:
    r = lecture_registrations.c
    await conn.execute(delete(lecture_registrations).where(r.lecture_id == lecture_id, r.user_id == user_id))


async def add_views(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    """Segment views in one statement; a segment already counted for the doctor counts once."""
    if not rows:
        return 0
    result = await conn.execute(insert(lecture_views).values(list(rows)).on_conflict_do_nothing())
    return int(result.rowcount or 0)


async def add_question(conn: AsyncConnection, lecture_id: str, author_id: str, body: str, at: datetime) -> int:
    qid = await conn.scalar(
        insert(lecture_questions)
        .values(lecture_id=lecture_id, author_id=author_id, body=body, at=at)
        .returning(lecture_questions.c.id)
    )
    return int(qid)


async def question(conn: AsyncConnection, lecture_id: str, question_id: int) -> dict[str, Any] | None:
    q = lecture_questions.c
    row = (
        (await conn.execute(select(lecture_questions).where(q.id == question_id, q.lecture_id == lecture_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def vote(conn: AsyncConnection, question_id: int, user_id: str) -> None:
    await conn.execute(insert(lecture_votes).values(question_id=question_id, user_id=user_id).on_conflict_do_nothing())


async def pick(conn: AsyncConnection, question_id: int, by: str, at: datetime) -> None:
    q = lecture_questions.c
    await conn.execute(
        lecture_questions.update().where(q.id == question_id, q.picked_at.is_(None)).values(picked_by=by, picked_at=at)
    )


async def questions(conn: AsyncConnection, lecture_id: str, user_id: str) -> list[dict[str, Any]]:
    """The lecture's questions, picked ones first (in the order picked), then by votes, then oldest first."""
    q, v = lecture_questions.c, lecture_votes.c
    votes = select(func.count()).where(v.question_id == q.id).scalar_subquery()
    mine = select(func.count()).where(v.question_id == q.id, v.user_id == user_id).scalar_subquery()
    rows = await conn.execute(
        select(
            q.id, q.body, q.at, q.picked_at, q.author_id, users.c.display_name.label("author_name"),
            votes.label("votes"), (mine > 0).label("voted"),
        )
        .select_from(lecture_questions.join(users, users.c.id == q.author_id))
        .where(q.lecture_id == lecture_id)
        .order_by(q.picked_at.is_(None), q.picked_at, votes.desc(), q.id)
    )  # fmt: skip
    return [dict(r) for r in rows.mappings()]


async def add_attempt(
    conn: AsyncConnection, lecture_id: str, user_id: str, answers: list[int], right: int, passed: bool, at: datetime
) -> None:
    await conn.execute(
        insert(lecture_quiz_attempts).values(
            lecture_id=lecture_id, user_id=user_id, answers=answers, right=right, passed=passed, at=at
        )
    )


# ---- reads --------------------------------------------------------------------------------------------------------
async def get(conn: AsyncConnection, lecture_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(lectures).where(L.id == lecture_id))).mappings().first()
    return dict(row) if row else None


async def catalogue(
    conn: AsyncConnection, p: Principal, *, states: list[str], limit: int, offset: int
) -> list[dict[str, Any]]:
    """The lectures `p` may watch, soonest first, with whether `p` registered."""
    r = lecture_registrations.c
    mine = select(func.count()).where(r.lecture_id == L.id, r.user_id == p.user_id).scalar_subquery()
    q = select(lectures, (mine > 0).label("registered")).where(visible_lectures(p))
    if states:
        q = q.where(L.state.in_(states))
    rows = await conn.execute(q.order_by(L.starts_at.desc(), L.id).limit(limit).offset(offset))
    return [dict(x) for x in rows.mappings()]


async def is_registered(conn: AsyncConnection, lecture_id: str, user_id: str) -> bool:
    r = lecture_registrations.c
    found = await conn.scalar(select(func.count()).where(r.lecture_id == lecture_id, r.user_id == user_id))
    return bool(found)


async def people(conn: AsyncConnection, user_ids: list[str]) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(users.c.id, users.c.display_name, users.c.role, users.c.hospital_id, users.c.title).where(
            users.c.id.in_(user_ids)
        )
    )
    return [dict(r) for r in rows.mappings()]


async def my_standing(conn: AsyncConnection, lecture_id: str, user_id: str) -> dict[str, Any]:
    """Seconds watched (distinct segments, live and replay), the best quiz result and the credit, if awarded."""
    v, a, c = lecture_views.c, lecture_quiz_attempts.c, lecture_credits.c
    watched = await conn.scalar(
        select(func.coalesce(func.sum(v.seconds), cast(0, Float))).where(v.lecture_id == lecture_id,
                                                                         v.user_id == user_id)
    )  # fmt: skip
    segments = await conn.scalar(select(func.count()).where(v.lecture_id == lecture_id, v.user_id == user_id))
    best = (
        await conn.execute(
            select(a.right, a.passed).where(a.lecture_id == lecture_id, a.user_id == user_id)
            .order_by(a.passed.desc(), a.right.desc()).limit(1)
        )
    ).first()  # fmt: skip
    credit = (
        (await conn.execute(select(lecture_credits).where(c.lecture_id == lecture_id, c.user_id == user_id)))
        .mappings()
        .first()
    )
    return {
        "watched_seconds": float(watched or 0),
        "segments": int(segments or 0),
        "quiz_right": best[0] if best else None,
        "quiz_passed": best[1] if best else None,
        "credit": dict(credit) if credit else None,
    }


async def my_credits(conn: AsyncConnection, user_id: str) -> list[dict[str, Any]]:
    c = lecture_credits.c
    rows = await conn.execute(
        select(c.lecture_id, L.title, L.starts_at, c.credit, c.watched_seconds, c.quiz_passed, c.awarded_at)
        .select_from(lecture_credits.join(lectures, L.id == c.lecture_id))
        .where(c.user_id == user_id)
        .order_by(c.awarded_at.desc())
    )
    return [dict(r) for r in rows.mappings()]


async def attendance(conn: AsyncConnection, lecture_id: str) -> list[dict[str, Any]]:
    """One row per doctor who registered or watched: hospital, seconds watched, live/replay, quiz, credit."""
    v, r, a, c = lecture_views.c, lecture_registrations.c, lecture_quiz_attempts.c, lecture_credits.c
    watched = (
        select(
            v.user_id,
            func.sum(v.seconds).label("watched_seconds"),
            func.sum(v.seconds).filter(v.mode == "live").label("live_seconds"),
        )
        .where(v.lecture_id == lecture_id)
        .group_by(v.user_id)
        .subquery()
    )
    registered = select(r.user_id).where(r.lecture_id == lecture_id)
    who = select(watched.c.user_id).union(registered).subquery()
    passed = select(func.bool_or(a.passed)).where(a.lecture_id == lecture_id, a.user_id == who.c.user_id)
    is_registered = select(func.count()).where(r.lecture_id == lecture_id, r.user_id == who.c.user_id)
    rows = await conn.execute(
        select(
            who.c.user_id, users.c.display_name, users.c.hospital_id, hospitals.c.name.label("hospital_name"),
            (is_registered.scalar_subquery() > 0).label("registered"),
            func.coalesce(watched.c.watched_seconds, 0.0).label("watched_seconds"),
            func.coalesce(watched.c.live_seconds, 0.0).label("live_seconds"),
            passed.scalar_subquery().label("quiz_passed"), c.credit, c.awarded_at,
        )
        .select_from(
            who.join(users, users.c.id == who.c.user_id)
            .outerjoin(hospitals, hospitals.c.id == users.c.hospital_id)
            .outerjoin(watched, watched.c.user_id == who.c.user_id)
            .outerjoin(lecture_credits, and_(c.lecture_id == lecture_id, c.user_id == who.c.user_id))
        )
        .order_by(hospitals.c.name, users.c.display_name)
    )  # fmt: skip
    return [dict(x) for x in rows.mappings()]


async def trail(conn: AsyncConnection, lecture_id: str) -> list[dict[str, Any]]:
    e = lecture_events.c
    rows = await conn.execute(select(lecture_events).where(e.lecture_id == lecture_id).order_by(e.seq))
    return [dict(r) for r in rows.mappings()]


async def known_hospitals(conn: AsyncConnection, hospital_ids: list[str]) -> list[str]:
    if not hospital_ids:
        return []
    return list((await conn.scalars(select(hospitals.c.id).where(hospitals.c.id.in_(hospital_ids)))).all())
