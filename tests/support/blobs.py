"""The archive's blob store on each adapter, for tests parametrised over both (local disk and S3 on s3proxy)."""

from __future__ import annotations

import uuid

from tests.conftest import S3_TEST_BUCKET
from yilian.imaging.blob_s3 import S3BlobStore, S3Options
from yilian.runtime.s3proxy import REGION, S3ProxyServer

STORAGES = ["file", "s3"]


def s3_options(server: S3ProxyServer, **overrides: int) -> S3Options:
    return S3Options(
        endpoint=server.endpoint,
        region=REGION,
        access_key_id=server.identity,
        secret_access_key=server.credential,
        **overrides,  # type: ignore[arg-type]
    )


def s3_url(prefix: str | None = None) -> str:
    """A fresh prefix in the test bucket: tests never see each other's blobs."""
    return f"s3://{S3_TEST_BUCKET}/{prefix or uuid.uuid4().hex[:10]}"


def s3_store(server: S3ProxyServer, **overrides: int) -> S3BlobStore:
    return S3BlobStore.from_url(s3_url(), s3_options(server, **overrides))
