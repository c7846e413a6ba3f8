"""One ingest pipeline for every door (STOW-RS, upload, gateway): check, store the file, index it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import imaging as queries
from yilian.dicom.instance import FailureReason, UnreadableInstanceError, check_instance, read_instance
from yilian.dicom.value_limits import dataset_value_problems, indexed_value_problems
from yilian.imaging.blob import BlobStore, sha256_of
from yilian.imaging.index import IndexedInstance, index_instance
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
    sha256: str
    size: int


async def store_instance(engine: AsyncEngine, blobs: BlobStore, incoming: IncomingInstance) -> IngestResult:
    """Validate, write the file (temporary name, fsync, rename), then commit its index rows.

    A rejected instance leaves nothing behind. A crash between the file and the commit leaves only an
    unreferenced blob, which a retry reuses because blobs are named by their content.
    """
    [result] = await store_instances(engine, blobs, [incoming])
    return result


async def store_instances(
    engine: AsyncEngine, blobs: BlobStore, incoming: Sequence[IncomingInstance]
) -> list[IngestResult]:
    """`store_instance` for each, in order, with the fixed costs paid once for the lot (a STOW-RS request's parts):
    checked and indexed in one thread hop, earlier copies looked up in two queries, the files written in parallel
    (so their fsyncs overlap) and every row committed in one transaction.

    A SOP Instance UID that comes twice is stored after its first copy is committed, so the second is a
    duplicate or a conflict exactly as it would be in two requests.
    """
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
        stored = await _store_prepared(engine, blobs, [(incoming[i], cast(_Prepared, prepared[i])) for i in now])
        for i, result in zip(now, stored, strict=True):
            results[i] = result
        pending = later
    done = [cast(IngestResult, r) for r in results]
    for item, result in zip(incoming, done, strict=True):  # /metrics: yilian_instances_ingested_total
        instances_ingested.labels(item.origin.value, result.outcome.value).inc()
    return done


async def _store_prepared(
    engine: AsyncEngine, blobs: BlobStore, items: list[tuple[IncomingInstance, _Prepared]]
) -> list[IngestResult]:
    async with reading(engine) as conn:
        earlier = await _earlier_copies(conn, items)
    fresh = [k for k, found in enumerate(earlier) if found is None]
    # The original bytes are kept exactly as received: never re-encoded. In parallel: their fsyncs overlap.
    keys = await asyncio.gather(*(asyncio.to_thread(blobs.put, items[k][0].data, items[k][1].sha256) for k in fresh))
    rows = [_new_instance(*items[k], key) for k, key in zip(fresh, keys, strict=True)]
    inserted: set[str] = set()
    if rows:
        async with engine.begin() as conn:
            inserted = await queries.insert_instances(conn, rows, datetime.now(UTC))
    raced = [k for k in fresh if items[k][1].indexed.sop_instance_uid not in inserted]
    if raced:  # a concurrent request stored the same SOP Instance UID first
        async with reading(engine) as conn:
            again = await _earlier_copies(conn, [items[k] for k in raced])
        for k, found in zip(raced, again, strict=True):
            earlier[k] = found or {"outcome": Outcome.DUPLICATE}
    return [
        IngestResult(**_identity(prepared), **(found or {"outcome": Outcome.STORED}))
        for (_, prepared), found in zip(items, earlier, strict=True)
    ]


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
        sha256=prepared.sha256,
        size=prepared.size,
        blob_key=key,
        origin=incoming.origin.value,
        received_by=incoming.received_by,
    )
    return queries.NewInstance(incoming.hospital_id, ix.study, ix.series, instance, ix.modality)


def _prepare(incoming: IncomingInstance) -> _Prepared | IngestResult:
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
    return _Prepared(indexed, sha256_of(incoming.data), len(incoming.data))


async def _earlier_copies(
    conn: AsyncConnection, items: list[tuple[IncomingInstance, _Prepared]]
) -> list[dict[str, Any] | None]:
    """How each instance relates to what is already stored: None if new, else the outcome fields."""
    owners = await queries.study_owners(conn, (p.indexed.study_instance_uid for _, p in items))
    digests = await queries.stored_digests(conn, (p.indexed.sop_instance_uid for _, p in items))
    return [_earlier(owners, digests, incoming, prepared) for incoming, prepared in items]


def _earlier(
    owners: dict[str, str], digests: dict[str, str], incoming: IncomingInstance, prepared: _Prepared
) -> dict[str, Any] | None:
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
    if digest == prepared.sha256:
        return {"outcome": Outcome.DUPLICATE}
    return {
        "outcome": Outcome.REJECTED,
        "reason": "an instance with this SOP Instance UID is already stored with different content",
        "failure_reason": FailureReason.SOP_INSTANCE_CONFLICT,
    }
