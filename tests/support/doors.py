"""What the DICOMweb doors' tests share (tests/integration/test_retrieve_door.py, test_stow_door.py): the door's
counter as Prometheus holds it, and a stand-in for the router behind a door."""

from __future__ import annotations

from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send


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
