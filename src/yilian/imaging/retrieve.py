"""WADO-RS retrieval from the archive (PS3.18 §10.4): which files, their metadata, frames and renderings."""

from __future__ import annotations

import asyncio
import collections
import functools
import io
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic, TypeVar, cast

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import imaging as queries
from yilian.dicom import frames as dicom_frames
from yilian.dicom import render as dicom_render
from yilian.dicom.frames import PixelLayout
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging.blob import BlobStore, CachedReads
from yilian.imaging.index import BASE_PLACEHOLDER

CHUNK = 1024 * 1024
K = TypeVar("K")
V = TypeVar("V")


async def located(
    engine: AsyncEngine,
    principal: Principal,
    study: str,
    series: str | None = None,
    sop: str | None = None,
    *,
    metadata: bool = False,
) -> list[dict[str, Any]]:
    """The instances a retrieve names, in order; 404 alike for an unknown study and one the caller may not see."""
    async with reading(engine) as conn:
        rows = await queries.visible_instances(conn, principal, study, series, sop, metadata=metadata)
        if not rows and not await queries.visible_study(conn, principal, study):  # only to say which is missing
            raise YilianError(ErrorCode.NOT_FOUND, f"no study {study}")
    if not rows:
        what = f"instance {sop}" if sop else f"series {series}" if series else f"study {study}"
        raise YilianError(ErrorCode.NOT_FOUND, f"no {what} in study {study}" if (sop or series) else f"no {what}")
    return rows


class VisibleInstances:
    """One instance's row as `located` found it for a caller, kept `ttl` seconds (the DICOMweb window of
    PrincipalCache), at most `size` rows, the oldest dropped first.

    A viewer scrolling a series sends one frame or rendered request per slice, hundreds for the same study, and each
    asked the database again whether its caller may see the instance and where its file is. Only found rows are
    kept (a refusal is asked again every time, so a new grant shows at once), keyed by whatever names the caller
    whole (the API passes its person's token user and generation and the whole Principal) and the instance's UIDs:
    another caller never matches. A grant withdrawn, a case reassigned or a study deleted reaches a kept row within
    `ttl` seconds of the query that found it (the clock starts before the query, not after).

    A viewer scrolling a series asks each slice once, so a row kept per instance never matched there: when a caller
    locates a second instance of a series within `ttl`, `located_instance` asks for the rows of the whole series
    (at most `series_rows`, half of `size`: a 5,000-slice series keeps part and leaves room for others) in one query
    and keeps them here like any other, from that query's start. `_series` notes, per caller and series, which one
    instance was located (or that the series was asked), for `ttl`.
    """

    def __init__(self, ttl: float = 2.0, size: int = 8192, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self.series_rows = size // 2
        self._kept: OrderedDict[Hashable, tuple[float, dict[str, Any]]] = OrderedDict()  # oldest query first
        self._series: OrderedDict[Hashable, tuple[float, str | None]] = OrderedDict()  # (asked at, sop or None)

    def get(self, key: Hashable) -> dict[str, Any] | None:
        found = self._kept.get(key)
        if found is None:
            return None
        if self.clock() - found[0] >= self.ttl:
            del self._kept[key]
            return None
        return found[1]

    def put(self, key: Hashable, row: dict[str, Any], asked_at: float) -> None:
        self._kept.pop(key, None)
        self._kept[key] = (asked_at, row)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._kept.pop(key, None)

    def wants_series(self, series: Hashable, sop: str) -> bool:
        """Whether locating `sop` makes a second distinct instance of `series` located within `ttl` (and the series
        was not asked in that time): a lone request, or a thumbnail asked again, never fetches a whole series."""
        noted = self._series.get(series)
        return noted is not None and noted[1] not in (None, sop) and self.clock() - noted[0] < self.ttl

    def note(self, series: Hashable, sop: str | None, asked_at: float) -> None:
        """That `sop` of `series` was located by a query begun at `asked_at` (None: the whole series was asked). An
        instance noted within `ttl` stays noted; the series asked replaces it."""
        noted = self._series.get(series)
        if sop is not None and noted is not None and self.clock() - noted[0] < self.ttl:
            return
        self._series.pop(series, None)
        self._series[series] = (asked_at, sop)
        while len(self._series) > self.size:
            self._series.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


async def located_instance(
    engine: AsyncEngine,
    kept: VisibleInstances,
    principal: Principal,
    study: str,
    series: str,
    sop: str,
    caller: Hashable | None,
) -> tuple[dict[str, Any], Hashable | None]:
    """The one instance a frame or rendered request names, as `located` finds it, and the key of the kept row it
    came from (None: from the database just now). `caller` names the caller's credential for `kept` (None: ask the
    database every time). The caller's second instance of a series within the window brings the whole series' rows
    (VisibleInstances); an instance not among them is located alone."""
    if caller is None:
        [row] = await located(engine, principal, study, series, sop)
        return row, None
    key = (caller, principal, study, series, sop)
    found = kept.get(key)
    if found is not None:
        return found, key
    of_series = (caller, principal, study, series)
    if kept.wants_series(of_series, sop) and (found := await _located_in_series(engine, kept, of_series, sop)):
        return found, None
    asked_at = kept.clock()
    [row] = await located(engine, principal, study, series, sop)  # also an instance stored after its series was kept
    kept.put(key, row, asked_at)
    kept.note(of_series, sop, asked_at)
    return row, None


async def _located_in_series(
    engine: AsyncEngine, kept: VisibleInstances, of_series: tuple[Hashable, Principal, str, str], sop: str
) -> dict[str, Any] | None:
    """Every row of the series the caller may see, in one query and kept; `sop`'s among them, or None."""
    _, principal, study, series = of_series
    asked_at = kept.clock()
    kept.note(of_series, None, asked_at)  # before the query: the slices asked meanwhile do not ask the series again
    async with reading(engine) as conn:
        rows = await queries.visible_series_rows(conn, principal, study, series, kept.series_rows)
    for row in rows:
        kept.put((*of_series, row["sop_instance_uid"]), row, asked_at)
    return kept.get((*of_series, sop))


def metadata_json(rows: list[dict[str, Any]], dicomweb_base: str) -> str:
    """The precomputed DICOM JSON of each instance as one array, BulkDataURIs on the request's own base URL."""
    return ("[" + ",".join(row["metadata"] for row in rows) + "]").replace(BASE_PLACEHOLDER, dicomweb_base)


async def file_chunks(blobs: BlobStore, key: str) -> AsyncIterator[bytes]:
    """A stored file in chunks, read off the event loop: a study is streamed, never held in memory."""
    f = await asyncio.to_thread(blobs.open, key)
    try:
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk
    finally:
        f.close()


READ_AHEAD = 4  # instances opened, and their first read done, while an earlier one streams
FIRST_READ = 4 * CHUNK  # most instances in one read: one thread hop each (at most READ_AHEAD x 4 MiB held)


async def files_ahead(
    blobs: BlobStore,
    keys: list[str],
    sizes: list[int] | None = None,
    frames: Sequence[tuple[bytes, bytes]] | None = None,
) -> AsyncGenerator[AsyncIterator[bytes | memoryview], None]:
    """Each blob's chunks in order, the next READ_AHEAD blobs opened and their first read done meanwhile: on S3
    every blob costs a request's round trip, which this overlaps instead of paying one after another. With the
    blobs' sizes, a blob read whole in its first read needs no further hop to find its end. With `frames` (a head
    and a tail for each blob, which need the sizes), each blob's chunks come between its head and tail, and a blob
    read whole comes as one buffer with them around it (see `_read_framed`)."""
    pending: collections.deque[asyncio.Future[_FirstRead]] = collections.deque()
    known: list[int | None] = list(sizes) if sizes is not None else [None] * len(keys)
    around: Sequence[tuple[bytes, bytes]] = frames if frames is not None else [(b"", b"")] * len(keys)
    upcoming = iter(zip(keys, known, around, strict=True))

    def launch() -> None:
        item = next(upcoming, None)
        if item is not None:
            pending.append(asyncio.ensure_future(asyncio.to_thread(_open_and_read, blobs, *item)))

    for _ in range(READ_AHEAD):
        launch()
    try:
        while pending:
            first_read = await pending.popleft()
            launch()
            yield _rest_of(first_read)
    finally:
        for future in pending:
            future.cancel()
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().file.close()


@dataclass(frozen=True)
class _FirstRead:
    file: BinaryIO
    first: bytes | memoryview
    done: bool  # the blob ended in the first read (and its tail, if any, is in `first`)
    head: bytes = b""  # still to send before `first`
    tail: bytes = b""  # still to send after the rest


def _open_and_read(blobs: BlobStore, key: str, size: int | None, frame: tuple[bytes, bytes]) -> _FirstRead:
    f = blobs.open(key)
    try:
        head, tail = frame
        if (head or tail) and size is not None and size <= FIRST_READ:
            return _FirstRead(f, _read_framed(f, key, size, head, tail), done=True)
        first = f.read(FIRST_READ if size is None else min(max(size, 1), FIRST_READ))
        return _FirstRead(f, first, size is not None and len(first) >= size, head, tail)
    except BaseException:
        f.close()
        raise


def _read_framed(f: BinaryIO, key: str, size: int, head: bytes, tail: bytes) -> memoryview:
    """The blob's `size` bytes read into one buffer between `head` and `tail`: the caller sends a part in one write,
    and nothing is copied to frame it (joining them would copy the blob once more). The buffer is numpy's `empty`,
    not a bytearray, whose zeroing of every byte cost as much CPU as a copy."""
    buffer = np.empty(len(head) + size + len(tail), np.uint8).data
    buffer[: len(head)] = head
    got = f.readinto(buffer[len(head) : len(head) + size])  # type: ignore[attr-defined]  # BinaryIO lacks it
    if got != size:
        raise OSError(f"blob {key} has {got} bytes where {size} were stored")
    buffer[len(head) + size :] = tail
    return buffer


async def _rest_of(read: _FirstRead) -> AsyncIterator[bytes | memoryview]:
    try:
        if read.head:
            yield read.head
        if read.first:
            yield read.first
        if not read.done:
            while chunk := await asyncio.to_thread(read.file.read, CHUNK):
                yield chunk
        if read.tail:
            yield read.tail
    finally:
        read.file.close()


async def framed_files(
    blobs: BlobStore, keys: list[str], sizes: list[int], frames: Sequence[tuple[bytes, bytes]]
) -> AsyncIterator[bytes | memoryview]:
    """The blobs one after another, each between its head and tail (`files_ahead` with `frames`), as one stream."""
    files = files_ahead(blobs, keys, sizes, frames)
    try:
        async for chunks in files:
            async for chunk in chunks:
                yield chunk
    finally:
        await files.aclose()


class _Recent(Generic[K, V]):
    """Values by key, the least recently used dropped first once their costs (1 each, or `cost`) pass `budget`;
    a value costing more than `largest` is not kept. Values never go stale: their keys name content."""

    def __init__(self, budget: int, cost: Callable[[V], int] = lambda _: 1, largest: int | None = None) -> None:
        self.budget, self.cost, self.largest = budget, cost, largest
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._held = 0

    def get(self, key: K) -> V | None:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        if key in self._kept:  # the same content, so the same value
            self._kept.move_to_end(key)
            return
        cost = self.cost(value)
        if self.largest is not None and cost > self.largest:
            return
        self._kept[key] = value
        self._held += cost
        while self._held > self.budget:
            self._held -= self.cost(self._kept.popitem(last=False)[1])


class FrameLayouts(_Recent[str, PixelLayout]):
    """The Pixel Data layouts of the blobs read lately (dicom.frames.PixelLayout), by blob key, newest kept.

    A key is the SHA-256 of the file's content, so a layout stays right for as long as the key names anything:
    there is nothing to invalidate. Who may read the blob is still decided for every request (`located`, or its
    answer of the last 2 s: VisibleInstances); this only spares a viewer's hundreds of frame requests parsing the
    same header again.
    """

    def __init__(self, size: int = 512) -> None:
        super().__init__(budget=size)


async def read_frames(
    blobs: BlobStore, layouts: FrameLayouts, key: str, numbers: list[int], *, decoded: bool = False
) -> Sequence[bytes | bytearray]:
    """The frames asked of one stored file, in one thread hop: its header parsed only the first time (FrameLayouts),
    then one seek and read per frame (a ranged GET each on S3); decoded to native pixels if asked."""
    known = layouts.get(key)
    if known is not None and (cached := _frames_in_memory(blobs, key, numbers, known)) is not None:
        return cached
    payloads, layout = await asyncio.to_thread(_read_frames, blobs, key, numbers, decoded, known)
    if layout is not None:
        layouts.put(key, layout)
    return payloads


def _frames_in_memory(blobs: BlobStore, key: str, numbers: list[int], layout: PixelLayout) -> list[bytearray] | None:
    """Native frames of a file read lately, read on the event loop when the page cache holds them (a viewer's
    frame requests: one read of a few hundred KiB from memory costs less than the thread hop around it). None when
    any frame is not such a plain byte span, or not all of it is in memory: the thread reads them then."""
    if not _reads_cached(type(blobs)):
        return None
    spans = [dicom_frames.native_frame_span(layout, number) for number in numbers]
    if not spans or any(span is None for span in spans):
        return None
    return cast(CachedReads, blobs).read_cached(key, [span for span in spans if span is not None])


@functools.cache
def _reads_cached(store: type) -> bool:
    """Whether a kind of store is CachedReads, asked once: a Protocol's isinstance walks its members every time."""
    return issubclass(store, CachedReads)


def _read_frames(
    blobs: BlobStore, key: str, numbers: list[int], decoded: bool, layout: PixelLayout | None
) -> tuple[list[bytes], PixelLayout | None]:
    f = blobs.open(key)
    try:
        layout = layout or dicom_frames.read_layout(f)
    except BaseException:
        f.close()
        raise
    return list(dicom_frames.iter_frames(f, numbers, decoded=decoded, layout=layout)), layout


RenderKey = tuple[str, int, str, Any, Any, Any]  # blob key, frame, media type, window, viewport, quality


class RenderedImages(_Recent[RenderKey, bytes]):
    """The images rendered lately (PS3.18 §8.3.5), by blob key, frame, media type and rendering parameters, newest
    kept, `budget` bytes at most in all.

    A blob key is the SHA-256 of the file's content and rendering is a function of the file and the parameters
    alone (the same Pillow encodes the same pixels to the same bytes), so an image stays right for as long as its
    key names anything: there is nothing to invalidate. Who may see it is still decided for every request
    (`located` or its answer of the last 2 s, before this is looked at); this spares a viewer that asks for the same
    slice again (scrolling back, a second viewport, another reader of the same case) reading, decoding, windowing
    and encoding it again.
    """

    def __init__(self, budget: int = 32 * 1024 * 1024, largest: int = 2 * 1024 * 1024) -> None:
        super().__init__(budget=budget, cost=len, largest=largest)


async def rendered_image(
    blobs: BlobStore,
    images: RenderedImages,
    key: str,
    frame: int,
    media_type: str,
    *,
    window: Any = None,
    viewport: Any = None,
    quality: int | None = None,
) -> bytes:
    """One frame rendered (dicom/render.py `render`, whose exceptions pass through): read and rendered in one thread
    hop, or the same bytes from `images` when this file was rendered so lately."""
    cache_key: RenderKey = (key, frame, media_type, window, viewport, quality)
    found = images.get(cache_key)
    if found is not None:
        return found
    options = {"window": window, "viewport": viewport, "quality": quality}
    try:
        image = await asyncio.to_thread(_read_and_render, blobs, key, frame, media_type, options)
    except _ReadFailed as failed:  # the read's own exception, apart from the rendering's (the routes map those)
        raise failed.error from None
    images.put(cache_key, image)
    return image


class _ReadFailed(Exception):
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _read_and_render(blobs: BlobStore, key: str, frame: int, media_type: str, options: dict[str, Any]) -> bytes:
    """A plain file is rendered from its bytes (`render_file`: the same image without pydicom's reader), anything
    else from the data set pydicom reads of the same bytes."""
    try:
        with blobs.open(key) as f:
            data = f.read()
    except Exception as exc:
        raise _ReadFailed(exc) from exc
    image = dicom_render.render_file(data, frame, media_type=media_type, **options)
    if image is not None:
        return image
    try:
        ds = dcmread(io.BytesIO(data))
    except Exception as exc:
        raise _ReadFailed(exc) from exc
    return dicom_render.render(ds, frame, media_type=media_type, **options)


async def read_dataset(blobs: BlobStore, key: str) -> Dataset:
    return await asyncio.to_thread(_read_dataset, blobs, key)


def _read_dataset(blobs: BlobStore, key: str) -> Dataset:
    with blobs.open(key) as f:
        return dcmread(f)


def bulk_value(ds: Dataset, path: str) -> bytes:
    """The raw value at a BulkDataURI path such as `7FE00010` or `00540016/0/00181072` (see imaging/index.py)."""
    pieces = path.strip("/").split("/")
    current: Any = ds
    try:
        for i in range(0, len(pieces) - 1, 2):
            current = current[int(pieces[i], 16)].value[int(pieces[i + 1])]
        element = current[int(pieces[-1], 16)]
    except (KeyError, IndexError, ValueError) as exc:
        raise YilianError(ErrorCode.NOT_FOUND, f"no bulk data at {path}") from exc
    value = element.value
    if isinstance(value, bytes):
        return value
    raise YilianError(ErrorCode.NOT_FOUND, f"the attribute at {path} is not bulk data")
