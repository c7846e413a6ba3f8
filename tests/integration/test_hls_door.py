"""The HLS door (api/hls_door.py) in the real app: plain GETs of a lecture's files are answered before routing,
with the route's refusals, the edge's security headers and the route's metrics label; a replaced playlist is served
fresh; a kept watch token still expires; a range request reaches the route (FileResponse)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from tests.integration.test_lectures import plan
from tests.support.api import Api
from tests.support.lecture_hls import write_live
from yilian.api import lecture_media
from yilian.api.hls_door import TEMPLATE
from yilian.config import Settings

pytestmark = pytest.mark.integration


def _served(route: str, status: str) -> float:
    labels = {"method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("yilian_http_request_duration_seconds_count", labels) or 0.0


async def test_the_door_serves_a_lecture_the_short_way(api: Api, settings: Settings) -> None:
    lid = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan()))["id"]
    await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/start", json={})
    folder = settings.lecture_media_root() / lid
    names = write_live(folder, 2)
    token = (await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/watch", json={}))["token"]
    base = f"/api/lectures/{lid}/hls"
    counted = _served(TEMPLATE, "200"), _served(TEMPLATE, "401")

    playlist = await api.client.get(f"{base}/live.m3u8?t={token}")
    assert playlist.status_code == 200 and playlist.headers["cache-control"] == "no-cache"
    assert [x for x in playlist.text.splitlines() if x.startswith("seg_")] == [f"{n}?t={token}" for n in names]
    segment = await api.client.get(f"{base}/{names[0]}?t={token}")
    assert segment.status_code == 200 and segment.content == (folder / names[0]).read_bytes()
    assert segment.headers["content-type"] == "video/mp2t"
    assert segment.headers["cache-control"] == "private, max-age=3600"
    assert "etag" not in segment.headers  # FileResponse's: the door answered, not the route
    for answer in (playlist, segment):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")

    missing = await api.client.get(f"{base}/{names[0]}")
    assert missing.status_code == 401 and missing.json()["details"] == {"reason": "missing"}
    assert missing.headers["x-frame-options"] == "DENY"
    assert (_served(TEMPLATE, "200"), _served(TEMPLATE, "401")) == (counted[0] + 2, counted[1] + 1)

    # The packager appends a segment and replaces the playlist: the next fetch lists it.
    names = write_live(folder, 1, start=3)
    again = await api.client.get(f"{base}/live.m3u8?t={token}")
    assert [x.split("?")[0] for x in again.text.splitlines() if x.startswith("seg_")] == names and len(names) == 3

    # What the door passes on: a range request, served by the route's FileResponse.
    part = await api.client.get(f"{base}/{names[0]}?t={token}", headers={"Range": "bytes=0-187"})
    assert part.status_code == 206 and part.content == (folder / names[0]).read_bytes()[:188]
    assert "etag" in part.headers


async def test_a_kept_watch_token_still_expires(api: Api, settings: Settings) -> None:
    lid = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan()))["id"]
    await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/start", json={})
    write_live(settings.lecture_media_root() / lid, 1)
    almost = datetime.now(UTC) - lecture_media.WATCH_TOKEN_TTL + timedelta(seconds=2)
    token, expires = lecture_media.mint(settings.jwt_secret, lid, "zhao.anping", "live", almost)
    url = f"/api/lectures/{lid}/hls/seg_000001.ts?t={token}"
    assert (await api.client.get(url)).status_code == 200  # its signature checked, and the token kept
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1.1)  # exp has whole seconds
    late = await api.client.get(url)
    assert late.status_code == 401 and late.json()["details"] == {"reason": "expired"}
