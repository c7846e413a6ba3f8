"""Lectures through the real API, worker, PostgreSQL and Temporal: schedule, the audience, register, watch live over
HLS (real H.264 segments made with PyAV), Q&A, the quiz, end -> replay -> credit, replay watching -> credit,
attendance per hospital and its CSV; and every bad input's clear error."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.lecture_hls import write_live
from tests.support.wait import wait_until
from yilian.api import lecture_media
from yilian.config import Settings
from yilian.db.schema import lecture_views

pytestmark = pytest.mark.integration

QUIZ = {"questions": [{"text": "磨玻璃结节首次随访间隔？", "options": ["3 个月", "3 年"], "answer": 0}],
        "pass_mark": 1.0}  # fmt: skip


def plan(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "肺结节的规范化随访 / Following up lung nodules",
        "abstract": "Fleischner 2017",
        "starts_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "duration_minutes": 60,
        "speaker_ids": ["wang.expert"],
        "audience_hospital_ids": ["h-anping"],
        "credit": 2.0,
        "quiz": QUIZ,
    }
    body.update(kw)
    return body


async def _views(engine: AsyncEngine, lecture_id: str, user: str) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(
            select(func.count()).where(lecture_views.c.lecture_id == lecture_id, lecture_views.c.user_id == user)
        )
    return int(n or 0)


async def _fetch(api: Api, url: str) -> Any:
    return await api.client.get(url)


def _decodes_from_a_keyframe(data: bytes, tmp: Path) -> int:
    path = tmp / "segment.ts"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert frames and frames[0].key_frame, "a segment must start on a keyframe"
    return len(frames)


async def _state(api: Api, lecture_id: str, state: str, who: str = "he.educator") -> dict[str, Any]:
    row: dict[str, Any] = await wait_until(
        lambda: api.ok(who, "GET", f"/api/lectures/{lecture_id}"), f"{lecture_id} to be {state}",
        ok=lambda r: r["state"] == state, within=60,
    )  # fmt: skip
    return row


async def test_scheduling_refuses_what_it_must(api: Api) -> None:
    refused = await api.call("zhao.anping", "POST", "/api/lectures", json=plan())
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    not_a_speaker = await api.call("he.educator", "POST", "/api/lectures", json=plan(speaker_ids=["zhao.anping"]))
    assert not_a_speaker.status_code == 422 and "zhao.anping is not an expert or senior" in not_a_speaker.text
    past = await api.call("he.educator", "POST", "/api/lectures",
                          json=plan(starts_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat()))  # fmt: skip
    assert past.status_code == 422 and "the start is in the past" in past.json()["message"]
    nowhere = await api.call("he.educator", "POST", "/api/lectures", json=plan(audience_hospital_ids=["h-nowhere"]))
    assert nowhere.status_code == 422 and "no hospital h-nowhere" in nowhere.text


async def test_live_lecture_watched_over_hls_then_replay_and_credits(
    api: Api, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    made = await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan())
    lid = made["id"]
    assert made["state"] == "scheduled" and made["has_quiz"] and "cancel" in made["allowed_actions"]

    # The audience: h-anping's doctor sees it; h-qingshan's neither in the catalogue nor at the door.
    mine = [x["id"] for x in (await api.ok("zhao.anping", "GET", "/api/lectures"))["items"]]
    theirs = [x["id"] for x in (await api.ok("sun.qingshan", "GET", "/api/lectures"))["items"]]
    assert lid in mine and lid not in theirs
    outside = await api.call("sun.qingshan", "POST", f"/api/lectures/{lid}/watch", json={})
    assert outside.status_code == 403 and outside.json()["error"] == "forbidden"
    assert "other hospitals" in outside.json()["message"]

    registered = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/registration", 201, json={})
    assert registered["registered"] is True
    early = await api.call("zhao.anping", "POST", f"/api/lectures/{lid}/watch", json={})
    assert early.status_code == 409 and "cannot watch a lecture that is scheduled" in early.json()["message"]

    # The speaker starts it; the live room writes segments (here PyAV does, as the packager would).
    assert (await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/start", 403, json={}))["error"] == "forbidden"
    live = await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/start", json={})
    assert live["state"] == "live"
    folder = settings.lecture_media_root() / lid
    names = write_live(folder, 5)  # 10 s

    watch = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/watch", json={})
    assert watch["mode"] == "live" and watch["playlist_url"].endswith(f"live.m3u8?t={watch['token']}")
    playlist = await _fetch(api, watch["playlist_url"])
    assert playlist.status_code == 200 and playlist.headers["content-type"].startswith("application/vnd.apple")
    uris = [x for x in playlist.text.splitlines() if x and not x.startswith("#")]
    assert uris == [f"{n}?t={watch['token']}" for n in names]
    base = f"/api/lectures/{lid}/hls/"
    for uri in uris[:4]:  # 8 of 10 s: the 80 % threshold
        got = await _fetch(api, base + uri)
        assert got.status_code == 200 and got.headers["content-type"] == "video/mp2t"
        assert _decodes_from_a_keyframe(got.content, tmp_path) == 20
        await _fetch(api, base + uri)  # a segment fetched twice counts once
    await wait_until(lambda: _views(engine, lid, "zhao.anping"), "zhao's 4 segment views", ok=lambda n: n == 4)
    standing = (await api.ok("zhao.anping", "GET", f"/api/lectures/{lid}"))["standing"]
    assert standing["watched_seconds"] == pytest.approx(8.0) and standing["segments"] == 4

    # Q&A: ask, a clear error over the limit, upvote, the moderator (the speaker) picks.
    asked = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/questions", 201, json={"body": "实性结节呢？"})
    too_long = await api.call("zhao.anping", "POST", f"/api/lectures/{lid}/questions", json={"body": "问" * 501})
    assert too_long.status_code == 422 and too_long.json()["error"] == "validation_failed"
    assert "at most 500 characters" in too_long.json()["message"] and too_long.json()["details"]["length"] == 501
    voted = await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/questions/{asked['id']}/vote", json={})
    assert voted["votes"] == 1 and voted["voted"] is True
    assert (await api.call("zhao.anping", "POST", f"/api/lectures/{lid}/questions/{asked['id']}/pick",
                           json={})).status_code == 403  # fmt: skip
    picked = await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/questions/{asked['id']}/pick", json={})
    assert picked["picked_at"] is not None
    listed = (await api.ok("zhao.anping", "GET", f"/api/lectures/{lid}/questions"))["items"]
    assert [x["body"] for x in listed] == ["实性结节呢？"]

    wrong = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/quiz", json={"answers": [1]})
    assert wrong == {"right": 0, "total": 1, "passed": False}
    right = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/quiz", json={"answers": [0]})
    assert right["passed"] is True

    # End: the room closes, the live segments become the replay (no re-encoding), the tally awards the credit.
    await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/end", json={})
    published = await _state(api, lid, "published")
    assert published["recorded_seconds"] == pytest.approx(10.0)
    credits = await wait_until(lambda: api.ok("zhao.anping", "GET", "/api/lectures/credits"), "zhao's credit",
                               ok=lambda c: any(x["lecture_id"] == lid for x in c["items"]))  # fmt: skip
    mine_now = next(x for x in credits["items"] if x["lecture_id"] == lid)
    assert mine_now["credit"] == 2.0 and mine_now["quiz_passed"] is True
    assert mine_now["watched_seconds"] == pytest.approx(8.0)

    replay = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/watch", json={})
    assert replay["mode"] == "replay" and "replay.m3u8" in replay["playlist_url"]
    vod = await _fetch(api, replay["playlist_url"])
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod.text and "#EXT-X-ENDLIST" in vod.text
    assert len([x for x in vod.text.splitlines() if x.startswith("seg_")]) == 5

    # Attendance per hospital, for the educator; CSV; a doctor may not.
    report = await api.ok("he.educator", "GET", f"/api/lectures/{lid}/attendance")
    anping = next(h for h in report["hospitals"] if h["hospital_id"] == "h-anping")
    assert (anping["registered"], anping["watched"], anping["credited"]) == (1, 1, 1)
    assert (await api.call("zhao.anping", "GET", f"/api/lectures/{lid}/attendance")).status_code == 403
    exported = await api.call("liu.coord", "GET", f"/api/lectures/{lid}/attendance.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["user_id"], r["watched_percent"], r["credit"]) for r in rows] == [("zhao.anping", "80", "2")]
    trail = [e["action"] for e in (await api.ok("he.educator", "GET", f"/api/lectures/{lid}/audit"))["items"]]
    assert trail == ["schedule", "start", "end", "publish", "tally"]


async def test_replay_watchers_earn_the_credit(api: Api, engine: AsyncEngine, settings: Settings) -> None:
    """A lecture for the whole alliance; Sun missed it live, watches the replay, passes the quiz: credited."""
    lid = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan(audience_hospital_ids=[])))["id"]
    await api.ok("he.educator", "POST", f"/api/lectures/{lid}/start", json={})
    write_live(settings.lecture_media_root() / lid, 3)
    await api.ok("he.educator", "POST", f"/api/lectures/{lid}/end", json={})
    await _state(api, lid, "published")
    watch = await api.ok("sun.qingshan", "POST", f"/api/lectures/{lid}/watch", json={})
    vod = await _fetch(api, watch["playlist_url"])
    for uri in [x for x in vod.text.splitlines() if x.startswith("seg_")]:
        assert (await _fetch(api, f"/api/lectures/{lid}/hls/{uri}")).status_code == 200
    await wait_until(lambda: _views(engine, lid, "sun.qingshan"), "sun's 3 replay views", ok=lambda n: n == 3)
    assert (await api.ok("sun.qingshan", "GET", "/api/lectures/credits"))["items"] == [] or all(
        x["lecture_id"] != lid for x in (await api.ok("sun.qingshan", "GET", "/api/lectures/credits"))["items"]
    )  # watched everything, but the quiz is not passed yet
    await api.ok("sun.qingshan", "POST", f"/api/lectures/{lid}/quiz", json={"answers": [0]})
    await wait_until(lambda: api.ok("sun.qingshan", "GET", "/api/lectures/credits"), "sun's replay credit",
                     ok=lambda c: any(x["lecture_id"] == lid for x in c["items"]), within=60)  # fmt: skip
    detail = await api.ok("sun.qingshan", "GET", f"/api/lectures/{lid}")
    assert detail["standing"]["credit"] == 2.0 and detail["standing"]["watched_share"] == pytest.approx(1.0)


async def test_hls_files_need_a_valid_token(api: Api, settings: Settings) -> None:
    lid = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan()))["id"]
    other = (await api.ok("he.educator", "POST", "/api/lectures", 201, json=plan()))["id"]
    await api.ok("wang.expert", "POST", f"/api/lectures/{lid}/start", json={})
    write_live(settings.lecture_media_root() / lid, 1)
    base = f"/api/lectures/{lid}/hls"

    missing = await _fetch(api, f"{base}/seg_000001.ts")
    assert missing.status_code == 401 and missing.json()["error"] == "unauthenticated"
    assert "watch token" in missing.json()["message"] and missing.json()["details"] == {"reason": "missing"}
    forged = await _fetch(api, f"{base}/seg_000001.ts?t=not-a-token")
    assert forged.status_code == 401 and forged.json()["details"] == {"reason": "invalid"}
    old, _ = lecture_media.mint(settings.jwt_secret, lid, "zhao.anping", "live", datetime.now(UTC) - timedelta(hours=2))
    expired = await _fetch(api, f"{base}/seg_000001.ts?t={old}")
    assert expired.status_code == 401 and expired.json()["details"] == {"reason": "expired"}
    sign_in = await api.token("zhao.anping")  # a sign-in token is no watch token
    assert (await _fetch(api, f"{base}/seg_000001.ts?t={sign_in}")).status_code == 401
    elsewhere = await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/watch", json={})
    wrong_lecture = await _fetch(api, f"/api/lectures/{other}/hls/seg_000001.ts?t={elsewhere['token']}")
    assert wrong_lecture.status_code == 403 and wrong_lecture.json()["details"] == {"reason": "other_lecture"}
    for name in ("..%2Fsecret.ts", ".live.m3u8.tmp", "seg_000001.ts.part", "seg_000009.ts"):
        got = await _fetch(api, f"{base}/{name}?t={elsewhere['token']}")
        assert got.status_code == 404, name
    assert (await _fetch(api, f"{base}/seg_000001.ts?t={elsewhere['token']}")).status_code == 200


async def test_register_unregister_and_cancel(api: Api) -> None:
    lid = (await api.ok("liu.coord", "POST", "/api/lectures", 201, json=plan(quiz=None)))["id"]
    assert (await api.ok("zhao.anping", "POST", f"/api/lectures/{lid}/registration", 201, json={}))["registered"]
    assert not (await api.ok("zhao.anping", "DELETE", f"/api/lectures/{lid}/registration"))["registered"]
    no_quiz = await api.call("zhao.anping", "POST", f"/api/lectures/{lid}/quiz", json={"answers": []})
    assert no_quiz.status_code == 409  # scheduled: no quiz to answer yet
    moved = await api.ok("liu.coord", "POST", f"/api/lectures/{lid}/reschedule",
                         json=plan(quiz=None, duration_minutes=90))  # fmt: skip
    assert moved["duration_minutes"] == 90
    reason = await api.call("liu.coord", "POST", f"/api/lectures/{lid}/cancel", json={"reason": ""})
    assert reason.status_code == 422
    gone = await api.ok("liu.coord", "POST", f"/api/lectures/{lid}/cancel", json={"reason": "讲者出差"})
    assert gone["state"] == "cancelled" and gone["allowed_actions"] == []
    again = await api.call("he.educator", "POST", f"/api/lectures/{lid}/start", json={})
    assert again.status_code == 409
