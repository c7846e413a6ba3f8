"""DICOMweb Retrieve (WADO-RS) under /dicomweb: instances, metadata, frames, bulk data, rendered, thumbnails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from yilian.api.deps import Archive, ArchiveAccess, Viewer, dicomweb_base, dicomweb_uids
from yilian.api.dicomweb.store_query import DICOM_JSON
from yilian.dicom import frames as dicom_frames
from yilian.dicom import render as dicom_render
from yilian.dicom import transfer_syntax
from yilian.dicom.multipart import (
    CRLF,
    MalformedMultipartError,
    PartBody,
    PartSpec,
    boundary,
    closing,
    multipart_body,
    multipart_content_type,
    multipart_stream,
    part_header,
)
from yilian.dicom.multipart import parse_content_type as parse_media_type
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging import retrieve

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"], dependencies=[Depends(dicomweb_uids)])
STUDY = "/studies/{study}"
SERIES = STUDY + "/series/{series}"
INSTANCE = SERIES + "/instances/{sop}"
FRAMES = INSTANCE + "/frames/{frame_list}"
RENDERED_TYPES = ("image/jpeg", "image/png", "image/gif")
# Names clients still send for two bulk data media types (PS3.18 Table 8.7.3-4 lists them as formerly used).
_FORMER_MEDIA_TYPES = {"image/x-dicom-rle": "image/dicom-rle", "image/x-jls": "image/jls"}
# DICOM and frame responses are never compressed: they are images already (and gzip would cost the CPU).
_NO_TRANSFORM = {"Cache-Control": "private, no-transform"}


def _accept(request: Request) -> str:
    return request.headers.get("accept", "")


def _ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for piece in (p.strip() for p in accept.split(",")):
        if not piece:
            continue
        try:
            out.append(parse_media_type(piece))
        except MalformedMultipartError as exc:
            raise YilianError(ErrorCode.MALFORMED_REQUEST, f"cannot read the Accept header: {exc}") from exc
    return out


def _accepted(accept: str) -> list[tuple[str, dict[str, str]]]:
    """The Accept header's media ranges, most preferred first (by q); `*/*` when there is none (PS3.18 §8.7.5)."""
    ranges = _ranges(accept) or [("*/*", {})]
    return sorted(ranges, key=lambda r: -_quality(r[1]))  # stable: equal weights keep the client's order


def _quality(params: dict[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 1.0


def _instance_syntaxes(accept: str, stored: set[str]) -> dict[str, str]:
    """For each stored transfer syntax, the one to send (PS3.18 §8.7.3.5); 406 with what is on offer otherwise."""
    chosen: dict[str, str] = {}
    for syntax in stored:
        for media_type, params in _accepted(accept):
            inner = params.get("type", "application/dicom").lower() if media_type == "multipart/related" else media_type
            is_dicom = inner in ("*/*", "application/dicom")
            target = transfer_syntax.choose(syntax, params.get("transfer-syntax")) if is_dicom else None
            if target is not None:
                chosen[syntax] = target
                break
        else:
            raise _not_acceptable("instances", stored)
    return chosen


def _frame_syntax(accept: str, stored: str) -> str:
    """The syntax frames (and Pixel Data as bulk data) go out in: the rule of instances, per media type (§8.7.3.3).

    application/octet-stream is native pixels (default and `transfer-syntax=1.2.840.10008.1.2.1`) or, with `*`, the
    frames as stored; a compressed media type (image/jp2, image/dicom-rle...) takes the frames as stored when they are
    of that type. Frames are never re-encoded into another compression.
    """
    as_stored = transfer_syntax.as_stored(stored)
    stored_type = dicom_frames.frame_media_type(stored).split(";")[0]
    for media_type, params in _accepted(accept):
        inner = media_type
        if media_type == "multipart/related":
            inner = params.get("type", "application/octet-stream").lower()
        inner = _FORMER_MEDIA_TYPES.get(inner, inner)
        wanted = params.get("transfer-syntax")
        if inner in ("*/*", "application/octet-stream"):
            if wanted in (None, transfer_syntax.ANY):
                return transfer_syntax.choose(stored, wanted) or as_stored
            if wanted == as_stored or (wanted == transfer_syntax.DEFAULT and transfer_syntax.can_decode(stored)):
                return wanted
        elif inner == stored_type and wanted in (None, transfer_syntax.ANY, as_stored):
            return as_stored
    raise _not_acceptable("frames", {stored}, frames=True)


def _not_acceptable(what: str, stored: set[str], *, frames: bool = False) -> YilianError:
    def on_offer(syntax: str) -> list[str]:
        if not frames:
            return transfer_syntax.offered(syntax)
        native = [transfer_syntax.DEFAULT] if transfer_syntax.can_decode(syntax) else []
        return list(dict.fromkeys([transfer_syntax.as_stored(syntax), *native]))

    return YilianError(
        ErrorCode.NOT_ACCEPTABLE,
        f"the {what} cannot be sent in a transfer syntax the Accept header allows: see transfer_syntaxes_on_offer",
        {
            "stored_transfer_syntaxes": sorted(stored),
            "transfer_syntaxes_on_offer": {syntax: on_offer(syntax) for syntax in sorted(stored)},
        },
    )


def _rendered_type(accept: str) -> str:
    ranges = _ranges(accept)
    if not ranges:
        return "image/jpeg"
    for media_type, _ in ranges:
        if media_type in ("*/*", "image/*"):
            return "image/jpeg"
        if media_type in RENDERED_TYPES:
            return media_type
    raise YilianError(ErrorCode.NOT_ACCEPTABLE, "rendered images are image/jpeg, image/png or image/gif")


def _streamed(parts: AsyncIterator[PartSpec], root_type: str) -> StreamingResponse:
    b = boundary()
    return StreamingResponse(
        multipart_stream(parts, b), media_type=multipart_content_type(root_type, b), headers=_NO_TRANSFORM
    )


def _buffered(parts: Sequence[tuple[str, bytes | bytearray, str | None]], root_type: str) -> Response:
    """Parts already in memory (frames, a bulk value) as one body: no streaming machinery for a few hundred KiB."""
    b = boundary()
    return Response(multipart_body(parts, b), media_type=multipart_content_type(root_type, b), headers=_NO_TRANSFORM)


# --- instances -----------------------------------------------------------------------------------------------


async def _retrieve(
    request: Request, archive: ArchiveAccess, principal: Viewer, study: str, series: str | None, sop: str | None
) -> Response:
    rows = await retrieve.located(archive.engine, principal, study, series, sop)
    targets = _instance_syntaxes(_accept(request), {row["transfer_syntax_uid"] for row in rows})
    blobs, base = archive.blobs, dicomweb_base(request)
    if all(targets[row["transfer_syntax_uid"]] == row["transfer_syntax_uid"] for row in rows):
        return _as_stored(archive, rows, base, study)

    async def parts() -> AsyncIterator[PartSpec]:
        files = retrieve.files_ahead(blobs, [row["blob_key"] for row in rows], [row["size"] for row in rows])
        try:
            for row in rows:
                stored, target = row["transfer_syntax_uid"], targets[row["transfer_syntax_uid"]]
                chunks = await anext(files)
                body: PartBody = chunks
                if target != stored:  # decoded (or re-encoded) on the fly, one instance in memory at a time
                    whole = b"".join([chunk async for chunk in chunks])
                    body = await asyncio.to_thread(transfer_syntax.transcode, whole, target)
                yield f"application/dicom; transfer-syntax={target}", body, _location(base, study, row)
        finally:
            await files.aclose()

    return _streamed(parts(), "application/dicom")


def _location(base: str, study: str, row: Mapping[str, Any]) -> str:
    return f"{base}/studies/{study}/series/{row['series_instance_uid']}/instances/{row['sop_instance_uid']}"


def _as_stored(archive: Archive, rows: list[dict[str, Any]], base: str, study: str) -> StreamingResponse:
    """Instances sent as stored, byte for byte the body `multipart_stream` makes of them. Every part's length is
    known, so the body goes with a Content-Length: uvicorn frames a chunked body by copying each chunk once more.
    Each instance is read into one buffer with its part header and CRLF around it (`retrieve.framed_files`): one
    send per part, where header, file and CRLF were three, each through every ASGI layer and a write call."""
    b = boundary()
    heads = [
        part_header(f"application/dicom; transfer-syntax={row['transfer_syntax_uid']}", b, _location(base, study, row))
        for row in rows
    ]
    tails = [CRLF] * (len(rows) - 1) + [CRLF + closing(b)]
    length = sum(len(head) + row["size"] + len(tail) for head, row, tail in zip(heads, rows, tails, strict=True))
    keys, sizes = [row["blob_key"] for row in rows], [row["size"] for row in rows]
    body = retrieve.framed_files(archive.blobs, keys, sizes, list(zip(heads, tails, strict=True)))
    return StreamingResponse(
        body,
        media_type=multipart_content_type("application/dicom", b),
        headers={**_NO_TRANSFORM, "Content-Length": str(length)},
    )


# --- metadata ------------------------------------------------------------------------------------------------


async def _metadata(
    request: Request, archive: ArchiveAccess, principal: Viewer, study: str, series: str | None, sop: str | None
) -> Response:
    rows = await retrieve.located(archive.engine, principal, study, series, sop, metadata=True)
    return Response(retrieve.metadata_json(rows, dicomweb_base(request)), media_type=DICOM_JSON)


# --- frames and bulk data ------------------------------------------------------------------------------------


def _frame_numbers(frame_list: str) -> list[int]:
    try:
        return dicom_frames.parse_frame_list(frame_list)
    except dicom_frames.FrameListError as exc:
        raise YilianError(ErrorCode.MALFORMED_REQUEST, str(exc)) from exc


@router.get(FRAMES)
async def retrieve_frames(
    study: str, series: str, sop: str, frame_list: str, request: Request, archive: ArchiveAccess, principal: Viewer
) -> Response:
    return await frames(archive, principal, study, series, sop, frame_list, _accept(request))


async def frames(
    archive: Archive,
    principal: Principal,
    study: str,
    series: str,
    sop: str,
    frame_list: str,
    accept: str,
    caller: Hashable | None = None,
) -> Response:
    """The answer to GET `.../frames/{frame_list}` once the UIDs are checked and the caller may retrieve: the route's,
    and the retrieve door's (api/dicomweb/retrieve_door.py), which names its `caller` so that the instance's row may
    be kept for a moment (imaging/retrieve.py VisibleInstances)."""
    return await _of_instance(
        archive, principal, (study, series, sop), caller,
        lambda row: _frames(accept, archive, row, _frame_numbers(frame_list)),
    )  # fmt: skip


async def _of_instance(
    archive: Archive,
    principal: Principal,
    uids: tuple[str, str, str],
    caller: Hashable | None,
    answer: Callable[[dict[str, Any]], Awaitable[Response]],
) -> Response:
    """`answer` for the instance's row. A kept row whose file has gone since (its study deleted) is forgotten and the
    instance located again, as if it had not been kept: 404 for a deleted instance, as without the kept row."""
    row, kept = await retrieve.located_instance(archive.engine, archive.visible, principal, *uids, caller)
    if kept is None:
        return await answer(row)
    try:
        return await answer(row)
    except FileNotFoundError:
        archive.visible.forget(kept)
    row, _ = await retrieve.located_instance(archive.engine, archive.visible, principal, *uids, caller)
    return await answer(row)


async def _frames(accept: str, archive: Archive, row: dict[str, Any], numbers: list[int]) -> Response:
    stored = row["transfer_syntax_uid"]
    target = _frame_syntax(accept, stored)
    decode = not dicom_frames.is_native(stored) and target == transfer_syntax.DEFAULT
    try:
        payloads = await retrieve.read_frames(archive.blobs, archive.layouts, row["blob_key"], numbers, decoded=decode)
    except dicom_frames.FrameNotFoundError as exc:
        raise YilianError(ErrorCode.NOT_FOUND, str(exc)) from exc
    except transfer_syntax.TranscodeError as exc:
        on_offer = {"transfer_syntaxes_on_offer": {stored: [stored]}}
        raise YilianError(ErrorCode.NOT_ACCEPTABLE, str(exc), on_offer) from exc
    # Each part names its transfer syntax: Cornerstone decodes an unlabelled part as uncompressed (WADO-04).
    content_type = dicom_frames.frame_media_type(target)
    return _buffered([(content_type, payload, None) for payload in payloads], content_type.split(";")[0])


@router.get(INSTANCE + "/bulk/{path:path}")
async def retrieve_bulk_data(
    study: str, series: str, sop: str, path: str, request: Request, archive: ArchiveAccess, principal: Viewer
) -> Response:
    [row] = await retrieve.located(archive.engine, principal, study, series, sop)
    if path.upper() == "7FE00010":  # Pixel Data: the frames, as stored, one part each
        return await _frames(_accept(request), archive, row, list(range(1, (row["number_of_frames"] or 1) + 1)))
    ds = await retrieve.read_dataset(archive.blobs, row["blob_key"])
    value = retrieve.bulk_value(ds, path)
    return _buffered([("application/octet-stream", value, None)], "application/octet-stream")


# --- rendered and thumbnails (PS3.18 §8.3.5, §10.4.1.1.4) --------------------------------------------------------


def _render_options(q: Mapping[str, str]) -> dict[str, Any]:
    try:
        return {
            "window": dicom_render.parse_window(q["window"]) if "window" in q else None,
            "viewport": dicom_render.parse_viewport(q["viewport"]) if "viewport" in q else None,
            "quality": dicom_render.parse_quality(q["quality"]) if "quality" in q else None,
        }
    except dicom_render.RenderParameterError as exc:
        raise YilianError(ErrorCode.MALFORMED_REQUEST, str(exc)) from exc


async def _rendered(
    archive: Archive, row: dict[str, Any], frame: int, media_type: str, options: dict[str, Any]
) -> bytes:
    try:
        return await retrieve.rendered_image(
            archive.blobs, archive.rendered, row["blob_key"], frame, media_type, **options
        )
    except dicom_render.UndecodablePixelDataError as exc:
        raise YilianError(ErrorCode.NOT_ACCEPTABLE, f"this image cannot be rendered here: {exc}") from exc
    except IndexError as exc:
        raise YilianError(ErrorCode.NOT_FOUND, f"no frame {frame}") from exc


async def _render_many(
    request: Request, archive: ArchiveAccess, principal: Viewer, study: str, series: str | None
) -> Response:
    rows = await retrieve.located(archive.engine, principal, study, series)
    media_type, options = _rendered_type(_accept(request)), _render_options(request.query_params)

    async def parts() -> AsyncIterator[PartSpec]:
        for row in rows:
            yield media_type, await _rendered(archive, row, 1, media_type, options), None

    return _streamed(parts(), media_type)


@router.get(STUDY + "/rendered")
async def rendered_study(study: str, request: Request, archive: ArchiveAccess, principal: Viewer) -> Response:
    return await _render_many(request, archive, principal, study, None)


@router.get(SERIES + "/rendered")
async def rendered_series(
    study: str, series: str, request: Request, archive: ArchiveAccess, principal: Viewer
) -> Response:
    return await _render_many(request, archive, principal, study, series)


@router.get(INSTANCE + "/rendered")
async def rendered_instance(
    study: str, series: str, sop: str, request: Request, archive: ArchiveAccess, principal: Viewer
) -> Response:
    return await rendered(archive, principal, study, series, sop, None, _accept(request), request.query_params)


@router.get(FRAMES + "/rendered")
async def rendered_frame(
    study: str, series: str, sop: str, frame_list: str, request: Request, archive: ArchiveAccess, principal: Viewer
) -> Response:
    return await rendered(archive, principal, study, series, sop, frame_list, _accept(request), request.query_params)


async def rendered(
    archive: Archive,
    principal: Principal,
    study: str,
    series: str,
    sop: str,
    frame_list: str | None,
    accept: str,
    query: Mapping[str, str],
    caller: Hashable | None = None,
) -> Response:
    """The answer to GET `.../rendered` of an instance (its first frame) or of one frame (`frame_list`), once the UIDs
    are checked and the caller may retrieve: the routes', and the retrieve door's (api/dicomweb/retrieve_door.py),
    which names its `caller` as for `frames`."""

    async def answer(row: dict[str, Any]) -> Response:
        frame = 1
        if frame_list is not None:
            numbers = _frame_numbers(frame_list)
            if len(numbers) != 1:
                raise YilianError(ErrorCode.MALFORMED_REQUEST, "render one frame at a time")
            if numbers[0] > (row["number_of_frames"] or 1):
                raise YilianError(ErrorCode.NOT_FOUND, f"no frame {numbers[0]}")
            frame = numbers[0]
        media_type = _rendered_type(accept)
        image = await _rendered(archive, row, frame, media_type, _render_options(query))
        return Response(image, media_type=media_type)

    return await _of_instance(archive, principal, (study, series, sop), caller, answer)


async def _thumbnail(
    request: Request, archive: ArchiveAccess, principal: Viewer, study: str, series: str | None, sop: str | None
) -> Response:
    rows = await retrieve.located(archive.engine, principal, study, series, sop)
    row = rows[len(rows) // 2]  # the middle image of the study or series is the most typical
    ds = await retrieve.read_dataset(archive.blobs, row["blob_key"])
    try:
        image = await asyncio.to_thread(dicom_render.thumbnail, ds)
    except dicom_render.UndecodablePixelDataError as exc:
        raise YilianError(ErrorCode.NOT_ACCEPTABLE, f"this image cannot be rendered here: {exc}") from exc
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


Handler = Callable[[Request, Archive, Principal, str, str | None, str | None], Coroutine[Any, Any, Response]]


def _at_every_level(suffix: str, handler: Handler, name: str) -> None:
    """Register `handler` for the study, series and instance resources of one kind (PS3.18 Table 10.4-1).

    The identifiers come from the path itself, so no level ever reads one from the query string.
    """
    for level, path, ids in (
        ("study", STUDY, ("study",)),
        ("series", SERIES, ("study", "series")),
        ("instance", INSTANCE, ("study", "series", "sop")),
    ):

        async def route(request: Request, archive: ArchiveAccess, principal: Viewer) -> Response:
            ids = request.path_params
            return await handler(request, archive, principal, ids["study"], ids.get("series"), ids.get("sop"))

        # Read from request.path_params, so FastAPI cannot see them: the schema names them for clients and fuzzers.
        uid = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)*$", "maxLength": 64}
        parameters = [{"name": n, "in": "path", "required": True, "schema": uid} for n in ids]
        router.add_api_route(
            path + suffix, route, methods=["GET"], name=f"{name} {level}", openapi_extra={"parameters": parameters}
        )


_at_every_level("", _retrieve, "retrieve")
_at_every_level("/metadata", _metadata, "metadata")
_at_every_level("/thumbnail", _thumbnail, "thumbnail")
