"""WADO-RS retrieval from the archive (PS3.18 §10.4): which files, their metadata, frames and renderings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import imaging as queries
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging.blob import BlobStore
from yilian.imaging.index import BASE_PLACEHOLDER

CHUNK = 1024 * 1024


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
        if not await queries.visible_study(conn, principal, study):
            raise YilianError(ErrorCode.NOT_FOUND, f"no study {study}")
        rows = await queries.instances_of(conn, study, series, sop, metadata=metadata)
    if not rows:
        what = f"instance {sop}" if sop else f"series {series}" if series else f"study {study}"
        raise YilianError(ErrorCode.NOT_FOUND, f"no {what} in study {study}" if (sop or series) else f"no {what}")
    return rows


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
