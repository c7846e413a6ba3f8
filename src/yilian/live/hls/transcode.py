"""The codecs the packager needs, PyAV (FFmpeg) only: VP8 -> H.264 once for a publisher whose browser sent VP8, and
Opus -> AAC for every lecture (MPEG-TS HLS players expect AAC).

H.264 is libx264 from the PyAV wheel, the encoder aiortc already uses for H.264 (docs/live.md, "Lectures: HLS",
says why and what its licence means for a deployment). veryfast + zerolatency, one thread, no scene cuts: a
keyframe is an IDR exactly where the packager asks for one (the start of each segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.codec.context import CodecContext
from av.video.frame import PictureType, VideoFrame

from yilian.live.hls.segments import AUDIO_CLOCK, AUDIO_TIME_BASE, VIDEO_CLOCK, VIDEO_TIME_BASE

H264_ENCODER = "libx264"
H264_OPTIONS = {"preset": "veryfast", "tune": "zerolatency", "forced-idr": "1", "x264-params": "scenecut=0"}


@dataclass(frozen=True)
class EncodedFrame:
    data: bytes
    pts: int  # VIDEO_CLOCK or AUDIO_CLOCK units, the lecture timeline
    keyframe: bool


class VideoTranscoder:
    """VP8 frames in, H.264 access units out (Annex B, SPS/PPS in band before every IDR)."""

    def __init__(self, bitrate: int) -> None:
        self._decoder = CodecContext.create("vp8", "r")
        self._encoder: av.VideoCodecContext | None = None
        self._bitrate = bitrate
        self._size: tuple[int, int] | None = None

    def _open(self, frame: VideoFrame) -> av.VideoCodecContext:
        encoder = CodecContext.create(H264_ENCODER, "w")
        assert isinstance(encoder, av.VideoCodecContext)
        encoder.width, encoder.height = frame.width - frame.width % 2, frame.height - frame.height % 2
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = Fraction(1, VIDEO_CLOCK)
        # Rate control needs a frame rate: without one it budgets bits for 90000 frames a second and the first
        # IDR comes out grey. Constant quality under a VBV cap at the room's bitrate: slides cost little.
        encoder.framerate = Fraction(30)
        encoder.gop_size = 100_000  # keyframes only on request
        encoder.thread_count = 1
        encoder.options = {
            **H264_OPTIONS,
            "crf": "23",
            "maxrate": str(self._bitrate),
            "bufsize": str(self._bitrate),
        }
        self._size = (encoder.width, encoder.height)
        return encoder

    def transcode(self, vp8: bytes, pts: int, *, keyframe: bool) -> list[EncodedFrame]:
        """One VP8 frame (at `pts`); `keyframe` asks for an IDR (a segment starts with it)."""
        out: list[EncodedFrame] = []
        for frame in self._decoder.decode(av.Packet(vp8)):
            assert isinstance(frame, VideoFrame)
            if self._encoder is None:
                self._encoder = self._open(frame)
            assert self._size is not None
            if (frame.width, frame.height) != self._size or frame.format.name != "yuv420p":
                # The encoder keeps its first size: a screen share of another size is scaled into it.
                frame = frame.reformat(width=self._size[0], height=self._size[1], format="yuv420p")
            frame.pts = pts
            frame.time_base = VIDEO_TIME_BASE
            frame.pict_type = PictureType.I if keyframe else PictureType.NONE
            for packet in self._encoder.encode(frame):
                if packet.pts is not None:
                    out.append(EncodedFrame(bytes(packet), int(packet.pts), bool(packet.is_keyframe)))
        return out


class AudioTranscoder:
    """Opus packets in (one RTP payload each), AAC-LC 48 kHz mono 64 kbit/s frames out: one speaker's voice, with
    FFmpeg's fast coder (about half the CPU of its default two-loop search; with mono, 1.6% of a core instead of
    4.9% for stereo two-loop at 96 kbit/s, measured on this 2-vCPU host).

    AAC frames are 1024 samples cut from a contiguous sample stream (PyAV refuses a jump in it), so a short gap
    (a lost packet) is filled with silence and a long one (the speaker muted, a new source) starts a new encoder."""

    def __init__(self) -> None:
        self._decoder = CodecContext.create("opus", "r")
        assert isinstance(self._decoder, av.AudioCodecContext)
        self._decoder.layout = "mono"  # the decoder downmixes, so nothing needs resampling
        self._resampler = AudioResampler(format="fltp", layout="mono", rate=AUDIO_CLOCK)
        self._encoder = self._open()
        self._next_pts: int | None = None

    @staticmethod
    def _open() -> av.AudioCodecContext:
        encoder = CodecContext.create("aac", "w")
        assert isinstance(encoder, av.AudioCodecContext)
        encoder.sample_rate = AUDIO_CLOCK
        encoder.layout = "mono"
        encoder.format = "fltp"
        encoder.bit_rate = 64_000
        encoder.time_base = Fraction(1, AUDIO_CLOCK)
        encoder.options = {"aac_coder": "fast"}
        encoder.open()
        return encoder

    @property
    def extradata(self) -> bytes | None:
        return self._encoder.extradata

    def transcode(self, opus: bytes, pts: int) -> list[EncodedFrame]:
        out: list[EncodedFrame] = []
        for decoded in self._decoder.decode(av.Packet(opus)):
            assert isinstance(decoded, AudioFrame)
            ready = decoded.format.name == "fltp" and decoded.layout.name == "mono" and decoded.rate == AUDIO_CLOCK
            for frame in [decoded] if ready else self._resampler.resample(decoded):
                gap = pts - self._next_pts if self._next_pts is not None else 0
                if self._next_pts is None or gap > MAX_SILENCE:
                    self._encoder = self._open() if self._next_pts is not None else self._encoder
                    self._next_pts = pts
                elif gap > AUDIO_CLOCK // 50:  # more than a packet lost: keep the timeline with silence
                    out += self._encode(_silence(gap))
                out += self._encode(frame)
        return out

    def _encode(self, frame: AudioFrame) -> list[EncodedFrame]:
        assert self._next_pts is not None
        frame.pts = self._next_pts
        frame.time_base = AUDIO_TIME_BASE
        self._next_pts += frame.samples
        return [
            EncodedFrame(bytes(packet), int(packet.pts), True)
            for packet in self._encoder.encode(frame)
            if packet.pts is not None and packet.pts >= 0
        ]


MAX_SILENCE = AUDIO_CLOCK  # one second


def _silence(samples: int) -> AudioFrame:
    frame = AudioFrame(format="fltp", layout="mono", samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = AUDIO_CLOCK
    return frame
