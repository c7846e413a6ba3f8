"""Reports on their way to county PACSs (docs/gateway.md): what a report version is made from, the deliveries a
hospital's gateway fetches, the same deliveries as the hospital's people see them, and their audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from yilian.db.queries.access import visible_referrals
from yilian.db.schema import (
    api_keys,
    dicom_studies,
    hospitals,
    pacs_deliveries,
    pacs_delivery_events,
    patients,
    referrals,
    report_versions,
    users,
)
from yilian.domain.access import Principal
from yilian.domain.pacs_delivery import OPEN_STATES, DeliveryState

# What a gateway sees of a delivery (never the bytes: those come one at a time from /instance).
_LISTED = [c for c in pacs_deliveries.c if c.name != "data"]


async def report_source(conn: AsyncConnection, referral_id: str, version: int) -> dict[str, Any] | None:
    """The referral's hospitals, reader and second reader by name, and the archived study's Patient and Study
    attributes (DICOM JSON); None when the study is not in the archive (there is nothing to file the report in)."""
    r, h_req, h_read = referrals.c, aliased(hospitals), aliased(hospitals)
    reader, second = aliased(users), aliased(users)
    row = (
        (
            await conn.execute(
                select(
                    r.id,
                    r.study_instance_uid,
                    r.requesting_hospital_id,
                    r.modality,
                    h_req.c.name.label("hospital_name"),
                    h_read.c.name.label("reading_hospital_name"),
                    reader.c.display_name.label("reader_name"),
                    second.c.display_name.label("second_reader_name"),
                    dicom_studies.c.attributes.label("study_attributes"),
                    dicom_studies.c.study_date,
                    dicom_studies.c.study_description,
                    dicom_studies.c.modalities,
                )  # fmt: skip
                .join(h_req, h_req.c.id == r.requesting_hospital_id)
                .join(h_read, h_read.c.id == r.reading_hospital_id)
                .join(reader, reader.c.id == r.reader_id, isouter=True)
                .join(second, second.c.id == r.second_reader_id, isouter=True)
                .join(
                    dicom_studies,
                    and_(
                        dicom_studies.c.study_instance_uid == r.study_instance_uid,
                        dicom_studies.c.hospital_id == r.requesting_hospital_id,
                    ),
                )
                .where(r.id == referral_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    versions = await conn.execute(
        select(report_versions)
        .where(
            report_versions.c.referral_id == referral_id,
            report_versions.c.version <= version,
            report_versions.c.kind.in_(["final", "addendum"]),
        )
        .order_by(report_versions.c.version)
    )
    return {**row, "reports": [dict(v) for v in versions.mappings()]}


async def gateway_asked_since(conn: AsyncConnection, hospital_id: str, since: datetime) -> bool:
    """Whether an active key of the hospital fetched its report deliveries since `since` (a gateway with a PACS)."""
    k = api_keys.c
    found = await conn.scalar(
        select(exists().where(k.hospital_id == hospital_id, k.revoked_at.is_(None), k.reports_asked_at >= since))
    )
    return bool(found)


async def mark_asked(conn: AsyncConnection, key_id: str, now: datetime) -> None:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(reports_asked_at=now))


async def version_made(conn: AsyncConnection, referral_id: str, version: int) -> bool:
    d = pacs_deliveries.c
    found = await conn.scalar(select(exists().where(d.referral_id == referral_id, d.report_version == version)))
    return bool(found)


async def insert_delivery(conn: AsyncConnection, row: dict[str, Any], now: datetime) -> int | None:
    """A new delivery and its first audit event; None when this instance was made already (a retried activity)."""
    delivery_id = await conn.scalar(
        insert(pacs_deliveries)
        .values(**row, state=str(DeliveryState.PENDING), created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["sop_instance_uid"])
        .returning(pacs_deliveries.c.id)
    )
    if delivery_id is not None:
        await _event(conn, int(delivery_id), DeliveryState.PENDING, None, "", "system", now)
    return None if delivery_id is None else int(delivery_id)


async def deliveries(
    conn: AsyncConnection, hospital_id: str, *, study_instance_uid: str | None = None
) -> list[dict[str, Any]]:
    """The hospital's open deliveries, oldest first; for one study, every report instance made for it (C-MOVE)."""
    d = pacs_deliveries.c
    q = select(*_LISTED).where(d.hospital_id == hospital_id)
    if study_instance_uid is None:
        q = q.where(d.state.in_([str(s) for s in OPEN_STATES]))
    else:
        q = q.where(d.study_instance_uid == study_instance_uid)
    return [dict(r) for r in (await conn.execute(q.order_by(d.id))).mappings()]


async def delivery(
    conn: AsyncConnection, delivery_id: int, hospital_id: str, *, with_data: bool = False, lock: bool = False
) -> dict[str, Any] | None:
    d = pacs_deliveries.c
    q = select(*(pacs_deliveries.c if with_data else _LISTED)).where(d.id == delivery_id, d.hospital_id == hospital_id)
    if lock:
        q = q.with_for_update()
    row = (await conn.execute(q)).mappings().first()
    return dict(row) if row else None


async def record_outcome(
    conn: AsyncConnection,
    delivery_id: int,
    state: DeliveryState,
    dicom_status: int | None,
    detail: str,
    actor_id: str,
    now: datetime,
) -> None:
    await conn.execute(
        update(pacs_deliveries)
        .where(pacs_deliveries.c.id == delivery_id)
        .values(state=str(state), dicom_status=dicom_status, detail=detail, updated_at=now)
    )
    await _event(conn, delivery_id, state, dicom_status, detail, actor_id, now)


# A gateway's answers to a C-STORE, as it told them: what the people's view counts as attempts.
_ANSWERED = [str(DeliveryState.DELIVERED), str(DeliveryState.FAILED)]


@dataclass(frozen=True)
class DeliveryFilter:
    hospital_id: str | None = None
    state: DeliveryState | None = None
    limit: int = 50
    offset: int = 0


def _seen(p: Principal) -> Select[Any]:
    """Deliveries as the hospital's people see them, of the cases `p` may see (domain.access, compiled to SQL): the
    case's patient and report version, and the attempts the gateway reported."""
    d, r, e, v = pacs_deliveries.c, referrals.c, pacs_delivery_events.c, report_versions.c
    attempts = (
        select(func.count()).where(e.delivery_id == d.id, e.state.in_(_ANSWERED)).scalar_subquery().label("attempts")
    )
    shown = [d.id, d.referral_id, d.report_version, v.kind.label("report_kind"), d.kind, d.hospital_id]
    shown += [hospitals.c.name.label("hospital_name"), d.study_instance_uid, d.sop_instance_uid]
    shown += [patients.c.name.label("patient_name"), d.state, attempts, d.dicom_status, d.detail]
    return (
        select(*shown, d.created_at, d.updated_at)
        .select_from(
            pacs_deliveries.join(referrals, r.id == d.referral_id)
            .join(patients, patients.c.id == r.patient_ref)
            .join(hospitals, hospitals.c.id == d.hospital_id)
            .join(report_versions, and_(v.referral_id == d.referral_id, v.version == d.report_version))
        )
        .where(visible_referrals(p))
    )


async def seen_by(conn: AsyncConnection, p: Principal, f: DeliveryFilter) -> list[dict[str, Any]]:
    """The deliveries `p` may see, newest first (ids grow with time), optionally of one hospital or in one state."""
    d = pacs_deliveries.c
    q = _seen(p)
    if f.hospital_id is not None:
        q = q.where(d.hospital_id == f.hospital_id)
    if f.state is not None:
        q = q.where(d.state == str(f.state))
    rows = await conn.execute(q.order_by(d.id.desc()).limit(f.limit).offset(f.offset))
    return [dict(r) for r in rows.mappings()]


async def seen_one(conn: AsyncConnection, p: Principal, delivery_id: int) -> dict[str, Any] | None:
    q = _seen(p).where(pacs_deliveries.c.id == delivery_id)
    row = (await conn.execute(q)).mappings().first()
    return dict(row) if row else None


async def record_retry(conn: AsyncConnection, delivery_id: int, actor_id: str, reason: str, now: datetime) -> None:
    """Back in the gateway's list of open deliveries; the PACS's last status and the gateway's detail stay until its
    next answer. The audit event names the person and their reason."""
    await conn.execute(
        update(pacs_deliveries)
        .where(pacs_deliveries.c.id == delivery_id)
        .values(state=str(DeliveryState.QUEUED), updated_at=now)
    )
    await _event(conn, delivery_id, DeliveryState.QUEUED, None, reason, actor_id, now)


async def events(conn: AsyncConnection, delivery_id: int) -> list[dict[str, Any]]:
    e = pacs_delivery_events.c
    rows = await conn.execute(select(pacs_delivery_events).where(e.delivery_id == delivery_id).order_by(e.id))
    return [dict(r) for r in rows.mappings()]


async def _event(
    conn: AsyncConnection,
    delivery_id: int,
    state: DeliveryState,
    dicom_status: int | None,
    detail: str,
    actor_id: str,
    now: datetime,
) -> None:
    await conn.execute(
        pacs_delivery_events.insert().values(
            delivery_id=delivery_id, at=now, state=str(state), dicom_status=dicom_status, detail=detail,
            actor_id=actor_id,
        )
    )  # fmt: skip
