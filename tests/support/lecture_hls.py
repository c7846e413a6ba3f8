"""A lecture's HLS files made with PyAV, as the live room leaves them (docs/lectures.md): real H.264 MPEG-TS
segments, each starting on a keyframe, with continuous timestamps, and the live EVENT playlist naming them."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS = 320, 180, 10


def _segment(path: Path, first_frame: int, frames: int) -> None:
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        stream.codec_context.time_base = fractions.Fraction(1, FPS)
        for n in range(first_frame, first_frame + frames):
            picture = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
            x = (n * 8) % WIDTH  # a bar that moves: the picture changes as time advances
            picture[:, x : x + 16] = 230
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = n, fractions.Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)


def write_live(folder: Path, segments: int, *, seconds: float = 2.0, ended: bool = False, start: int = 1) -> list[str]:
    """Segments `start`..`start+segments-1` (each `seconds` long) and live.m3u8 listing every segment on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = round(seconds * FPS)
    for i in range(start, start + segments):
        _segment(folder / f"seg_{i:06d}.ts", (i - 1) * frames, frames)
    names = sorted(p.name for p in folder.glob("seg_*.ts"))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:EVENT", f"#EXT-X-TARGETDURATION:{int(seconds + 1)}",
             "#EXT-X-MEDIA-SEQUENCE:0"]  # fmt: skip
    for name in names:
        lines += [f"#EXTINF:{seconds:.3f},", name]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    tmp = folder / ".live.m3u8.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(folder / "live.m3u8")
    return names
