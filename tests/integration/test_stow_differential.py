"""STOW-RS through the lean paths against the paths they replaced (issue 10): the multipart scan by the C library's
memmem against bytes.find, the end of a part's headers searched both ways over the whole window, each part's
Content-Type parsed afresh, and the file store's stage and publish on strings against mkstemp and Path. The same
bodies, cut into chunks at awkward places, go through the real route, PostgreSQL and file store both ways: the
answer's bytes, the stored files (names, bytes, modes), the index rows and the studies announced must be equal."""

from __future__ import annotations

import contextlib
import copy
import os
import random
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.stow import BOUNDARY, CONTENT_TYPE
from yilian.api.dicomweb import store_query
from yilian.db.schema import dicom_instances, dicom_series, dicom_studies
from yilian.dicom import multipart
from yilian.dicom.multipart import parse_content_type
from yilian.domain.access import Principal
from yilian.domain.errors import YilianError
from yilian.domain.roles import Role
from yilian.imaging.blob import FilesystemBlobStore, StagedBlob

pytestmark = pytest.mark.integration

HOSPITAL = "h-anping"
PRINCIPAL = Principal(user_id="u-stow-differential", role=Role.COUNTY_DOCTOR, hospital_id=HOSPITAL, name="test")


class PathStore(FilesystemBlobStore):
    """The file store's stage and publish as they were before (reference): mkstemp, os.fdopen, Path arithmetic."""

    def stage(self, data: bytes, sha256: str) -> StagedBlob:
        final = self.path(sha256)
        if final.exists():
            return StagedBlob(sha256, data)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return StagedBlob(sha256, data, Path(tmp))

    def publish(self, staged: Sequence[StagedBlob]) -> None:
        directories: set[Path] = set()
        for blob in staged:
            final = self.path(blob.key)
            directories.add(final.parent)
            if blob.temporary is None:
                continue
            try:
                os.link(blob.temporary, final)
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(FileNotFoundError):
                    blob.temporary.unlink()
        for directory in sorted(directories):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _header_end_as_before(buffer: bytearray) -> tuple[int, int] | None:
    """The end of a part's header block as the reader found it before (reference): both forms over the window."""
    window = multipart._MAX_HEADER_BYTES + 3
    found = [
        (i, n) for i, n in ((buffer.find(b"\n\r\n", 0, window), 3), (buffer.find(b"\n\n", 0, window), 2)) if i >= 0
    ]
    return min(found) if found else None


def _parts(rng: random.Random) -> list[tuple[str, bytes]]:
    """A request's parts: slices short and long (above memmem's threshold), one carrying text that begins like the
    delimiter, a repeat, a conflicting edit, garbage sent as DICOM, and a part of another type."""
    patient = f"DIFF-{uuid.uuid4().hex[:6]}"
    size = rng.choice([16, 160, 256])
    series = ct_series(n_slices=5, rows=size, cols=size, patient_id=patient)
    series[1].ImageComments = f"\r\n--{BOUNDARY}X and \n--{BOUNDARY}-- inside a value"
    [long] = ct_series(n_slices=1, rows=300, cols=300, patient_id=patient, study_uid=series[0].StudyInstanceUID)
    edited = copy.deepcopy(series[2])
    edited.SeriesDescription = "EDITED"
    dicom = [to_bytes(ds) for ds in (*series, long)]
    garbage = rng.randbytes(40_000) + f"\r\n--{BOUNDARY}x".encode() + rng.randbytes(100)
    parts = [("application/dicom", b) for b in dicom]
    parts += [("application/dicom", dicom[0]), ("application/dicom", to_bytes(edited))]
    parts += [("application/dicom", garbage), ("text/plain", b"not an instance")]
    rng.shuffle(parts)
    return parts


def _body(parts: list[tuple[str, bytes]], rng: random.Random) -> bytes:
    body = bytearray()
    for content_type, data in parts:
        newline, end, blank = (rng.choice([b"\r\n", b"\n"]) for _ in range(3))  # mixed: LF CR LF or LF LF ends it
        body += f"--{BOUNDARY}".encode() + newline + f"Content-Type: {content_type}".encode() + end + blank
        body += data + rng.choice([b"\r\n", b"\n"])
    return bytes(body + f"--{BOUNDARY}--\r\n".encode())


def _chunkings(body: bytes, rng: random.Random) -> list[list[bytes]]:
    """The body whole, in 64 KiB and odd-sized pieces, cut at random, and cut at each byte around every delimiter."""
    delimiters = [i for i in range(len(body)) if body.startswith(f"\n--{BOUNDARY}".encode(), i)]
    around = sorted({i + k for i in delimiters for k in (-1, 0, 1, 3, len(BOUNDARY) + 3) if 0 < i + k < len(body)})
    cuts_sets = [
        [],
        list(range(65536, len(body), 65536)),
        list(range(40_000, len(body), 40_000)),
        sorted(rng.sample(range(1, len(body)), 25)),
        around,
    ]
    return [[body[i:j] for i, j in zip([0, *cuts], [*cuts, len(body)], strict=True)] for cuts in cuts_sets]


async def _stow(engine: AsyncEngine, blobs: FilesystemBlobStore, chunks: list[bytes]) -> tuple[Any, ...]:
    """The route itself, over an ASGI request whose body arrives in `chunks`."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {
        "type": "http", "method": "POST", "path": "/dicomweb/studies", "scheme": "http", "root_path": "",
        "query_string": b"", "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", CONTENT_TYPE.encode())],
    }  # fmt: skip
    announced: list[tuple[str, list[str]]] = []

    async def on_stored(hospital: str, studies: set[str]) -> None:
        announced.append((hospital, sorted(studies)))

    try:
        response = await store_query.store_instances(Request(scope, receive), engine, blobs, on_stored, PRINCIPAL)  # type: ignore[arg-type]
    except YilianError as exc:
        return ("error", exc.code, str(exc), announced)
    return (response.status_code, bytes(response.body), dict(response.headers), announced)


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


async def _rows_and_forget(engine: AsyncEngine, parts: list[tuple[str, bytes]]) -> dict[str, list[dict[str, Any]]]:
    """The index rows of the request's instances, series and studies (timestamps aside), then deleted so the same
    instances can be stored again by the other path."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with engine.begin() as conn:
        instances = [
            dict(r._mapping)
            for r in await conn.execute(
                select(dicom_instances).where(dicom_instances.c.received_by == PRINCIPAL.user_id)
            )
        ]
        series_uids = {r["series_instance_uid"] for r in instances}
        series = [
            dict(r._mapping)
            for r in await conn.execute(select(dicom_series).where(dicom_series.c.series_instance_uid.in_(series_uids)))
        ]
        study_uids = {r["study_instance_uid"] for r in series}
        studies = [
            dict(r._mapping)
            for r in await conn.execute(select(dicom_studies).where(dicom_studies.c.study_instance_uid.in_(study_uids)))
        ]
        for name, table_rows, key in (
            ("instances", instances, "sop_instance_uid"),
            ("series", series, "series_instance_uid"),
            ("studies", studies, "study_instance_uid"),
        ):
            rows[name] = sorted(
                ({k: v for k, v in r.items() if not k.endswith("_at")} for r in table_rows), key=lambda r: r[key]
            )
        await conn.execute(delete(dicom_instances).where(dicom_instances.c.received_by == PRINCIPAL.user_id))
        await conn.execute(delete(dicom_series).where(dicom_series.c.series_instance_uid.in_(series_uids)))
        await conn.execute(delete(dicom_studies).where(dicom_studies.c.study_instance_uid.in_(study_uids)))
    assert parts and rows["instances"], "nothing was stored: the comparison would be empty"
    return rows


@pytest.mark.parametrize("seed", range(3))
async def test_stow_stores_and_answers_the_same_by_the_lean_paths(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    assert multipart._MEMMEM is not None, "memmem is what this compares; glibc has it"
    rng = random.Random(seed)
    parts = _parts(rng)
    assert max(len(data) for _, data in parts) > multipart._MEMMEM_FROM
    body = _body(parts, rng)
    for n, chunks in enumerate(_chunkings(body, rng)):
        with monkeypatch.context() as old:
            old.setattr(multipart, "_MEMMEM", None)  # bytes.find, as before
            old.setattr(multipart, "_header_end", _header_end_as_before)
            old.setattr(store_query, "_media_type", lambda content_type: parse_content_type(content_type)[0])
            before = await _stow(engine, PathStore(tmp_path / f"old-{n}"), chunks)
        old_rows = await _rows_and_forget(engine, parts)
        after = await _stow(engine, FilesystemBlobStore(tmp_path / f"new-{n}"), chunks)
        new_rows = await _rows_and_forget(engine, parts)

        assert after == before
        assert before[0] == 202  # some stored, some refused: every outcome is compared
        assert new_rows == old_rows
        files = _files(tmp_path / f"new-{n}")
        assert files == _files(tmp_path / f"old-{n}")
        assert len(files) == len(old_rows["instances"])  # no temporary file left by either
