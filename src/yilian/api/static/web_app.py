"""The Yilian web app (web/, React + Vite) at `/`: its built files and the SPA fallback for client routes.

Registered last, so every API, DICOMweb and viewer route wins; an unknown path under those prefixes is a JSON
404, never the app's HTML.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yilian.api.deps import AppSettings
from yilian.api.errors import error_response
from yilian.api.static.files import spa_file
from yilian.domain.errors import ErrorCode

router = APIRouter(tags=["web"], include_in_schema=False)
_NOT_THE_APP = ("api", "dicomweb", "viewer", "docs", "openapi.json", "redoc")
# Vite names every asset `<name>-<8 char content hash>.<ext>` under assets/, so they never change.
_HASHED_ASSET = re.compile(r"[\w.-]+-[\w-]{8}\.\w+")


def web_dir(configured: Path | None = None) -> Path:
    """Where the built web app lives: Settings.web_dir (YILIAN_WEB_DIR), else web/dist in the source checkout."""
    if configured is not None:
        return configured
    return Path(__file__).resolve().parents[4] / "web" / "dist"


def _immutable(path: Path) -> bool:
    return path.parent.name == "assets" and _HASHED_ASSET.fullmatch(path.name) is not None


# Plain `def`: FastAPI runs it in its thread pool, so the file-system calls never block the event loop.
@router.get("/{rel:path}", response_model=None)
def web_file(rel: str, request: Request, settings: AppSettings) -> Response:
    if rel.split("/", 1)[0] in _NOT_THE_APP:
        return error_response(ErrorCode.NOT_FOUND, f"no route /{rel}")
    root = web_dir(settings.web_dir)
    if not (root / "index.html").is_file():
        return error_response(
            ErrorCode.WEB_NOT_BUILT,
            f"the web app is not built at {root}: run `make web` (or set YILIAN_WEB_DIR)",
            headers={"Cache-Control": "no-store", "Retry-After": "60"},
        )
    return spa_file(request, root, rel, _immutable, "web app")


# Without this, a write to a path no API route has (e.g. POST /api/) would match the GET catch-all above and get
# 405 Method Not Allowed; it is simply not there.
@router.api_route("/{rel:path}", methods=["POST", "PUT", "PATCH", "DELETE"], response_model=None)
def no_such_route(rel: str) -> Response:
    return error_response(ErrorCode.NOT_FOUND, f"no route /{rel}")
