"""VP8 keyframe detection on real encoder output (aiortc's own VP8 encoder and RTP packetiser)."""

from __future__ import annotations

import fractions

import numpy as np
from aiortc.codecs import depayload, get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av import VideoFrame

from yilian.live.vp8 import is_keyframe_start, keyframe_size

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


def _frame(index: int) -> VideoFrame:
    picture = np.full((240, 320, 3), (index * 7) % 255, np.uint8)
    frame = VideoFrame.from_ndarray(picture, format="rgb24")
    frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
    return frame


def test_keyframes_are_found_in_the_first_packet_only() -> None:
    encoder = get_encoder(VP8)
    key, _ = encoder.encode(_frame(0), force_keyframe=True)
    delta, _ = encoder.encode(_frame(1))
    assert is_keyframe_start(key[0])
    assert not any(is_keyframe_start(p) for p in key[1:])  # continuation packets
    assert not any(is_keyframe_start(p) for p in delta)
    forced, _ = encoder.encode(_frame(2), force_keyframe=True)
    assert is_keyframe_start(forced[0])


def test_the_size_comes_from_the_keyframe_header() -> None:
    encoder = get_encoder(VP8)
    key, _ = encoder.encode(_frame(0), force_keyframe=True)
    frame = b"".join(depayload(VP8, p) for p in key)
    assert keyframe_size(frame) == (320, 240)
    delta, _ = encoder.encode(_frame(1))
    assert keyframe_size(b"".join(depayload(VP8, p) for p in delta)) is None


def test_truncated_payloads_are_not_keyframes() -> None:
    for payload in [b"", b"\x90", b"\x90\x80", b"\x90\x80\x80"]:
        assert not is_keyframe_start(payload)
