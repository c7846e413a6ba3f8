"""A lecture room's HLS packager: the presenter's video (screen share while it is on, else camera) and microphone,
as one H.264 + AAC rendition in ~2 s MPEG-TS segments, each starting on an IDR (docs/live.md, "Lectures: HLS").

H.264 from the browser is remuxed (no decode): a PLI is sent to the publisher shortly before a segment is due and
the segment is cut at the IDR it answers with. VP8 is decoded and encoded once with libx264, an IDR forced at each
segment start. Opus becomes AAC either way. It taps the published tracks like the recorder (a `PacketSink`), and a
failure in it never disturbs forwarding.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from yilian.live.h264 import is_idr
from yilian.live.hls.playlist import (
    LIVE_PLAYLIST,
    REPLAY_PLAYLIST,
    Chapter,
    Segment,
    read_chapters,
    render,
    write_atomic,
    write_chapters,
)
from yilian.live.hls.segments import AUDIO_CLOCK, VIDEO_CLOCK, SegmentFile, recover
from yilian.live.hls.transcode import AudioTranscoder, VideoTranscoder
from yilian.live.protocol import LectureChapter, LectureMediaInfo, MediaKind, MediaSource, VideoPackaging

if TYPE_CHECKING:
    from yilian.live.forwarding import PublishedTrack
    from yilian.live.room import Room

log = logging.getLogger(__name__)

TARGET_SECONDS = 2.0  # segment length aimed at by default (players hold ~3 segments: ~6 s behind live)
EARLY_CUT = 0.75  # an IDR before this share of the target (another subscriber's PLI) does not cut
KEYFRAME_LEAD = 0.1  # ask for the IDR this long before the segment is due: about a PLI round trip on a LAN
H264 = "video/h264"


class _Input:
    """One tapped track: RTP timestamps mapped onto the lecture timeline (from the moment its first packet came),
    video reassembled into frames."""

    def __init__(self, packager: LecturePackager, track: PublishedTrack) -> None:
        self.packager = packager
        self.track = track
        self.kind = track.kind
        self.clock = VIDEO_CLOCK if track.kind is MediaKind.VIDEO else AUDIO_CLOCK
        self._frames = JitterBuffer(capacity=128, is_video=True) if track.kind is MediaKind.VIDEO else None
        self._first_rtp: int | None = None
        self._base = 0
        self._last_pts = -1
        track.sinks.append(self)

    def detach(self) -> None:
        if self in self.track.sinks:
            self.track.sinks.remove(self)

    def add(self, packet: RtpPacket, keyframe: bool) -> None:
        try:
            self._add(packet)
        except Exception:  # packaging must never disturb forwarding
            log.exception("lecture %s: packet dropped", self.packager.lecture_id)

    def _add(self, packet: RtpPacket) -> None:
        data: bytes = getattr(packet, "_data", packet.payload)
        if self._frames is None:
            pts = self._pts(packet.timestamp)
            if pts is not None:
                self.packager.on_audio(self, data, pts)
            return
        _, frame = self._frames.add(packet)
        if frame is not None:
            pts = self._pts(frame.timestamp)
            if pts is not None:
                self.packager.on_video(self, frame.data, pts)

    def _pts(self, rtp_timestamp: int) -> int | None:
        if self._first_rtp is None:
            self._first_rtp = rtp_timestamp
            self._base = int(self.packager.now() * self.clock)
        pts = ((rtp_timestamp - self._first_rtp) & 0xFFFFFFFF) + self._base
        if pts <= self._last_pts:
            return None
        self._last_pts = pts
        return pts


class LecturePackager:
    def __init__(
        self, directory: Path, lecture_id: str, *, video_bitrate: int, segment_seconds: float = TARGET_SECONDS
    ) -> None:
        self.directory = directory
        self.target = segment_seconds
        self.lecture_id = lecture_id
        recovered = recover(directory)
        self.segments: list[Segment] = recovered.segments
        self.next_number = recovered.next_number
        self.chapters = read_chapters(directory)
        self.ended = False
        self._offset = sum(s.duration for s in self.segments)  # this run's timeline starts where the disk ends
        self._t0: float | None = None
        self._discontinuity = bool(self.segments)  # the first segment after a restart
        self._video_bitrate = video_bitrate
        self.video: _Input | None = None
        self.audio: _Input | None = None
        self.packaging: VideoPackaging | None = None
        self._transcoder: VideoTranscoder | None = None
        self._vp8_started = False
        self._audio = AudioTranscoder()
        self._current: SegmentFile | None = None
        self._switched = False  # a new video source: cut at its first IDR

    # --- what is packaged ------------------------------------------------------------------------------------

    def select(self, room: Room) -> None:
        """Follow the room: the presenter's screen share, else their camera (else anyone's), and their microphone."""
        if self.ended:
            return
        presenter = room.peers.get(room.presenter_id or "")
        mine = list(presenter.published.values()) if presenter is not None else []
        everyone = list(room.published_tracks())
        video = _pick(mine, MediaKind.VIDEO) or _pick(everyone, MediaKind.VIDEO)
        audio = _pick(mine, MediaKind.AUDIO) or _pick(everyone, MediaKind.AUDIO)
        if (self.video.track if self.video else None) is not video:
            if self.video is not None:
                self.video.detach()
            self.video = _Input(self, video) if video is not None else None
            self._switched = self._current is not None
            self._vp8_started = False
            if video is not None:
                self.packaging = VideoPackaging.REMUX if video.codec.lower() == H264 else VideoPackaging.TRANSCODE
                video.request_keyframe()
        if (self.audio.track if self.audio else None) is not audio:
            if self.audio is not None:
                self.audio.detach()
            self.audio = _Input(self, audio) if audio is not None else None

    def now(self) -> float:
        """Seconds on the lecture timeline: where this run started on disk, plus wall time since its first packet."""
        if self._t0 is None:
            self._t0 = time.time()
        return self._offset + time.time() - self._t0

    # --- media in --------------------------------------------------------------------------------------------

    def on_video(self, source: _Input, data: bytes, pts: int) -> None:
        if source is not self.video or self.ended:
            return
        if self.packaging is VideoPackaging.REMUX:
            self._video_frame(source, data, pts, keyframe=is_idr(data))
            return
        if not self._vp8_started:  # the decoder starts at a keyframe
            if data[0] & 0x01:
                source.track.request_keyframe()
                return
            self._vp8_started = True
        if self._transcoder is None:
            self._transcoder = VideoTranscoder(self._video_bitrate)
        current = self._current
        due = (
            current is None
            or current.first_pts is None
            or self._switched
            or pts / VIDEO_CLOCK - current.first_pts >= self.target
        )
        for frame in self._transcoder.transcode(data, pts, keyframe=due):
            self._video_frame(source, frame.data, frame.pts, keyframe=frame.keyframe)

    def _video_frame(self, source: _Input, data: bytes, pts: int, *, keyframe: bool) -> None:
        current = self._current
        if self._switched and not keyframe:  # a new source's frames wait for its first IDR
            source.track.request_keyframe()
            return
        if current is None or current.first_pts is None:
            if not keyframe:
                source.track.request_keyframe()
                return
            if current is None:
                current = self._open()
        else:
            elapsed = (pts - current.first_pts * VIDEO_CLOCK) / VIDEO_CLOCK
            if keyframe and (elapsed >= self.target * EARLY_CUT or self._switched):
                current = self._cut(pts / VIDEO_CLOCK)
            elif elapsed >= self.target - KEYFRAME_LEAD:
                source.track.request_keyframe()
        current.write_video(data, pts, keyframe)

    def on_audio(self, source: _Input, data: bytes, pts: int) -> None:
        if source is not self.audio or self.ended:
            return
        for frame in self._audio.transcode(data, pts):
            current = self._current
            if self.video is None:  # audio only: cut on time
                if current is None:
                    current = self._open()
                elif current.first_pts is not None and frame.pts / AUDIO_CLOCK - current.first_pts >= self.target:
                    current = self._cut(frame.pts / AUDIO_CLOCK)
            if current is None or current.first_pts is None:
                continue  # a segment starts with its video keyframe
            current.write_audio(frame.data, frame.pts)

    # --- segments --------------------------------------------------------------------------------------------

    def _open(self) -> SegmentFile:
        self._current = SegmentFile(self.directory, self.next_number, self._audio.extradata)
        self.next_number += 1
        return self._current

    def _cut(self, at: float | None) -> SegmentFile:
        """Close the open segment at `at` seconds (the next one's start) and publish it; open the next one."""
        self._close(at)
        return self._open()

    def _close(self, at: float | None) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        if current.first_pts is None or current.last_pts is None:
            current.abandon()
            return
        end = at if at is not None else current.last_pts + 1 / 15  # the last frame lasts about one frame
        current.finish()
        self.segments.append(Segment(current.number, max(end - current.first_pts, 0.001), self._discontinuity))
        self._discontinuity = self._switched and self.packaging is VideoPackaging.REMUX
        self._switched = False
        write_atomic(self.directory / LIVE_PLAYLIST, render(self.segments, ended=False))

    # --- chapters and the end --------------------------------------------------------------------------------

    def replay_position(self) -> float:
        """Seconds into the replay now: the listed segments, plus how far the open one has got."""
        done = sum(s.duration for s in self.segments)
        current = self._current
        if current is None or current.first_pts is None or self._t0 is None:
            return done
        return done + max(self.now() - current.first_pts, 0.0)

    def add_chapter(self, title: str, start_s: float | None) -> None:
        self.chapters.append(Chapter(title, self.replay_position() if start_s is None else start_s))
        self.chapters.sort(key=lambda c: c.start_s)
        write_chapters(self.directory, self.chapters)

    def finish(self) -> None:
        """The lecture ended: the open segment is closed, live.m3u8 ends, replay.m3u8 and chapters.json appear."""
        for source in (self.video, self.audio):
            if source is not None:
                source.detach()
        self.video = self.audio = None
        try:
            self._close(None)
        except Exception:
            log.exception("lecture %s: the last segment could not be closed", self.lecture_id)
        self.ended = True
        write_atomic(self.directory / LIVE_PLAYLIST, render(self.segments, ended=True))
        write_atomic(self.directory / REPLAY_PLAYLIST, render(self.segments, ended=True, vod=True))
        write_chapters(self.directory, self.chapters)

    def info(self) -> LectureMediaInfo:
        return LectureMediaInfo(
            lecture_id=self.lecture_id,
            segments=len(self.segments),
            duration_s=round(sum(s.duration for s in self.segments), 3),
            video=self.packaging,
            ended=self.ended,
            chapters=[LectureChapter(title=c.title, start_s=c.start_s) for c in self.chapters],
        )


def _pick(tracks: list[PublishedTrack], kind: MediaKind) -> PublishedTrack | None:
    """Screen share before camera for video; a microphone for audio (muted or not: muted is silence)."""
    order = [MediaSource.SCREEN, MediaSource.CAMERA] if kind is MediaKind.VIDEO else [MediaSource.MICROPHONE]
    for source in order:
        for track in tracks:
            if track.kind is kind and track.source is source:
                return track
    return next((t for t in tracks if t.kind is kind), None)
