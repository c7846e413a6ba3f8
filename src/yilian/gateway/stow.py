"""STOW-RS as a client: the multipart/related request body (PS3.18 §10.5.1) and reading the answer (Annex I)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from typing import Any

from yilian.dicom.instance import FailureReason
from yilian.dicom.multipart import CRLF, boundary, closing, multipart_content_type, multipart_stream, part_header

_CHUNK = 1024 * 1024
DICOM = "application/dicom"

# Store Instances Response Module attributes (PS3.18 Table I.2-1), as DICOM JSON keys (PS3.18 F.2).
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_INSTANCE_UID = "00081155"
FAILURE_REASON = "00081197"
OTHER_FAILURES_SEQUENCE = "0008119A"
ERROR_COMMENT = "00000902"

# Not in the standard but sent by a widely used archive (Microsoft's DICOM server) for "already stored".
_DUPLICATE_INSTANCE = 45070


@dataclass(frozen=True)
class StowBody:
    """A multipart/related body streamed from the spooled files, with its exact length known up front."""

    content_type: str
    length: int
    paths: tuple[Path, ...]
    boundary: str
    sizes: tuple[int, ...] = ()  # of each file when the length was summed

    def stream(self) -> AsyncIterator[bytes]:
        return multipart_stream(((DICOM, _read_chunks(path), None) for path in self.paths), self.boundary)

    def pieces(self) -> Iterator[bytes | tuple[Path, int]]:
        """The same body as `stream()`, with each file as (path, size) for the sender to copy from the file itself
        (gateway/stow_connection.py sends it with sendfile)."""
        header = part_header(DICOM, self.boundary)
        for path, size in zip(self.paths, self.sizes, strict=True):
            yield header
            yield path, size
            yield CRLF
        yield closing(self.boundary)


def stow_body(paths: Sequence[Path]) -> StowBody:
    """One Part-10 instance per part, `multipart/related; type="application/dicom"` (PS3.18 §10.5.1.4).

    The length is summed from the files so the request carries a Content-Length (some proxies refuse chunked
    uploads). Raises FileNotFoundError naming the file when a spooled file has gone.
    """
    value = boundary()
    header = len(part_header(DICOM, value))
    sizes = tuple(os.stat(path).st_size for path in paths)
    length = len(closing(value)) + sum(header + size + len(CRLF) for size in sizes)
    return StowBody(multipart_content_type(DICOM, value), length, tuple(paths), value, sizes)


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            yield chunk


class Verdict(StrEnum):
    """How the uploader must treat a whole response."""

    ANSWERED = "answered"  # per-instance results: `sent`, `failed`, and `unanswered` to try again
    REFUSED = "refused"  # a 4xx naming no instance: the batch is retried one instance at a time
    UNAUTHORISED = "unauthorised"  # 401/403: keep everything, retry later, tell the operator about the key
    TRANSIENT = "transient"  # 5xx, 404, 429 and the like: keep everything, back off, retry


@dataclass(frozen=True)
class StowResult:
    verdict: Verdict
    sent: frozenset[str] = frozenset()
    failed: Mapping[str, str] = field(default_factory=dict)
    unanswered: frozenset[str] = frozenset()
    error: str | None = None  # plain words for the operator when the whole request did not succeed


def interpret_stow_response(status_code: int, body: bytes, sop_instance_uids: Sequence[str], url: str) -> StowResult:
    """Read a STOW-RS answer (PS3.18 §10.5.3, Annex I): 200 all stored, 202 some failed, 400/409 none stored.

    Per-instance results come from ReferencedSOPSequence (stored) and FailedSOPSequence with FailureReason
    (refused for good). Lenient on what we receive: a 200 that lists failures honours them, and an instance
    the answer does not mention is sent again (the cloud treats an identical re-send as success).
    """
    batch = frozenset(sop_instance_uids)
    if status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return StowResult(
            Verdict.UNAUTHORISED,
            error=f"the cloud refused the gateway's API key (HTTP {status_code}{_message(body)}):"
            " check YILIAN_GATEWAY_API_KEY",
        )
    if status_code >= 500 or status_code in (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS):
        refusal = f"HTTP {status_code}{_message(body)}"
        return StowResult(Verdict.TRANSIENT, error=f"the cloud at {url} is not accepting images now ({refusal})")
    if status_code in (HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED):
        return StowResult(
            Verdict.TRANSIENT,
            error=f"the cloud at {url} has no STOW-RS endpoint (HTTP {status_code}): check YILIAN_GATEWAY_CLOUD_URL",
        )
    if status_code not in (HTTPStatus.OK, HTTPStatus.ACCEPTED) and not 400 <= status_code < 500:
        return StowResult(Verdict.TRANSIENT, error=f"the cloud at {url} gave an unexpected answer (HTTP {status_code})")

    response = _dicom_json(body)
    stored = frozenset(_uids(response.get(REFERENCED_SOP_SEQUENCE))) & batch
    failed = {uid: reason for uid, reason in _failures(response.get(FAILED_SOP_SEQUENCE)) if uid in batch}
    stored -= failed.keys()
    if status_code == HTTPStatus.OK:
        stored = batch - failed.keys()
    elif not stored and not failed:
        if status_code == HTTPStatus.ACCEPTED:
            return StowResult(Verdict.TRANSIENT, error=f"the cloud at {url} answered 202 without naming any instance")
        return StowResult(
            Verdict.REFUSED,
            error=f"the cloud refused the request (HTTP {status_code}{_message(body)}{_other_failures(response)})",
        )
    return StowResult(
        Verdict.ANSWERED,
        sent=stored,
        failed=failed,
        unanswered=batch - stored - failed.keys(),
        error=None if not failed else f"the cloud refused {len(failed)} instance(s); see `yilian gateway status`",
    )


def failure_reason_words(code: int) -> str:
    """A FailureReason (0008,1197) in plain words (PS3.18 I.2, PS3.4 B.2.3), with its hex code."""
    words: str
    if code == FailureReason.SOP_INSTANCE_CONFLICT:
        words = "the cloud already holds this SOP Instance UID with different content"
    elif code == FailureReason.STUDY_OF_ANOTHER_HOSPITAL:
        words = "another hospital already sent a study with this Study Instance UID"
    elif code == FailureReason.STUDY_INSTANCE_UID_MISMATCH:
        words = "the instance belongs to another study than the request named"
    elif code == FailureReason.PROCESSING_FAILURE:
        words = "processing failure"
    elif code == FailureReason.SOP_CLASS_NOT_SUPPORTED:
        words = "the cloud does not support this SOP class"
    elif code == FailureReason.TRANSFER_SYNTAX_NOT_SUPPORTED:
        words = "the cloud does not support this transfer syntax"
    elif 0xA700 <= code <= 0xA7FF:
        words = "the cloud is out of resources"
    elif 0xA900 <= code <= 0xA9FF:
        words = "the data set does not match its SOP class or conflicts with what the cloud holds"
    elif 0xC000 <= code <= 0xCFFF:
        words = "the cloud cannot understand the instance"
    elif code == _DUPLICATE_INSTANCE:
        words = "the cloud already holds this instance with other content"
    else:
        words = "refused"
    return f"{words} ({code:04X})"


def _dicom_json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    if isinstance(parsed, list):  # some servers wrap the one response data set in an array
        parsed = parsed[0] if parsed else {}
    return {str(key).upper(): value for key, value in parsed.items()} if isinstance(parsed, dict) else {}


def _items(element: object) -> list[dict[str, Any]]:
    if not isinstance(element, dict):
        return []
    return [
        {str(key).upper(): value for key, value in item.items()}
        for item in element.get("Value") or []
        if isinstance(item, dict)
    ]


def _first(item: Mapping[str, Any], key: str) -> Any:
    element = item.get(key)
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if isinstance(values, list) and values else None


def _uids(element: object) -> list[str]:
    return [str(uid) for item in _items(element) if (uid := _first(item, REFERENCED_SOP_INSTANCE_UID))]


def _failures(element: object) -> list[tuple[str, str]]:
    out = []
    for item in _items(element):
        uid = _first(item, REFERENCED_SOP_INSTANCE_UID)
        if not uid:
            continue
        code = _code(_first(item, FAILURE_REASON))
        reason = "no reason given" if code is None else failure_reason_words(code)
        comment = _first(item, ERROR_COMMENT)
        out.append((str(uid), f"the cloud refused it: {reason}" + (f": {comment}" if comment else "")))
    return out


def _other_failures(response: Mapping[str, Any]) -> str:
    codes = [_code(_first(item, FAILURE_REASON)) for item in _items(response.get(OTHER_FAILURES_SEQUENCE))]
    words = [failure_reason_words(code) for code in codes if code is not None]
    return f": {'; '.join(words)}" if words else ""


def _code(value: object) -> int | None:
    """A US value as received; lenient about servers that send it as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _message(body: bytes) -> str:
    """The `message` of an API error body ({"error", "message", "details"}), if the cloud sent one."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return f": {message}" if isinstance(message, str) and message else ""
