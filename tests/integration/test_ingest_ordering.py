"""The order of ingest's durable steps, on the real archive (PostgreSQL and the file blob store): each instance's file
is written and fsynced from the moment it is added to a batch; the batch's rows are committed only after every new
file is published (linked into place, its directory fsynced); a disk error at either step leaves no row and no
temporary file, and a retry stores the lot."""

from __future__ import annotations

import asyncio
import errno
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.schema import dicom_instances
from yilian.imaging.blob import FilesystemBlobStore, StagedBlob, sha256_of
from yilian.imaging.ingest import IncomingInstance, IngestBatch, Origin, Outcome, store_instances

pytestmark = pytest.mark.integration


class DiskWithAFault(FilesystemBlobStore):
    """The file store, failing with EIO for one blob at one step (an I/O error cannot be had from a healthy disk on
    demand, so it is raised where the store would meet it), and counting the rows of `uids` each publish sees."""

    def __init__(self, root: Path, *, fail_stage: str = "", fail_publish: str = "") -> None:
        super().__init__(root)
        self.fail_stage, self.fail_publish = fail_stage, fail_publish
        self.rows_seen_at_publish: list[int] = []
        self.count_rows: asyncio.Future[int] | None = None
        self.engine: AsyncEngine | None = None
        self.uids: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def stage(self, data: bytes, sha256: str) -> StagedBlob:
        staged = super().stage(data, sha256)
        if sha256 == self.fail_stage:  # the write went through, its fsync failed: the store drops the file
            self.discard(staged)
            raise OSError(errno.EIO, "Input/output error (fsync)")
        return staged

    def publish(self, staged: Sequence[StagedBlob]) -> None:
        if self.engine is not None and self.loop is not None:  # publish runs in a thread; ask the loop's engine
            seen = asyncio.run_coroutine_threadsafe(_rows(self.engine, self.uids), self.loop).result(30)
            self.rows_seen_at_publish.append(seen)
        if any(blob.key == self.fail_publish for blob in staged):  # the links went through, a directory fsync failed
            super().publish([blob for blob in staged if blob.key != self.fail_publish])
            raise OSError(errno.EIO, "Input/output error (directory fsync)")
        super().publish(staged)


async def _rows(engine: AsyncEngine, uids: list[str]) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).where(dicom_instances.c.sop_instance_uid.in_(uids))
        return int((await conn.execute(query)).scalar_one())


def _incoming(n: int) -> tuple[list[IncomingInstance], list[str]]:
    series = ct_series(n_slices=n, rows=32, cols=32, patient_id=f"ORDER-{uuid.uuid4().hex[:6]}")
    parts = [IncomingInstance(to_bytes(ds), Origin.UPLOAD, "h-anping", "test") for ds in series]
    return parts, [str(ds.SOPInstanceUID) for ds in series]


def _temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(".incoming-*"))


async def test_files_sync_from_their_arrival_and_rows_follow_every_published_file(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    blobs = DiskWithAFault(tmp_path)
    parts, uids = _incoming(3)
    blobs.engine, blobs.uids, blobs.loop = engine, uids, asyncio.get_running_loop()
    batch = IngestBatch(engine, blobs)
    for part in parts:
        batch.add(part)

    # Before store() is called, each file is already on disk under a temporary name, and nothing is readable.
    await wait_until(lambda: len(_temporaries(tmp_path)), "three staged files", ok=lambda n: n == 3, within=10)
    assert not any(blobs.exists(sha256_of(p.data)) for p in parts)
    assert await _rows(engine, uids) == 0

    results = await batch.store()

    assert [r.outcome for r in results] == [Outcome.STORED] * 3
    assert blobs.rows_seen_at_publish == [0]  # the files were published (one call) while the batch had no row
    assert await _rows(engine, uids) == 3
    assert all(blobs.path(sha256_of(p.data)).read_bytes() == p.data for p in parts)
    assert _temporaries(tmp_path) == []

    # An identical re-send is a success that writes nothing, not even a temporary file.
    again = IngestBatch(engine, blobs)
    for part in parts:
        again.add(part)
    await asyncio.sleep(0.2)
    assert _temporaries(tmp_path) == []
    assert [r.outcome for r in await again.store()] == [Outcome.DUPLICATE] * 3


@pytest.mark.parametrize("step", ["stage", "publish"])
async def test_a_disk_error_on_one_file_leaves_no_row_of_its_batch_and_a_retry_stores_it(
    engine: AsyncEngine, tmp_path: Path, step: str
) -> None:
    parts, uids = _incoming(4)
    broken = sha256_of(parts[2].data)
    faulty = DiskWithAFault(tmp_path, **{f"fail_{step}": broken})

    with pytest.raises(OSError, match="Input/output error"):
        await store_instances(engine, faulty, parts)

    assert await _rows(engine, uids) == 0
    assert not faulty.exists(broken)
    assert _temporaries(tmp_path) == []  # the other staged files are discarded too
    if step == "stage":  # nothing was published: the failure came before any link
        assert not any(faulty.exists(sha256_of(p.data)) for p in parts)
    else:  # the others were linked (unreferenced blobs, which a retry reuses), the broken one is discarded
        assert all(faulty.exists(sha256_of(p.data)) for p in parts if sha256_of(p.data) != broken)

    results = await store_instances(engine, FilesystemBlobStore(tmp_path), parts)
    assert [r.outcome for r in results] == [Outcome.STORED] * 4
    assert await _rows(engine, uids) == 4


async def test_a_body_broken_after_some_parts_stores_them_and_leaves_no_temporary_file(
    api: Api, settings: Settings
) -> None:
    series = ct_series(n_slices=3, rows=32, cols=32, patient_id=f"BROKEN-{uuid.uuid4().hex[:6]}")
    whole = stow_body(series)
    broken = whole[: whole.rindex(b"--yilian-test-boundary")] + b"--yilian-test-boundary\r\nContent-Type: app"

    r = await api.call(
        "zhao.anping", "POST", "/dicomweb/studies", content=broken, headers={"Content-Type": CONTENT_TYPE}
    )

    assert r.status_code == 400, r.text
    stored = r.json()["details"]["stored_before_the_error"]  # the parts the parser had closed before the break
    assert stored and stored == [str(ds.SOPInstanceUID) for ds in series][: len(stored)]
    root = Path(settings.storage_url.removeprefix("file://"))
    assert _temporaries(root) == []
