"""What each hospital's gateways have quarantined (issue 16), as their last report said (gateway/quarantine.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import api_keys, gateway_quarantine, gateway_reports

gq, gr = gateway_quarantine.c, gateway_reports.c


async def replace_report(
    conn: AsyncConnection,
    *,
    api_key_id: str,
    hospital_id: str,
    count: int,
    instances: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """The gateway's whole list replaces its last one (so the same report twice changes nothing). An instance
    already listed keeps the earliest first-seen time either side knew."""
    await conn.execute(
        insert(gateway_reports)
        .values(api_key_id=api_key_id, hospital_id=hospital_id, quarantined=count, reported_at=now)
        .on_conflict_do_update(
            index_elements=[gr.api_key_id], set_={"hospital_id": hospital_id, "quarantined": count, "reported_at": now}
        )
    )
    listed = [i["sop_instance_uid"] for i in instances]
    await conn.execute(
        delete(gateway_quarantine).where(gq.api_key_id == api_key_id, gq.sop_instance_uid.not_in(listed))
    )
    if not instances:
        return
    new = insert(gateway_quarantine).values(
        [{**i, "api_key_id": api_key_id, "hospital_id": hospital_id, "reported_at": now} for i in instances]
    )
    await conn.execute(
        new.on_conflict_do_update(
            index_elements=[gq.api_key_id, gq.sop_instance_uid],
            set_={
                "hospital_id": hospital_id,
                "study_instance_uid": new.excluded.study_instance_uid,
                "code": new.excluded.code,
                "reason": new.excluded.reason,
                "first_seen_at": func.least(gq.first_seen_at, new.excluded.first_seen_at),
                "reported_at": now,
            },
        )
    )


async def of_hospital(conn: AsyncConnection, hospital_id: str) -> list[dict[str, Any]]:
    """The hospital's quarantined instances, newest first, with the gateway (API key) that reported each; a revoked
    key's last report is left out (that gateway can no longer tell us it was fixed)."""
    rows = await conn.execute(
        select(gateway_quarantine, api_keys.c.label.label("gateway"))
        .select_from(gateway_quarantine.join(api_keys, api_keys.c.id == gq.api_key_id))
        .where(gq.hospital_id == hospital_id, api_keys.c.revoked_at.is_(None))
        .order_by(gq.first_seen_at.desc(), gq.sop_instance_uid)
    )
    return [dict(r) for r in rows.mappings()]


async def totals(conn: AsyncConnection, hospital_id: str) -> tuple[int, datetime | None]:
    """How many the hospital's gateways hold in quarantine (all of them, listed or not), and the latest report."""
    row = (
        await conn.execute(
            select(func.coalesce(func.sum(gr.quarantined), 0), func.max(gr.reported_at))
            .select_from(gateway_reports.join(api_keys, api_keys.c.id == gr.api_key_id))
            .where(gr.hospital_id == hospital_id, api_keys.c.revoked_at.is_(None))
        )
    ).one()
    return int(row[0]), row[1]
