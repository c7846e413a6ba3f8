"""The gateway's durable queue of reports for the hospital's PACS: files under `reports/`, rows in queue.sqlite3.

A report instance (the PDF or the SR of a signed version) is fetched from the cloud, written and fsynced, then
listed; it stays queued across network cuts and restarts until the PACS answers its C-STORE. Each row also remembers
what the cloud has been told, so the cloud's record catches up after a cut too.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from yilian.gateway.queue import connect_queue_database, write_durably

_SCHEMA = """
CREATE TABLE IF NOT EXISTS report_delivery (
    delivery_id        INTEGER PRIMARY KEY,  -- the cloud's id
    sop_instance_uid   TEXT NOT NULL,
    sop_class_uid      TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    path               TEXT NOT NULL,
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    dicom_status       INTEGER,
    last_error         TEXT,
    told               TEXT,  -- the state the cloud last acknowledged; NULL: nothing yet
    received_at        REAL NOT NULL,
    updated_at         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS report_delivery_state ON report_delivery (state, delivery_id);
"""


class ReportState(StrEnum):
    """The states the cloud knows too (domain.pacs_delivery.DeliveryState, which the gateway may not import)."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class QueuedReport:
    delivery_id: int
    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    path: Path
    attempts: int


@dataclass(frozen=True)
class Untold:
    """A state the cloud has not acknowledged yet."""

    delivery_id: int
    state: ReportState
    dicom_status: int | None
    detail: str


@dataclass(frozen=True)
class ReportFailure:
    sop_instance_uid: str
    study_instance_uid: str
    reason: str
    at: float


@dataclass(frozen=True)
class ReportSnapshot:
    queued: int
    delivered: int
    failed: int
    last_delivered_at: float | None
    last_error: str | None  # why the oldest waiting instance is still waiting, if it was tried
    recent_failures: tuple[ReportFailure, ...]


class ReportQueue:
    """Safe from several threads: one connection behind a lock, as InstanceQueue (same SQLite file, WAL)."""

    def __init__(self, spool_dir: Path, *, readonly: bool = False) -> None:
        self.spool_dir = spool_dir
        self._dir = spool_dir / "reports"
        self._incoming = spool_dir / "incoming"
        self._lock = threading.Lock()
        self._db = connect_queue_database(spool_dir, readonly=readonly)
        if readonly:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        self._incoming.mkdir(parents=True, exist_ok=True)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def known(self) -> set[int]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT delivery_id FROM report_delivery")}

    def put(self, delivery_id: int, data: bytes, *, sop_instance_uid: str, sop_class_uid: str, study: str) -> Path:
        """The instance durable (file fsynced and renamed, directory fsynced), then its row committed."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._dir / f"{sha256}.dcm"
        write_durably(self._incoming, path, data)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO report_delivery (delivery_id, sop_instance_uid, sop_class_uid,"
                " study_instance_uid, path, state, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, sop_instance_uid, sop_class_uid, study, str(path.relative_to(self.spool_dir)),
                 ReportState.QUEUED, now, now),
            )  # fmt: skip
        return path

    def recover(self) -> int:
        """Remove report files no row names (fetched, then a crash before the commit: fetched again later)."""
        with self._lock:
            named = {row[0] for row in self._db.execute("SELECT path FROM report_delivery")}
        removed = 0
        for file in self._dir.glob("*.dcm"):
            if str(file.relative_to(self.spool_dir)) not in named:
                file.unlink(missing_ok=True)
                removed += 1
        return removed

    def due(self) -> list[QueuedReport]:
        with self._lock:
            rows = self._db.execute(
                "SELECT delivery_id, sop_instance_uid, sop_class_uid, study_instance_uid, path, attempts"
                " FROM report_delivery WHERE state = ? ORDER BY delivery_id",
                (ReportState.QUEUED,),
            ).fetchall()
        return [QueuedReport(r[0], r[1], r[2], r[3], self.spool_dir / r[4], r[5]) for r in rows]

    def settle(self, delivery_id: int, state: ReportState, dicom_status: int | None, detail: str) -> None:
        """The PACS's answer: delivered, or failed for good, with its DICOM status."""
        with self._lock:
            self._db.execute(
                "UPDATE report_delivery SET state = ?, dicom_status = ?, last_error = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE delivery_id = ?",
                (state, dicom_status, detail or None, time.time(), delivery_id),
            )

    def retry(self, delivery_id: int, error: str, dicom_status: int | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE report_delivery SET attempts = attempts + 1, last_error = ?, dicom_status = ?, updated_at = ?"
                " WHERE delivery_id = ?",
                (error, dicom_status, time.time(), delivery_id),
            )

    def requeue_retried(self, delivery_id: int) -> bool:
        """Queue again an instance that failed here, once the cloud acknowledged the failure yet lists the delivery
        as open: only a person sending it again (POST /api/report-deliveries/{id}/retry) does that. A failure the
        cloud has not heard of yet is left alone: the cloud lists it as open only because it was not told."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE report_delivery SET state = ?, updated_at = ? WHERE delivery_id = ? AND state = ? AND told = ?",
                (ReportState.QUEUED, time.time(), delivery_id, ReportState.FAILED, ReportState.FAILED),
            ).rowcount
        return changed > 0

    def untold(self) -> list[Untold]:
        with self._lock:
            rows = self._db.execute(
                "SELECT delivery_id, state, dicom_status, last_error FROM report_delivery"
                " WHERE told IS NULL OR told != state ORDER BY delivery_id"
            ).fetchall()
        return [Untold(r[0], ReportState(r[1]), r[2], r[3] or "") for r in rows]

    def told(self, delivery_id: int, state: ReportState) -> None:
        with self._lock:
            self._db.execute("UPDATE report_delivery SET told = ? WHERE delivery_id = ?", (state, delivery_id))

    def snapshot(self, recent_failures: int = 10) -> ReportSnapshot:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                counts = dict(self._db.execute("SELECT state, count(*) FROM report_delivery GROUP BY state").fetchall())
                last = self._db.execute(
                    "SELECT max(updated_at) FROM report_delivery WHERE state = ?", (ReportState.DELIVERED,)
                ).fetchone()[0]
                waiting = self._db.execute(
                    "SELECT last_error FROM report_delivery WHERE state = ? AND last_error IS NOT NULL"
                    " ORDER BY delivery_id LIMIT 1",
                    (ReportState.QUEUED,),
                ).fetchone()
                failures = tuple(
                    ReportFailure(uid, study, reason or "", at)
                    for uid, study, reason, at in self._db.execute(
                        "SELECT sop_instance_uid, study_instance_uid, last_error, updated_at FROM report_delivery"
                        " WHERE state = ? ORDER BY updated_at DESC LIMIT ?",
                        (ReportState.FAILED, recent_failures),
                    )
                )
            except sqlite3.OperationalError:  # a queue from before reports: the table is not there yet
                counts, last, waiting, failures = {}, None, None, ()
            finally:
                self._db.execute("COMMIT")
        return ReportSnapshot(
            queued=counts.get(ReportState.QUEUED, 0),
            delivered=counts.get(ReportState.DELIVERED, 0),
            failed=counts.get(ReportState.FAILED, 0),
            last_delivered_at=last,
            last_error=waiting[0] if waiting else None,
            recent_failures=failures,
        )
