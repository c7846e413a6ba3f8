"""What the DICOMweb doors' tests share (tests/integration/test_retrieve_door.py, test_stow_door.py): the app with
the doors and without them, the door's counter as Prometheus holds it, and a stand-in for the router behind a door."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send
from temporalio.client import Client

from yilian.api.app import create_app
from yilian.config import Settings

# Authorization headers every door must refuse as its route does (None: no header at all).
BAD_CREDENTIALS: dict[str, str | None] = {
    "anon": None,
    "basic": "Basic emhhbzp4",
    "garbage": "Bearer not-a-token",
    "badkey": "Bearer ylk_0000000000000000_" + "x" * 43,
}


@contextlib.asynccontextmanager
async def with_and_without_doors(
    settings: Settings, engine: AsyncEngine, temporal_client: Client, origin: str
) -> AsyncIterator[dict[bool, httpx.AsyncClient]]:
    """A client of the app with the doors (True) and of the app without them (False), one other origin allowed in
    each: the same request through both must get the same answer."""
    clients = {}
    for door in (True, False):
        app = create_app(settings.model_copy(update={"cors_origins": [origin], "dicomweb_door": door}), engine,
                         temporal_client)  # fmt: skip
        clients[door] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test")
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()


def door_count(template: str, outcome: str) -> float:
    """`yilian_dicomweb_door_requests_total` for the route's template and outcome (answered / passed on)."""
    labels = {"route": template, "outcome": outcome}
    return REGISTRY.get_sample_value("yilian_dicomweb_door_requests_total", labels) or 0.0


class NoRouter:
    """Stands where the router would: any request that reaches it is recorded and answered 599."""

    def __init__(self) -> None:
        self.entered: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})
