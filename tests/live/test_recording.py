"""Recording by packet copy: the WebM the live process writes demuxes and decodes with PyAV."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import av
import httpx

from tests.live.conftest import join_for
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack, shows_pattern
from tests.support.wait import wait_until
from yilian.live.client import LiveClient
from yilian.live.protocol import MediaSource, RecordingInfo


async def test_a_consented_recording_is_a_playable_webm_per_publisher(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], recordings: Path
) -> None:
    await control.put("/rooms/rec-1", json={})
    publisher = clients(
        join_for("rec-1", "pub", host=True),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)],
    )
    await publisher.start()
    await publisher.negotiated()
    watcher = clients(join_for("rec-1", "watcher"))
    await watcher.start()

    body = {"directory": "consults/rec-1", "consented": ["pub", "watcher"]}
    started = await control.post("/rooms/rec-1/recording", json=body)
    assert started.status_code == 200 and RecordingInfo.model_validate(started.json()).recording
    await wait_until(
        lambda: watcher.presence, "the room to show it records", ok=lambda p: p is not None and p.recording
    )
    await asyncio.sleep(3)
    stopped = RecordingInfo.model_validate((await control.delete("/rooms/rec-1/recording")).json())
    assert not stopped.recording and len(stopped.files) == 1
    assert publisher.joined is not None
    assert stopped.files[0].participant_id == publisher.joined.participant_id and stopped.files[0].user_id == "pub"
    path = recordings / stopped.files[0].path
    assert path.parent == recordings / "consults" / "rec-1" and path.stat().st_size == stopped.files[0].bytes

    with av.open(str(path)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        assert kinds == {"video": "vp8", "audio": "opus"}
        frames = list(container.decode(video=0))
    assert len(frames) >= 25  # ~3 s at the track's 30 fps, from the first keyframe on
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert all(shows_pattern(frame) for frame in frames)
    with av.open(str(path)) as container:
        audio = list(container.decode(audio=0))
    assert sum(frame.samples for frame in audio) / 48_000 > 2.0
    await wait_until(lambda: watcher.presence, "the room to show it stopped", ok=lambda p: not p.recording)


async def test_nothing_is_recorded_while_someone_in_the_room_has_not_consented(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], recordings: Path
) -> None:
    await control.put("/rooms/rec-3", json={})
    publisher = clients(join_for("rec-3", "pub", host=True), publish=[(PatternVideoTrack(), MediaSource.CAMERA)])
    await publisher.start()
    await publisher.negotiated()
    # Armed, but the publisher has not consented: paused, no file.
    armed = await control.post("/rooms/rec-3/recording", json={"directory": "consults/rec-3", "consented": []})
    info = RecordingInfo.model_validate(armed.json())
    assert info.recording and info.paused and info.waiting_for == ["pub"] and info.files == []
    # Everyone here consents: it writes.
    both = {"directory": "consults/rec-3", "consented": ["pub"]}
    info = RecordingInfo.model_validate((await control.post("/rooms/rec-3/recording", json=both)).json())
    assert not info.paused and len(info.files) == 1
    await asyncio.sleep(1.5)
    # A newcomer who has not consented pauses it at once: the file is closed and nothing more is written to it.
    newcomer = clients(join_for("rec-3", "late"))
    await newcomer.start()
    presence = await wait_until(
        lambda: newcomer.presence, "the newcomer in the room", ok=lambda p: p is not None and len(p.participants) == 2
    )
    assert not presence.recording  # the room shows it does not record
    info = RecordingInfo.model_validate((await control.post("/rooms/rec-3/recording", json=both)).json())
    assert info.paused and info.waiting_for == ["late"]
    first = recordings / info.files[0].path
    size = first.stat().st_size
    await asyncio.sleep(1.5)
    assert first.stat().st_size == size and len(info.files) == 1  # no new file while paused
    # The newcomer leaves: it resumes, in a new file.
    await newcomer.close()
    await wait_until(lambda: publisher.presence, "the room to record again", ok=lambda p: p is not None and p.recording)
    await asyncio.sleep(1.5)
    stopped = RecordingInfo.model_validate((await control.delete("/rooms/rec-3/recording")).json())
    assert [f.user_id for f in stopped.files] == ["pub", "pub"]
    for file in stopped.files:
        with av.open(str(recordings / file.path)) as container:
            assert len(list(container.decode(video=0))) >= 5


async def test_a_recording_directory_outside_the_root_is_refused(control: httpx.AsyncClient) -> None:
    await control.put("/rooms/rec-2", json={})
    for directory in ["../escape", "/abs"]:
        answer = await control.post("/rooms/rec-2/recording", json={"directory": directory})
        assert answer.status_code == 422
    assert (await control.delete("/rooms/rec-2/recording")).status_code == 409
