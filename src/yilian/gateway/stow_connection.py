"""The uploader's STOW-RS POST on a blocking keep-alive socket: the spooled files go out by sendfile(2), off the loop.

Through httpx every chunk of a body took a trip through h11, anyio and asyncio's transport (a copy into its buffer),
all holding the GIL the SCP's association threads need. Here one worker thread per upload lane sends the request
head, then each file with `socket.sendfile` (zero-copy; over TLS one read and one write of the whole file), and
reads the answer with http.client: the GIL is released for nearly all of it. What the cloud receives is the same
body, byte for byte, and the same headers that matter (tests/unit/gateway/test_stow_connection.py).
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import getproxies

from yilian.gateway.stow import StowBody

# httpx's (httpcore's) keep-alive expiry: a connection idle longer is not reused, since servers close idle ones
# (uvicorn after 5 s) and a POST sent into a closing connection cannot be told apart from a lost one.
KEEPALIVE_SECONDS = 5.0
# Over TLS a file is read and written in pieces of at most this size (sendfile cannot encrypt).
_TLS_PIECE = 4 * 1024 * 1024


class StowConnectFailed(Exception):
    """No connection: refused, unresolvable name, TLS handshake or certificate refused (cause chained)."""


class StowTimedOut(Exception):
    """Connecting, sending or waiting for the answer took longer than its timeout."""


class StowConnectionBroke(Exception):
    """The connection failed after it was made (reset, closed early, an answer that is not HTTP)."""


@dataclass(frozen=True)
class StowResponse:
    status_code: int
    content: bytes


def direct_connection_possible(url: str) -> bool:
    """True when httpx would connect to `url` directly: no HTTP(S)_PROXY / ALL_PROXY in the environment.

    With a proxy configured the uploader keeps going through httpx, which honours it; this client does not speak
    to proxies at all. (NO_PROXY exceptions are not weighed: any proxy setting keeps httpx.)
    """
    scheme = urlsplit(url).scheme
    proxies = getproxies()
    return not (proxies.get(scheme) or proxies.get("all"))


def tls_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The context httpx would use for `verify` (certifi's roots, or SSL_CERT_FILE/SSL_CERT_DIR, or the one
    given), offering HTTP/1.1 by ALPN as httpx does. Verification of chain and name is never turned off."""
    import httpx

    context = httpx.create_ssl_context(verify=verify)
    context.set_alpn_protocols(["http/1.1"])
    return context


class StowConnection:
    """One keep-alive HTTP/1.1 connection to the cloud's STOW-RS resource, for one upload lane.

    `post` blocks: call it from a worker thread, one request at a time. Any failure closes the connection, so the
    next request starts on a fresh one; so does a connection idle past KEEPALIVE_SECONDS or closed by the server.
    """

    def __init__(self, url: str, *, tls: ssl.SSLContext | None, timeout: float, connect_timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._tls = tls if tls is not None or not self._https else tls_context(True)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._connection: http.client.HTTPConnection | None = None
        self._idle_since = 0.0

    def close(self) -> None:
        """Close the connection; from another thread, this also ends a `post` blocked on it (it then fails as
        StowConnectionBroke), so a gateway stopping never waits out a request timeout."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)  # close() alone does not wake a blocked recv
        connection.close()

    def post(self, body: StowBody, headers: Mapping[str, str]) -> StowResponse:
        """Send `body` (its Content-Type and Content-Length are in `headers`) and read the whole answer."""
        connection = self._ready()
        try:
            connection.putrequest("POST", self._target)  # adds Host and `Accept-Encoding: identity`
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            sock = connection.sock
            assert sock is not None  # endheaders connected it
            self._send_body(sock, body)
            response = connection.getresponse()
            content = response.read()
        except TimeoutError as exc:
            self.close()
            raise StowTimedOut(str(exc)) from exc
        except FileNotFoundError:  # a spooled file removed since the body was made: the caller says so
            self.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise StowConnectionBroke(str(exc) or type(exc).__name__) from exc
        except ValueError as exc:  # http.client refuses a header value with CR/LF (h11 did as well)
            self.close()
            raise StowConnectionBroke("a request header is not valid HTTP: check YILIAN_GATEWAY_API_KEY") from exc
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        else:
            self._idle_since = time.monotonic()
        return StowResponse(response.status, content)

    def _ready(self) -> http.client.HTTPConnection:
        """The kept connection when it may still be used, else a new one (connected here, so that connecting
        fails as StowConnectFailed or StowTimedOut and not as a broken connection)."""
        kept = self._connection
        if kept is not None and (time.monotonic() - self._idle_since > KEEPALIVE_SECONDS or _readable(kept.sock)):
            self.close()  # closed by the server, or about to be
        if self._connection is not None:
            return self._connection
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._connect_timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._connect_timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise StowTimedOut(str(exc)) from exc
        except OSError as exc:  # ssl.SSLError and socket.gaierror are OSErrors
            connection.close()
            raise StowConnectFailed(str(exc)) from exc
        assert connection.sock is not None
        connection.sock.settimeout(self._timeout)
        self._connection = connection
        return connection

    def _send_body(self, sock: socket.socket, body: StowBody) -> None:
        """The multipart body of `body.parts()`: small pieces joined into one write, each file by sendfile."""
        pending: list[bytes] = []
        for piece in body.pieces():
            if isinstance(piece, bytes):
                pending.append(piece)
                continue
            if pending:
                sock.sendall(b"".join(pending))
                pending = []
            path, size = piece
            with open(path, "rb") as file:
                if isinstance(sock, ssl.SSLSocket):
                    _send_file_tls(sock, file, size)
                else:
                    sent = sock.sendfile(file, 0, size)
                    if sent != size:  # the Content-Length promised `size`: the request cannot be completed
                        raise StowConnectionBroke(f"the spooled file {path} changed while it was sent")
        if pending:
            sock.sendall(b"".join(pending))


def _send_file_tls(sock: ssl.SSLSocket, file: BinaryIO, size: int) -> None:
    buffer = bytearray(min(size, _TLS_PIECE))
    view = memoryview(buffer)
    left = size
    while left:
        read = file.readinto(view[: min(left, len(buffer))])  # type: ignore[attr-defined]
        if not read:
            raise StowConnectionBroke(f"the spooled file {file.name} changed while it was sent")
        sock.sendall(view[:read])
        left -= read


def _readable(sock: socket.socket | None) -> bool:
    """An idle keep-alive socket with something to read has been closed by the server (or sent junk)."""
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True
