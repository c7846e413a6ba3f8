"""Content-addressed blob storage for DICOM files: the port and its filesystem adapter (S3 may follow)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


class BlobStore(Protocol):
    """Stores bytes under the hex SHA-256 of their content; writing the same content twice is a no-op."""

    def put(self, data: bytes, sha256: str) -> str:
        """Store `data` (whose digest the caller computed) durably; return its key."""
        ...

    def path(self, key: str) -> Path:
        """A local path to read the blob from (streamed by retrieval routes, never loaded whole)."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FilesystemBlobStore:
    """Files under root/ab/cd/<sha256>: written to a temporary name, fsynced, then renamed into place.

    A crash leaves at worst a temporary file, never a partial blob under its final name.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, data: bytes, sha256: str) -> str:
        final = self.path(sha256)
        if final.exists():
            return sha256
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(final.parent)
        return sha256

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blob_store_from_url(url: str, base_dir: Path | None = None) -> BlobStore:
    """`file://var/dicom` (relative to the working directory) or `file:///abs/path`."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise ValueError(f"unsupported storage URL {url!r}: only file:// is implemented (S3 is a known gap)")
    raw = parsed.netloc + parsed.path
    path = Path(raw)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return FilesystemBlobStore(path)
