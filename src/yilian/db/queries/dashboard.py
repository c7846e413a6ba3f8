"""Coordinator dashboard reads: counts, cases at risk, breaches, turnaround percentiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.access import visible_referrals
from yilian.db.queries.referral import OPEN_STATE_VALUES
from yilian.db.schema import referrals
from yilian.domain.access import Principal

r = referrals.c


def scope_of(p: Principal) -> ColumnElement[bool]:
    """The cases a dashboard counts: those its viewer may see (the one access rule)."""
    return visible_referrals(p)


async def counts(conn: AsyncConnection, scope: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(r.requesting_hospital_id, r.state, func.count().label("count"))
        .where(scope, r.submitted_at >= since, r.submitted_at < until)
        .group_by(r.requesting_hospital_id, r.state)
        .order_by(r.requesting_hospital_id, r.state)
    )
    return [dict(x) for x in rows.mappings()]


async def at_risk(conn: AsyncConnection, scope: Any, now: datetime, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Open cases past 75 % of their target but not yet breached, soonest due first: the first `limit`, and how
    many there are."""
    return await _listed(
        conn,
        select(r.id, r.requesting_hospital_id, r.priority, r.state, r.reader_id, r.offered_to, r.sla_due_at)
        .where(
            scope,
            r.state.in_(OPEN_STATE_VALUES),
            r.breached.is_(False),
            r.sla_paused.is_(False),
            or_(r.warned, r.sla_warn_at <= now),
        )
        .order_by(r.sla_due_at),
        limit,
    )


async def breaches(
    conn: AsyncConnection, scope: Any, since: datetime, until: datetime, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Breached cases of the period, the still open ones first, each soonest due first: the first `limit`, and how
    many there are."""
    return await _listed(
        conn,
        select(r.id, r.requesting_hospital_id, r.priority, r.state, r.reader_id, r.sla_due_at, r.final_at)
        .where(scope, r.breached.is_(True), r.submitted_at >= since, r.submitted_at < until)
        .order_by(r.final_at.is_not(None), r.sla_due_at),
        limit,
    )


async def _listed(conn: AsyncConnection, query: Any, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first `limit` rows and the count of all, in one round trip (a window count is taken before the limit).
    A province's month can hold thousands of breaches: the screen lists the first few hundred, the tile counts."""
    rows = [dict(x) for x in (await conn.execute(query.add_columns(func.count().over().label("_total"))
                                                   .limit(limit))).mappings()]  # fmt: skip
    total = int(rows[0]["_total"]) if rows else 0
    for row in rows:
        del row["_total"]
    return rows, total


async def turnaround(conn: AsyncConnection, scope: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Minutes from submission to the final report, p50/p90, per priority and per requesting hospital."""
    minutes = extract("epoch", r.final_at - r.submitted_at) / 60.0
    rows = await conn.execute(
        select(
            r.priority,
            r.requesting_hospital_id,
            func.count().label("count"),
            func.percentile_cont(0.5).within_group(minutes).label("p50_minutes"),
            func.percentile_cont(0.9).within_group(minutes).label("p90_minutes"),
        )
        .where(and_(scope, r.final_at.is_not(None), r.submitted_at >= since, r.submitted_at < until))
        .group_by(r.priority, r.requesting_hospital_id)
        .order_by(r.priority, r.requesting_hospital_id)
    )
    return [dict(x) for x in rows.mappings()]
