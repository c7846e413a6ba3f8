"""A lecture room: aiortc publishers -> SFU -> one H.264 rendition as HLS (remuxed from H.264, transcoded from VP8),
the replay published over the same segments at the end. The crash of the live process is in test_lecture_restart.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette

from tests.live.conftest import join_for, room_of
from tests.support.hls import decode, listed
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack, shows_pattern
from tests.support.wait import wait_until
from yilian.live.client import LiveClient
from yilian.live.protocol import (
    HandOverPresenter,
    LectureMediaInfo,
    MediaKind,
    MediaSource,
    RoomInfo,
    VideoPackaging,
)


async def _publish(clients: Callable[..., LiveClient], room_id: str, codec: str) -> LiveClient:
    speaker = clients(
        join_for(room_id, "speaker", host=True, presenter=True),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)],
        video_codec=codec,
    )
    await speaker.start()
    await speaker.negotiated()
    return speaker


def _check_segments(directory: Path, count: int) -> None:
    """The first `count` segments: H.264 + AAC, each opening on a keyframe, the pattern intact, on one timeline."""
    segments = listed(directory)[:count]
    previous_end = None
    for segment in segments:
        decoded = decode(directory / segment.name)
        assert decoded.codecs == {"video": "h264", "audio": "aac"}, segment
        assert decoded.first_packet_keyframe, f"{segment.name} does not start on a keyframe"
        assert 1.4 <= segment.duration <= 4.5, segment
        assert len(decoded.frames) >= 10 and all(shows_pattern(f) for f in decoded.frames), segment.name
        assert decoded.audio_seconds > 0.5 * segment.duration, segment
        if previous_end is not None:  # the next segment starts where the previous one's EXTINF ended
            assert abs(decoded.first_pts - previous_end) < 0.15, (segment, decoded.first_pts, previous_end)
        previous_end = decoded.first_pts + segment.duration


async def test_an_h264_speaker_is_remuxed_into_hls_and_the_replay_reuses_its_segments(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], lectures: Path, live_app: Starlette
) -> None:
    opened = await control.put("/rooms/lecture-l264", json={"lecture_id": "l264"})
    assert opened.status_code == 200 and RoomInfo.model_validate(opened.json()).lecture is not None
    await _publish(clients, "lecture-l264", "video/H264")
    panelist = clients(join_for("lecture-l264", "panelist"))
    await panelist.start()
    directory = lectures / "l264"

    await wait_until(lambda: listed(directory), "three segments in live.m3u8", ok=lambda s: len(s) >= 3, within=40)
    info = RoomInfo.model_validate((await control.get("/rooms/lecture-l264")).json()).lecture
    assert info is not None and info.video is VideoPackaging.REMUX and info.segments >= 3
    _check_segments(directory, 3)
    live = (directory / "live.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in live and "#EXT-X-ENDLIST" not in live
    assert not list(directory.glob("*.tmp")) and not list(directory.glob(".*.tmp"))
    # The panelist sees the speaker over WebRTC, in the room's codec (H.264 forwarded as is).
    assert room_of(live_app, "lecture-l264").video_codec == "video/H264"
    received = await wait_until(
        lambda: [t for t in panelist.tracks.values() if t.info is not None and t.info.kind is MediaKind.VIDEO],
        "the panelist to get the speaker's video",
    )
    frame = await asyncio.wait_for(received[0].track.recv(), 10)
    assert shows_pattern(frame)

    chapter = await control.post("/rooms/lecture-l264/chapters", json={"title": "病例讨论"})
    assert chapter.status_code == 200
    marked = LectureMediaInfo.model_validate(chapter.json()).chapters[0]
    assert marked.title == "病例讨论" and marked.start_s >= 3 * 1.4
    await control.post("/rooms/lecture-l264/chapters", json={"title": "Intro", "start_s": 0})

    assert (await control.delete("/rooms/lecture-l264")).status_code == 204
    live_segments, replay_segments = listed(directory), listed(directory, "replay.m3u8")
    replay = (directory / "replay.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay and replay.rstrip().endswith("#EXT-X-ENDLIST")
    assert (directory / "live.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    assert replay_segments == live_segments and len(replay_segments) >= 3
    on_disk = sorted(p.name for p in directory.glob("seg_*.ts"))
    assert on_disk == [s.name for s in replay_segments]  # the same files: nothing re-encoded, nothing left over
    assert json.loads((directory / "chapters.json").read_text()) == [
        {"title": "Intro", "start_s": 0.0},
        {"title": "病例讨论", "start_s": round(marked.start_s, 3)},
    ]


async def test_a_vp8_speaker_is_transcoded_once_into_h264_segments(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], lectures: Path
) -> None:
    await control.put("/rooms/lecture-lvp8", json={"lecture_id": "lvp8", "segment_seconds": 2.5})
    await _publish(clients, "lecture-lvp8", "video/VP8")
    directory = lectures / "lvp8"
    await wait_until(lambda: listed(directory), "three segments in live.m3u8", ok=lambda s: len(s) >= 3, within=40)
    info = RoomInfo.model_validate((await control.get("/rooms/lecture-lvp8")).json()).lecture
    assert info is not None and info.video is VideoPackaging.TRANSCODE
    _check_segments(directory, 3)
    # The encoder puts an IDR exactly where a segment is due: segments are as long as asked, give or take a frame.
    assert all(abs(s.duration - 2.5) < 0.1 for s in listed(directory)[:3]), listed(directory)
    assert (await control.delete("/rooms/lecture-lvp8")).status_code == 204
    assert listed(directory, "replay.m3u8") == listed(directory)


async def test_chapters_belong_to_lecture_rooms(control: httpx.AsyncClient) -> None:
    await control.put("/rooms/consult-nochapters", json={})
    answer = await control.post("/rooms/consult-nochapters/chapters", json={"title": "x"})
    assert answer.status_code == 409 and answer.json()["error"] == "not_a_lecture"
    assert (await control.post("/rooms/nowhere/chapters", json={"title": "x"})).status_code == 404
    bad = await control.put("/rooms/lecture-bad", json={"lecture_id": "../escape"})
    assert bad.status_code == 422


async def test_handing_over_the_presenter_switches_the_packaged_video_behind_a_discontinuity(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], lectures: Path
) -> None:
    await control.put("/rooms/lecture-lswitch", json={"lecture_id": "lswitch"})
    speaker = await _publish(clients, "lecture-lswitch", "video/H264")
    panelist = clients(
        join_for("lecture-lswitch", "panelist"),
        publish=[(PatternVideoTrack(), MediaSource.SCREEN)],
        video_codec="video/H264",
    )
    await panelist.start()
    await panelist.negotiated()
    directory = lectures / "lswitch"
    await wait_until(lambda: listed(directory), "a segment of the speaker's camera", ok=lambda s: len(s) >= 1)
    assert panelist.joined is not None
    await speaker.send(HandOverPresenter(participant_id=panelist.joined.participant_id))

    segments = await wait_until(
        lambda: listed(directory),
        "two segments of the panelist's screen after a discontinuity",
        ok=lambda s: any(x.discontinuity for x in s) and not s[-1].discontinuity,
        within=40,
    )
    switched = next(i for i, s in enumerate(segments) if s.discontinuity)
    assert switched >= 1 and sum(s.discontinuity for s in segments) == 1
    for segment in segments:  # every segment, before and after the switch, opens on a keyframe and decodes
        decoded = decode(directory / segment.name)
        assert decoded.first_packet_keyframe and all(shows_pattern(f) for f in decoded.frames), segment
    assert decode(directory / segments[switched].name).audio_seconds > 0  # the speaker's microphone carries on
