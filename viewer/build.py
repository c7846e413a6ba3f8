"""Build the OHIF viewer that Yilian serves under /viewer/ from the prebuilt @ohif/app dist.

`python viewer/build.py` installs the pinned package with `npm ci` (skipped while package-lock.json is unchanged),
copies its dist/ to viewer/build/ and rebases it from `/` to the sub-path (skipped while the build is current).

Why a rewrite: the published dist assumes it is served at `/`. index.html links its assets as `/...`, every webpack
(rspack) runtime sets `__webpack_require__.p = "/"` (the prefix of every lazily loaded chunk, CSS file, wasm and
worker script), the CSS loads its font from `url(/...)`, and the microscopy viewer is imported from an absolute
path. Only the router follows `window.PUBLIC_URL` / `routerBasename`. Each rewrite below names the exact text it
replaces and how often it must occur, so an upstream change fails the build instead of shipping a viewer whose
chunks 404. A final scan refuses any root-absolute reference left behind.

Not copied: the service worker and its loader (they cache `/` paths and fetch workbox from a CDN), the Google
Cloud demo config, the static app-config.js (Yilian generates one per request) and hosting files for
Netlify/serve. Standard library only: it runs before the virtualenv's packages matter.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIST = HERE / "node_modules" / "@ohif" / "app" / "dist"
BUILD = HERE / "build"
INSTALL_STAMP = HERE / "node_modules" / ".yilian-lock.sha256"
# Written last, so its presence means a complete build; the API reads it to know the viewer is there.
BUILD_INFO = ".yilian-build.json"
DEFAULT_BASE = "/viewer/"
TEXT_SUFFIXES = {".html", ".js", ".css", ".json", ".xml", ".webapp"}
# Served as <file>.gz to browsers that accept gzip: the app bundle alone is 17 MB, 4 MB compressed, which
# matters on a county hospital's line. Source maps are left alone (only developer tools fetch them).
COMPRESSED_SUFFIXES = {".js", ".mjs", ".css", ".wasm", ".json", ".svg", ".html", ".jsonc"}
COMPRESS_OVER_BYTES = 1024

SKIPPED = {"sw.js", "init-service-worker.js", "google.js", "app-config.js", "_headers", "_redirects", "serve.json"}
# init-service-worker.js is linked from index.html; what remains of it removes a service worker an earlier
# root-path deployment may have registered, and fetches nothing.
UNREGISTER_SERVICE_WORKERS = """\
// Yilian: no service worker. Remove any that an earlier deployment registered on this origin.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.getRegistrations().then(function (registrations) {
    registrations.forEach(function (registration) {
      registration.unregister();
    });
  });
}
"""


@dataclass(frozen=True)
class Rewrite:
    """Replace `pattern` in the files matching `glob` (under the build dir); `at_least` hits in all of them."""

    glob: str
    pattern: str
    replacement: Callable[[str], str]
    at_least: int
    why: str


def rewrites(base: str) -> list[Rewrite]:
    return [
        Rewrite(
            "index.html",
            r'(?P<attr>(?:href|src|content))="/(?!/)',
            lambda _: rf'\g<attr>="{base}',
            30,
            "index.html links its icons, manifest, app-config.js and bundles from /",
        ),
        Rewrite(
            "index.html",
            r'window\.PUBLIC_URL="/"',
            lambda _: f'window.PUBLIC_URL="{base}"',
            2,
            "the router's basename and the microscopy/onnx loaders read window.PUBLIC_URL",
        ),
        Rewrite(
            "*.js",
            r'__webpack_require__\.p = "/";',
            lambda _: f'__webpack_require__.p = "{base}";',
            6,
            "the runtime public path of the app and of each worker bundle: chunks, CSS, wasm, worker scripts",
        ),
        Rewrite(
            "app.bundle.*.js",
            r"'/(?P<file>dicom-microscopy-viewer/dicomMicroscopyViewer\.min\.js|silent-refresh\.html)'",
            lambda _: rf"'{base}\g<file>'",
            2,
            "the microscopy viewer is imported, and the OIDC silent refresh page linked, from absolute paths",
        ),
        Rewrite("*.css", r"url\(/(?!/)", lambda _: f"url({base}", 1, "the Inter font is linked from /"),
        Rewrite(
            "manifest.json",
            r'"/assets/',
            lambda _: f'"{base}assets/',
            5,
            "the web app manifest's icons",
        ),
        Rewrite(
            "assets/*",
            r'(?P<q>["\'])/assets/',
            lambda _: rf"\g<q>{base}assets/",
            3,
            "browserconfig.xml and the other platform manifests link their icons from /assets",
        ),
    ]


# What must not survive in the rebased files: a root-absolute link outside the base.
def leftovers(base: str) -> list[tuple[str, re.Pattern[str]]]:
    outside = rf"/(?!/|{re.escape(base.strip('/'))}/)"
    return [
        ("index.html", re.compile(rf'(?:href|src|content)="{outside}')),
        ("index.html", re.compile(r'PUBLIC_URL="/"')),
        ("*.js", re.compile(r'__webpack_require__\.p = "/";')),
        ("*.css", re.compile(rf"url\({outside}")),
        ("manifest.json", re.compile(rf'"src": "{outside}')),
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ohif_version() -> str:
    return str(json.loads((DIST.parent / "package.json").read_text())["version"])


def install(lock_hash: str) -> None:
    """`npm ci` unless node_modules already holds what this package-lock.json pins."""
    if DIST.is_dir() and INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text().strip() == lock_hash:
        print(f"viewer: @ohif/app {ohif_version()} already installed (package-lock.json unchanged)")
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("viewer: npm is not on PATH; install Node.js 20+ (Debian: apt-get install nodejs npm)")
    # --ignore-scripts: nothing from the registry runs at install time; the dist is already built.
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    INSTALL_STAMP.write_text(lock_hash + "\n")


def build_info(lock_hash: str, base: str) -> dict[str, str]:
    return {
        "ohif_version": ohif_version(),
        "base": base,
        "package_lock_sha256": lock_hash,
        "builder_sha256": sha256(Path(__file__)),
    }


def current(out: Path, info: dict[str, str]) -> bool:
    try:
        return bool(json.loads((out / BUILD_INFO).read_text()) == info)
    except (OSError, ValueError):
        return False


def rebase(tmp: Path, base: str) -> None:
    for rule in rewrites(base):
        pattern = re.compile(rule.pattern)
        hits = 0
        for path in sorted(tmp.glob(rule.glob)):
            if path.suffix not in TEXT_SUFFIXES:
                continue
            text = path.read_text(encoding="utf-8")
            new, n = pattern.subn(rule.replacement(base), text)
            if n:
                path.write_text(new, encoding="utf-8")
                hits += n
        if hits < rule.at_least:
            raise SystemExit(
                f"viewer: expected at least {rule.at_least} of {rule.pattern!r} in {rule.glob}, found {hits}: "
                f"the @ohif/app dist changed shape ({rule.why}); update viewer/build.py"
            )
        print(f"viewer: {hits:4d} x {rule.glob}: {rule.why}")
    for glob, pattern in leftovers(base):
        for path in sorted(tmp.glob(glob)):
            if path.suffix not in TEXT_SUFFIXES:
                continue
            found = pattern.search(path.read_text(encoding="utf-8"))
            if found:
                raise SystemExit(f"viewer: {path.name} still links outside {base}: {found.group(0)!r}")


def precompress(tmp: Path) -> None:
    """Write a gzip sibling for each compressible file, byte-identical across builds (no name, mtime 0)."""
    for path in sorted(tmp.rglob("*")):
        if path.suffix in COMPRESSED_SUFFIXES and path.is_file() and path.stat().st_size > COMPRESS_OVER_BYTES:
            data = path.read_bytes()
            packed = gzip.compress(data, compresslevel=6, mtime=0)
            if len(packed) < len(data) * 0.9:
                path.with_name(path.name + ".gz").write_bytes(packed)


def build(out: Path, base: str, info: dict[str, str]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(DIST, tmp, ignore=lambda d, names: [n for n in names if Path(d) == DIST and n in SKIPPED])
    (tmp / "init-service-worker.js").write_text(UNREGISTER_SERVICE_WORKERS, encoding="utf-8")
    rebase(tmp, base)
    precompress(tmp)
    (tmp / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    # Swap in the finished tree, so a server never sees a half-written build.
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUILD, help="build directory (default: viewer/build)")
    parser.add_argument("--base", default=DEFAULT_BASE, help="URL path the viewer is served under (default: /viewer/)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the build is current")
    args = parser.parse_args()
    base = "/" + args.base.strip("/") + "/"
    lock_hash = sha256(HERE / "package-lock.json")
    install(lock_hash)
    info = build_info(lock_hash, base)
    out = args.out.resolve()
    if not args.force and current(out, info):
        print(f"viewer: {out} is current (@ohif/app {info['ohif_version']} under {base})")
        return
    build(out, base, info)
    print(f"viewer: built @ohif/app {info['ohif_version']} under {base} into {out}")


if __name__ == "__main__":
    main()
