"""`yilian backup` / `yilian restore`: a backup of a running instance restored into an EMPTY database finds every
referral, report and image through the API; a wrong or damaged backup is refused by name."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.matrix import walk_many
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.demo import migrate_and_seed
from yilian.db.engine import make_engine
from yilian.db.queries.backup import all_table_counts
from yilian.db.schema import dicom_instances, referrals
from yilian.dicom.multipart import iter_parts, multipart_boundary
from yilian.imaging.blob import blob_store_from_url
from yilian.runtime.backup import DUMP, INDEX, MANIFEST, BackupError, backup, restore
from yilian.runtime.postgres import EmbeddedPostgres
from yilian.worker import build_worker

pytestmark = pytest.mark.integration

DICOM = {"Accept": 'multipart/related; type="application/dicom"'}


async def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await all_table_counts(conn)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Instance:
    api: Api
    engine: AsyncEngine
    settings: Settings


@pytest.fixture(scope="module")
async def original(
    pg_server: EmbeddedPostgres,
    settings: Settings,
    temporal_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Instance]:
    """An instance of its own (database, archive, task queue, worker): the session's database names images that
    other tests keep in other stores (S3, their own directories), which a restore rightly refuses to pass over."""
    url = pg_server.create_database(f"backup_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate_and_seed, url)
    own = settings.model_copy(
        update={
            "database_url": url,
            "task_queue": f"{settings.task_queue}-backup",
            "storage_url": f"file://{tmp_path_factory.mktemp('backup-dicom')}",
        }
    )
    engine = make_engine(url)
    try:
        async with build_worker(temporal_client, engine, own):
            app = create_app(own, engine, temporal_client)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://backup.test") as client:
                yield Instance(Api(client), engine, own)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def made(original: Instance, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Cases in every stage worth keeping (final reports, a case mid-reading), then a backup while workers run."""
    api, engine, settings = original.api, original.engine, original.settings
    ids = await walk_many(api, engine, ["returned", "returned", "preliminary", "in_reading"])
    out = tmp_path_factory.mktemp("backup") / "b1"
    assert settings.database_url
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "yilian.cli", "backup", str(out)],
        env={"YILIAN_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "database dumped" in proc.stderr and "blob manifest" in proc.stderr  # progress as it goes
    return out, ids


@pytest.fixture(scope="module")
async def restored(
    made: tuple[Path, list[str]], pg_server: EmbeddedPostgres, original: Instance, temporal_client: Client
) -> AsyncIterator[tuple[str, Api]]:
    settings = original.settings
    url = pg_server.create_database(f"restored_{uuid.uuid4().hex[:8]}")  # empty: no schema, no rows
    assert await _counts_or_none(url) is None
    result = await asyncio.to_thread(restore, made[0], url, blob_store_from_url(settings.storage_url))
    assert result.blobs_checked == result.index.blobs > 0
    local = settings.model_copy(update={"database_url": url})
    engine = make_engine(url)
    app = create_app(local, engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://restored.test") as client:
        yield url, Api(client)
    await engine.dispose()


async def _counts_or_none(url: str) -> dict[str, int] | None:
    try:
        return await _counts(url)
    except Exception:  # noqa: BLE001 - no tables yet is what "empty" means
        return None


async def test_restore_into_an_empty_database_finds_every_referral_report_and_image(
    made: tuple[Path, list[str]], restored: tuple[str, Api], original: Instance
) -> None:
    (backup_dir, walked), (url, restored_api) = made, restored
    api, engine = original.api, original.engine
    index = json.loads((backup_dir / INDEX).read_text())
    counts = await _counts(url)
    # Every table row for row as the backup's snapshot had it (the source has moved on since: workers ran).
    for table in ("referrals", "report_versions", "dicom_instances", "audit_events"):
        assert counts[table] == index["counts"][table]
    async with engine.connect() as conn:
        cases = (await conn.execute(select(referrals.c.id, referrals.c.submitted_by))).all()
        images = (
            await conn.execute(
                select(
                    dicom_instances.c.study_instance_uid,
                    dicom_instances.c.series_instance_uid,
                    dicom_instances.c.sop_instance_uid,
                    dicom_instances.c.sha256,
                )
            )
        ).all()
    assert counts["referrals"] >= 4 and counts["report_versions"] >= 1
    by_study: dict[str, list[Any]] = {}
    for image in images:
        by_study.setdefault(image.study_instance_uid, []).append(image)

    compared: dict[str, int] = {}
    for case in cases[: index["counts"]["referrals"]]:
        source = await api.call(case.submitted_by, "GET", f"/api/referrals/{case.id}")
        if source.status_code != 200:
            continue  # a case created after the backup
        copy = await restored_api.ok(case.submitted_by, "GET", f"/api/referrals/{case.id}")
        before = source.json()
        if before["state"] != copy["state"]:
            continue  # moved on in the source after the snapshot: the copy is the snapshot's
        assert copy["reports"] == before["reports"], case.id
        compared[case.id] = len(copy["reports"])
        for image in by_study.get(copy["study_instance_uid"], []):
            path = (f"/dicomweb/studies/{image.study_instance_uid}/series/{image.series_instance_uid}"
                    f"/instances/{image.sop_instance_uid}")  # fmt: skip
            r = await restored_api.call(case.submitted_by, "GET", path, headers=DICOM)
            assert r.status_code == 200, (case.id, r.text)

            async def body(content: bytes = r.content) -> AsyncIterator[bytes]:
                yield content

            [part] = [p async for p in iter_parts(body(), multipart_boundary(r.headers["content-type"]))]
            assert hashlib.sha256(part.body).hexdigest() == image.sha256
    # The cases walked for this test stood still after the backup: each was compared, reports and images.
    assert set(walked) <= set(compared)
    # The county doctor sees the final reports only; the reader sees the preliminary one too.
    assert [compared[rid] > 0 for rid in walked] == [True, True, False, False]
    for rid in walked:
        mine = await restored_api.ok("wang.expert", "GET", f"/api/referrals/{rid}")
        assert mine["reports"] == (await api.ok("wang.expert", "GET", f"/api/referrals/{rid}"))["reports"]
        assert bool(mine["reports"]) == (mine["state"] != "in_reading"), mine


async def test_a_wrong_or_damaged_backup_is_refused_by_name(
    made: tuple[Path, list[str]], pg_server: EmbeddedPostgres, original: Instance, tmp_path: Path
) -> None:
    backup_dir, settings = made[0], original.settings
    blobs = blob_store_from_url(settings.storage_url)
    empty = pg_server.create_database(f"restored_{uuid.uuid4().hex[:8]}")
    with pytest.raises(BackupError, match="not a Yilian backup"):
        await asyncio.to_thread(restore, tmp_path, empty, blobs)

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in (DUMP, MANIFEST, INDEX):
        (damaged / name).write_bytes((backup_dir / name).read_bytes())
    data = bytearray((damaged / DUMP).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / DUMP).write_bytes(bytes(data))
    with pytest.raises(BackupError, match=f"{DUMP} is corrupt"):
        await asyncio.to_thread(restore, damaged, empty, blobs)

    (damaged / DUMP).write_bytes((backup_dir / DUMP).read_bytes())
    (damaged / MANIFEST).unlink()
    with pytest.raises(BackupError, match=f"{MANIFEST} is missing"):
        await asyncio.to_thread(restore, damaged, empty, blobs)

    # Into a database that already holds an instance: refused before anything is written.
    assert settings.database_url
    with pytest.raises(BackupError, match="not empty"):
        await asyncio.to_thread(restore, backup_dir, settings.database_url, blobs)

    # The blobs are not in the store it is pointed at: every missing one is counted, none restored silently.
    with pytest.raises(BackupError, match=r"blobs the database names are missing"):
        await asyncio.to_thread(restore, backup_dir, empty, blob_store_from_url(f"file://{tmp_path / 'elsewhere'}"))

    with pytest.raises(BackupError, match="not an empty directory"):
        await asyncio.to_thread(backup, settings.database_url, backup_dir)
