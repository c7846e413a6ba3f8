"""Uploading a study through the API (DICOM files or zips of them), for a county doctor without a gateway."""

from __future__ import annotations

import asyncio
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from fastapi import APIRouter, Request, UploadFile

from yilian.api.deps import Blobs, Engine, OnStored, Storer, dicomweb_base
from yilian.api.models.study import UploadResult
from yilian.dicom.instance import FailureReason
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging.ingest import IncomingInstance, IngestResult, Origin, Outcome, store_instance

router = APIRouter(prefix="/api/studies", tags=["studies"])
MAX_FILES = 5000
MAX_MEMBER_BYTES = 2 * 1024**3
# Zip bombs: a member may expand at most MAX_RATIO times its compressed size (DICOM deflates 2-10 times; a run of
# zeros 1000 times) once past RATIO_FREE bytes, and one upload's zips at most MAX_EXPANDED_BYTES in all. The sizes
# a zip declares are checked before anything is stored, and the bytes actually inflated while reading.
MAX_RATIO = 100
RATIO_FREE = 1024**2
MAX_EXPANDED_BYTES = 16 * 1024**3
_CHUNK = 1024**2


@router.post("/upload", status_code=200)
async def upload_study(
    request: Request, engine: Engine, blobs: Blobs, on_stored: OnStored, principal: Storer, files: list[UploadFile]
) -> UploadResult:
    """Store each uploaded DICOM file, and every file inside uploaded zips, through the one ingest pipeline.

    The answer lists every file with its outcome; one bad file (or a zip that cannot be read) does not stop
    the others. Files are read and stored one at a time from the spooled upload, so memory holds one instance,
    never a whole zip. The browser shows the upload's progress from its own request; the answer shows what was
    stored.
    """
    assert principal.hospital_id is not None
    results: list[dict[str, Any]] = []
    studies: set[str] = set()
    opened: list[_Opened] = []
    try:
        for upload in files:
            opened.append(await asyncio.to_thread(_open, upload))
        # Counted before anything is stored, so a refused upload leaves nothing behind.
        if sum(len(o.parts) for o in opened) > MAX_FILES:
            raise YilianError(ErrorCode.PAYLOAD_TOO_LARGE, f"at most {MAX_FILES} files per upload")
        declared = sum(o.expanded_bytes() for o in opened)
        if declared > MAX_EXPANDED_BYTES:
            raise YilianError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"the zips would expand to {declared} bytes, more than {MAX_EXPANDED_BYTES} per upload",
                {"max_expanded_bytes": MAX_EXPANDED_BYTES},
            )
        for part in (part for o in opened for part in o.parts):
            read = await asyncio.to_thread(part.read)
            if isinstance(read, _Unreadable):
                result = IngestResult(Outcome.REJECTED, reason=read.reason, failure_reason=read.failure_reason)
            else:
                incoming = IncomingInstance(read, Origin.UPLOAD, principal.hospital_id, principal.user_id)
                del read  # the pipeline holds the only reference: one instance in memory at a time
                result = await store_instance(engine, blobs, incoming)
                del incoming
            results.append(_entry(part.name, result))
            if result.accepted:
                studies.add(result.study_instance_uid)
    finally:
        for o in opened:
            o.close()
    if not results:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "the upload holds no file")
    await on_stored(principal.hospital_id, studies)
    base = dicomweb_base(request)
    return UploadResult.model_validate(
        {
            "stored": sum(r["outcome"] != "rejected" for r in results),
            "failed": sum(r["outcome"] == "rejected" for r in results),
            "studies": [{"study_instance_uid": s, "retrieve_url": f"{base}/studies/{s}"} for s in sorted(studies)],
            "files": results,
        }
    )


@dataclass(frozen=True)
class _Unreadable:
    """Why a file named by the upload cannot be handed to the pipeline (it is answered as rejected)."""

    reason: str
    failure_reason: FailureReason = FailureReason.CANNOT_UNDERSTAND


@dataclass(frozen=True)
class _Part:
    """One file to store: an uploaded file or a zip member, read only when its turn comes."""

    name: str
    read: Callable[[], bytes | _Unreadable]


@dataclass(frozen=True)
class _Opened:
    parts: list[_Part]
    archive: zipfile.ZipFile | None = None

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def expanded_bytes(self) -> int:
        """What the zip's members say they expand to (each member's reading holds it to that)."""
        return 0 if self.archive is None else sum(i.file_size for i in self.archive.infolist() if not _skipped(i))


_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty zip's end record
_TOO_LARGE = _Unreadable("larger than the 2 GB limit for one file", FailureReason.OUT_OF_RESOURCES)
_BOMB = _Unreadable(
    f"expands more than {MAX_RATIO} times in the zip (a zip bomb, or not an image)", FailureReason.OUT_OF_RESOURCES
)


def _bomb(expanded: int, compressed: int) -> bool:
    return expanded > RATIO_FREE and expanded > MAX_RATIO * max(compressed, 1)


def _open(upload: UploadFile) -> _Opened:
    """The files an upload holds: itself, or each file in it if it is a zip (folders, macOS metadata and
    DICOMDIR skipped). Reads only the zip's directory; a zip that cannot be opened is one rejected file."""
    name, f = upload.filename or "upload", upload.file
    f.seek(0)
    head = f.read(132)
    f.seek(0)
    # A DICOM Part-10 file ("DICM" after its preamble) is never taken for a zip, whatever its last bytes hold.
    if head[128:132] == b"DICM" or not (head.startswith(_ZIP_SIGNATURES) or zipfile.is_zipfile(f)):
        return _Opened([_Part(name, lambda: _read_file(f))])
    try:
        f.seek(0)
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
        unreadable = _Unreadable(f"a zip that cannot be read: {exc}")
        return _Opened([_Part(name, lambda: unreadable)])
    members = [i for i in archive.infolist() if not _skipped(i)]
    return _Opened([_Part(f"{name}/{i.filename}", _member_reader(archive, i)) for i in members], archive)


def _skipped(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or info.filename.startswith("__MACOSX/") or info.filename.endswith("DICOMDIR")


def _read_file(f: IO[bytes]) -> bytes | _Unreadable:
    f.seek(0)
    data = f.read(MAX_MEMBER_BYTES + 1)
    return _TOO_LARGE if len(data) > MAX_MEMBER_BYTES else data


def _member_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes | _Unreadable]:
    return lambda: _read_member(archive, info)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | _Unreadable:
    """The member's bytes (at most MAX_MEMBER_BYTES + 1 are ever read), or why it cannot be read."""
    if info.file_size > MAX_MEMBER_BYTES:
        return _TOO_LARGE
    if info.flag_bits & 0x1:
        return _Unreadable("encrypted in the zip: zip the files again without a password")
    if _bomb(info.file_size, info.compress_size):
        return _BOMB
    try:
        with archive.open(info) as member:
            chunks: list[bytes] = []
            size = 0
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if _bomb(size, info.compress_size):
                    return _BOMB  # the bytes inflate past what the header said: never held in memory
                if size > MAX_MEMBER_BYTES:
                    return _TOO_LARGE
                chunks.append(chunk)
            data = b"".join(chunks)
            del chunks
    except NotImplementedError:
        return _Unreadable(f"compressed in the zip with a method this server cannot read (method {info.compress_type})")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:
        return _Unreadable(f"damaged in the zip: {exc}")
    return _TOO_LARGE if len(data) > MAX_MEMBER_BYTES else data


def _entry(name: str, result: IngestResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": name, "outcome": result.outcome.value, "sop_instance_uid": result.sop_instance_uid}
    if not result.accepted:
        entry["reason"] = result.reason
        entry["failure_reason"] = f"{int(result.failure_reason or 0):04X}"
    return entry
