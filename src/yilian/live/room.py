"""A room: who is in it, who presents and who has control, the viewer state, and the rules for host controls.

Every refusal is a `LiveError` for the one peer that asked; the room is unchanged by it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from yilian.live.protocol import (
    MAX_DATA_BYTES,
    Chat,
    ControlRequested,
    LiveErrorCode,
    MediaKind,
    Muted,
    Pointer,
    PointerBroadcast,
    Presence,
    RoomInfo,
    RoomRole,
    ServerMessage,
    StateBroadcast,
    StateUpdate,
    data_message,
)

if TYPE_CHECKING:
    from yilian.live.forwarding import PublishedTrack
    from yilian.live.hls.packager import LecturePackager
    from yilian.live.peer import Peer
    from yilian.live.recording import RoomRecording


class LiveError(Exception):
    """A refusal for one peer, sent as `error {code, message}`."""

    def __init__(self, code: LiveErrorCode, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


@dataclass
class Room:
    room_id: str
    capacity: int
    max_video_bitrate: int
    peers: dict[str, Peer] = field(default_factory=dict)
    presenter_id: str | None = None
    controller_id: str | None = None
    state_seq: int = 0
    last_state: StateBroadcast | None = None
    chat_seq: int = 0
    recording: RoomRecording | None = None
    lecture_room: bool = False
    lecture: LecturePackager | None = None  # a lecture room's HLS packager (None only in the bench's baseline)
    video_codec: str | None = None  # fixed by the first video publisher (subscribers are offered the same)

    # --- membership -------------------------------------------------------------------------------------

    def admit(self, peer: Peer) -> None:
        if len(self.peers) >= self.capacity:
            raise LiveError(LiveErrorCode.ROOM_FULL, f"room {self.room_id} is full ({self.capacity})", fatal=True)
        self.peers[peer.participant_id] = peer
        if peer.assertion.presenter or (self.presenter_id is None and peer.room_role is RoomRole.HOST):
            self.presenter_id = peer.participant_id

    def leave(self, peer: Peer) -> None:
        if self.peers.pop(peer.participant_id, None) is None:
            return
        if self.controller_id == peer.participant_id:
            self.controller_id = None
        if self.presenter_id == peer.participant_id:
            # The role falls back to a host still here; with none, the next host to join takes it.
            self.presenter_id = next(
                (p.participant_id for p in self.peers.values() if p.room_role is RoomRole.HOST), None
            )
            self.controller_id = None

    def video_codecs(self) -> list[str]:
        """What a publisher's video may be. A consult forwards VP8 only. A lecture prefers H.264 (remuxed into HLS
        with no encoder) and takes VP8 (transcoded once); the first publisher's codec then holds for the room, so
        every subscriber's transceiver can carry every publisher's packets."""
        if self.video_codec is not None:
            return [self.video_codec]
        return ["video/H264", "video/VP8"] if self.lecture_room else ["video/VP8"]

    def published_tracks(self) -> Iterator[PublishedTrack]:
        for peer in self.peers.values():
            yield from peer.published.values()

    def presence(self) -> Presence:
        return Presence(
            participants=[peer.participant() for peer in self.peers.values()],
            presenter_id=self.presenter_id,
            controller_id=self.controller_id,
            recording=self.recording is not None and self.recording.writing,
        )

    def info(self) -> RoomInfo:
        presence = self.presence()
        return RoomInfo(
            room_id=self.room_id,
            capacity=self.capacity,
            max_video_bitrate=self.max_video_bitrate,
            participants=presence.participants,
            presenter_id=self.presenter_id,
            recording=presence.recording,
            state_seq=self.state_seq,
            lecture=self.lecture.info() if self.lecture is not None else None,
        )

    def broadcast(self, message: ServerMessage) -> None:
        for peer in self.peers.values():
            peer.send(message)

    def announce(self) -> None:
        """After any change of membership, roles, mutes or recording: everyone gets the whole room (a recording first
        pauses or resumes for who is now here)."""
        if self.recording is not None:
            self.recording.review(self)
        self.broadcast(self.presence())

    def publications_changed(self) -> None:
        """A publisher came or went: every other peer renegotiates (each one only if its tracks changed)."""
        for peer in self.peers.values():
            peer.schedule_renegotiation()
        self.media_changed()

    def media_changed(self) -> None:
        """Publications or the presenter changed: a lecture's packager follows the presenter."""
        if self.lecture is not None:
            self.lecture.select(self)

    # --- host controls ----------------------------------------------------------------------------------

    def _target(self, participant_id: str) -> Peer:
        target = self.peers.get(participant_id)
        if target is None:
            raise LiveError(LiveErrorCode.UNKNOWN_PARTICIPANT, f"no participant {participant_id} in this room")
        return target

    def set_muted(self, actor: Peer, participant_id: str, kind: MediaKind, muted: bool) -> None:
        target = self._target(participant_id)
        if target is not actor and (actor.room_role is not RoomRole.HOST or not muted):
            raise LiveError(
                LiveErrorCode.NOT_ALLOWED, "only the host mutes others, and only the participant unmutes themselves"
            )
        target.set_muted(kind, muted)
        if target is not actor:
            target.send(Muted(kind=kind, muted=muted, by=actor.participant_id))
        self.announce()

    def remove(self, actor: Peer, participant_id: str) -> Peer:
        if actor.room_role is not RoomRole.HOST:
            raise LiveError(LiveErrorCode.NOT_ALLOWED, "only the host removes participants")
        target = self._target(participant_id)
        if target is actor:
            raise LiveError(LiveErrorCode.NOT_ALLOWED, "the host leaves, not removes themselves")
        return target

    def hand_over_presenter(self, actor: Peer, participant_id: str) -> None:
        if actor.room_role is not RoomRole.HOST and actor.participant_id != self.presenter_id:
            raise LiveError(LiveErrorCode.NOT_ALLOWED, "only the host or the presenter hands over the presenter role")
        self.presenter_id = self._target(participant_id).participant_id
        self.controller_id = None
        self.media_changed()
        self.announce()

    def request_control(self, actor: Peer) -> None:
        request = ControlRequested(participant_id=actor.participant_id)
        for peer in self.peers.values():
            if peer is not actor and (peer.participant_id == self.presenter_id or peer.room_role is RoomRole.HOST):
                peer.send(request)

    def grant_control(self, actor: Peer, participant_id: str | None) -> None:
        if actor.room_role is not RoomRole.HOST and actor.participant_id != self.presenter_id:
            raise LiveError(LiveErrorCode.NOT_ALLOWED, "only the presenter or the host grants control")
        self.controller_id = None if participant_id is None else self._target(participant_id).participant_id
        self.announce()

    def chat(self, actor: Peer, text: str) -> None:
        self.chat_seq += 1
        self.broadcast(
            Chat(
                seq=self.chat_seq,
                participant_id=actor.participant_id,
                display_name=actor.assertion.display_name,
                text=text,
                at=time.time(),
            )
        )

    # --- synchronised viewing (data channel) -------------------------------------------------------------

    def may_drive(self, peer: Peer) -> bool:
        return peer.participant_id in (self.presenter_id, self.controller_id)

    def relay_data(self, sender: Peer, raw: str | bytes) -> None:
        """One data-channel message from `sender`: checked, stamped and sent to every open channel."""
        if len(raw) > MAX_DATA_BYTES:
            raise LiveError(
                LiveErrorCode.MESSAGE_TOO_LARGE, f"data-channel message of {len(raw)} bytes (limit {MAX_DATA_BYTES})"
            )
        try:
            message = data_message.validate_json(raw)
        except ValidationError as exc:
            raise LiveError(
                LiveErrorCode.MALFORMED_MESSAGE, f"data-channel message refused: {exc.errors()[:1]}"
            ) from exc
        if not self.may_drive(sender):
            raise LiveError(LiveErrorCode.NOT_ALLOWED, "only the presenter, or whoever has control, drives the view")
        if isinstance(message, StateUpdate):
            self.state_seq += 1
            self.last_state = StateBroadcast(
                seq=self.state_seq, participant_id=sender.participant_id, sent_at=time.time(), state=message.state
            )
            text = self.last_state.model_dump_json()
        elif isinstance(message, Pointer):
            text = PointerBroadcast(
                participant_id=sender.participant_id,
                sop_instance_uid=message.sop_instance_uid,
                x=message.x,
                y=message.y,
            ).model_dump_json()
        else:
            raise LiveError(LiveErrorCode.MALFORMED_MESSAGE, f"{message.type} is sent by the server only")
        for peer in self.peers.values():
            peer.send_data(text)
