"""Real aiortc peers through the SFU on loopback: what a publisher sends, every subscriber decodes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.live.conftest import join_for
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack, loudness, shows_pattern
from tests.support.wait import wait_until
from yilian.live.client import LiveClient, ReceivedTrack
from yilian.live.protocol import MediaKind, MediaSource


async def _frames(received: ReceivedTrack, count: int, within: float = 20.0) -> list[object]:
    frames = []

    async def take() -> None:
        while len(frames) < count:
            frames.append(await received.track.recv())

    await asyncio.wait_for(take(), within)
    return frames


async def test_a_publisher_and_two_subscribers_receive_decodable_video_and_audio(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    assert (await control.put("/rooms/media-1", json={"capacity": 5})).status_code == 200
    publisher = clients(
        join_for("media-1", "pub", host=True),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)],
    )
    await publisher.start()
    await publisher.negotiated()
    subscribers = [clients(join_for("media-1", f"sub{i}")) for i in range(2)]
    for subscriber in subscribers:
        await subscriber.start()
    assert publisher.joined is not None
    publisher_id = publisher.joined.participant_id

    for subscriber in subscribers:
        tracks = await wait_until(
            lambda s=subscriber: s.tracks_from(publisher_id),  # type: ignore[misc]
            "a subscriber to get the publisher's two tracks",
            ok=lambda t: len(t) == 2,
        )
        by_kind = {t.info.kind: t for t in tracks if t.info is not None}
        assert by_kind[MediaKind.VIDEO].info and by_kind[MediaKind.VIDEO].info.source is MediaSource.CAMERA
        video = await _frames(by_kind[MediaKind.VIDEO], 10)
        assert all(shows_pattern(frame) for frame in video[2:])  # type: ignore[arg-type]
        audio = await _frames(by_kind[MediaKind.AUDIO], 25)
        assert max(loudness(frame) for frame in audio) > 1000  # type: ignore[arg-type]

    # The publisher receives nothing of its own.
    assert publisher.tracks_from(publisher_id) == []
    room = (await control.get("/rooms/media-1")).json()
    assert len(room["participants"]) == 3
