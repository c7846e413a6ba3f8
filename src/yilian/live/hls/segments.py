"""MPEG-TS segment files: one PyAV mpegts muxer per segment, written as `.part` and renamed when complete; and the
recovery of a lecture directory after the live process died (what is on disk is kept, numbering continues).

No codec here: H.264 access units and AAC frames arrive encoded (remuxed, or from transcode.py) and are copied.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av

from yilian.live.hls.playlist import (
    LIVE_PLAYLIST,
    PART_SUFFIX,
    Segment,
    parse,
    segment_name,
    segment_number,
)

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.stream import Stream

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK)  # made once: a Fraction per packet shows in the profile
AUDIO_TIME_BASE = Fraction(1, AUDIO_CLOCK)


class SegmentFile:
    """One segment being written: H.264 and AAC streams in an MPEG-TS, timestamps copied as given (the segments of
    a lecture share one timeline, so a player joins them without a jump)."""

    def __init__(self, directory: Path, number: int, audio_extradata: bytes | None) -> None:
        self.number = number
        self.path = directory / segment_name(number)
        self.part = self.path.with_name(self.path.name + PART_SUFFIX)
        self.container: OutputContainer = av.open(
            str(self.part), mode="w", format="mpegts", options={"mpegts_copyts": "1"}
        )
        self.video: Stream = self.container.add_stream("h264")
        self.video.time_base = VIDEO_TIME_BASE
        self.audio: Stream = self.container.add_stream("aac", rate=AUDIO_CLOCK)
        self.audio.time_base = AUDIO_TIME_BASE
        if audio_extradata:
            self.audio.codec_context.extradata = audio_extradata  # the muxer writes ADTS headers from it
        self.first_pts: float | None = None  # seconds on the lecture timeline
        self.last_pts: float | None = None

    def write_video(self, data: bytes, pts: int, keyframe: bool) -> None:
        self._mux(self.video, data, pts, VIDEO_TIME_BASE, keyframe)
        seconds = pts / VIDEO_CLOCK
        if self.first_pts is None:
            self.first_pts = seconds
        self.last_pts = seconds

    def write_audio(self, data: bytes, pts: int) -> None:
        self._mux(self.audio, data, pts, AUDIO_TIME_BASE, True)
        seconds = pts / AUDIO_CLOCK
        if self.first_pts is None:
            self.first_pts = seconds
        self.last_pts = max(self.last_pts or seconds, seconds)

    def _mux(self, stream: Stream, data: bytes, pts: int, time_base: Fraction, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = time_base
        packet.stream = stream
        packet.is_keyframe = keyframe
        self.container.mux(packet)

    def finish(self) -> None:
        """Close and publish under the final name (a reader never sees a half-written segment)."""
        self.container.close()
        os.replace(self.part, self.path)

    def abandon(self) -> None:
        try:
            self.container.close()
        except Exception:  # nothing was muxed: the header may never have been written
            log.debug("segment %s abandoned", self.part.name, exc_info=True)
        self.part.unlink(missing_ok=True)


def probe_duration(path: Path) -> float | None:
    """Seconds of video in a segment file (first to last frame, plus one frame), None when it holds none: how a
    segment the playlist never listed (the process died between the rename and the playlist) is added back."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            times = [p.pts for p in container.demux(stream) if p.pts is not None]
    except (av.error.FFmpegError, OSError):
        return None
    if len(times) < 2 or stream.time_base is None:
        return None
    step = (max(times) - min(times)) / (len(times) - 1)
    return float((max(times) - min(times) + step) * stream.time_base)


@dataclass(frozen=True)
class Recovered:
    segments: list[Segment]
    next_number: int


def recover(directory: Path) -> Recovered:
    """What an earlier run of this lecture left: the playlist's segments, plus complete segment files it had not
    listed yet, plus a `.part` that still holds video (kept: nothing written is lost). The next segment number is
    one after the highest on disk."""
    directory.mkdir(parents=True, exist_ok=True)
    playlist = directory / LIVE_PLAYLIST
    listed = parse(playlist.read_text("utf-8"))[0] if playlist.exists() else []
    segments = {segment.number: segment for segment in listed}
    for part in sorted(directory.glob(f"seg_*.ts{PART_SUFFIX}")):
        final = part.with_name(part.name.removesuffix(PART_SUFFIX))
        if probe_duration(part) is not None and not final.exists():
            os.replace(part, final)
        else:
            part.unlink(missing_ok=True)
    on_disk = sorted(n for p in directory.glob("seg_*.ts") if (n := segment_number(p.name)) is not None)
    for number in on_disk:
        if number not in segments:
            duration = probe_duration(directory / segment_name(number))
            if duration is not None:
                previous = max((n for n in segments if n < number), default=None)
                segments[number] = Segment(
                    number, duration, discontinuity=previous is not None and previous != number - 1
                )
    highest = max([*on_disk, *segments], default=0)
    return Recovered([segments[n] for n in sorted(segments)], highest + 1)
