"""Serving a built single-page app from disk: right media types, precompressed twins, cache rules, SPA fallback.

Both the OHIF viewer (/viewer/) and the Yilian web app (/) are served this way.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response

from yilian.api.errors import error_response
from yilian.domain.errors import ErrorCode

# Not left to the platform's mime.types: a wasm served as octet-stream falls back to slow instantiation,
# and a module script with the wrong type does not run at all.
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".jsonc": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".xml": "application/xml",
    ".webapp": "application/x-web-app-manifest+json",
}
# A path whose last segment ends like this is a file: when missing it is a 404, never the SPA's index.html
# (a script answered with HTML fails far from its cause). Client routes (/viewer/viewer, /cases/new)
# and UIDs (1.2.840...) do not end like this.
FILE_SUFFIXES = frozenset(MEDIA_TYPES) | {".txt", ".gz", ".br", ".onnx", ".data"}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def accepts_gzip(request: Request) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() in ("gzip", "*"):
            q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def send_file(request: Request, path: Path, cache_control: str) -> Response:
    """The file, or its precompressed .gz twin (the builds write them) when the browser takes gzip."""
    packed = path.with_name(path.name + ".gz")
    gzipped = packed.is_file()
    sent = packed if gzipped and accepts_gzip(request) else path
    stat = sent.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {
        "Cache-Control": cache_control,
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "X-Content-Type-Options": "nosniff",
    }
    if gzipped:
        headers["Vary"] = "Accept-Encoding"
    if sent is packed:
        headers["Content-Encoding"] = "gzip"
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return FileResponse(sent, media_type=media_type(path), headers=headers, stat_result=stat)


def resolve(root: Path, rel: str) -> Path | None:
    """The regular file `rel` names inside `root`, or None; nothing outside `root` is ever named."""
    if "\\" in rel or "\x00" in rel:
        return None
    candidate = (root / rel).resolve()
    # Dot-files (the build record) and the .gz twins (sent only as a Content-Encoding) are not addressable.
    if not candidate.is_relative_to(root.resolve()) or candidate.name.startswith(".") or candidate.suffix == ".gz":
        return None
    return candidate if candidate.is_file() else None


def spa_file(request: Request, root: Path, rel: str, immutable: Callable[[Path], bool], what: str) -> Response:
    """The file `rel` names; a missing file is a 404; any other path is a client route and gets index.html."""
    found = resolve(root, rel) if rel else None
    if found is not None:
        return send_file(request, found, IMMUTABLE if immutable(found) else REVALIDATE)
    last = rel.rsplit("/", 1)[-1]
    if Path(last).suffix.lower() in FILE_SUFFIXES:
        return error_response(ErrorCode.NOT_FOUND, f"no {what} file {rel}")
    # A client-side route: the SPA's index.html, which must not be cached past a rebuild.
    return send_file(request, root / "index.html", REVALIDATE)
