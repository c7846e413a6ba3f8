"""Migration 0022: an instance's metadata is stored uncompressed when its row fits in a page; rows stored before
keep their compressed value and read back as the same text."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.migrations import alembic_config
from yilian.db.engine import make_engine, migrate
from yilian.dicom.header import read_header
from yilian.imaging.blob import FilesystemBlobStore
from yilian.imaging.index import bulk_data_uri_of, index_header
from yilian.imaging.ingest import IncomingInstance, Origin, Outcome, store_instances
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


async def test_metadata_is_stored_whole_after_the_upgrade_and_old_rows_read_the_same(
    pg_server: EmbeddedPostgres, tmp_path: Path
) -> None:
    url = pg_server.create_database(f"m_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0021")  # the table as 0021 left it
    before, after = (to_bytes(ds) for ds in ct_series(n_slices=2, rows=16, cols=16, patient_id="TOAST-1"))
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    engine = make_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO hospitals (id, name, level, patient_id_issuer, created_at)"
                    " VALUES ('h-1', 'H', 'county', 'COUNTY-HOSPITAL', now())"
                )
            )

        async def store(data: bytes) -> tuple[str, str | None]:
            """The instance's stored metadata text and how PostgreSQL holds it (NULL: not compressed)."""
            [result] = await store_instances(engine, blobs, [IncomingInstance(data, Origin.STOW, "h-1", "u-1")])
            assert result.outcome is Outcome.STORED, result
            return await stored(result.sop_instance_uid)

        async def stored(sop_instance_uid: str) -> tuple[str, str | None]:
            async with engine.connect() as conn:
                row = await conn.execute(
                    text(
                        "SELECT metadata, pg_column_compression(metadata) FROM dicom_instances"
                        " WHERE sop_instance_uid = :uid"
                    ),
                    {"uid": sop_instance_uid},
                )
                metadata, method = row.one()
                return metadata, method

        old_text, old_method = await store(before)
        assert old_method == "pglz"  # longer than the default target: compressed, as every row was
        assert old_text == _metadata(before)

        await engine.dispose()  # the upgrade's ALTER TABLE waits for no session of ours
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")

        new_text, new_method = await store(after)
        assert new_method is None  # the row fits in a page: stored whole
        assert new_text == _metadata(after)
        assert await stored(_uid(before)) == (old_text, "pglz")  # the row stored before: as it was, the same text
    finally:
        await engine.dispose()


def _metadata(data: bytes) -> str:
    header = read_header(data, bulk_data_uri_of)
    assert header is not None
    return str(index_header(header).instance["metadata"])


def _uid(data: bytes) -> str:
    header = read_header(data, bulk_data_uri_of)
    assert header is not None
    return header.sop_instance_uid
