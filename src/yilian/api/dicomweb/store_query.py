"""DICOMweb Store (STOW-RS) and Search (QIDO-RS) under /dicomweb with the exact PS3.18 paths."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from yilian.api.deps import Blobs, Engine, OnStored, Storer, Viewer, dicomweb_base, dicomweb_uids
from yilian.db.engine import reading
from yilian.dicom.instance import FailureReason, as_part10
from yilian.dicom.multipart import (
    MAX_BOUNDARY_LENGTH,
    MalformedMultipartError,
    PartTooLargeError,
    iter_parts,
    parse_content_type,
)
from yilian.dicom.qido import QidoQueryError, parse_qido
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.imaging import ingest
from yilian.imaging.ingest import IncomingInstance, IngestResult, Origin, Outcome
from yilian.imaging.qido import Resource, search

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"], dependencies=[Depends(dicomweb_uids)])
DICOM_JSON = "application/dicom+json"
SERVICE = "yilian"  # the <service> in Warning headers (PS3.18 §8.3.4.2)
MAX_QIDO_RESULTS = 1000
MAX_INSTANCE_BYTES = 2 * 1024**3
# Parts are stored in batches: one statement per batch, each file synced from its arrival. A batch is full at 16
# parts once it holds 4 MiB (16 parts of 256 KiB and more: a CT slice), else at 64 parts: a batch's fixed cost
# (thread hops, two statements) was about 40 % of PostgreSQL's CPU and a tenth of the API's per small instance.
STORE_BATCH = 16
STORE_BATCH_SMALL = 64
STORE_BATCH_SMALL_BYTES = 4 * 1024**2
# A batch of this many bytes is stored before the next part is read (memory stays bounded).
STORE_BATCH_BYTES = 64 * 1024**2
# A study that would not be stored whatever is retried: 409 when nothing was stored (PS3.18 §10.5.3).
_CONFLICTS = frozenset(
    {
        FailureReason.SOP_CLASS_NOT_SUPPORTED,
        FailureReason.STUDY_INSTANCE_UID_MISMATCH,
        FailureReason.SOP_INSTANCE_CONFLICT,
        FailureReason.STUDY_OF_ANOTHER_HOSPITAL,
    }
)
# --- STOW-RS (PS3.18 §10.5, Annex I) ------------------------------------------------------------------------


@router.post("/studies")
async def store_instances(
    request: Request, engine: Engine, blobs: Blobs, on_stored: OnStored, principal: Storer
) -> Response:
    return await store(request, engine, blobs, on_stored, principal, None)


@router.post("/studies/{study}")
async def store_study_instances(
    study: str, request: Request, engine: Engine, blobs: Blobs, on_stored: OnStored, principal: Storer
) -> Response:
    return await store(request, engine, blobs, on_stored, principal, study)


async def store(
    request: Request, engine: Engine, blobs: Blobs, on_stored: OnStored, principal: Principal, study: str | None
) -> Response:
    """The work of both STOW-RS routes, and of the STOW-RS door that answers them before routing
    (api/dicomweb/stow_door.py): the caller and the path's UIDs are checked before."""
    boundary = _stow_boundary(request.headers.get("content-type", ""))
    origin = Origin.GATEWAY if principal.role is Role.GATEWAY else Origin.STOW
    assert principal.hospital_id is not None
    results: list[IngestResult] = []
    # Each part's file starts syncing as it arrives (ingest.IngestBatch). A batch full by count is stored while the
    # next one's parts arrive; one batch is stored at a time, in order, so a UID sent again in a later batch meets
    # its first copy committed. A batch full by bytes is stored before the next part is read (memory stays bounded).
    batch = ingest.IngestBatch(engine, blobs)
    storing: asyncio.Task[None] | None = None

    async def settle() -> None:
        nonlocal storing
        if storing is not None:
            task, storing = storing, None
            await task

    async def flush(*, wait: bool = True) -> None:
        nonlocal batch, storing
        await settle()
        if batch:
            spent, batch = batch, ingest.IngestBatch(engine, blobs)
            storing = asyncio.create_task(_store_batch(spent, results))
        if wait:
            await settle()

    try:
        async for part in iter_parts(request.stream(), boundary, max_part_size=MAX_INSTANCE_BYTES):
            media_type = _media_type(part.content_type or "application/dicom")
            if media_type != "application/dicom":
                await flush()  # results stay in the order of the parts
                results.append(_unsupported_part(media_type))
                continue
            batch.add(IncomingInstance(as_part10(part.body), origin, principal.hospital_id, principal.user_id, study))
            if batch.size >= STORE_BATCH_BYTES:
                await flush()
            elif _full(batch):
                await flush(wait=False)
        await flush()
    except PartTooLargeError as exc:
        await flush()  # the parts before the error are stored, as they would be one by one
        raise YilianError(ErrorCode.PAYLOAD_TOO_LARGE, str(exc), {"stored_before_the_error": _stored(results)}) from exc
    except MalformedMultipartError as exc:
        await flush()
        raise YilianError(
            ErrorCode.MALFORMED_REQUEST, f"the multipart body is malformed: {exc}",
            {"stored_before_the_error": _stored(results)},
        ) from exc  # fmt: skip
    finally:
        # The client went away mid-body, or a batch failed: nothing goes on storing, no staged file is left behind.
        if storing is not None:
            storing.cancel()
            await asyncio.gather(storing, return_exceptions=True)
        await batch.discard()
    if not results:
        raise YilianError(ErrorCode.MALFORMED_REQUEST, "the request holds no instance to store")
    base = dicomweb_base(request)
    await on_stored(principal.hospital_id, {r.study_instance_uid for r in results if r.accepted})
    body = stow_response(results, base, study)
    return Response(json.dumps(body, ensure_ascii=False), status_code=stow_status(results), media_type=DICOM_JSON)


@functools.lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
    """A part's media type (lower case). A client sends one or two Content-Types for all its parts: each is parsed
    once (~4 us a part, character by character); a malformed one raises every time, as exceptions are not cached."""
    return parse_content_type(content_type)[0]


def _full(batch: ingest.IngestBatch) -> bool:
    """Whether the batch is stored now, while the next one fills: 16 parts of at least 256 KiB on average, or 64."""
    count = len(batch)
    return count >= STORE_BATCH_SMALL or (count >= STORE_BATCH and batch.size >= STORE_BATCH_SMALL_BYTES)


async def _store_batch(batch: ingest.IngestBatch, results: list[IngestResult]) -> None:
    results.extend(await batch.store())


def _stow_boundary(content_type: str) -> str:
    try:
        media_type, params = parse_content_type(content_type)
    except MalformedMultipartError as exc:
        raise YilianError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, str(exc)) from exc
    root = params.get("type", "").lower()
    if media_type != "multipart/related" or root != "application/dicom":
        raise YilianError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            'STOW-RS takes multipart/related; type="application/dicom" with one Part-10 instance per part',
            {"content_type": content_type},
        )
    if not 1 <= len(params.get("boundary", "")) <= MAX_BOUNDARY_LENGTH:
        raise YilianError(ErrorCode.MALFORMED_REQUEST, "the multipart Content-Type needs a boundary")
    return params["boundary"]


def _unsupported_part(media_type: str) -> IngestResult:
    return IngestResult(
        Outcome.REJECTED,
        reason=f"a part of type {media_type}: only application/dicom parts are accepted",
        failure_reason=FailureReason.CANNOT_UNDERSTAND,
    )


def _stored(results: list[IngestResult]) -> list[str]:
    return [r.sop_instance_uid for r in results if r.accepted]


def stow_status(results: list[IngestResult]) -> int:
    """200 all stored, 202 some stored, 409 none for a conflict, 400 none otherwise (PS3.18 §10.5.3)."""
    accepted = sum(r.accepted for r in results)
    if accepted == len(results):
        return 200
    if accepted:
        return 202
    failures = {r.failure_reason for r in results}
    return 409 if failures & _CONFLICTS else 400


def stow_response(results: list[IngestResult], base: str, study: str | None) -> dict[str, Any]:
    """The Store Instances Response Module (PS3.18 Annex I) as DICOM JSON.

    Each failed item also carries ErrorComment (0000,0902) with the reason in plain words.
    """
    body: dict[str, Any] = {}
    studies = {r.study_instance_uid for r in results if r.study_instance_uid}
    if study or len(studies) == 1:
        body["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{study or next(iter(studies))}"]}
    referenced = [
        {
            "00081150": _ui(r.sop_class_uid),
            "00081155": _ui(r.sop_instance_uid),
            "00081190": {
                "vr": "UR",
                "Value": [
                    f"{base}/studies/{r.study_instance_uid}/series/{r.series_instance_uid}/instances/{r.sop_instance_uid}"
                ],
            },
        }
        for r in results
        if r.accepted
    ]
    failed = [
        {
            "00081150": _ui(r.sop_class_uid),
            "00081155": _ui(r.sop_instance_uid),
            "00081197": {"vr": "US", "Value": [int(r.failure_reason or FailureReason.PROCESSING_FAILURE)]},
            "00000902": {"vr": "LO", "Value": [r.reason[:1024]]},
        }
        for r in results
        if not r.accepted
    ]
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    return body


def _ui(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


# --- QIDO-RS (PS3.18 §10.6) ----------------------------------------------------------------------------------


def _search_route(resource: Resource) -> Callable[..., Coroutine[Any, Any, Response]]:
    async def route(
        request: Request, engine: Engine, principal: Viewer, study: str | None = None, series: str | None = None
    ) -> Response:
        try:
            query = parse_qido(request.query_params.multi_items(), MAX_QIDO_RESULTS)
        except QidoQueryError as exc:
            raise YilianError(ErrorCode.MALFORMED_REQUEST, str(exc)) from exc
        async with reading(engine) as conn:
            result = await search(conn, principal, resource, query, dicomweb_base(request), study, series)
        warnings = [f'299 {SERVICE}: "{text}"' for text in result.warnings]
        if result.remaining:
            warnings.append(f'299 {SERVICE}: "There are {result.remaining} additional results that can be requested"')
        headers = {"Warning": ", ".join(warnings)} if warnings else {}
        if not result.items:
            return Response(status_code=204, headers=headers)
        body = json.dumps(result.items, ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type=DICOM_JSON, headers=headers)

    route.__name__ = f"search_{resource.name.lower()}"
    return route


for _path, _resource in (
    ("/studies", Resource.ALL_STUDIES),
    ("/studies/{study}/series", Resource.STUDY_SERIES),
    ("/studies/{study}/instances", Resource.STUDY_INSTANCES),
    ("/series", Resource.ALL_SERIES),
    ("/studies/{study}/series/{series}/instances", Resource.SERIES_INSTANCES),
    ("/instances", Resource.ALL_INSTANCES),
):
    router.add_api_route(_path, _search_route(_resource), methods=["GET"], name=f"QIDO {_resource.value}")
