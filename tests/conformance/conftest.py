"""The real API on a real port, for clients nobody here wrote (dicomweb-client, DCMTK, Orthanc, Chromium)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.live import serve
from yilian.api.app import create_app
from yilian.config import Settings


@pytest.fixture(scope="session")
async def live_url(
    worker: None, temporal_client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[str]:
    async with serve(create_app(settings, engine, temporal_client)) as url:
        yield url


@pytest.fixture(scope="session")
async def api(live_url: str) -> AsyncIterator[Api]:
    """Sign-ins and raw HTTP against the same server the DICOMweb clients use."""
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as client:
        yield Api(client)


@pytest.fixture(scope="session")
def dicomweb(live_url: str) -> Callable[[str], DICOMwebClient]:
    """dicomweb-client (Python, MIT) at our /dicomweb with a person's or a key's bearer token."""

    def make(token: str) -> DICOMwebClient:
        return DICOMwebClient(f"{live_url}/dicomweb", headers={"Authorization": f"Bearer {token}"})

    return make
