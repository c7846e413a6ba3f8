"""kill -9 of the live process in the middle of a lecture: what it wrote stays, and once the room is opened again
and the speaker reconnects, numbering continues after the highest segment on disk, behind a discontinuity."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.support.hls import decode, listed
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.live.assertion import sign_assertion
from yilian.live.client import LiveClient
from yilian.live.protocol import Join, LiveAssertion, MediaSource, RoomRole
from yilian.runtime.live import LiveProcess, start_live_process

ROOM, LECTURE = "lecture-crash", "crash"


async def _speak(live: LiveProcess) -> LiveClient:
    async with httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {live.secret}"}) as control:
        assert (await control.put(f"/rooms/{ROOM}", json={"lecture_id": LECTURE})).status_code == 200
    claims = LiveAssertion(room_id=ROOM, user_id="speaker", display_name="speaker", room_role=RoomRole.HOST)
    speaker = LiveClient(
        live.url.replace("http://", "ws://") + "/ws",
        Join(assertion=sign_assertion(claims, live.secret)),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)],
        video_codec="video/H264",
    )
    await speaker.start()
    await speaker.negotiated()
    return speaker


async def test_a_killed_live_process_keeps_the_segments_and_numbering_continues(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, live_port=0)
    directory = settings.lecture_media_root() / LECTURE
    live = start_live_process(settings, loopback_only=True)
    speaker: LiveClient | None = None
    try:
        speaker = await _speak(live)
        await wait_until(lambda: listed(directory), "two segments before the crash", ok=lambda s: len(s) >= 2)
        os.kill(live.pid, signal.SIGKILL)
        live.process.wait(10)
    finally:
        if speaker is not None:
            await speaker.close()
        live.stop()
    before = listed(directory)

    fresh = start_live_process(settings, loopback_only=True)
    speaker = None
    try:
        speaker = await _speak(fresh)  # the API opens the room again; the speaker's page reconnects
        after = await wait_until(
            lambda: listed(directory), "two segments after the restart", ok=lambda s: len(s) >= len(before) + 2
        )
        async with httpx.AsyncClient(base_url=fresh.url, headers={"Authorization": f"Bearer {fresh.secret}"}) as c:
            assert (await c.delete(f"/rooms/{ROOM}")).status_code == 204
    finally:
        if speaker is not None:
            await speaker.close()
        fresh.stop()

    assert after[: len(before)] == before  # nothing written before the crash is lost or renumbered
    restarts = [i for i, s in enumerate(after) if s.discontinuity]
    assert len(restarts) == 1, after  # one restart, marked once
    first_new = after[restarts[0]]
    kept = after[: restarts[0]]  # the listed ones, and the one being written at the kill if it held video
    assert len(kept) >= len(before) and first_new.number == kept[-1].number + 1
    assert [s.number for s in after] == list(range(1, len(after) + 1))
    assert decode(directory / first_new.name).first_packet_keyframe
    assert listed(directory, "replay.m3u8")[: len(after)] == after  # and the one open at the end
    assert not list(directory.glob("*.part"))
