"""The real API (in-process ASGI) and a real worker against the session's PostgreSQL and Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.blobs import STORAGES, s3_url
from tests.support.live import serve
from tests.support.search import fresh_alias
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.runtime.s3proxy import REGION, S3ProxyServer


@pytest.fixture(scope="session")
async def api(worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, engine, temporal_client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as client:
        yield Api(client)


@pytest.fixture(scope="session")
async def live_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[str]:
    """The same API over real HTTP, for clients that are not httpx (dicomweb-client, DCMTK, the gateway)."""
    async with serve(create_app(settings, engine, temporal_client)) as url:
        yield url


@pytest.fixture(scope="session")
def search_settings(settings: Settings, opensearch_url: str) -> Settings:
    """The session's settings with report search on: an alias and a task queue of their own, so the session's
    plain worker (without search) never takes these referrals' indexing."""
    return settings.model_copy(
        update={
            "opensearch_url": opensearch_url,
            "search_alias": fresh_alias("reports"),
            "task_queue": f"{settings.task_queue}-search",
        }
    )


@pytest.fixture(scope="session")
async def search_worker(temporal_client: Client, engine: AsyncEngine, search_settings: Settings) -> AsyncIterator[None]:
    from yilian.worker import build_worker

    async with build_worker(temporal_client, engine, search_settings):
        yield


@pytest.fixture(scope="session")
async def search_api(
    search_worker: None, temporal_client: Client, engine: AsyncEngine, search_settings: Settings
) -> AsyncIterator[Api]:
    """The API with report search, on its own worker; sign-ins work as in `api` (same database and secret)."""
    app = create_app(search_settings, engine, temporal_client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as client:
        yield Api(client)


@pytest.fixture(scope="session")
def s3_settings(settings: Settings, s3_server: S3ProxyServer) -> Settings:
    """The session's settings with the archive in S3 (the s3proxy of the session, a prefix of its own)."""
    return settings.model_copy(
        update={
            "storage_url": s3_url("archive"),
            "s3_endpoint": s3_server.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": s3_server.identity,
            "s3_secret_access_key": s3_server.credential,
        }
    )


@pytest.fixture(scope="session")
async def s3_api(
    worker: None, temporal_client: Client, engine: AsyncEngine, s3_settings: Settings
) -> AsyncIterator[Api]:
    """The API with its archive in S3; same database, worker and sign-ins as `api`."""
    transport = httpx.ASGITransport(app=create_app(s3_settings, engine, temporal_client))
    async with httpx.AsyncClient(transport=transport, base_url="http://yilian.test") as client:
        yield Api(client)


@pytest.fixture(scope="session")
async def s3_live_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, s3_settings: Settings
) -> AsyncIterator[str]:
    async with serve(create_app(s3_settings, engine, temporal_client)) as url:
        yield url


@pytest.fixture(params=STORAGES)
def any_api(request: pytest.FixtureRequest) -> Api:
    """`api` once with the archive on local disk and once in S3: for the tests that show storage works alike."""
    return request.getfixturevalue("api" if request.param == "file" else "s3_api")  # type: ignore[no-any-return]
