"""Content-addressed blob storage for DICOM files: the port, its filesystem adapter, and the choice by URL.

The S3 adapter is imaging/blob_s3.py. Both pass the same contract suite (tests/integration/test_blob_contract.py).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable
from urllib.parse import urlparse

if TYPE_CHECKING:
    from yilian.config import Settings
    from yilian.imaging.blob_s3 import S3Options


_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


@dataclass(frozen=True)
class StagedBlob:
    """A blob on its way in (`BlobStore.stage`): not readable under its key until it is published."""

    key: str
    data: bytes = field(repr=False)  # for a store that writes at publish (S3)
    temporary: Path | None = None  # a filesystem store's fsynced file, linked by publish; None: nothing written


class BlobStore(Protocol):
    """Stores bytes under the hex SHA-256 of their content; writing the same content twice is a no-op.

    Writes are create-only: a key that exists is never overwritten, so a retried ingest cannot replace what an
    earlier one stored (and fixity checks what was first written).

    A write is `put`, or in two steps so that ingest can start the slow part while it still checks the instance:
    `stage` (durable but invisible: nothing can read it under its key), then `publish` (readable and durable under
    its key) or `discard`.
    """

    def put(self, data: bytes, sha256: str) -> str:
        """Store `data` (whose digest the caller computed) durably; return its key."""
        ...

    def stage(self, data: bytes, sha256: str) -> StagedBlob:
        """Do what can be done of a `put` before anyone may read the blob (on disk: write and fsync the bytes
        under a temporary name; nothing if the blob exists)."""
        ...

    def publish(self, staged: Sequence[StagedBlob]) -> None:
        """Finish the `put` of staged blobs: on return each is durable and readable under its key. Publishing what
        is already stored is a no-op, as `put` is."""
        ...

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged blob that will not be published. Never removes a blob stored under its key."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A seekable reader of the blob: a read fetches only the bytes it asks for (a frame, a header), so
        retrieval streams and seeks without holding the file. FileNotFoundError when there is no such blob."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class CachedReads(Protocol):
    """A store that can read a blob's bytes without waiting, when they are already in memory (the filesystem's page
    cache), so a small read need not leave the event loop. Optional: a store without it is always read in a thread."""

    def read_cached(self, key: str, spans: Sequence[tuple[int, int]]) -> list[bytearray] | None:
        """The bytes of each (offset, length) span of the blob, if all of them can be read at once without
        waiting for a disk; None otherwise (not cached, no such blob, a short read): the caller reads the usual way."""
        ...


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_HEX = "0123456789abcdef"


def check_key(key: str) -> str:
    if len(key) != 64 or key.strip(_HEX):  # strip leaves something only if a character is not lower-case hex
        raise ValueError(f"not a blob key: {key!r}")
    return key


def key_path(key: str) -> str:
    """ab/cd/<sha256>: two levels of fan-out, the same layout on disk and in a bucket."""
    check_key(key)
    return f"{key[:2]}/{key[2:4]}/{key}"


class FilesystemBlobStore:
    """Files under root/ab/cd/<sha256>: written to a temporary name in that directory and fsynced (`stage`),
    then linked into place and the directory fsynced (`publish`).

    A crash leaves at worst a temporary file (`.incoming-*`), never a partial blob under its final name.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._root_text = str(root)  # joined as text: building a Path per frame or blob cost about what the I/O did

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / key_path(key)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def read_cached(self, key: str, spans: Sequence[tuple[int, int]]) -> list[bytearray] | None:
        """CachedReads: preadv2 with RWF_NOWAIT, which returns at once, short or EAGAIN, rather than wait for the
        disk (Linux 4.14+). Opening the file is a path lookup, which a file read lately (the caller knows its
        layout) finds in the dentry cache."""
        if _RWF_NOWAIT is None:
            return None
        try:
            fd = os.open(os.path.join(self._root_text, key_path(key)), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            out = []
            for offset, length in spans:
                buffer = bytearray(length)  # kept as read: a copy to bytes would cost as much as the read
                if os.preadv(fd, [buffer], offset, _RWF_NOWAIT) != length:
                    return None
                out.append(buffer)
            return out
        except OSError:  # BlockingIOError (not in the page cache), EOPNOTSUPP (a file system without it)
            return None
        finally:
            os.close(fd)

    def put(self, data: bytes, sha256: str) -> str:
        self.publish([self.stage(data, sha256)])
        return sha256

    def stage(self, data: bytes, sha256: str) -> StagedBlob:
        directory, final = self._where(sha256)
        if os.path.exists(final):
            return StagedBlob(sha256, data)
        fd, temporary = _create_temporary(directory)
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return StagedBlob(sha256, data, Path(temporary))

    def publish(self, staged: Sequence[StagedBlob]) -> None:
        """Every link first, then each distinct directory fsynced once: one journal commit for the lot, where a
        link and a directory fsync per file one after the other would be one commit each."""
        directories: set[str] = set()
        for blob in staged:
            directory, final = self._where(blob.key)
            # A blob found in place at stage may have been linked by a concurrent writer whose directory fsync is
            # still under way, so its directory is synced too before the caller relies on it.
            directories.add(directory)
            if blob.temporary is None:
                continue
            try:
                # link, not rename: it fails when the name exists, so a concurrent writer never replaces a blob.
                os.link(blob.temporary, final)
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(blob.temporary)
        for directory in sorted(directories):
            _fsync_dir(directory)

    def _where(self, key: str) -> tuple[str, str]:
        """`path(key)`'s directory and file as strings: staging and publishing do no Path arithmetic per blob."""
        check_key(key)
        directory = f"{self._root_text}/{key[:2]}/{key[2:4]}"
        return directory, f"{directory}/{key}"

    def discard(self, staged: StagedBlob) -> None:
        if staged.temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                staged.temporary.unlink()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()


# tempfile.mkstemp's flags and mode, without its Path and random-name machinery.
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create_temporary(directory: str) -> tuple[int, str]:
    """A new `.incoming-*` file in `directory` (made on first need, not looked up for every blob): (fd, path)."""
    for _ in range(100):
        temporary = f"{directory}/.incoming-{secrets.token_hex(8)}"
        try:
            return os.open(temporary, _CREATE, 0o600), temporary
        except FileExistsError:
            continue
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
    raise FileExistsError(errno.EEXIST, "no unused temporary name", directory)


def _write_all(fd: int, data: bytes) -> None:
    with memoryview(data) as view:
        written = 0
        while written < len(view):  # one call but for a file over 2 GiB (or a signal mid-write)
            written += os.write(fd, view[written:])


def _fsync_dir(directory: Path | str) -> None:
    # The new name is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blob_store(settings: Settings) -> BlobStore:
    """The archive's store as configured: YILIAN_STORAGE_URL, and for s3:// the YILIAN_S3_* settings (each
    unset one falls back to the standard AWS_* environment variables; docs/storage.md)."""
    from yilian.imaging.blob_s3 import S3Options

    return blob_store_from_url(
        settings.storage_url,
        s3=S3Options(
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        ),
    )


def blob_store_from_url(url: str, base_dir: Path | None = None, *, s3: S3Options | None = None) -> BlobStore:
    """`file://var/dicom` (relative to the working directory), `file:///abs/path`, or `s3://bucket/prefix`."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from yilian.imaging.blob_s3 import S3BlobStore, S3Options

        return S3BlobStore.from_url(url, s3 or S3Options())
    if parsed.scheme != "file":
        raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")
    raw = parsed.netloc + parsed.path
    path = Path(raw)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return FilesystemBlobStore(path)
