"""What report search reads from PostgreSQL (the signed reports, as the index needs them) and writes (its audit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from yilian.db.schema import hospitals, referrals, report_versions, search_events, users
from yilian.domain.access import Principal
from yilian.domain.report import ReportKind, SignedReport, SignedSection

_SIGNED = (str(ReportKind.FINAL), str(ReportKind.ADDENDUM))
_requesting = aliased(hospitals, name="requesting")
_reading = aliased(hospitals, name="reading")
_reader = aliased(users, name="reader")

# A referral is signed once it has a final report version.
_has_final = exists(
    select(1).where(report_versions.c.referral_id == referrals.c.id, report_versions.c.kind == str(ReportKind.FINAL))
)


def _cases() -> Any:
    r = referrals.c
    return (
        select(
            r.id,
            r.report_version,
            r.final_at,
            r.updated_at,
            r.modality,
            r.body_part,
            r.priority,
            r.study_instance_uid,
            r.requesting_hospital_id,
            _requesting.c.name.label("requesting_hospital_name"),
            r.reading_hospital_id,
            _reading.c.name.label("reading_hospital_name"),
            r.offered_to,
            r.reader_id,
            func.coalesce(_reader.c.display_name, "").label("reader_name"),
            r.signer_id,
            r.discrepancy,
            r.critical,
        )  # fmt: skip
        .select_from(
            referrals.join(_requesting, _requesting.c.id == r.requesting_hospital_id)
            .join(_reading, _reading.c.id == r.reading_hospital_id)
            .outerjoin(_reader, _reader.c.id == r.reader_id)
        )
        .where(_has_final)
    )


async def _sections(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[SignedSection]]:
    v = report_versions.c
    rows = await conn.execute(
        select(v.referral_id, v.version, v.kind, v.findings, v.impression)
        .where(v.referral_id.in_(list(ids)), v.kind.in_(_SIGNED))
        .order_by(v.referral_id, v.version)
    )
    out: dict[str, list[SignedSection]] = defaultdict(list)
    for row in rows:
        section = SignedSection(ReportKind(row.kind), row.version, row.findings, row.impression)
        if section.kind is ReportKind.FINAL:
            out[row.referral_id] = [section]  # a later final replaces an earlier one; addenda follow the last
        else:
            out[row.referral_id].append(section)
    return out


async def _reports(conn: AsyncConnection, stmt: Any) -> list[SignedReport]:
    rows = (await conn.execute(stmt)).all()
    sections = await _sections(conn, [row.id for row in rows]) if rows else {}
    return [
        SignedReport(
            referral_id=row.id,
            report_version=row.report_version,
            signed_at=row.final_at or row.updated_at,
            modality=row.modality,
            body_part=row.body_part,
            priority=row.priority,
            study_instance_uid=row.study_instance_uid,
            requesting_hospital_id=row.requesting_hospital_id,
            requesting_hospital_name=row.requesting_hospital_name,
            reading_hospital_id=row.reading_hospital_id,
            reading_hospital_name=row.reading_hospital_name,
            offered_to=row.offered_to,
            reader_id=row.reader_id,
            reader_name=row.reader_name,
            signer_id=row.signer_id,
            discrepancy=row.discrepancy,
            critical=row.critical,
            sections=tuple(sections.get(row.id, ())),
        )
        for row in rows
    ]


async def signed_report(conn: AsyncConnection, referral_id: str) -> SignedReport | None:
    """The referral's signed report (final and addenda) with its facets and parties; None before it is signed."""
    found = await _reports(conn, _cases().where(referrals.c.id == referral_id))
    return found[0] if found else None


async def signed_reports_page(
    conn: AsyncConnection, *, after: str | None = None, limit: int = 500, changed_since: datetime | None = None
) -> list[SignedReport]:
    """Signed reports in referral id order, `limit` at a time after id `after` (keyset paging for the reindex);
    `changed_since` keeps only cases whose projection changed since then (the reindex's catch-up pass)."""
    stmt = _cases().order_by(referrals.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(referrals.c.id > after)
    if changed_since is not None:
        stmt = stmt.where(referrals.c.updated_at >= changed_since)
    return await _reports(conn, stmt)


async def count_signed(conn: AsyncConnection) -> int:
    """How many referrals have a signed report: what the index should hold."""
    return int(await conn.scalar(select(func.count()).select_from(referrals).where(_has_final)) or 0)


async def record_search(
    conn: AsyncConnection, p: Principal, *, kind: str, query: dict[str, Any], total: int, at: datetime
) -> None:
    """One search, audited: who (user, role, hospital), what (the query as asked) and how many it found."""
    await conn.execute(
        insert(search_events).values(
            at=at, user_id=p.user_id, role=str(p.role), hospital_id=p.hospital_id, kind=kind, query=query, total=total
        )
    )


async def searches_of(conn: AsyncConnection, user_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """A person's latest searches, newest first (for the audit and its tests)."""
    e = search_events.c
    rows = await conn.execute(
        select(e.at, e.user_id, e.role, e.hospital_id, e.kind, e.query, e.total)
        .where(and_(e.user_id == user_id))
        .order_by(e.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]
