"""`yilian api` serves the built web app at /: its files with the right cache rules, client routes, and clear 404s."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from yilian.config import Settings

pytestmark = pytest.mark.integration


async def test_the_app_its_assets_and_client_routes_are_served(live_api: str, web_build: Path) -> None:
    async with httpx.AsyncClient(base_url=live_api) as http:
        index = await http.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert index.headers["cache-control"] == "no-cache"  # a rebuild is picked up at once
        script = re.search(r'src="(/assets/index-[\w-]+\.js)"', index.text)
        assert script, index.text
        js = await http.get(script.group(1))
        assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
        assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
        # Precompressed at build time (web/scripts/precompress.mjs): a county hospital's line is slow.
        assert js.headers["content-encoding"] == "gzip" and int(js.headers["content-length"]) < len(js.content) / 2

        for route in ("/cases/new", "/worklist?state=offered", "/s/some-token", "/admin/users/li.expert"):
            spa = await http.get(route)
            assert spa.status_code == 200 and spa.text == index.text, route

        missing = await http.get("/assets/index-00000000.js")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        for not_the_app in ("/api/no-such-thing", "/dicomweb", "/docs/nothing"):
            r = await http.get(not_the_app)
            assert r.status_code == 404 and r.headers["content-type"] == "application/json", not_the_app
        write = await http.post("/api/")
        assert write.status_code == 404 and write.json()["error"] == "not_found"
        sneaky = await http.get("/%2e%2e/%2e%2e/pyproject.toml")
        assert "[project]" not in sneaky.text


async def test_an_unbuilt_app_says_how_to_build_it(
    live_api: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "web_dir", tmp_path)
    async with httpx.AsyncClient(base_url=live_api) as http:
        r = await http.get("/worklist")
    assert r.status_code == 503 and r.json()["error"] == "web_not_built" and "make web" in r.json()["message"]
