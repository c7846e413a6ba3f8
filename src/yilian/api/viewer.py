"""The OHIF viewer under /viewer/: the rebased build's files, the SPA fallback, and a generated app-config.js."""

from __future__ import annotations

import json
import mimetypes
import os
import re
from email.utils import formatdate
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from yilian.api.errors import error_body
from yilian.domain.errors import ErrorCode

BASE = "/viewer/"
# viewer/build.py writes this file last; without it the build is missing or half-written.
BUILD_INFO = ".yilian-build.json"
# The web app writes the signed-in user's JWT here; a worklist link may hand it over once as #token=<jwt>.
TOKEN_KEY = "yilian.token"

router = APIRouter(prefix=BASE.rstrip("/"), tags=["viewer"], include_in_schema=False)

# Not left to the platform's mime.types: a wasm served as octet-stream falls back to slow instantiation,
# and a module script with the wrong type does not run at all.
_MEDIA_TYPES = {
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
# (a script answered with HTML fails far from its cause). Client routes (/viewer/viewer, /viewer/segmentation)
# and UIDs (1.2.840...) do not end like this.
_FILE_SUFFIXES = frozenset(_MEDIA_TYPES) | {".txt", ".gz", ".br", ".onnx", ".data"}
# `<chunk>.bundle.<16 hex>.js` and `<16 hex>.wasm|woff2` are named by their content, so they never change.
_HASHED_NAME = re.compile(r"[\w-]+\.bundle\.[0-9a-f]{16}\.js|[0-9a-f]{16}\.(?:wasm|woff2)")
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"


def viewer_dir() -> Path:
    """Where the built viewer lives: YILIAN_VIEWER_DIR, else viewer/build in the source checkout."""
    configured = os.environ.get("YILIAN_VIEWER_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "viewer" / "build"


def _not_built(root: Path) -> JSONResponse:
    return JSONResponse(
        error_body(
            "viewer_not_built",
            f"the OHIF viewer is not built at {root}: run `make viewer` (or set YILIAN_VIEWER_DIR)",
        ),
        status_code=503,
        headers={"Cache-Control": "no-store", "Retry-After": "60"},
    )


def _built(root: Path) -> bool:
    try:
        info: dict[str, Any] = json.loads((root / BUILD_INFO).read_text())
    except (OSError, ValueError):
        return False
    return info.get("base") == BASE


def _is_hashed(name: str) -> bool:
    return _HASHED_NAME.fullmatch(name) is not None


def _media_type(path: Path) -> str:
    return _MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _accepts_gzip(request: Request) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() in ("gzip", "*"):
            q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def _file(request: Request, path: Path, cache_control: str) -> Response:
    """The file, or its precompressed .gz twin (viewer/build.py writes them) when the browser takes gzip."""
    packed = path.with_name(path.name + ".gz")
    gzipped = packed.is_file()
    sent = packed if gzipped and _accepts_gzip(request) else path
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
    return FileResponse(sent, media_type=_media_type(path), headers=headers, stat_result=stat)


def _resolve(root: Path, rel: str) -> Path | None:
    """The regular file `rel` names inside `root`, or None; nothing outside `root` is ever named."""
    if "\\" in rel or "\x00" in rel:
        return None
    candidate = (root / rel).resolve()
    # Dot-files (the build record) and the .gz twins (sent only as a Content-Encoding) are not addressable.
    if not candidate.is_relative_to(root.resolve()) or candidate.name.startswith(".") or candidate.suffix == ".gz":
        return None
    return candidate if candidate.is_file() else None


def app_config_js(dicomweb_path: str) -> str:
    """OHIF's window.config: Yilian's DICOMweb as the only data source, every request carrying the user's token.

    The token reaches OHIF through its userAuthenticationService (the data source's QIDO/WADO clients and the
    cornerstone image loader both ask it for the Authorization header), set by a small inline extension.
    """
    settings = {
        "dicomwebPath": dicomweb_path,
        "tokenKey": TOKEN_KEY,
        "routerBasename": BASE.rstrip("/"),
    }
    return _APP_CONFIG_TEMPLATE.replace("__YILIAN__", json.dumps(settings))


_APP_CONFIG_TEMPLATE = """\
/* Generated by Yilian (src/yilian/api/viewer.py) for every request; do not cache. */
(function () {
  'use strict';
  var yilian = __YILIAN__;

  // A worklist link may carry the token once in the fragment (never sent to a server or in a Referer):
  // keep it for this tab and take it out of the address bar and history.
  var hash = window.location.hash.replace(/^#/, '');
  if (hash) {
    var params = new URLSearchParams(hash);
    var handedOver = params.get('token');
    if (handedOver) {
      window.sessionStorage.setItem(yilian.tokenKey, handedOver);
      params.delete('token');
      var rest = params.toString();
      window.history.replaceState(
        window.history.state, '', window.location.pathname + window.location.search + (rest ? '#' + rest : '')
      );
    }
  }

  // Read on every request, so a token the web app renews in sessionStorage is used at once.
  function authorizationHeader() {
    var token = window.sessionStorage.getItem(yilian.tokenKey);
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  var signInNotice = null;
  function askToSignIn() {
    if (signInNotice || !document.body) {
      return;
    }
    signInNotice = document.createElement('div');
    signInNotice.setAttribute('role', 'alert');
    signInNotice.setAttribute('data-yilian', 'sign-in-required');
    signInNotice.style.cssText =
      'position:fixed;top:0;left:0;right:0;z-index:10000;padding:8px 16px;' +
      'background:#7f1d1d;color:#fff;font:14px sans-serif;text-align:center';
    signInNotice.textContent = '\u8bf7\u5148\u767b\u5f55\u533b\u8054\u5e73\u53f0 / Sign in to Yilian to see images.';
    document.body.appendChild(signInNotice);
  }

  var yilianAuthentication = {
    id: 'yilian-authentication',
    preRegistration: function (context) {
      context.servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: authorizationHeader,
        handleUnauthenticated: askToSignIn,
      });
    },
  };

  var dicomweb = window.location.origin + yilian.dicomwebPath;

  window.config = {
    name: 'yilian',
    routerBasename: yilian.routerBasename,
    extensions: [yilianAuthentication],
    modes: [],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    groupEnabledModesFirst: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'production',
    defaultDataSourceName: 'yilian',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'yilian',
        configuration: {
          friendlyName: 'Yilian',
          name: 'yilian',
          qidoRoot: dicomweb,
          wadoRoot: dicomweb,
          wadoUriRoot: dicomweb,
          qidoSupportsIncludeField: true,
          supportsWildcard: true,
          supportsFuzzyMatching: false,
          supportsReject: false,
          enableStudyLazyLoad: true,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          staticWado: false,
          bulkDataURI: { enabled: true, relativeResolution: 'series' },
          omitQuotationForMultipartRequest: true,
          dicomUploadEnabled: false,
        },
      },
    ],
    httpErrorHandler: function (error) {
      if (error && error.status === 401) {
        askToSignIn();
      }
    },
  };
})();
"""


@router.get("", response_model=None)
async def viewer_root() -> Response:
    return RedirectResponse(BASE, status_code=308)


@router.get("/app-config.js", response_model=None)
async def app_config(request: Request) -> Response:
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    return Response(
        app_config_js(f"{root_path}/dicomweb"),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


# Plain `def`: FastAPI runs it in its thread pool, so the file-system calls never block the event loop.
@router.get("/{rel:path}", response_model=None)
def viewer_file(rel: str, request: Request) -> Response:
    root = viewer_dir()
    if not _built(root):
        return _not_built(root)
    found = _resolve(root, rel) if rel else None
    if found is not None:
        cache = _IMMUTABLE if _is_hashed(found.name) else _REVALIDATE
        return _file(request, found, cache)
    last = rel.rsplit("/", 1)[-1]
    if Path(last).suffix.lower() in _FILE_SUFFIXES:
        return JSONResponse(error_body(ErrorCode.NOT_FOUND, f"no viewer file {rel}"), status_code=404)
    # A client-side route: the SPA's index.html, which must not be cached past a rebuild.
    return _file(request, root / "index.html", "no-cache")
