"""Packet-copy recording: each publisher's VP8 and Opus, as received, muxed into WebM with PyAV. No decode, no
encode (about 0% of a core, live-media.md 0.3); started by the API only once every participant consented.

One file per publisher (camera and microphone together); a track published later (a screen share) gets its own.
Consent is enforced here too, so no race with the API can record anyone who did not consent: the recording writes
only while every user in the room is among those the API says consented; otherwise it is paused (all files closed),
and it resumes in new files.
A file's header is written at its first video keyframe (its size is in it), or its first audio packet when it has
no video; what came before is not recorded.
"""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from yilian.live.forwarding import PublishedTrack
from yilian.live.protocol import MediaKind, RecordingFile, RecordingInfo
from yilian.live.vp8 import keyframe_size

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.stream import Stream

    from yilian.live.peer import Peer
    from yilian.live.room import Room

log = logging.getLogger(__name__)

CLOCK = {MediaKind.VIDEO: 90_000, MediaKind.AUDIO: 48_000}
# RFC 7845 5.1 identification header: version 1, 2 channels, 312 samples pre-skip, 48 kHz, gain 0, mapping 0.
# Matroska carries it as the Opus track's CodecPrivate; players want it.
OPUS_HEAD = b"OpusHead" + bytes([1, 2]) + (312).to_bytes(2, "little") + (48_000).to_bytes(4, "little") + bytes(3)


class _TrackInput:
    """One track's packets on their way into a file: VP8 reassembled into frames, RTP time made file time."""

    def __init__(self, file: PublisherFile, track: PublishedTrack) -> None:
        self.file = file
        self.track = track
        self.kind = track.kind
        self.stream: Stream | None = None
        self._frames = JitterBuffer(capacity=128, is_video=True) if track.kind is MediaKind.VIDEO else None
        self._first_timestamp: int | None = None
        self._offset = 0
        self._last_pts = -1

    def add(self, packet: RtpPacket, keyframe: bool) -> None:
        try:
            self._add(packet)
        except Exception:  # a recording problem must never disturb forwarding
            log.exception("recording %s: packet dropped", self.file.path.name)

    def _add(self, packet: RtpPacket) -> None:
        data: bytes = getattr(packet, "_data", packet.payload)
        if self._frames is None:
            self.file.write(self, data, packet.timestamp, keyframe=True)
            return
        _, frame = self._frames.add(packet)
        if frame is not None:
            self.file.write(self, frame.data, frame.timestamp, keyframe=not frame.data[0] & 0x01)

    def pts(self, rtp_timestamp: int, now: float) -> int | None:
        """File time in this stream's clock; None for a packet that would go back in time."""
        if self._first_timestamp is None:
            self._first_timestamp = rtp_timestamp
            self._offset = int((now - self.file.opened_at) * CLOCK[self.kind])
        pts = ((rtp_timestamp - self._first_timestamp) & 0xFFFFFFFF) + self._offset
        if pts <= self._last_pts:
            return None
        self._last_pts = pts
        return pts


class PublisherFile:
    """One WebM for one publisher's tracks."""

    def __init__(self, path: Path, peer: Peer, tracks: list[PublishedTrack]) -> None:
        self.path = path
        self.participant_id = peer.participant_id
        self.user_id = peer.assertion.user_id
        self.inputs = [_TrackInput(self, track) for track in tracks]
        self.container: OutputContainer | None = None
        self.opened_at = 0.0
        for item in self.inputs:
            item.track.sinks.append(item)

    @property
    def has_video(self) -> bool:
        return any(item.kind is MediaKind.VIDEO for item in self.inputs)

    def _open(self, video_size: tuple[int, int] | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format="webm")
        for item in self.inputs:
            stream: Stream
            if item.kind is MediaKind.VIDEO:
                if video_size is None:
                    continue
                video = container.add_stream("vp8")
                video.width, video.height = video_size
                stream = video
            else:
                audio = container.add_stream("opus", rate=48_000)
                audio.codec_context.extradata = OPUS_HEAD
                stream = audio
            stream.time_base = Fraction(1, CLOCK[item.kind])
            item.stream = stream
        self.container = container
        self.opened_at = time.time()

    def write(self, item: _TrackInput, data: bytes, rtp_timestamp: int, *, keyframe: bool) -> None:
        if self.container is None:
            if item.kind is MediaKind.VIDEO:
                size = keyframe_size(data) if keyframe else None
                if size is None:
                    return
                self._open(size)
            elif self.has_video:
                return  # the file starts at its first keyframe
            else:
                self._open(None)
        if item.stream is None:
            return
        pts = item.pts(rtp_timestamp, time.time())
        if pts is None:
            return
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, CLOCK[item.kind])
        packet.stream = item.stream
        packet.is_keyframe = keyframe
        assert self.container is not None
        self.container.mux(packet)

    def detach(self, track: PublishedTrack) -> None:
        for item in self.inputs:
            if item.track is track and item in track.sinks:
                track.sinks.remove(item)

    def close(self) -> bool:
        """True when the file was written (it had its first keyframe, or audio)."""
        for item in self.inputs:
            self.detach(item.track)
        if self.container is None:
            return False
        self.container.close()
        self.container = None
        return True


class RoomRecording:
    def __init__(self, room: Room, root: Path, directory: str, consented: set[str]) -> None:
        self.room_id = room.room_id
        self.root = root
        self.directory = root / directory
        self.files: list[PublisherFile] = []
        self.closed: list[RecordingFile] = []
        self.consented = consented
        self.waiting_for: list[str] = []
        self._count = 0
        self.active = True
        self.paused = True  # until `review` finds everyone present consented

    @classmethod
    def start(cls, room: Room, root: Path, directory: str, consented: set[str]) -> RoomRecording:
        recording = cls(room, root.resolve(), directory, consented)
        if not recording.directory.resolve().is_relative_to(recording.root):
            raise ValueError("recording directory outside the recordings root")
        recording.review(room)
        return recording

    @property
    def writing(self) -> bool:
        return self.active and not self.paused

    def review(self, room: Room) -> None:
        """After any change of who is in the room or who consented: pause or resume."""
        present = {peer.assertion.user_id for peer in room.peers.values()}
        self.waiting_for = sorted(present - self.consented)
        allowed = self.active and bool(present) and not self.waiting_for
        if allowed and self.paused:
            self.paused = False
            for peer in room.peers.values():
                if peer.published:
                    self._add_file(peer, list(peer.published.values()))
        elif not allowed and not self.paused:
            self.paused = True
            self._close_files()

    def _add_file(self, peer: Peer, tracks: list[PublishedTrack]) -> None:
        self._count += 1
        name = f"{self._count:03d}-{peer.assertion.user_id}-{peer.participant_id}.webm"
        self.files.append(PublisherFile(self.directory / name, peer, tracks))
        for track in tracks:  # a file starts at a keyframe: ask for one rather than wait for the next
            if track.kind is MediaKind.VIDEO:
                track.request_keyframe()

    def add_track(self, peer: Peer, track: PublishedTrack) -> None:
        """A track published while recording: with the publisher's file if that has not started, else its own."""
        if self.paused:
            return  # resuming opens files for every published track
        for file in self.files:
            if file.participant_id == peer.participant_id and file.container is None:
                if all(item.kind is not track.kind for item in file.inputs):
                    item = _TrackInput(file, track)
                    file.inputs.append(item)
                    track.sinks.append(item)
                    return
        self._add_file(peer, [track])

    def remove_track(self, track: PublishedTrack) -> None:
        for file in self.files:
            file.detach(track)

    async def stop(self) -> None:
        self._close_files()
        self.active = False

    def _close_files(self) -> None:
        for file in self.files:
            if file.close():
                self.closed.append(
                    RecordingFile(
                        participant_id=file.participant_id,
                        user_id=file.user_id,
                        path=str(file.path.relative_to(self.root)),
                        bytes=file.path.stat().st_size,
                    )
                )
        self.files = []

    def info(self) -> RecordingInfo:
        live = [
            RecordingFile(
                participant_id=file.participant_id,
                user_id=file.user_id,
                path=str(file.path.relative_to(self.root)),
                bytes=file.path.stat().st_size if file.path.exists() else 0,
            )
            for file in self.files
        ]
        return RecordingInfo(
            room_id=self.room_id,
            recording=self.active,
            paused=self.paused,
            waiting_for=self.waiting_for,
            files=live + self.closed,
        )
