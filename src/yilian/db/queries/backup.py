"""Reads for `yilian backup` / `yilian restore`: the schema revision, what a backup holds, the blob manifest."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.schema import audit_events, dicom_instances, metadata, referrals, report_versions

# What a backup counts and a restore checks again: the cases, their reports, their images and their history.
COUNTED = {
    "referrals": referrals,
    "report_versions": report_versions,
    "dicom_instances": dicom_instances,
    "audit_events": audit_events,
}


async def schema_revision(conn: AsyncConnection) -> str | None:
    if not await conn.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")):
        return None
    return await conn.scalar(text("SELECT version_num FROM alembic_version"))  # type: ignore[no-any-return]


async def export_snapshot(conn: AsyncConnection) -> str:
    """The transaction's snapshot id, for pg_dump --snapshot (the transaction must stay open meanwhile)."""
    return str(await conn.scalar(text("SELECT pg_export_snapshot()")))


async def counts(conn: AsyncConnection) -> dict[str, int]:
    return {
        name: int(await conn.scalar(select(func.count()).select_from(table)) or 0) for name, table in COUNTED.items()
    }


async def all_table_counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows in every table of the schema: a restore's copy must match its source row for row."""
    return {
        name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
        for name, table in sorted(metadata.tables.items())
    }


async def user_tables(conn: AsyncConnection) -> list[str]:
    """Tables in the public schema: a restore goes only into a database that has none."""
    rows = await conn.execute(
        text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")
    )
    return [str(r[0]) for r in rows]


async def blobs(conn: AsyncConnection, batch: int = 5000) -> AsyncIterator[tuple[str, str, int]]:
    """(blob key, sha256 recorded at ingest, size) of every stored instance, streamed in key order."""
    i = dicom_instances.c
    result = await conn.stream(
        select(i.blob_key, i.sha256, i.size).order_by(i.blob_key).execution_options(yield_per=batch)
    )
    async for row in result:
        yield str(row.blob_key), str(row.sha256), int(row.size)
