"""One ingest pipeline for every door (STOW-RS, upload, gateway): check, store the file, index it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ParamSpec

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


P = ParamSpec("P")


def _counted(store: Callable[P, Awaitable[IngestResult]]) -> Callable[P, Awaitable[IngestResult]]:
    """Count each outcome by door for /metrics (yilian_instances_ingested_total), whichever way it returns."""

    @functools.wraps(store)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> IngestResult:
        result = await store(*args, **kwargs)
        incoming = kwargs.get("incoming", args[2] if len(args) > 2 else None)
        origin = incoming.origin.value if isinstance(incoming, IncomingInstance) else "unknown"
        instances_ingested.labels(origin, result.outcome.value).inc()
        return result

    return counted


@_counted
async def store_instance(engine: AsyncEngine, blobs: BlobStore, incoming: IncomingInstance) -> IngestResult:
    """Validate, write the file (temporary name, fsync, rename), then commit its index rows.

    A rejected instance leaves nothing behind. A crash between the file and the commit leaves only an
    unreferenced blob, which a retry reuses because blobs are named by their content.
    """
    prepared = await asyncio.to_thread(_prepare, incoming)
    if isinstance(prepared, IngestResult):
        return prepared
    ix = prepared.indexed
    identity = {
        "sop_class_uid": ix.instance["sop_class_uid"],
        "sop_instance_uid": ix.sop_instance_uid,
        "study_instance_uid": ix.study_instance_uid,
        "series_instance_uid": ix.series_instance_uid,
    }
    async with reading(engine) as conn:
        earlier = await _earlier_copy(conn, prepared, incoming)
    if earlier is not None:
        return IngestResult(**identity, **earlier)
    # The original bytes are kept exactly as received: never re-encoded.
    key = await asyncio.to_thread(blobs.put, incoming.data, prepared.sha256)
    instance = dict(
        ix.instance,
        sha256=prepared.sha256,
        size=prepared.size,
        blob_key=key,
        origin=incoming.origin.value,
        received_by=incoming.received_by,
    )
    async with engine.begin() as conn:
        inserted = await queries.insert_instance(
            conn,
            hospital_id=incoming.hospital_id,
            study=ix.study,
            series=ix.series,
            instance=instance,
            modality=ix.modality,
            now=datetime.now(UTC),
        )
    if not inserted:  # a concurrent request stored the same SOP Instance UID first
        async with reading(engine) as conn:
            earlier = await _earlier_copy(conn, prepared, incoming)
        return IngestResult(**identity, **(earlier or {"outcome": Outcome.DUPLICATE}))
    return IngestResult(Outcome.STORED, **identity)


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


async def _earlier_copy(
    conn: AsyncConnection, prepared: _Prepared, incoming: IncomingInstance
) -> dict[str, Any] | None:
    """How an instance relates to what is already stored: None if new, else the outcome fields."""
    ix = prepared.indexed
    owner = await queries.study_owner(conn, ix.study_instance_uid)
    if owner is not None and owner != incoming.hospital_id:
        return {
            "outcome": Outcome.REJECTED,
            "reason": "this Study Instance UID was already sent by another hospital",
            "failure_reason": FailureReason.STUDY_OF_ANOTHER_HOSPITAL,
        }
    digest = await queries.stored_digest(conn, ix.sop_instance_uid)
    if digest is None:
        return None
    if digest == prepared.sha256:
        return {"outcome": Outcome.DUPLICATE}
    return {
        "outcome": Outcome.REJECTED,
        "reason": "an instance with this SOP Instance UID is already stored with different content",
        "failure_reason": FailureReason.SOP_INSTANCE_CONFLICT,
    }
