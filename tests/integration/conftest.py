"""The real API (in-process ASGI) and a real worker against the session's PostgreSQL and Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.live import serve
from tests.support.search import fresh_alias
from yilian.api.app import create_app
from yilian.config import Settings


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
