"""Uploading a study through the API (DICOM files or zips of them), for a county doctor without a gateway."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, UploadFile

from yilian.api.deps import Blobs, Engine, OnStored, Storer, dicomweb_base
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging.ingest import IncomingInstance, IngestResult, Origin, store_instance

router = APIRouter(prefix="/api/studies", tags=["studies"])
MAX_FILES = 5000
MAX_MEMBER_BYTES = 2 * 1024**3


@router.post("/upload", status_code=200)
async def upload_study(
    request: Request, engine: Engine, blobs: Blobs, on_stored: OnStored, principal: Storer, files: list[UploadFile]
) -> dict[str, Any]:
    """Store each uploaded DICOM file, and every file inside uploaded zips, through the one ingest pipeline.

    The answer lists every file with its outcome; one bad file does not stop the others. The browser shows
    the upload's progress from its own request; the answer shows what was stored.
    """
    assert principal.hospital_id is not None
    results: list[dict[str, Any]] = []
    studies: set[str] = set()
    for upload in files:
        for name, data in await asyncio.to_thread(_read_all, upload):
            if len(results) >= MAX_FILES:
                raise YilianError(ErrorCode.PAYLOAD_TOO_LARGE, f"at most {MAX_FILES} files per upload")
            incoming = IncomingInstance(data, Origin.UPLOAD, principal.hospital_id, principal.user_id)
            result = await store_instance(engine, blobs, incoming)
            results.append(_entry(name, result))
            if result.accepted:
                studies.add(result.study_instance_uid)
    if not results:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "the upload holds no file")
    await on_stored(studies)
    base = dicomweb_base(request)
    return {
        "stored": sum(r["outcome"] != "rejected" for r in results),
        "failed": sum(r["outcome"] == "rejected" for r in results),
        "studies": [{"study_instance_uid": s, "retrieve_url": f"{base}/studies/{s}"} for s in sorted(studies)],
        "files": results,
    }


def _read_all(upload: UploadFile) -> list[tuple[str, bytes]]:
    return list(_members(upload))


def _members(upload: UploadFile) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of a plain file, or of each file in a zip (folders and macOS metadata skipped)."""
    name = upload.filename or "upload"
    upload.file.seek(0)
    if zipfile.is_zipfile(upload.file):
        upload.file.seek(0)
        with zipfile.ZipFile(upload.file) as archive:
            for info in archive.infolist():
                if info.is_dir() or info.filename.startswith("__MACOSX/") or info.filename.endswith("DICOMDIR"):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise YilianError(ErrorCode.PAYLOAD_TOO_LARGE, f"{info.filename} is larger than 2 GB")
                yield f"{name}/{info.filename}", archive.read(info)
        return
    upload.file.seek(0)
    yield name, upload.file.read()


def _entry(name: str, result: IngestResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": name, "outcome": result.outcome.value, "sop_instance_uid": result.sop_instance_uid}
    if not result.accepted:
        entry["reason"] = result.reason
        entry["failure_reason"] = f"{int(result.failure_reason or 0):04X}"
    return entry
