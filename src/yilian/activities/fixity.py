"""Fixity: re-hash a sample of stored blobs against the SHA-256 recorded at ingest; record and report mismatches."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import fixity as q
from yilian.domain.fixity import FixityOutcome, FixityRunInput
from yilian.domain.notice import NoticeKind, notice_params
from yilian.domain.referral_io import Audience, NotifyInput
from yilian.domain.roles import Role
from yilian.imaging.blob import BlobStore
from yilian.notify import dispatch
from yilian.notify.port import Notifier

_CHUNK = 1024 * 1024


def digest(blobs: BlobStore, key: str) -> str | None:
    """The blob's SHA-256 read in chunks (never whole in memory), or None when it is gone."""
    h = hashlib.sha256()
    try:
        with blobs.open(key) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except FileNotFoundError:
        return None
    return h.hexdigest()


class FixityActivities:
    def __init__(self, engine: AsyncEngine, blobs: BlobStore, notifiers: list[Notifier]) -> None:
        self._engine = engine
        self._blobs = blobs
        self._notifiers = notifiers

    @activity.defn(name="verify_fixity_sample")
    async def verify_sample(self, inp: FixityRunInput) -> FixityOutcome:
        async with reading(self._engine) as conn:
            if (done := await q.run(conn, inp.run_id)) is not None:  # a retry after the run was recorded
                return await _outcome(conn, done)
            sample = await q.sample(conn, inp.sample_size)
        failures: list[dict[str, Any]] = []
        for n, row in enumerate(sample):
            found = await asyncio.to_thread(digest, self._blobs, row["blob_key"])
            if found != row["sha256"]:
                failures.append(
                    {
                        "sop_instance_uid": row["sop_instance_uid"],
                        "study_instance_uid": row["study_instance_uid"],
                        "hospital_id": row["hospital_id"],
                        "blob_key": row["blob_key"],
                        "expected_sha256": row["sha256"],
                        "found_sha256": found,
                    }
                )
            if n % 50 == 0:
                activity.heartbeat(n)
        at = datetime.now(UTC)
        checked = [row["sop_instance_uid"] for row in sample]
        async with self._engine.begin() as conn:
            if await q.record_run(conn, inp.run_id, at, checked, failures) and failures:
                params = notice_params(
                    NoticeKind.FIXITY_MISMATCH, run_id=inp.run_id, count=str(len(failures)), checked=str(len(sample))
                )
                # The alliance's coordinators: restoring from backup is theirs to arrange, whichever hospital sent it.
                note = NotifyInput(
                    f"fixity/{inp.run_id}", "", NoticeKind.FIXITY_MISMATCH, Audience(role=Role.COORDINATOR), at, params
                )
                await dispatch.notify(conn, self._notifiers, note)
            done = await q.run(conn, inp.run_id)
            assert done is not None
            return await _outcome(conn, done)

    def all(self) -> list[Callable[..., Any]]:
        return [self.verify_sample]


async def _outcome(conn: Any, run: dict[str, Any]) -> FixityOutcome:
    failed = [f["sop_instance_uid"] for f in await q.failures_of(conn, run["run_id"])]
    return FixityOutcome(run_id=run["run_id"], checked=int(run["checked"]), failed=failed)
