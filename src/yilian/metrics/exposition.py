"""The /metrics listener of a process: its own port, loopback by default, a bearer token when it is not.

It is a port apart from the API so a load balancer that publishes the API never publishes the metrics, and the
gateway and the worker (which serve no HTTP) get one the same way.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class MetricsConfigError(ValueError):
    """A metrics listener that would publish to the network without a token."""


def check_exposure(host: str, token: str | None) -> None:
    """Refuse a listener beyond loopback without a token: a scrape shows load and SLA counts per priority."""
    if host not in LOOPBACK_HOSTS and not token:
        raise MetricsConfigError(
            f"metrics would listen on {host} without a token: set the METRICS_TOKEN setting, or bind to 127.0.0.1"
        )


def guarded(app: WsgiApp, token: str | None) -> WsgiApp:
    """`app` behind `Authorization: Bearer <token>` (constant-time compare); unchanged when token is None."""
    if not token:
        return app
    expected = f"Bearer {token}".encode()

    def check(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"metrics need the bearer token\n"]
        return app(environ, start_response)

    return check


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per scrape is noise
        pass


@dataclass
class MetricsServer:
    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve_metrics(host: str, port: int, token: str | None, registry: CollectorRegistry = REGISTRY) -> MetricsServer:
    """Serve `registry` at http://host:port/metrics in a daemon thread (port 0: any free one)."""
    check_exposure(host, token)
    app = guarded(make_wsgi_app(registry), token)
    server = make_server(host, port, app, _ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return MetricsServer(host, server.server_port, server, thread)
