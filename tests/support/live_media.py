"""Media for live tests: a video track with a known picture, and an audio tone, both generated (no files)."""

from __future__ import annotations

import fractions
import math

import numpy as np
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

WIDTH, HEIGHT = 320, 240


class PatternVideoTrack(VideoStreamTrack):
    """A bright top half over a dark bottom half: a decoded frame shows whether the picture survived."""

    def __init__(self) -> None:
        super().__init__()
        picture = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        picture[: HEIGHT // 2] = 230
        picture[HEIGHT // 2 :] = 20
        self._frame = VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._frame.to_ndarray(), format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        return frame


def shows_pattern(frame: VideoFrame) -> bool:
    gray = frame.to_ndarray(format="gray")
    height = gray.shape[0]
    return gray.shape == (HEIGHT, WIDTH) and gray[: height // 3].mean() > 170 and gray[2 * height // 3 :].mean() < 70


class ToneAudioTrack(AudioStreamTrack):
    """A 440 Hz tone at a fixed level, in aiortc's 20 ms frames."""

    def __init__(self) -> None:
        super().__init__()
        self._samples = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # paces at real time and stamps pts
        count = frame.samples
        t = (np.arange(count) + self._samples) / frame.sample_rate
        self._samples += count
        tone = (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
        channels = len(frame.layout.channels)
        data = np.repeat(tone, channels).reshape(1, -1)
        out = AudioFrame.from_ndarray(data, format="s16", layout=frame.layout.name)
        out.sample_rate, out.pts, out.time_base = frame.sample_rate, frame.pts, fractions.Fraction(1, frame.sample_rate)
        return out


def loudness(frame: AudioFrame) -> float:
    samples = frame.to_ndarray().astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))
