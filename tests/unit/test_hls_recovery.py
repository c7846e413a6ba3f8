"""What the packager finds in a lecture directory after the live process died, and H.264 keyframe detection."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from yilian.live import h264
from yilian.live.hls.playlist import LIVE_PLAYLIST, Segment, render
from yilian.live.hls.segments import SegmentFile, recover


def _h264_frames(count: int) -> list[tuple[bytes, int, bool]]:
    encoder = av.CodecContext.create("libx264", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = 64, 48, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, 90_000), Fraction(30)
    encoder.options = {"tune": "zerolatency", "preset": "ultrafast"}
    out = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 7 % 255, np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90_000)
        out += [(bytes(p), int(p.pts or 0), bool(p.is_keyframe)) for p in encoder.encode(frame)]
    return out


def _segment(directory: Path, number: int, frames: list[tuple[bytes, int, bool]], *, complete: bool) -> None:
    segment = SegmentFile(directory, number, None)
    for data, pts, keyframe in frames:
        segment.write_video(data, pts, keyframe)
    if complete:
        segment.finish()
    else:  # killed mid-segment: the muxer's buffer flushed, the file never renamed
        segment.container.close()


def test_recovery_keeps_listed_unlisted_and_partial_segments_and_numbers_after_the_highest(tmp_path: Path) -> None:
    frames = _h264_frames(60)
    assert h264.is_idr(frames[0][0]) and not h264.is_idr(frames[1][0])
    _segment(tmp_path, 1, frames[:30], complete=True)
    _segment(tmp_path, 2, frames[:30], complete=True)  # renamed, but the playlist was not rewritten yet
    _segment(tmp_path, 3, frames[:20], complete=False)
    (tmp_path / LIVE_PLAYLIST).write_text(render([Segment(1, 1.0)], ended=False))

    found = recover(tmp_path)
    assert [s.number for s in found.segments] == [1, 2, 3] and found.next_number == 4
    assert found.segments[0] == Segment(1, 1.0)
    assert abs(found.segments[1].duration - 1.0) < 0.01 and abs(found.segments[2].duration - 20 / 30) < 0.01
    assert not any(s.discontinuity for s in found.segments)
    assert not list(tmp_path.glob("*.part"))


def test_a_gap_in_the_numbers_is_a_discontinuity_and_an_empty_part_is_dropped(tmp_path: Path) -> None:
    frames = _h264_frames(30)
    _segment(tmp_path, 1, frames, complete=True)
    shutil.copy(tmp_path / "seg_000001.ts", tmp_path / "seg_000004.ts")
    (tmp_path / "seg_000005.ts.part").write_bytes(b"")
    found = recover(tmp_path)
    assert [(s.number, s.discontinuity) for s in found.segments] == [(1, False), (4, True)]
    assert found.next_number == 5 and not (tmp_path / "seg_000005.ts.part").exists()


def test_h264_rtp_keyframe_starts() -> None:
    sps, idr, slice_ = bytes([0x67, 0x42]), bytes([0x65, 0x88]), bytes([0x41, 0x9A])
    assert h264.is_keyframe_start(sps) and h264.is_keyframe_start(idr) and not h264.is_keyframe_start(slice_)
    stap_a = bytes([0x78]) + len(sps).to_bytes(2, "big") + sps + len(idr).to_bytes(2, "big") + idr
    assert h264.is_keyframe_start(stap_a)
    assert h264.is_keyframe_start(bytes([0x7C, 0x85, 0x00]))  # FU-A, start bit, IDR
    assert not h264.is_keyframe_start(bytes([0x7C, 0x05, 0x00]))  # FU-A, not the first fragment
    assert not h264.is_keyframe_start(bytes([0x7C, 0x81, 0x00]))  # FU-A start of a non-IDR slice
