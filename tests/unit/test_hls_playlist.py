"""HLS playlists of a lecture, as the packager writes and reads them (RFC 8216 4.3)."""

from __future__ import annotations

from pathlib import Path

from yilian.live.hls.playlist import Chapter, Segment, parse, read_chapters, render, write_chapters


def test_an_event_playlist_lists_segments_with_their_durations_and_discontinuities() -> None:
    segments = [Segment(1, 2.0), Segment(2, 2.067), Segment(5, 3.2, discontinuity=True)]
    text = render(segments, ended=False)
    assert text.splitlines()[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:4",  # the longest segment, rounded up (4.1.3.1)
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
    ]
    assert "#EXT-X-DISCONTINUITY\n#EXTINF:3.200,\nseg_000005.ts" in text
    assert "#EXT-X-ENDLIST" not in text
    assert parse(text) == (segments, False)


def test_the_replay_is_vod_and_ends() -> None:
    text = render([Segment(1, 2.0)], ended=True, vod=True)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("#EXT-X-ENDLIST\n")
    assert parse(text) == ([Segment(1, 2.0)], True)


def test_chapters_are_kept_in_order(tmp_path: Path) -> None:
    write_chapters(tmp_path, [Chapter("病例", 65.5), Chapter("Intro", 0.0)])
    assert read_chapters(tmp_path) == [Chapter("Intro", 0.0), Chapter("病例", 65.5)]
    assert (tmp_path / "chapters.json").read_text("utf-8").startswith('[{"title": "Intro"')
