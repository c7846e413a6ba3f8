"""HLS playlists (RFC 8216) and the lecture directory's small files, pure Python: no aiortc, no PyAV, so the API
may read them too.

The directory of one lecture (docs/live.md): `seg_000001.ts`... (complete files only), `live.m3u8` (an EVENT
playlist, rewritten atomically after every segment), and at the end `replay.m3u8` (VOD over the same files) and
`chapters.json`.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

LIVE_PLAYLIST = "live.m3u8"
REPLAY_PLAYLIST = "replay.m3u8"
CHAPTERS = "chapters.json"
SEGMENT_PATTERN = re.compile(r"^seg_(\d{6})\.ts$")
PART_SUFFIX = ".part"  # a segment being written; renamed to its final name only when complete


def segment_name(number: int) -> str:
    return f"seg_{number:06d}.ts"


def segment_number(name: str) -> int | None:
    match = SEGMENT_PATTERN.match(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Segment:
    number: int
    duration: float  # seconds, as #EXTINF says
    discontinuity: bool = False  # a restart of the live process, or a new video source, comes before it

    @property
    def name(self) -> str:
        return segment_name(self.number)


@dataclass(frozen=True)
class Chapter:
    title: str
    start_s: float


def render(segments: list[Segment], *, ended: bool, vod: bool = False) -> str:
    """An EVENT playlist (segments only ever appended) or, for the replay, a VOD one; ENDLIST once ended."""
    target = max((math.ceil(s.duration) for s in segments), default=2)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(target, 1)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if vod else 'EVENT'}",
    ]
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{segment.duration:.3f},")
        lines.append(segment.name)
    if ended or vod:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def parse(text: str) -> tuple[list[Segment], bool]:
    """The segments of a playlist this module wrote (or any simple media playlist of seg_NNNNNN.ts), and whether
    it has ended."""
    segments: list[Segment] = []
    duration: float | None = None
    discontinuity = False
    ended = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            number = segment_number(line)
            if number is not None and duration is not None:
                segments.append(Segment(number, duration, discontinuity))
            duration, discontinuity = None, False
    return segments, ended


def write_atomic(path: Path, text: str) -> None:
    """Readers (the API, a player) see the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_chapters(directory: Path, chapters: list[Chapter]) -> None:
    ordered = sorted(chapters, key=lambda c: c.start_s)
    write_atomic(
        directory / CHAPTERS,
        json.dumps([{"title": c.title, "start_s": round(c.start_s, 3)} for c in ordered], ensure_ascii=False),
    )


def read_chapters(directory: Path) -> list[Chapter]:
    path = directory / CHAPTERS
    if not path.exists():
        return []
    return [Chapter(str(item["title"]), float(item["start_s"])) for item in json.loads(path.read_text("utf-8"))]
