"""One participant's connection: its RTCPeerConnection, what it publishes, what it receives, and negotiation.

The browser offers first (what it sends, and the data channel); after that the server renegotiates whenever the
set of tracks it should forward to this peer changes. Negotiations are serialised by a lock; a client offer that
crosses an outstanding server offer is refused with `glare` (the browser is the polite peer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import RTCDataChannel, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.sdp import SessionDescription, candidate_from_sdp

from yilian.live import aiortc_internals
from yilian.live.forwarding import OutboundStream, PublishedTrack
from yilian.live.ice import IceConfig
from yilian.live.protocol import (
    DATA_CHANNEL_ID,
    DATA_CHANNEL_LABEL,
    Candidate,
    ErrorMessage,
    LiveAssertion,
    LiveErrorCode,
    MediaKind,
    MediaSource,
    Participant,
    ServerAnswer,
    ServerMessage,
    ServerOffer,
    TrackInfo,
)
from yilian.live.room import LiveError, Room

log = logging.getLogger(__name__)

CODEC = {MediaKind.VIDEO: "video/VP8", MediaKind.AUDIO: "audio/opus"}
DEFAULT_SOURCE = {MediaKind.VIDEO: MediaSource.CAMERA, MediaKind.AUDIO: MediaSource.MICROPHONE}
SENDING = {"sendonly", "sendrecv"}
_participant_numbers = itertools.count(1)


@dataclass
class OutboundSlot:
    """A sending transceiver on this peer's connection; reused (inactive in between) as publishers come and go."""

    transceiver: RTCRtpTransceiver
    kind: MediaKind
    stream: OutboundStream


class Peer:
    def __init__(
        self,
        room: Room,
        assertion: LiveAssertion,
        *,
        ice: IceConfig,
        receive_video: bool,
        send: Callable[[ServerMessage], None],
        close: Callable[[int], None],
    ) -> None:
        self.room = room
        self.assertion = assertion
        self.participant_id = f"p{next(_participant_numbers)}-{uuid.uuid4().hex[:8]}"
        self.room_role = assertion.room_role
        self.receive_video = receive_video
        self.joined_at = time.time()
        self.muted: set[MediaKind] = set()
        self.published: dict[str, PublishedTrack] = {}  # by this connection's mid
        self.slots: dict[str, OutboundSlot] = {}  # by mid once negotiated
        self._new_slots: list[OutboundSlot] = []  # added, not yet in an offer
        self._send = send
        self.close_socket = close
        self.pc = RTCPeerConnection(ice.for_server())
        # Created once the first offer is applied: aiortc 1.16 with max-bundle stops the shared transport when a
        # data channel made before the transceivers is bundled onto it.
        self.channel: RTCDataChannel | None = None
        self._connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._on_connection_state)
        self._negotiation = asyncio.Lock()
        self._offered = False  # the client's first offer was answered
        self._server_offer_outstanding = False
        self._renegotiation_wanted = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # --- identity -------------------------------------------------------------------------------------------

    def participant(self) -> Participant:
        return Participant(
            participant_id=self.participant_id,
            user_id=self.assertion.user_id,
            display_name=self.assertion.display_name,
            hospital=self.assertion.hospital,
            user_role=self.assertion.user_role,
            room_role=self.room_role,
            publishing=sorted({track.source for track in self.published.values()}),
            muted=sorted(self.muted),
            joined_at=self.joined_at,
        )

    def send(self, message: ServerMessage) -> None:
        if not self.closed:
            self._send(message)

    def send_data(self, text: str) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)

    # --- negotiation ----------------------------------------------------------------------------------------

    async def handle_offer(self, sdp: str, sources: dict[str, MediaSource]) -> None:
        parsed = _parse_sdp(sdp)
        async with self._negotiation:
            if self._server_offer_outstanding:
                raise LiveError(LiveErrorCode.GLARE, "answer the server's offer first, then offer again")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except Exception as exc:  # aiortc raises ValueError, OperationError, InvalidStateError, AssertionError
                raise LiveError(LiveErrorCode.MALFORMED_SDP, f"offer refused: {exc}") from exc
            if self.channel is None and any(media.kind == "application" for media in parsed.media):
                self.channel = self.pc.createDataChannel(
                    DATA_CHANNEL_LABEL, negotiated=True, id=DATA_CHANNEL_ID, ordered=True
                )
                self.channel.on("open", self._on_channel_open)
                self.channel.on("message", self._on_channel_message)
            changed = self._apply_publications(parsed, sources)
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            self.send(ServerAnswer(sdp=self.pc.localDescription.sdp, tracks=self.track_infos()))
            first = not self._offered
            self._offered = True
        if changed:
            self.room.publications_changed()
            self.room.announce()
        if first or self._renegotiation_wanted:
            self.schedule_renegotiation()

    def _apply_publications(self, parsed: SessionDescription, sources: dict[str, MediaSource]) -> bool:
        """Start forwarding the tracks the client now sends, stop those it no longer sends."""
        changed = False
        by_mid = {t.mid: t for t in self.pc.getTransceivers() if t.mid is not None}
        for media in parsed.media:
            if media.kind not in ("audio", "video") or media.rtp.muxId in self.slots:
                continue
            mid = media.rtp.muxId
            kind = MediaKind(media.kind)
            transceiver = by_mid.get(mid)
            sending = media.direction in SENDING and transceiver is not None
            if sending and mid not in self.published:
                assert transceiver is not None
                accepted = self.room.video_codecs() if kind is MediaKind.VIDEO else [CODEC[kind]]
                codec = aiortc_internals.choose_codec(transceiver, accepted)
                if codec is None:
                    raise LiveError(
                        LiveErrorCode.MALFORMED_SDP,
                        f"{media.kind} must be offered as {' or '.join(accepted)}",
                        fatal=True,
                    )
                if kind is MediaKind.VIDEO:
                    self.room.video_codec = codec
                transceiver.direction = "recvonly"
                track = PublishedTrack(
                    f"{self.participant_id}-{mid}",
                    self.participant_id,
                    kind,
                    sources.get(mid, DEFAULT_SOURCE[kind]),
                    transceiver.receiver,
                    max_bitrate=lambda: self.room.max_video_bitrate,
                    codec=codec,
                )
                track.set_muted(kind in self.muted)
                self.published[mid] = track
                if self.room.recording is not None:
                    self.room.recording.add_track(self, track)
                changed = True
            elif not sending and mid in self.published:
                self._unpublish(mid)
                changed = True
        return changed

    def _unpublish(self, mid: str) -> None:
        track = self.published.pop(mid)
        track.close()
        if self.room.recording is not None:
            self.room.recording.remove_track(track)

    def schedule_renegotiation(self) -> None:
        if self.closed or not self._offered:
            return
        if self._server_offer_outstanding or self._negotiation.locked():
            self._renegotiation_wanted = True
            return
        self._spawn(self._renegotiate)

    def _on_connection_state(self) -> None:
        if self.pc.connectionState == "connected":
            self._connected.set()

    async def _renegotiate(self) -> None:
        # Offer only once the transport is up: aiortc starts the senders of an answered offer only if DTLS is
        # connected at that moment, and does not come back to them when it connects later.
        # (A peer that never connects waits here until it closes.)
        await self._connected.wait()
        async with self._negotiation:
            if self.closed or self._server_offer_outstanding:
                self._renegotiation_wanted = True
                return
            self._renegotiation_wanted = False
            if not self._sync_slots():
                return
            offer = await aiortc_internals.create_offer(self.pc)  # keeps the client's extension ids
            await self.pc.setLocalDescription(offer)
            for slot in self._new_slots:
                assert slot.transceiver.mid is not None
                self.slots[slot.transceiver.mid] = slot
            self._new_slots.clear()
            self._server_offer_outstanding = True
            self.send(ServerOffer(sdp=self.pc.localDescription.sdp, tracks=self.track_infos()))

    def _all_slots(self) -> list[OutboundSlot]:
        return [*self.slots.values(), *self._new_slots]

    def _sync_slots(self) -> bool:
        """Make the sending transceivers match the room's tracks this peer should receive. True if changed."""
        wanted = {
            track.track_id: track
            for track in self.room.published_tracks()
            if track.participant_id != self.participant_id and (self.receive_video or track.kind is MediaKind.AUDIO)
        }
        changed = False
        for slot in self._all_slots():
            source = slot.stream.source
            if source is not None and source.track_id not in wanted:
                source.detach(slot.stream)
                slot.transceiver.direction = "inactive"
                changed = True
        served = {slot.stream.source.track_id for slot in self._all_slots() if slot.stream.source is not None}
        for track_id, track in wanted.items():
            if track_id in served:
                continue
            free = [s for s in self._all_slots() if s.kind is track.kind and s.stream.source is None]
            slot = free[0] if free else self._add_slot(track.kind)
            track.attach(slot.stream)
            slot.transceiver.direction = "sendonly"
            changed = True
        return changed

    def _add_slot(self, kind: MediaKind) -> OutboundSlot:
        transceiver = self.pc.addTransceiver(aiortc_internals.SilentTrack(kind.value), direction="sendonly")
        codec = self.room.video_codec if kind is MediaKind.VIDEO and self.room.video_codec else CODEC[kind]
        aiortc_internals.restrict_codecs(transceiver, codec)
        holder: list[OutboundStream] = []

        def keyframe_wanted() -> None:  # a PLI or FIR from this subscriber
            if holder and holder[0].source is not None:
                holder[0].source.request_keyframe()

        stream = OutboundStream(aiortc_internals.SenderPort(transceiver.sender, keyframe_wanted), kind)
        holder.append(stream)
        slot = OutboundSlot(transceiver, kind, stream)
        self._new_slots.append(slot)
        return slot

    async def handle_answer(self, sdp: str) -> None:
        _parse_sdp(sdp)
        async with self._negotiation:
            if not self._server_offer_outstanding:
                raise LiveError(LiveErrorCode.MALFORMED_MESSAGE, "no server offer is waiting for an answer")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except Exception as exc:
                raise LiveError(LiveErrorCode.MALFORMED_SDP, f"answer refused: {exc}") from exc
            self._server_offer_outstanding = False
        if self._renegotiation_wanted:
            self.schedule_renegotiation()

    async def handle_candidate(self, message: Candidate) -> None:
        if not message.candidate:
            return  # end of candidates: aiortc needs no signal
        text = message.candidate.removeprefix("candidate:")
        try:
            candidate = candidate_from_sdp(text)
        except (AssertionError, ValueError, IndexError) as exc:
            raise LiveError(LiveErrorCode.MALFORMED_MESSAGE, f"ICE candidate refused: {exc}") from exc
        candidate.sdpMid = message.sdp_mid
        candidate.sdpMLineIndex = message.sdp_mline_index
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        await self.pc.addIceCandidate(candidate)

    def track_infos(self) -> list[TrackInfo]:
        infos = []
        for mid, slot in self.slots.items():
            source = slot.stream.source
            if source is not None:
                infos.append(
                    TrackInfo(mid=mid, participant_id=source.participant_id, kind=source.kind, source=source.source)
                )
        return infos

    # --- mute and data --------------------------------------------------------------------------------------

    def set_muted(self, kind: MediaKind, muted: bool) -> None:
        if muted:
            self.muted.add(kind)
        else:
            self.muted.discard(kind)
        for track in self.published.values():
            if track.kind is kind:
                track.set_muted(muted)

    def _on_channel_open(self) -> None:
        # A late joiner lands on the current view before any newer update.
        if self.room.last_state is not None:
            self.send_data(self.room.last_state.model_dump_json())

    def _on_channel_message(self, raw: str | bytes) -> None:
        try:
            self.room.relay_data(self, raw)
        except LiveError as exc:
            self.send(ErrorMessage(code=exc.code, message=exc.message, ref="data_channel"))

    # --- life -----------------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for mid in list(self.published):
            self._unpublish(mid)
        for slot in self._all_slots():
            if slot.stream.source is not None:
                slot.stream.source.detach(slot.stream)
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()

    def _spawn(self, work: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.ensure_future(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("renegotiation of %s failed", self.participant_id)
            self.send(ErrorMessage(code=LiveErrorCode.INTERNAL, message="renegotiation failed"))


def _parse_sdp(sdp: str) -> SessionDescription:
    """aiortc's parser skips lines it does not know, so a text that is not SDP at all parses to nothing: insist on
    the version line and at least one media section before anything is applied."""
    if not sdp.lstrip().startswith("v=0"):
        raise LiveError(LiveErrorCode.MALFORMED_SDP, "SDP must start with v=0")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises whatever the text provokes
        raise LiveError(LiveErrorCode.MALFORMED_SDP, f"SDP could not be parsed: {exc}") from exc
    if not parsed.media:
        raise LiveError(LiveErrorCode.MALFORMED_SDP, "SDP has no media section")
    return parsed
