"""The BlobStore contract, the same for every adapter: local disk and S3 (against a real s3proxy)."""

from __future__ import annotations

import os
from pathlib import Path

import obstore
import pytest

from tests.support.blobs import STORAGES, s3_store
from tests.support.dicom_gen import ct_series, to_bytes
from yilian.dicom.frames import iter_frames
from yilian.imaging.blob import BlobStore, FilesystemBlobStore, sha256_of
from yilian.imaging.blob_s3 import MIB, S3BlobStore
from yilian.imaging.retrieve import CHUNK, FIRST_READ, file_chunks, files_ahead, framed_files

pytestmark = pytest.mark.integration

SMALL_PARTS = {"multipart_threshold": 5 * MIB, "part_size": 5 * MIB}  # S3's smallest part: multipart from 5 MiB


@pytest.fixture(params=STORAGES)
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return FilesystemBlobStore(tmp_path / "blobs")
    return s3_store(request.getfixturevalue("s3_server"), **SMALL_PARTS)


def _read(blobs: BlobStore, key: str) -> bytes:
    with blobs.open(key) as f:
        return f.read()


def test_put_open_exists_delete(blobs: BlobStore) -> None:
    data = b"DICM" * 1000
    key = blobs.put(data, sha256_of(data))
    assert key == sha256_of(data) and blobs.exists(key)
    assert _read(blobs, key) == data
    assert blobs.put(data, sha256_of(data)) == key  # the same content again: a no-op
    blobs.delete(key)
    assert not blobs.exists(key)
    with pytest.raises(FileNotFoundError):
        blobs.open(key)
    blobs.delete(key)  # deleting what is gone is not an error


@pytest.mark.parametrize("size", [4096, 12 * MIB], ids=["single-put", "multipart"])
def test_writes_are_create_only(blobs: BlobStore, size: int) -> None:
    """A retried ingest never replaces what is stored: a second put under an existing key leaves the first bytes."""
    first = os.urandom(size)
    key = blobs.put(first, sha256_of(first))
    assert blobs.put(os.urandom(size), key) == key
    assert sha256_of(_read(blobs, key)) == key


def test_a_large_instance_round_trips(blobs: BlobStore) -> None:
    data = os.urandom(12 * MIB + 123)  # past the multipart threshold, not a multiple of the part size
    key = blobs.put(data, sha256_of(data))
    assert _read(blobs, key) == data
    if isinstance(blobs, S3BlobStore):  # an S3 multipart object's ETag ends in -<number of parts>
        assert obstore.head(blobs._store, f"{key[:2]}/{key[2:4]}/{key}")["e_tag"].strip('"').endswith("-3")


def test_ranged_reads_seek_without_reading_the_whole_blob(blobs: BlobStore) -> None:
    data = os.urandom(3 * MIB)
    key = blobs.put(data, sha256_of(data))
    with blobs.open(key) as f:
        assert f.seekable()
        f.seek(2 * MIB + 17)
        assert f.read(100) == data[2 * MIB + 17 : 2 * MIB + 117]
        f.seek(-10, os.SEEK_END)
        assert f.read() == data[-10:]
        assert f.read(5) == b""
    if isinstance(blobs, S3BlobStore):
        assert blobs.bytes_fetched < MIB  # two small ranges, not 3 MiB


def test_frames_are_read_one_by_one(blobs: BlobStore) -> None:
    """A multi-frame instance: asking for one frame reads its header and that frame, not the file."""
    [ds] = ct_series(n_slices=1, rows=512, cols=512, patient_id="BLOB-FRAMES")
    ds.NumberOfFrames = 8
    ds.PixelData = b"".join(bytes([n]) * (512 * 512 * 2) for n in range(8))  # 4 MiB, each frame one byte value
    data = to_bytes(ds)
    key = blobs.put(data, sha256_of(data))
    before = blobs.bytes_fetched if isinstance(blobs, S3BlobStore) else 0
    [frame] = list(iter_frames(blobs.open(key), [6]))
    assert frame == bytes([5]) * (512 * 512 * 2)
    if isinstance(blobs, S3BlobStore):
        assert blobs.bytes_fetched - before < len(data) // 4


async def test_file_chunks_stream_in_bounded_pieces(blobs: BlobStore) -> None:
    data = os.urandom(2 * CHUNK + 5)
    key = blobs.put(data, sha256_of(data))
    sizes, got = [], bytearray()
    async for chunk in file_chunks(blobs, key):
        sizes.append(len(chunk))
        got += chunk
    assert bytes(got) == data and max(sizes) <= CHUNK and len(sizes) == 3


async def test_files_ahead_streams_each_blob_whole_and_in_order(blobs: BlobStore) -> None:
    datas = [os.urandom(n) for n in (10, CHUNK + 3, 2 * CHUNK, 7, 5)]  # more blobs than are read ahead
    keys = [blobs.put(d, sha256_of(d)) for d in datas]
    got = []
    async for chunks in files_ahead(blobs, keys):
        got.append(b"".join([c async for c in chunks]))
    assert got == datas


async def test_framed_files_are_each_blob_between_its_head_and_tail(blobs: BlobStore) -> None:
    """A blob read whole comes as one buffer with its head and tail around it; one longer than the first read comes
    as head, chunks and tail. Either way the stream is the heads, blobs and tails in order."""
    datas = [os.urandom(n) for n in (10, CHUNK + 3, FIRST_READ + 5, 7, 5, FIRST_READ)]
    keys = [blobs.put(d, sha256_of(d)) for d in datas]
    frames = [(f"<head {i}>".encode(), f"<tail {i}>".encode()) for i in range(len(datas))]
    chunks = [bytes(c) async for c in framed_files(blobs, keys, [len(d) for d in datas], frames)]
    assert b"".join(chunks) == b"".join(h + d + t for (h, t), d in zip(frames, datas, strict=True))
    whole = [h + d + t for (h, t), d in zip(frames, datas, strict=True) if len(d) <= FIRST_READ]
    assert [c for c in chunks if c in whole] == whole  # one buffer each
    assert frames[2][0] in chunks and frames[2][1] in chunks  # the long blob: its head and tail on their own


async def test_framed_files_refuse_a_blob_shorter_than_its_size(blobs: BlobStore) -> None:
    data = os.urandom(100)
    key = blobs.put(data, sha256_of(data))
    with pytest.raises(OSError, match="has 100 bytes where 101"):
        _ = [c async for c in framed_files(blobs, [key], [101], [(b"h", b"t")])]
