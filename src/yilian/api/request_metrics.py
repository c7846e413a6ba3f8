"""Request latency by route template for /metrics (docs/ops.md).

A pure ASGI middleware, outermost, so the time includes the edge checks and the error handlers. The route label is
the matched route's template (`/api/referrals/{referral_id}`), never the raw path: paths carry study and instance
UIDs, and a label per UID would both leak them and grow without bound.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yilian.metrics.catalog import http_request_seconds

UNMATCHED = "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler answers 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
            http_request_seconds.labels(scope["method"], template or UNMATCHED, str(status)).observe(
                time.perf_counter() - started
            )
