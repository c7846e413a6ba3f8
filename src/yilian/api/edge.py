"""The edge of the HTTP API, before any route runs: body-size limits per route, parameters a database cannot take,
and the browser's security headers on every answer.

A pure ASGI middleware (no BaseHTTPMiddleware: it would buffer bodies and break the live stream).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yilian.api.errors import error_response
from yilian.domain.errors import ErrorCode

KIB, MIB = 1024, 1024**2


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request under `prefix` may send (None: the route streams and caps per file itself)."""

    prefix: str
    max_bytes: int | None


# First match wins. Sign-in and the patient's share page are open to anyone: a few KiB is all they need.
# Uploads and STOW-RS stream to disk and cap each file (api/routes/studies.py, dicomweb/store_query.py).
BODY_LIMITS = (
    BodyLimit("/api/auth/", 16 * KIB),
    BodyLimit("/api/share/", 16 * KIB),
    BodyLimit("/api/share-links/", 16 * KIB),
    BodyLimit("/api/studies/upload", None),
    BodyLimit("/dicomweb/studies", None),
    BodyLimit("/", 1 * MIB),
)

# PostgreSQL's bigint and any 64-bit integer stop below 2**63; a larger number in a parameter is never valid.
MAX_INTEGER = 2**63 - 1
# Whole values only (a frame list "1,2,3" counts each): a UID's long decimal components are not numbers.
_INTEGER = re.compile(r"\s*[+-]?\d{19,}\s*")

# The share token travels in the page's URL: no referrer may carry it elsewhere. The web app (and the patient's
# share page, one of its screens) loads only its own scripts and is framed by no one. The OHIF viewer is framed
# by the app; its index.html sets globals in inline scripts and its codecs compile code (emscripten), so its
# script policy is wider: it shows images and DICOM text rendered by React, never HTML from a person.
_APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'"
)
_VIEWER_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
_DATA_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON and DICOM: nothing to run, nothing to frame


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The browser headers for an answer on `path`."""
    if path == "/viewer" or path.startswith("/viewer/"):
        csp, frame = _VIEWER_CSP, "SAMEORIGIN"
    elif path.startswith(("/api/", "/dicomweb/")):
        csp, frame = _DATA_CSP, "DENY"
    else:
        csp, frame = _APP_CSP, "DENY"
    return [
        (b"content-security-policy", csp.encode()),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", frame.encode()),
    ]


def body_limit(path: str) -> int | None:
    return next(limit.max_bytes for limit in BODY_LIMITS if path.startswith(limit.prefix))


def parameter_problem(path: str, query_string: bytes) -> tuple[ErrorCode, str, dict[str, Any]] | None:
    """Why the path or query cannot be taken as it is: a NUL character or an integer past 64 bits."""
    values = [("path", unquote(segment)) for segment in path.split("/")]
    try:
        query = query_string.decode("utf-8")
    except UnicodeDecodeError:
        return ErrorCode.MALFORMED_REQUEST, "the query string is not UTF-8", {"field": "query"}
    values += [(f"query.{name}", value) for name, value in parse_qsl(query, keep_blank_values=True)]
    values += [(f"query.{name}", name) for name, _ in parse_qsl(query, keep_blank_values=True)]
    for field, value in values:
        if "\x00" in value:
            return ErrorCode.MALFORMED_REQUEST, "a parameter holds the NUL character (U+0000)", {"field": field}
        for part in value.split(","):
            if _INTEGER.fullmatch(part) and abs(int(part)) > MAX_INTEGER:
                return ErrorCode.VALIDATION_FAILED, "a number in a parameter is too large", {"field": field}
    return None


class _BodyTooLarge(Exception):
    pass


class EdgeMiddleware:
    """Refuses what no route should see and adds the security headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in security_headers(scope["path"]) if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        problem = parameter_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem is not None:
            code, message, details = problem
            await error_response(code, message, details)(scope, receive, send_with_headers)
            return

        limit = body_limit(scope.get("path", ""))
        if limit is None:
            await self.app(scope, receive, send_with_headers)
            return
        refusal = error_response(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the request body is larger than this route takes ({limit} bytes)",
            {"max_bytes": limit},
        )
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await refusal(scope, receive, send_with_headers)  # refused before a byte of the body is read
            return

        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # the route's answer to a body cut short is replaced by the refusal below
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            # _BodyTooLarge itself, or whatever a parser made of it; anything else is the route's own failure.
            if not too_large:
                raise
        if too_large and not started:
            await refusal(scope, receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
