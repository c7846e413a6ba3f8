"""The durable local queue: spooled Part-10 files plus an SQLite list of what is queued, sent and failed."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast

from yilian.gateway.spool_blanks import POOL_SIZE, BlankPool, fsync_directory

log = logging.getLogger(__name__)

_SCHEMA_VERSION = 1
# Free space on the spool's disk is measured again after this long, or sooner when the last measurement, less what
# was let in since, comes within _FREE_SPACE_MARGIN of the floor: a statvfs per instance bought nothing far from it.
_FREE_SPACE_SECONDS = 1.0
_FREE_SPACE_MARGIN = 256 * 1024 * 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS instance (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    sop_instance_uid   TEXT NOT NULL,
    sop_class_uid      TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    path               TEXT NOT NULL,
    sha256             TEXT NOT NULL,
    size               INTEGER NOT NULL,
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    received_at        REAL NOT NULL,
    updated_at         REAL NOT NULL,
    sent_at            REAL,
    pruned_at          REAL,
    UNIQUE (sop_instance_uid, sha256)
);
CREATE INDEX IF NOT EXISTS instance_state ON instance (state, id);
CREATE TABLE IF NOT EXISTS gateway_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class QueueState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class ReceiveOutcome(StrEnum):
    """What `put` did with a received instance; every outcome means the modality may be told Success."""

    QUEUED = "queued"
    ALREADY_QUEUED = "already_queued"
    ALREADY_SENT = "already_sent"
    REQUEUED = "requeued"  # identical bytes of an instance the cloud refused: the sender is trying again


@dataclass(frozen=True)
class QueuedInstance:
    id: int
    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    path: Path
    sha256: str
    size: int
    attempts: int


@dataclass(frozen=True)
class Received:
    outcome: ReceiveOutcome
    id: int
    path: Path


@dataclass(frozen=True)
class FailedInstance:
    sop_instance_uid: str
    study_instance_uid: str
    reason: str
    at: float


@dataclass(frozen=True)
class QueueSnapshot:
    """What `yilian gateway status` shows; times are Unix seconds."""

    queued: int
    queued_bytes: int
    sent: int
    failed: int
    oldest_queued_at: float | None
    last_success_at: float | None
    last_error: str | None
    last_error_at: float | None
    recent_failures: tuple[FailedInstance, ...]


@dataclass(frozen=True)
class Recovery:
    """What start-up found left behind by a crash."""

    partial_files_removed: int
    orphan_files_removed: int
    missing_files: int
    blanks_kept: int


class InstanceQueue:
    """Files under `spool_dir/instances`, listed in `spool_dir/queue.sqlite3`: a row names its file (`path`) and
    holds its bytes' SHA-256. Each instance is written into a blank (`spool_blanks.BlankPool`), so file names are
    random and mean nothing beyond the row that names them.

    Safe to call from pynetdicom's association threads and the uploader at once: one connection behind a lock.
    A row is committed only after its file is durable, so a committed row always has its bytes on disk.
    """

    def __init__(self, spool_dir: Path, *, readonly: bool = False, blanks: int = POOL_SIZE) -> None:
        """`blanks`: how many blank files to keep ready (0: none, every instance makes its own file)."""
        self.spool_dir = spool_dir
        self._incoming = spool_dir / "incoming"
        self._instances = spool_dir / "instances"
        self._spool_name = os.fspath(spool_dir)
        self._blanks = BlankPool(spool_dir, size=blanks)
        self._lock = threading.Lock()
        self._db = connect_queue_database(spool_dir, readonly=readonly)
        self._group = GroupCommit(self._db, self._lock)
        self._free = (0, -math.inf)  # (bytes free at the last measurement less what was let in since, when measured)
        if readonly:
            return
        self._incoming.mkdir(parents=True, exist_ok=True)
        self._instances.mkdir(parents=True, exist_ok=True)
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def blanks_ready(self) -> int:
        """Blank files ready for the next instances (spool_blanks.BlankPool)."""
        return self._blanks.ready()

    def close(self) -> None:
        self._blanks.close()
        with self._lock:
            self._db.close()

    # -- receiving ---------------------------------------------------------------------------------------------

    def free_bytes(self, needed: int, floor: int) -> int:
        """Bytes free on the spool's disk for a file of `needed` bytes that must leave `floor` free.

        Measured (shutil.disk_usage) whenever the answer could be near the floor, so a refusal and anything close
        to one rest on a fresh figure; far above it, the last measurement less what was let in since serves for up
        to a second. The file about to be written is counted as taken.
        """
        free, measured_at = self._free
        now = time.monotonic()
        if now - measured_at > _FREE_SPACE_SECONDS or free - needed < floor + _FREE_SPACE_MARGIN:
            free, measured_at = shutil.disk_usage(self.spool_dir).free, now
        self._free = (free - needed, measured_at)
        return free

    def put(
        self,
        data: bytes,
        *,
        sha256: str | None = None,
        sop_instance_uid: str,
        sop_class_uid: str,
        study_instance_uid: str,
    ) -> Received:
        """Make the instance durable: file written and fsynced under a durable name, then the row committed.

        `sha256` is the hex digest of `data` when the caller has it already (hashed as the bytes arrived).

        Identical bytes already queued or sent are not queued again. The same SOP Instance UID with other bytes
        is a new version, queued after the earlier one; the cloud decides whether it conflicts.
        """
        if sha256 is None:
            sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            existing = self._db.execute(
                "SELECT id, state, path FROM instance WHERE sop_instance_uid = ? AND sha256 = ?",
                (sop_instance_uid, sha256),
            ).fetchone()
        if existing is not None and existing[1] != QueueState.FAILED:
            outcome = ReceiveOutcome.ALREADY_SENT if existing[1] == QueueState.SENT else ReceiveOutcome.ALREADY_QUEUED
            return Received(outcome, existing[0], self.spool_dir / existing[2])

        if existing is not None:  # refused before and sent again: the same bytes, into the file its row names
            relative = existing[2]
            write_durably(self._incoming, self.spool_dir / relative, data)
        else:
            relative = self.spool_file(data)  # outside the lock: associations write their files in parallel
        own = Path(f"{self._spool_name}/{relative}")
        now = time.time()

        def write_row() -> Received:
            if existing is not None:
                self._db.execute(
                    "UPDATE instance SET state = ?, attempts = 0, last_error = NULL, updated_at = ? WHERE id = ?",
                    (QueueState.QUEUED, now, existing[0]),
                )
                return Received(ReceiveOutcome.REQUEUED, existing[0], own)
            # Two associations may race with the same bytes; the unique key lets the second one find the first.
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO instance (sop_instance_uid, sop_class_uid, study_instance_uid, path, sha256,"
                " size, state, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sop_instance_uid,
                    sop_class_uid,
                    study_instance_uid,
                    relative,
                    sha256,
                    len(data),
                    QueueState.QUEUED,
                    now,
                    now,
                ),
            )
            if inserted.rowcount == 1 and inserted.lastrowid is not None:
                return Received(ReceiveOutcome.QUEUED, inserted.lastrowid, own)
            row_id, path = self._db.execute(
                "SELECT id, path FROM instance WHERE sop_instance_uid = ? AND sha256 = ?", (sop_instance_uid, sha256)
            ).fetchone()
            return Received(ReceiveOutcome.QUEUED, int(row_id), self.spool_dir / path)

        # A commit that raises leaves the file to `recover`: on an I/O error the row may yet be on disk.
        received = self._group.commit(write_row)
        if received.path is not own:  # another association's row came first and names its own copy of the bytes
            self._discard(relative)
        return received

    def spool_file(self, data: bytes) -> str:
        """Write bytes durably into a file of their own and return its path relative to the spool; no row yet (a
        crash before the row leaves a file no row names, which `recover` removes).

        The file is a blank whose name is already durable, so this costs the write and the file's fsync and no
        flush of a directory: that was paid ahead, once per batch of blanks. With no blank ready, a new file is
        made and its directory fsynced after the write, as every instance did before the blanks.
        """
        blank = self._blanks.take()
        if blank is None:
            fd, relative = self._blanks.new_file()
        else:
            fd, relative = os.open(f"{self._spool_name}/{blank}", os.O_WRONLY), blank
        try:
            _write_all(fd, data)
        except BaseException:
            os.close(fd)
            self._discard(relative)  # part of the bytes may be in it: not a blank any more
            raise
        os.close(fd)
        if blank is None:  # a new name, durable only once its directory is
            fsync_directory(self._blanks.directory_of(relative))
        return relative

    def recover(self) -> Recovery:
        """Clean up after a crash; run before the SCP and uploader start.

        Partial files were never acknowledged and orphan files never committed, so the modality was not told
        Success for either and will send them again: both are removed. A queued row whose file is gone cannot
        be sent and is marked failed rather than retried forever. Blanks left by the last run go back into the pool.
        """
        partial = 0
        for leftover in self._incoming.glob("*.part"):
            leftover.unlink(missing_ok=True)
            partial += 1
        with self._lock:
            rows = self._db.execute("SELECT id, path, state, pruned_at FROM instance").fetchall()
        referenced = {path for _, path, _, _ in rows}
        orphans, blanks = 0, []
        for file in self._instances.glob("*/*.dcm"):
            relative = str(file.relative_to(self.spool_dir))
            if relative in referenced:
                continue
            # No row names it. A DICOM file is never empty (a 128-byte preamble and "DICM" at least), so an empty
            # one is a blank, never written, and anything else an instance written but never committed, so never
            # acknowledged: the modality sends it again.
            if file.stat().st_size == 0:
                blanks.append(relative)
            else:
                file.unlink(missing_ok=True)
                orphans += 1
        kept = self._blanks.adopt(blanks)
        missing = {
            row_id: f"the spooled file {self.spool_dir / path} is missing; ask the modality to send it again"
            for row_id, path, state, _ in rows
            if state == QueueState.QUEUED and not (self.spool_dir / path).exists()
        }
        if missing:
            self.mark_failed(missing)
        if partial or orphans or missing:
            log.warning(
                "recovered the queue: %d partial and %d unacknowledged files removed, %d queued files missing",
                partial,
                orphans,
                len(missing),
            )
        return Recovery(partial, orphans, len(missing), kept)

    # -- uploading ---------------------------------------------------------------------------------------------

    def next_batch(
        self,
        max_count: int,
        max_bytes: int,
        *,
        skip_ids: Set[int] = frozenset(),
        skip_uids: Set[str] = frozenset(),
    ) -> list[QueuedInstance]:
        """The oldest queued instances up to a count and a byte total (at least one, however big).

        A batch never holds two versions of one SOP Instance UID, so the cloud's answer for a UID is unambiguous
        and versions reach it in the order they were received. `skip_ids` and `skip_uids` are what other upload
        lanes are sending: neither those rows nor any version of those UIDs is taken.
        """
        with self._lock:
            cursor = self._db.execute(
                "SELECT id, sop_instance_uid, sop_class_uid, study_instance_uid, path, sha256, size, attempts"
                " FROM instance WHERE state = ? ORDER BY id",
                (QueueState.QUEUED,),
            )
            rows: list[tuple[Any, ...]] = []
            seen: set[str] = set()
            total = 0
            for row in cursor:
                row_id, uid, size = row[0], row[1], row[6]
                if uid in seen or uid in skip_uids:
                    seen.add(uid)  # a later version waits for the earlier one
                    continue
                if row_id in skip_ids:
                    continue
                if rows and (len(rows) >= max_count or total + size > max_bytes):
                    break
                rows.append(row)
                seen.add(uid)
                total += size
            cursor.close()
        # Built after the lock is given back (the SCP's threads wait for it), and only for the rows taken: the rows
        # other lanes are sending, passed over above, used to cost an object and a Path each at every look.
        return [QueuedInstance(r[0], r[1], r[2], r[3], self.spool_dir / r[4], r[5], r[6], r[7]) for r in rows]

    def mark_sent(self, ids: Iterable[int]) -> None:
        now = time.time()
        with self._lock, self._transaction():
            self._db.executemany(
                "UPDATE instance SET state = ?, attempts = attempts + 1, last_error = NULL, sent_at = ?,"
                " updated_at = ? WHERE id = ?",
                [(QueueState.SENT, now, now, row_id) for row_id in ids],
            )
            self._set_state("last_success_at", repr(now))

    def mark_failed(self, reasons: Mapping[int, str]) -> None:
        """The cloud refused these for good: they stay on disk, out of the queue, with the reason."""
        now = time.time()
        with self._lock, self._transaction():
            self._db.executemany(
                "UPDATE instance SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                [(QueueState.FAILED, reason, now, row_id) for row_id, reason in reasons.items()],
            )

    def mark_retry(self, ids: Iterable[int], error: str) -> None:
        """A transient failure: the instances stay queued and count one more attempt."""
        now = time.time()
        with self._lock, self._transaction():
            self._db.executemany(
                "UPDATE instance SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                [(error, now, row_id) for row_id in ids],
            )

    def record_error(self, message: str) -> None:
        """The last thing that went wrong, in plain words, for `yilian gateway status`."""
        with self._lock, self._transaction():
            self._set_state("last_error", message)
            self._set_state("last_error_at", repr(time.time()))

    def prune_sent(self, older_than: float) -> int:
        """Delete the files of instances the cloud accepted before `older_than`; their rows stay as the record."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, path FROM instance WHERE state = ? AND pruned_at IS NULL AND sent_at < ?",
                (QueueState.SENT, older_than),
            ).fetchall()
        for _, path in rows:
            (self.spool_dir / path).unlink(missing_ok=True)
        if rows:
            now = time.time()
            with self._lock, self._transaction():
                self._db.executemany("UPDATE instance SET pruned_at = ? WHERE id = ?", [(now, r[0]) for r in rows])
        return len(rows)

    # -- reporting ---------------------------------------------------------------------------------------------

    def snapshot(self, recent_failures: int = 10) -> QueueSnapshot:
        with self._lock:
            self._db.execute("BEGIN")  # one read transaction: the counts agree with each other
            try:
                counts = dict(self._db.execute("SELECT state, count(*) FROM instance GROUP BY state").fetchall())
                queued_bytes, oldest = self._db.execute(
                    "SELECT coalesce(sum(size), 0), min(received_at) FROM instance WHERE state = ?",
                    (QueueState.QUEUED,),
                ).fetchone()
                state = dict(self._db.execute("SELECT key, value FROM gateway_state").fetchall())
                failures = tuple(
                    FailedInstance(uid, study, reason or "", at)
                    for uid, study, reason, at in self._db.execute(
                        "SELECT sop_instance_uid, study_instance_uid, last_error, updated_at FROM instance"
                        " WHERE state = ? ORDER BY updated_at DESC LIMIT ?",
                        (QueueState.FAILED, recent_failures),
                    )
                )
            finally:
                self._db.execute("COMMIT")
        return QueueSnapshot(
            queued=counts.get(QueueState.QUEUED, 0),
            queued_bytes=int(queued_bytes),
            sent=counts.get(QueueState.SENT, 0),
            failed=counts.get(QueueState.FAILED, 0),
            oldest_queued_at=oldest,
            last_success_at=_float(state.get("last_success_at")),
            last_error=state.get("last_error"),
            last_error_at=_float(state.get("last_error_at")),
            recent_failures=failures,
        )

    def state_value(self, key: str) -> str | None:
        """A value the gateway keeps across restarts (gateway_state), e.g. what the cloud last acknowledged."""
        with self._lock:
            row = self._db.execute("SELECT value FROM gateway_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state_value(self, key: str, value: str) -> None:
        with self._lock, self._transaction():
            self._set_state(key, value)

    # -- internals ---------------------------------------------------------------------------------------------

    def _set_state(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO gateway_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _discard(self, relative: str) -> None:
        """Remove a spool file no row names (or ever will); one left behind by a crash, `recover` removes."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{self._spool_name}/{relative}")


_T = TypeVar("_T")


@dataclass
class _Waiting:
    write: Callable[[], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Rows that associations receive at the same moment share one transaction, so one fsync (SQLite
    `synchronous=FULL`) makes all of them durable, and `commit` returns only once its own row is.

    Whoever finds no commit under way commits what is waiting, its own write included; the rest wait for it, and
    the next leader takes whatever arrived meanwhile. So one association commits alone as before, and N of them
    pay about one fsync per round rather than N in a row. Each write runs under a savepoint: one that fails is
    undone and raised to its own caller, and the others still commit.
    """

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock  # the connection's lock, held for the whole transaction
        self._turn = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._committing = False

    def commit(self, write: Callable[[], _T]) -> _T:
        mine = _Waiting(write)
        group: list[_Waiting] = []
        with self._turn:
            self._waiting.append(mine)
            while self._committing and not mine.done:
                self._turn.wait()
            if not mine.done:  # no commit under way: lead one for everything waiting
                self._committing = True
                group, self._waiting = self._waiting, []
        if group:
            try:
                self._commit_group(group)
            except BaseException as exc:  # no row of the group is durable: every caller hears so
                for waiting in group:
                    waiting.error, waiting.result = waiting.error or exc, None
            finally:
                with self._turn:
                    for waiting in group:
                        waiting.done = True
                    self._committing = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error
        return cast(_T, mine.result)

    def _commit_group(self, group: list[_Waiting]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            committed = False
            try:
                for waiting in group:
                    self._db.execute("SAVEPOINT one_row")
                    try:
                        waiting.result = waiting.write()
                    except Exception as exc:
                        self._db.execute("ROLLBACK TO one_row")
                        waiting.error = exc
                    self._db.execute("RELEASE one_row")
                self._db.execute("COMMIT")
                committed = True
            finally:
                if not committed and self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): take the write lock up front, no upgrade deadlocks."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def connect_queue_database(spool_dir: Path, *, readonly: bool) -> sqlite3.Connection:
    """The gateway's `queue.sqlite3` (instances and report deliveries share it): read-only for `status`, which
    must not create it, else WAL (`status` reads while the gateway writes) with FULL sync (a commit survives power
    loss, not only a process crash)."""
    database = spool_dir / "queue.sqlite3"
    if readonly:
        if not database.exists():
            raise FileNotFoundError(f"no gateway queue at {database}")
        db = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 5000")
        return db
    spool_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 5000")
    return db


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def drop_cached_pages(paths: Iterable[Path]) -> None:
    """Give back the page cache that sent spool files hold (POSIX_FADV_DONTNEED; they were fsynced, so clean).

    Why: nothing reads a sent file again soon, and the next spooled instance's write needs as many pages. Freed, they
    are taken again while the host still backs them; otherwise a write takes fresh pages, which on a VM that reports
    free memory to its host (virtio-balloon free page reporting) each cost a host fault: the write of a 512 KiB
    slice then took 1.0-1.4 ms of CPU instead of 0.17 (docs/gateway.md, Performance notes). Best effort: a file
    already pruned, or a system without fadvise, is left as it is.
    """
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def write_durably(incoming: Path, final: Path, data: bytes) -> None:
    """Write to a partial file in `incoming`, fsync it, rename it to `final`, fsync `final`'s directory: a crash
    leaves the whole file under its final name or nothing there (a partial file `recover` removes)."""
    partial = incoming / f"{uuid.uuid4().hex}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(partial, final)  # atomic: the final name only ever holds a complete file
    fsync_directory(final.parent)


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)
