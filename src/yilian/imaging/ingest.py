"""One ingest pipeline for every door (STOW-RS, upload, gateway): check, store the file, index it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import reading, single_statement
from yilian.db.queries import imaging as queries
from yilian.dicom.header import read_header
from yilian.dicom.instance import FailureReason, UnreadableInstanceError, check_instance, read_instance
from yilian.dicom.value_limits import dataset_value_problems, indexed_value_problems
from yilian.imaging.blob import BlobStore, StagedBlob, sha256_of
from yilian.imaging.index import IndexedInstance, bulk_data_uri_of, index_header, index_instance
from yilian.metrics.catalog import instances_ingested


class Origin(StrEnum):
    STOW = "stow"
    GATEWAY = "gateway"
    UPLOAD = "upload"
    DEID = "deid"  # a de-identified copy made by the archive itself (imaging/deid_copy.py)


@dataclass(frozen=True)
class IncomingInstance:
    """What every door hands the pipeline: the Part-10 bytes as received, and who sent them from where."""

    data: bytes
    origin: Origin
    hospital_id: str
    received_by: str  # user id or API key id
    expected_study_instance_uid: str | None = None  # STOW-RS POST /studies/{study}


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # same SOP Instance UID, same bytes: success without storing twice (idempotent retry)
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    reason: str = ""
    failure_reason: FailureReason | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome is not Outcome.REJECTED


@dataclass(frozen=True)
class _Prepared:
    indexed: IndexedInstance
    size: int


# Staging a file is mostly waiting for the disk (write, fsync): its own threads, so that a request's fsyncs never
# hold back another's checks in the default executor.
_STAGING = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ingest-stage")


async def store_instance(engine: AsyncEngine, blobs: BlobStore, incoming: IncomingInstance) -> IngestResult:
    """Validate, write the file (temporary name, fsync, link, directory fsync), then commit its index rows.

    A rejected instance leaves nothing behind. A crash between the file and the commit leaves only an
    unreferenced blob, which a retry reuses because blobs are named by their content.
    """
    [result] = await store_instances(engine, blobs, [incoming])
    return result


async def store_instances(
    engine: AsyncEngine, blobs: BlobStore, incoming: Sequence[IncomingInstance]
) -> list[IngestResult]:
    """`store_instance` for each, in order, with the fixed costs paid once for the lot (a STOW-RS request's parts):
    see `IngestBatch`."""
    batch = IngestBatch(engine, blobs)
    for item in incoming:
        batch.add(item)
    return await batch.store()


class IngestBatch:
    """Instances stored together, each file started as soon as it is added (a STOW-RS part as it arrives): written
    and fsynced under a temporary name (`BlobStore.stage`) while the next parts arrive and the batch is checked and
    indexed (one thread hop in `store()`), so the disk and the CPU work at the same time. `store()` then looks up
    earlier copies (two queries, while the last files still sync), publishes the new instances' files (every link,
    then each directory fsynced once) and only then commits every row in one transaction: an acknowledged
    instance's file, its directory entry and its row are on disk, and a row never exists without its synced file.
    Staged files of instances not stored are discarded.

    A SOP Instance UID that comes twice is stored after its first copy is committed, so the second is a
    duplicate or a conflict exactly as it would be in two requests.
    """

    def __init__(self, engine: AsyncEngine, blobs: BlobStore) -> None:
        self.engine = engine
        self.blobs = blobs
        self.size = 0  # bytes added
        self._incoming: list[IncomingInstance] = []
        self._staged: list[Future[StagedBlob]] = []
        self._published: set[int] = set()

    def __len__(self) -> int:
        return len(self._incoming)

    def add(self, incoming: IncomingInstance) -> None:
        self._incoming.append(incoming)
        self.size += len(incoming.data)
        # A plain thread-pool future: its end does not wake the event loop; store() waits for the lot at once.
        self._staged.append(_STAGING.submit(_stage, self.blobs, incoming.data))

    async def store(self) -> list[IngestResult]:
        """Each added instance's outcome, in order; the batch is spent. On an exception nothing of it is committed
        and its staged files are discarded."""
        try:
            return await self._store()
        finally:
            await self._discard_all()

    async def discard(self) -> None:
        """Give the batch up (the request failed before it was stored): no row, no staged file left behind."""
        await self._discard_all()

    async def _store(self) -> list[IngestResult]:
        incoming = self._incoming
        # Checked and indexed in one thread hop, while the files sync.
        prepared = await asyncio.to_thread(lambda: [_prepare(item) for item in incoming])
        results: list[IngestResult | None] = [p if isinstance(p, IngestResult) else None for p in prepared]
        pending = [i for i, p in enumerate(prepared) if not isinstance(p, IngestResult)]
        while pending:
            now: list[int] = []
            later: list[int] = []
            seen: set[str] = set()
            for i in pending:
                uid = cast(_Prepared, prepared[i]).indexed.sop_instance_uid
                (later if uid in seen else now).append(i)
                seen.add(uid)
            stored = await self._store_prepared([(incoming[i], cast(_Prepared, prepared[i]), i) for i in now])
            for i, result in zip(now, stored, strict=True):
                results[i] = result
            pending = later
        done = [cast(IngestResult, r) for r in results]
        for item, result in zip(incoming, done, strict=True):  # /metrics: yilian_instances_ingested_total
            instances_ingested.labels(item.origin.value, result.outcome.value).inc()
        return done

    async def _store_prepared(self, items: list[tuple[IncomingInstance, _Prepared, int]]) -> list[IngestResult]:
        engine = self.engine
        async with reading(engine) as conn:  # the files go on syncing meanwhile
            owners, digests = await _lookups(conn, [p for _, p, _ in items])
        stagings = [self._staged[i] for _, _, i in items]
        await _all_done(stagings)
        staged = [f.result() for f in stagings]  # a staging's error is raised here, as gather raised it
        keyed = [(incoming, prepared, blob.key) for (incoming, prepared, _), blob in zip(items, staged, strict=True)]
        earlier = [_earlier(owners, digests, *item) for item in keyed]
        fresh = [k for k, found in enumerate(earlier) if found is None]
        # The original bytes are kept exactly as received: never re-encoded. All published before the commit.
        if fresh:
            await asyncio.get_running_loop().run_in_executor(_STAGING, self.blobs.publish, [staged[k] for k in fresh])
        self._published.update(items[k][2] for k in fresh)
        rows = [_new_instance(*keyed[k]) for k in fresh]
        inserted: set[str] = set()
        if rows:
            async with single_statement(engine) as conn:  # one statement: atomic on its own
                inserted = await queries.insert_instances(conn, rows, datetime.now(UTC))
        raced = [k for k in fresh if keyed[k][1].indexed.sop_instance_uid not in inserted]
        if raced:  # a concurrent request stored the same SOP Instance UID first
            async with reading(engine) as conn:
                owners, digests = await _lookups(conn, [keyed[k][1] for k in raced])
            for k in raced:
                earlier[k] = _earlier(owners, digests, *keyed[k]) or {"outcome": Outcome.DUPLICATE}
        return [
            IngestResult(**_identity(prepared), **(found or {"outcome": Outcome.STORED}))
            for (_, prepared, _), found in zip(items, earlier, strict=True)
        ]

    async def _discard_all(self) -> None:
        """Waits for every staging still under way, then drops each staged file not published (discard never
        touches a blob under its key)."""
        if len(self._published) == len(self._staged):  # all published (or nothing added): nothing to drop
            self._staged, self._incoming, self._published = [], [], set()
            return
        await _all_done(self._staged)
        leftovers = [
            f.result() for i, f in enumerate(self._staged) if f.exception() is None and i not in self._published
        ]
        self._staged, self._incoming, self._published = [], [], set()
        if leftovers:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_STAGING, _discard, self.blobs, leftovers)


async def _all_done(futures: Sequence[Future[Any]]) -> None:
    """Wait until every future is done, with one wake-up of the event loop for the lot: wrapping each in an asyncio
    future cost a wake-up and a chain of callbacks per STOW-RS part."""
    pending = [f for f in futures if not f.done()]
    if not pending:
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    remaining = len(pending)
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:  # in the staging thread (or here, for a future done meanwhile)
        nonlocal remaining
        with lock:
            remaining -= 1
            last = remaining == 0
        if last:
            loop.call_soon_threadsafe(_settle, done)

    for future in pending:
        future.add_done_callback(one_done)
    await done


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():  # the waiter may have been cancelled (the client went away)
        done.set_result(None)


def _stage(blobs: BlobStore, data: bytes) -> StagedBlob:
    return blobs.stage(data, sha256_of(data))


def _discard(blobs: BlobStore, staged: list[StagedBlob]) -> None:
    for blob in staged:
        blobs.discard(blob)


def _identity(prepared: _Prepared) -> dict[str, Any]:
    ix = prepared.indexed
    return {
        "sop_class_uid": ix.instance["sop_class_uid"],
        "sop_instance_uid": ix.sop_instance_uid,
        "study_instance_uid": ix.study_instance_uid,
        "series_instance_uid": ix.series_instance_uid,
    }


def _new_instance(incoming: IncomingInstance, prepared: _Prepared, key: str) -> queries.NewInstance:
    ix = prepared.indexed
    instance = dict(
        ix.instance,
        sha256=key,  # the key is the SHA-256 of the bytes
        size=prepared.size,
        blob_key=key,
        origin=incoming.origin.value,
        received_by=incoming.received_by,
    )
    return queries.NewInstance(incoming.hospital_id, ix.study, ix.series, instance, ix.modality)


def _prepare(incoming: IncomingInstance) -> _Prepared | IngestResult:
    # The common case in one pass over the bytes (dicom/header.py); anything else, or any problem, through pydicom.
    header = read_header(incoming.data, bulk_data_uri_of)
    if header is not None:
        expected = incoming.expected_study_instance_uid
        if expected is None or header.study_instance_uid == expected:
            return _Prepared(index_header(header), len(incoming.data))
    try:
        ds = read_instance(incoming.data)
    except UnreadableInstanceError as exc:
        return IngestResult(Outcome.REJECTED, reason=str(exc), failure_reason=exc.failure_reason)
    sop_class, sop_instance = str(ds.get("SOPClassUID", "")), str(ds.get("SOPInstanceUID", ""))
    # Every value that becomes an index column is within its VR's limits before anything is written.
    problems = check_instance(ds) or indexed_value_problems(ds) or dataset_value_problems(ds)
    if problems:
        return IngestResult(
            Outcome.REJECTED,
            sop_class,
            sop_instance,
            reason="; ".join(p.reason for p in problems),
            failure_reason=problems[0].failure_reason,
        )
    expected = incoming.expected_study_instance_uid
    if expected is not None and str(ds.StudyInstanceUID) != expected:
        return IngestResult(
            Outcome.REJECTED,
            sop_class,
            sop_instance,
            reason=f"the instance belongs to study {ds.StudyInstanceUID}, not {expected} named in the URL",
            failure_reason=FailureReason.STUDY_INSTANCE_UID_MISMATCH,
        )
    try:
        indexed = index_instance(ds)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a value pydicom cannot convert
        return IngestResult(
            Outcome.REJECTED, sop_class, sop_instance, reason=f"cannot read its attributes: {exc}",
            failure_reason=FailureReason.CANNOT_UNDERSTAND,
        )  # fmt: skip
    return _Prepared(indexed, len(incoming.data))


async def _lookups(conn: AsyncConnection, prepared: list[_Prepared]) -> tuple[dict[str, str], dict[str, str]]:
    """What is already stored of these instances: the owner of each study, the digest of each SOP instance."""
    return await queries.stored_copies(
        conn, (p.indexed.study_instance_uid for p in prepared), (p.indexed.sop_instance_uid for p in prepared)
    )


def _earlier(
    owners: dict[str, str], digests: dict[str, str], incoming: IncomingInstance, prepared: _Prepared, sha256: str
) -> dict[str, Any] | None:
    """How an instance relates to what is already stored: None if new, else the outcome fields."""
    ix = prepared.indexed
    owner = owners.get(ix.study_instance_uid)
    if owner is not None and owner != incoming.hospital_id:
        return {
            "outcome": Outcome.REJECTED,
            "reason": "this Study Instance UID was already sent by another hospital",
            "failure_reason": FailureReason.STUDY_OF_ANOTHER_HOSPITAL,
        }
    digest = digests.get(ix.sop_instance_uid)
    if digest is None:
        return None
    if digest == sha256:
        return {"outcome": Outcome.DUPLICATE}
    return {
        "outcome": Outcome.REJECTED,
        "reason": "an instance with this SOP Instance UID is already stored with different content",
        "failure_reason": FailureReason.SOP_INSTANCE_CONFLICT,
    }
