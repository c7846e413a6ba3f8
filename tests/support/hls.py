"""Reading what a lecture's packager wrote: its playlist and segments, decoded with PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from yilian.live.hls.playlist import LIVE_PLAYLIST, Segment, parse


def listed(directory: Path, name: str = LIVE_PLAYLIST) -> list[Segment]:
    path = directory / name
    return parse(path.read_text("utf-8"))[0] if path.exists() else []


@dataclass
class DecodedSegment:
    codecs: dict[str, str]
    first_packet_keyframe: bool
    first_pts: float
    frames: list[av.VideoFrame]
    audio_seconds: float


def decode(path: Path) -> DecodedSegment:
    """Every video frame and the audio length of one segment; whether its first video packet is a keyframe."""
    with av.open(str(path)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        video = container.streams.video[0]
        time_base = video.time_base
        packets = [p for p in container.demux(video) if p.size]
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    audio_seconds = 0.0
    if "audio" in codecs:
        with av.open(str(path)) as container:
            audio_seconds = sum(f.samples for f in container.decode(audio=0)) / 48_000
    assert time_base is not None and packets[0].pts is not None
    return DecodedSegment(
        codecs, bool(packets[0].is_keyframe), float(packets[0].pts * time_base), frames, audio_seconds
    )
