"""Packet forwarding: a publisher's track fans its RTP out to each subscriber's sender, renumbered for that sender.

No decode, no encode: each packet is copied with its SSRC, sequence number and timestamp rewritten into the
subscriber sender's numbering (so a subscriber sees one continuous stream per transceiver even when the
publisher behind it changes, or was muted for a while), and kept in the sender's history for NACK/RTX.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt, uint32_gt

from yilian.live import aiortc_internals, h264, vp8
from yilian.live.protocol import MediaKind, MediaSource

# A PLI makes the publisher encode a keyframe (~10x a delta frame): ask at most this often per track.
KEYFRAME_REQUEST_INTERVAL = 0.5
# When a stream restarts, its timestamps continue one frame after the last ones sent (90 kHz video at 15 fps,
# 48 kHz Opus at 20 ms), so a receiver's jitter buffer sees time move forward, not back.
TIMESTAMP_STEP = {MediaKind.VIDEO: 6000, MediaKind.AUDIO: 960}


class PacketSink(Protocol):
    """Anything else that wants a published track's packets (the recorder)."""

    def add(self, packet: RtpPacket, keyframe: bool) -> None: ...


class OutboundStream:
    """One subscriber's copy of one published track, written through one of the subscriber's senders."""

    def __init__(self, port: aiortc_internals.SenderPort, kind: MediaKind) -> None:
        self.port = port
        self.kind = kind
        self.source: PublishedTrack | None = None
        self._next_seq = random.randint(0, 32767)  # lower half: SRTP rollover stays far away (as aiortc does)
        self._last_timestamp: int | None = None
        self._seq_offset: int | None = None
        self._ts_offset = 0
        self.packets_sent = 0

    def restart(self) -> None:
        """The next packet starts a new run: numbering continues from where it stopped, video at a keyframe."""
        self._seq_offset = None

    async def forward(self, packet: RtpPacket, keyframe: bool, clock: aiortc_internals.SendClock) -> None:
        if not self.port.ready:
            return
        if self._seq_offset is None:
            if self.kind is MediaKind.VIDEO and not keyframe:
                if self.source is not None:
                    self.source.request_keyframe()
                return
            self._seq_offset = (self._next_seq - packet.sequence_number) & 0xFFFF
            if self._last_timestamp is None:
                self._ts_offset = (random.getrandbits(32) - packet.timestamp) & 0xFFFFFFFF
            else:
                target = (self._last_timestamp + TIMESTAMP_STEP[self.kind]) & 0xFFFFFFFF
                self._ts_offset = (target - packet.timestamp) & 0xFFFFFFFF
        sequence_number = (packet.sequence_number + self._seq_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        await self.port.write(
            packet.marker, sequence_number, timestamp, packet.payload, clock, packet.extensions.audio_level
        )
        self.packets_sent += 1
        if not uint16_gt(self._next_seq, sequence_number):  # not a late retransmission: the run moves on
            self._next_seq = uint16_add(sequence_number, 1)
        if self._last_timestamp is None or uint32_gt(timestamp, self._last_timestamp):
            self._last_timestamp = timestamp


class PublishedTrack:
    """A track a participant sends to the room: tapped from its receiver, fanned out to the outbound streams."""

    def __init__(
        self,
        track_id: str,
        participant_id: str,
        kind: MediaKind,
        source: MediaSource,
        receiver: RTCRtpReceiver,
        max_bitrate: Callable[[], int],
        codec: str = "video/VP8",
    ) -> None:
        self.track_id = track_id
        self.codec = codec  # the negotiated mime type (a lecture room's video may be H.264)
        self._is_keyframe_start = h264.is_keyframe_start if codec.lower() == "video/h264" else vp8.is_keyframe_start
        self.participant_id = participant_id
        self.kind = kind
        self.source = source
        self.receiver = receiver
        self.outbound: set[OutboundStream] = set()
        self.sinks: list[PacketSink] = []
        self.media_ssrc: int | None = None
        self.muted = False
        self.packets_received = 0
        self._max_bitrate = max_bitrate
        self._last_keyframe_request = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        aiortc_internals.tap_receiver(receiver, self.on_packet)
        if kind is MediaKind.VIDEO:
            aiortc_internals.cap_receiver_bitrate(receiver, max_bitrate)

    async def on_packet(self, packet: RtpPacket) -> None:
        self.packets_received += 1
        if self.media_ssrc is None:
            self.media_ssrc = packet.ssrc
            if self.kind is MediaKind.VIDEO:
                self._spawn(aiortc_internals.send_remb(self.receiver, self._max_bitrate(), packet.ssrc))
        if self.muted:
            return
        keyframe = self.kind is MediaKind.VIDEO and self._is_keyframe_start(packet.payload)
        clock = aiortc_internals.SendClock()
        for stream in tuple(self.outbound):
            await stream.forward(packet, keyframe, clock)
        for sink in self.sinks:
            sink.add(packet, keyframe)

    def attach(self, stream: OutboundStream) -> None:
        if stream.source is not None:
            stream.source.detach(stream)
        stream.source = self
        stream.restart()
        self.outbound.add(stream)
        self.request_keyframe()

    def detach(self, stream: OutboundStream) -> None:
        self.outbound.discard(stream)
        if stream.source is self:
            stream.source = None

    def set_muted(self, muted: bool) -> None:
        if self.muted and not muted:
            for stream in self.outbound:
                stream.restart()
            self.request_keyframe()
        self.muted = muted

    def request_keyframe(self) -> None:
        """Forward a subscriber's need for a keyframe (a PLI or FIR, or it just joined) to the publisher."""
        if self.kind is not MediaKind.VIDEO or self.media_ssrc is None:
            return
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_keyframe_request = now
        self._spawn(aiortc_internals.request_keyframe(self.receiver, self.media_ssrc))

    def close(self) -> None:
        for stream in tuple(self.outbound):
            self.detach(stream)
        for task in self._tasks:
            task.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
