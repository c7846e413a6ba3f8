"""The real API (in-process ASGI) and a real worker against the session's PostgreSQL and Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.live import serve
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
