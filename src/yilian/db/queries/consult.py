"""MDT consults: the projection and audit writes (from activities), chat, attendance, live-room pins, and the reads
behind the consult screens. Who may see a consult is domain.consult.CONSULT_GRANTS, compiled here to SQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    any_,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, array, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.access import visible_referrals
from yilian.db.schema import (
    consult_attendance,
    consult_cases,
    consult_events,
    consult_invitees,
    consult_messages,
    consult_rooms,
    consults,
    referrals,
    users,
)
from yilian.domain.access import Mine, Principal, mine
from yilian.domain.consult import CONSULT_GRANTS, ConsultGrant, ConsultMatch, ConsultParty, ConsultState
from yilian.domain.consult_io import ConsultSnapshot, RecordConsultStepInput

CONSULTS_CHANNEL = "yilian_consults"  # payload: {"consult_id", "message_id"?} (JSON)
OPEN_STATE = str(ConsultState.OPEN)


# ---- who may see a consult --------------------------------------------------------------------------------------
def _match(m: ConsultMatch, p: Principal) -> ColumnElement[bool]:
    c = consults.c
    if m.party is ConsultParty.CASES:
        return exists(
            select(1)
            .select_from(consult_cases.join(referrals, referrals.c.id == consult_cases.c.referral_id))
            .where(consult_cases.c.consult_id == c.id, visible_referrals(p))
        )
    if m.party is ConsultParty.INVITEES:
        return exists(select(1).where(consult_invitees.c.consult_id == c.id, consult_invitees.c.user_id == p.user_id))
    if m.party is ConsultParty.HOSPITALS:
        hospital = mine(p, Mine.HOSPITAL)
        return literal(hospital) == any_(c.hospital_ids) if isinstance(hospital, str) else false()
    column = c.host_id if m.party is ConsultParty.HOST else c.requested_by
    return column == p.user_id


def _grant(grant: ConsultGrant, p: Principal) -> ColumnElement[bool]:
    return and_(true(), *(_match(m, p) for m in grant))


def visible_consults(p: Principal) -> ColumnElement[bool]:
    """Consult rows `p` may see: exactly those `domain.consult.can_view_consult` lets through."""
    return or_(false(), *(_grant(g, p) for g in CONSULT_GRANTS.get(p.role, ())))


# ---- writes from the workflow's activity -------------------------------------------------------------------------
def _row(s: ConsultSnapshot, seq: int, at: datetime) -> dict[str, Any]:
    f, sch, c = s.facts, s.schedule, s.conclusion
    return {
        "id": f.consult_id,
        "title": f.title,
        "referral_id": f.referral.referral_id if f.referral else None,
        "hospital_ids": list(f.hospital_ids),
        "state": str(s.state),
        "created_by": f.created_by.user_id,
        "requested_by": s.requested_by,
        "host_id": s.host_id,
        "starts_at": sch.starts_at if sch else None,
        "duration_minutes": sch.duration_minutes if sch else None,
        "agenda": sch.agenda if sch else "",
        "conclusion": (
            {"participants": list(c.participants), "discussion": c.discussion, "recommendation": c.recommendation}
            if c
            else None
        ),
        "cancel_reason": s.cancel_reason,
        "last_seq": seq,
        "created_at": at,
        "updated_at": at,
    }


async def record_step(conn: AsyncConnection, inp: RecordConsultStepInput, details: dict[str, Any]) -> bool:
    """The audit event, the projection (only forward), the invitees, cases and attendance; False if already recorded.

    Idempotent under (consult_id, seq): a retried activity changes nothing. Listeners hear of it at commit.
    """
    e = inp.event
    inserted = await conn.scalar(
        insert(consult_events)
        .values(
            consult_id=e.consult_id,
            seq=e.seq,
            action=str(e.action),
            from_state=str(e.from_state) if e.from_state else None,
            to_state=str(e.to_state),
            actor_id=e.actor.user_id,
            actor_role=str(e.actor.role),
            actor_hospital_id=e.actor.hospital_id,
            at=e.at,
            details=details,
        )
        .on_conflict_do_nothing(constraint="uq_consult_event_seq")
        .returning(consult_events.c.id)
    )
    if inserted is None:
        return False
    row = _row(inp.snapshot, e.seq, e.at)
    stmt = insert(consults).values(row)
    moved = await conn.scalar(
        stmt.on_conflict_do_update(
            index_elements=[consults.c.id],
            set_={k: stmt.excluded[k] for k in row if k not in ("id", "created_at")},
            where=consults.c.last_seq < stmt.excluded.last_seq,
        ).returning(consults.c.id)
    )
    if moved is not None:
        cid = e.consult_id
        cases = [
            {"consult_id": cid, "referral_id": r, "position": i} for i, r in enumerate(inp.snapshot.facts.case_ids)
        ]
        if cases:
            await conn.execute(insert(consult_cases).values(cases).on_conflict_do_nothing())
        await conn.execute(delete(consult_invitees).where(consult_invitees.c.consult_id == cid))
        invited = [{"consult_id": cid, "user_id": u} for u in inp.snapshot.invitee_ids]
        if invited:
            await conn.execute(insert(consult_invitees).values(invited))
    for a in inp.attendance:
        await _attend(conn, e.consult_id, a.user_id, a.joined, a.at)
    await announce(conn, e.consult_id)
    return True


async def _attend(conn: AsyncConnection, consult_id: str, user_id: str, joined: bool, at: datetime) -> None:
    """A stay in the room: a join opens one (closing any left open by a lost connection), a leave closes it."""
    a = consult_attendance.c
    await conn.execute(
        update(consult_attendance)
        .where(a.consult_id == consult_id, a.user_id == user_id, a.left_at.is_(None))
        .values(left_at=at)
    )
    if joined:
        await conn.execute(insert(consult_attendance).values(consult_id=consult_id, user_id=user_id, joined_at=at))


async def announce(conn: AsyncConnection, consult_id: str, message_id: int | None = None) -> None:
    payload = json.dumps({"consult_id": consult_id, "message_id": message_id})
    await conn.execute(select(func.pg_notify(CONSULTS_CHANNEL, payload)))


def heard(payload: str) -> tuple[str, int | None]:
    """The consult and, for a chat line, the message id an announcement names."""
    try:
        got = json.loads(payload)
        mid = got.get("message_id")
        return str(got["consult_id"]), int(mid) if mid is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return payload, None


# ---- reads --------------------------------------------------------------------------------------------------------
_INVITEES = (
    select(func.coalesce(func.array_agg(aggregate_order_by(consult_invitees.c.user_id, consult_invitees.c.user_id)),
                         cast(array([], type_=String), ARRAY(String))))
    .where(consult_invitees.c.consult_id == consults.c.id)
    .scalar_subquery()
    .label("invitee_ids")
)  # fmt: skip
_CASES = (
    select(func.coalesce(func.array_agg(aggregate_order_by(consult_cases.c.referral_id, consult_cases.c.position)),
                         cast(array([], type_=String), ARRAY(String))))
    .where(consult_cases.c.consult_id == consults.c.id)
    .scalar_subquery()
    .label("case_ids")
)  # fmt: skip
CONSULT_ROW = select(consults, _INVITEES, _CASES)


async def get(conn: AsyncConnection, consult_id: str) -> dict[str, Any] | None:
    """The consult's row with its invitees and its cases (in their order)."""
    row = (await conn.execute(CONSULT_ROW.where(consults.c.id == consult_id))).mappings().first()
    return dict(row) if row is not None else None


async def visible(
    conn: AsyncConnection, p: Principal, *, states: list[str] | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The consults `p` may see: the coming ones first by their start, then the rest, newest first."""
    c = consults.c
    q = CONSULT_ROW.where(visible_consults(p))
    if states:
        q = q.where(c.state.in_(states))
    q = q.order_by(c.starts_at.desc().nulls_first(), c.created_at.desc(), c.id).limit(limit).offset(offset)
    return [dict(r) for r in (await conn.execute(q)).mappings()]


async def case_rows(conn: AsyncConnection, referral_ids: list[str]) -> list[dict[str, Any]]:
    """The referral projection rows of a consult's cases (those that exist)."""
    if not referral_ids:
        return []
    rows = await conn.execute(select(referrals).where(referrals.c.id.in_(referral_ids)))
    return [dict(r) for r in rows.mappings()]


async def trail(conn: AsyncConnection, consult_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(consult_events, users.c.display_name.label("actor_name"))
        .select_from(consult_events.outerjoin(users, users.c.id == consult_events.c.actor_id))
        .where(consult_events.c.consult_id == consult_id)
        .order_by(consult_events.c.seq)
    )
    return [dict(r) for r in rows.mappings()]


async def consents(conn: AsyncConnection, consult_id: str) -> dict[str, bool]:
    """Each participant's latest word on recording (the workflow's audited `consent` steps), by user id."""
    e = consult_events.c
    rows = await conn.execute(
        select(e.actor_id, e.details["consent"].as_boolean())
        .where(e.consult_id == consult_id, e.action == "consent")
        .order_by(e.seq)
    )
    return {actor: bool(consent) for actor, consent in rows}


async def attendance(conn: AsyncConnection, consult_id: str) -> list[dict[str, Any]]:
    a = consult_attendance.c
    rows = await conn.execute(
        select(a.user_id, users.c.display_name, a.joined_at, a.left_at)
        .select_from(consult_attendance.join(users, users.c.id == a.user_id))
        .where(a.consult_id == consult_id)
        .order_by(a.joined_at, a.id)
    )
    return [dict(r) for r in rows.mappings()]


_MESSAGE = select(
    consult_messages.c.id,
    consult_messages.c.consult_id,
    consult_messages.c.author_id,
    users.c.display_name.label("author_name"),
    consult_messages.c.body,
    consult_messages.c.at,
).select_from(consult_messages.join(users, users.c.id == consult_messages.c.author_id))


async def messages(conn: AsyncConnection, consult_id: str, *, after: int, limit: int) -> list[dict[str, Any]]:
    """The chat, oldest first, from just after message `after`."""
    m = consult_messages.c
    rows = await conn.execute(_MESSAGE.where(m.consult_id == consult_id, m.id > after).order_by(m.id).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def message(conn: AsyncConnection, message_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_MESSAGE.where(consult_messages.c.id == message_id))).mappings().first()
    return dict(row) if row is not None else None


async def add_message(conn: AsyncConnection, consult_id: str, author_id: str, body: str, at: datetime) -> int:
    """Append a chat line and announce it (at commit) to the consult's live streams."""
    mid = await conn.scalar(
        insert(consult_messages)
        .values(consult_id=consult_id, author_id=author_id, body=body, at=at)
        .returning(consult_messages.c.id)
    )
    assert mid is not None
    await announce(conn, consult_id, int(mid))
    return int(mid)


# ---- the directory's people, for invitations ---------------------------------------------------------------------
async def people(
    conn: AsyncConnection, *, roles: list[str], specialty: str | None, hospital_id: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Active people of the alliance by role, specialty and hospital: whom a consult may invite."""
    u = users.c
    q = select(u.id, u.display_name, u.role, u.hospital_id, u.title, u.specialty).where(u.active, u.role.in_(roles))
    if specialty:
        q = q.where(u.specialty == specialty)
    if hospital_id:
        q = q.where(u.hospital_id == hospital_id)
    rows = await conn.execute(q.order_by(u.hospital_id, u.role, u.display_name, u.id).limit(limit).offset(offset))
    return [dict(r) for r in rows.mappings()]


async def people_by_id(conn: AsyncConnection, user_ids: list[str]) -> list[dict[str, Any]]:
    if not user_ids:
        return []
    u = users.c
    q = select(u.id, u.display_name, u.role, u.hospital_id, u.title, u.specialty).where(u.id.in_(user_ids))
    return [dict(r) for r in (await conn.execute(q)).mappings()]


async def active_people(conn: AsyncConnection, user_ids: list[str], roles: list[str]) -> set[str]:
    """Which of these ids are active people with one of `roles`."""
    if not user_ids:
        return set()
    u = users.c
    rows = await conn.execute(select(u.id).where(u.id.in_(user_ids), u.active, u.role.in_(roles)))
    return {r[0] for r in rows}


# ---- live rooms: which live process a room runs on ----------------------------------------------------------------
async def pinned(conn: AsyncConnection, consult_id: str) -> str | None:
    url = await conn.scalar(select(consult_rooms.c.live_url).where(consult_rooms.c.consult_id == consult_id))
    return str(url) if url is not None else None


async def pin(conn: AsyncConnection, consult_id: str, candidates: list[str], at: datetime) -> str:
    """The room's live process: the one already pinned, else the least loaded of `candidates` (open rooms pinned to
    it), chosen under a transaction-scoped lock so two API processes pinning at once agree."""
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("consult_rooms"))))
    already = await pinned(conn, consult_id)
    if already is not None:
        return already
    r, c = consult_rooms.c, consults.c
    load: dict[str, int] = dict(
        (
            await conn.execute(
                select(r.live_url, func.count())
                .select_from(consult_rooms.join(consults, consults.c.id == r.consult_id))
                .where(r.live_url.in_(candidates), c.state == OPEN_STATE)
                .group_by(r.live_url)
            )
        ).all()
    )
    chosen = min(candidates, key=lambda url: (load.get(url, 0), candidates.index(url)))
    await conn.execute(insert(consult_rooms).values(consult_id=consult_id, live_url=chosen, pinned_at=at))
    return chosen


async def unpin(conn: AsyncConnection, consult_id: str, live_url: str) -> None:
    """Forget a pin to a live process that is gone (only if it still names that one: another API may have moved it)."""
    r = consult_rooms.c
    await conn.execute(delete(consult_rooms).where(r.consult_id == consult_id, r.live_url == live_url))
