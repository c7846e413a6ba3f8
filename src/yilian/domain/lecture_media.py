"""A lecture's HLS files as text (RFC 8216): which names may be served, each segment's duration, the playlist a
viewer gets (every URI carrying their token), and the replay made from the live playlist. Pure: no file access."""

from __future__ import annotations

import re
from dataclasses import dataclass

LIVE_PLAYLIST = "live.m3u8"  # EVENT playlist the live room appends to
REPLAY_PLAYLIST = "replay.m3u8"  # VOD playlist, once the lecture is over
CHAPTERS = "chapters.json"
PLAYLISTS = frozenset({LIVE_PLAYLIST, REPLAY_PLAYLIST})
# A served name: one path segment of safe characters with a media suffix; never a dot-file or a path.
SERVABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\.(m3u8|ts|m4s|mp4|aac|json)$")
_URI_ATTR = re.compile(r'URI="([^"]+)"')


def room_id(lecture_id: str) -> str:
    """The lecture's room on the live process (its HLS directory follows the lecture id, not this)."""
    return f"lecture-{lecture_id}"


@dataclass(frozen=True)
class Segment:
    uri: str
    seconds: float


def servable(name: str) -> bool:
    return bool(SERVABLE.match(name))


def segments(playlist: str) -> list[Segment]:
    """The media segments of a playlist with their #EXTINF durations (RFC 8216 4.3.2.1)."""
    out: list[Segment] = []
    seconds: float | None = None
    for raw in playlist.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            try:
                seconds = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                seconds = None
        elif line and not line.startswith("#"):
            if seconds is not None:
                out.append(Segment(line, seconds))
            seconds = None
    return out


def ended(playlist: str) -> bool:
    return any(line.strip() == "#EXT-X-ENDLIST" for line in playlist.splitlines())


def with_token(playlist: str, token: str) -> str:
    """The playlist as one viewer gets it: every URI (segments, the init section, keys) relative and carrying
    `?t=<token>`, so the player's next fetches are authenticated without cookies or headers."""

    def tokened(uri: str) -> str:
        name = uri.split("?", 1)[0].rsplit("/", 1)[-1]
        return f"{name}?t={token}"

    lines = []
    for raw in playlist.splitlines():
        line = raw.rstrip("\r")
        if line and not line.startswith("#"):
            line = tokened(line.strip())
        elif "URI=" in line:
            line = _URI_ATTR.sub(lambda m: f'URI="{tokened(m.group(1))}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"


_SLOT = "\x00"  # never in a playlist (RFC 8216 4.1: no control characters but CR and LF)


def token_slots(playlist: str) -> list[str]:
    """`with_token`'s text cut where the token goes, so that `token.join(token_slots(p)) == with_token(p, token)`:
    the work done once per playlist version, not once per viewer."""
    return with_token(playlist.replace(_SLOT, ""), _SLOT).split(_SLOT)


def replay_from_live(playlist: str) -> str:
    """The live EVENT playlist as a VOD replay (the same segments, nothing re-encoded), ended."""
    lines = [x.rstrip("\r") for x in playlist.splitlines() if x.strip() != "#EXT-X-ENDLIST"]
    lines = [x for x in lines if not x.startswith("#EXT-X-PLAYLIST-TYPE")]
    at = 1 if lines and lines[0].startswith("#EXTM3U") else 0
    lines.insert(at, "#EXT-X-PLAYLIST-TYPE:VOD")
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"
