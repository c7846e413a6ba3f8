"""The BlobStore on S3 or any S3-compatible store (obstore, path-style): `YILIAN_STORAGE_URL=s3://bucket/prefix`.

- Create-only writes: a blob up to `multipart_threshold` is one PUT with If-None-Match: * (the store answers 412
  if the key exists, and the first copy stays). A larger one is a multipart upload, which obstore cannot make
  conditional: it is preceded by a HEAD, and since keys are content digests a writer racing past that HEAD can
  only write the same bytes (the fixity check would see anything else).
- Reads are ranged GETs behind a buffered, seekable reader: a frame or a header costs its own bytes, not the file;
  opening fetches the first 256 KiB and the size in one request (no HEAD).
- Credentials, region and endpoint: the YILIAN_S3_* settings, else the standard AWS_* environment variables (and
  the instance/container role on AWS), as obstore reads them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlparse

import obstore
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store

from yilian.imaging.blob import StagedBlob, key_path

if TYPE_CHECKING:
    from obstore.store import ClientConfig

MIB = 1024 * 1024
READ_BUFFER = 256 * 1024  # small reads (DICOM headers) are served from one ranged GET of this size


@dataclass(frozen=True)
class S3Options:
    endpoint: str | None = None  # e.g. http://127.0.0.1:9000 for s3proxy or MinIO; None: AWS (or AWS_ENDPOINT_URL)
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    multipart_threshold: int = 16 * MIB  # s3proxy refuses single PUTs over 32 MiB; AWS over 5 GiB
    part_size: int = 8 * MIB  # S3's minimum part is 5 MiB (all but the last)


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str, options: S3Options) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.options = options
        config: dict[str, Any] = {}
        if options.endpoint:
            config["endpoint"] = options.endpoint
        if options.region:
            config["region"] = options.region
        if options.access_key_id:
            config["access_key_id"] = options.access_key_id
        if options.secret_access_key:
            config["secret_access_key"] = options.secret_access_key
        client_options: ClientConfig | None = (
            {"allow_http": True} if (options.endpoint or "").startswith("http://") else None
        )
        # Unset values come from the AWS_* environment variables (obstore reads them when it builds the client).
        self._store = S3Store(
            bucket,
            prefix=self.prefix or None,
            config=config,  # type: ignore[arg-type]  # obstore's TypedDict; the keys above are its names
            client_options=client_options,
            virtual_hosted_style_request=False,  # path-style: what s3proxy and MinIO serve
        )
        self._counted = threading.Lock()
        self.bytes_fetched = 0  # what ranged reads have transferred, for tests and the benchmark
        self.requests = 0

    @classmethod
    def from_url(cls, url: str, options: S3Options) -> S3BlobStore:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an S3 storage URL: {url!r} (use s3://bucket/prefix)")
        return cls(parsed.netloc, parsed.path, options)

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix}, endpoint={self.options.endpoint!r})"

    def put(self, data: bytes, sha256: str) -> str:
        path = key_path(sha256)
        if len(data) <= self.options.multipart_threshold:
            try:
                obstore.put(self._store, path, data, mode="create", use_multipart=False)
            except AlreadyExistsError:
                pass  # stored before (a retried ingest): the first copy stays
            return sha256
        if self.exists(sha256):
            return sha256
        # Parts are slices of `data` (memoryview: no copies); obstore sends a few at once.
        obstore.put(
            self._store,
            path,
            _parts(memoryview(data), self.options.part_size),
            use_multipart=True,
            chunk_size=self.options.part_size,
            max_concurrency=4,
        )
        return sha256

    def stage(self, data: bytes, sha256: str) -> StagedBlob:
        # An object is readable once written, so nothing is sent before publish.
        return StagedBlob(sha256, data)

    def publish(self, staged: Sequence[StagedBlob]) -> None:
        # Each object is its own PUT: a few at once, as the ingest of a batch used to send them.
        if len(staged) == 1:
            self.put(staged[0].data, staged[0].key)
            return
        with ThreadPoolExecutor(max_workers=min(8, len(staged)), thread_name_prefix="s3-publish") as pool:
            for _ in pool.map(lambda blob: self.put(blob.data, blob.key), staged):
                pass

    def discard(self, staged: StagedBlob) -> None:
        pass

    def open(self, key: str) -> BinaryIO:
        """One GET for the first READ_BUFFER bytes (the DICOM header, or a small instance whole) that also tells
        the object's size; later reads are ranged GETs. FileNotFoundError when absent."""
        path = key_path(key)
        first = obstore.get(self._store, path, options={"range": (0, READ_BUFFER)})
        head = memoryview(first.bytes())
        self._count(len(head))
        return io.BufferedReader(_RangeReader(self, path, int(first.meta["size"]), head), buffer_size=READ_BUFFER)

    def exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, key_path(key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        obstore.delete(self._store, key_path(key))  # deleting an absent key is not an error in S3

    def size(self, key: str) -> int:
        return int(obstore.head(self._store, key_path(key))["size"])

    def _get_range(self, path: str, start: int, length: int) -> memoryview:
        data = memoryview(obstore.get_range(self._store, path, start=start, length=length))
        self._count(len(data))
        return data

    def _count(self, n: int) -> None:
        with self._counted:
            self.bytes_fetched += n
            self.requests += 1


def _parts(data: memoryview, size: int) -> list[memoryview]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _RangeReader(io.RawIOBase):
    """Seekable raw reader over one object: each readinto is one ranged GET (BufferedReader batches small ones)."""

    def __init__(self, store: S3BlobStore, path: str, size: int, head: memoryview) -> None:
        self._store = store
        self._path = path
        self._size = size
        self._head = head  # the object's first bytes, fetched by open()
        self._pos = 0

    @property
    def name(self) -> str:  # pydicom records a BufferedReader's name (never reopens it: no deferred reads here)
        return f"s3://{self._store.bucket}/{self._store.prefix}/{self._path}"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._pos < len(self._head):
            data = self._head[self._pos : self._pos + want]
        else:
            data = self._store._get_range(self._path, self._pos, want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
