"""A participant written in Python, speaking the live protocol: the tests' peers, the bench's publishers and probes,
and an aiortc publisher for end-to-end tests. Browsers do the same in web/ (docs/live.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from websockets.asyncio.client import ClientConnection, connect

from yilian.live.protocol import (
    DATA_CHANNEL_ID,
    DATA_CHANNEL_LABEL,
    MAX_SIGNAL_BYTES,
    Answer,
    ClientMessage,
    ErrorMessage,
    Join,
    Joined,
    MediaSource,
    Offer,
    Presence,
    ServerAnswer,
    ServerMessage,
    ServerOffer,
    StateBroadcast,
    StateUpdate,
    TrackInfo,
    ViewerState,
    data_message,
    server_message,
)


@dataclass
class ReceivedTrack:
    mid: str
    track: MediaStreamTrack
    receiver: RTCRtpReceiver
    info: TrackInfo | None = None


@dataclass
class LiveClient:
    """Connect, join, publish what `publish` names, follow the server's renegotiations, record what arrives."""

    url: str  # ws://host:port/ws
    join: Join
    publish: list[tuple[MediaStreamTrack, MediaSource]] = field(default_factory=list)
    on_track: Callable[[ReceivedTrack], None] | None = None
    joined: Joined | None = None
    presence: Presence | None = None
    errors: list[ErrorMessage] = field(default_factory=list)
    messages: list[ServerMessage] = field(default_factory=list)
    states: list[StateBroadcast] = field(default_factory=list)
    data: list[Any] = field(default_factory=list)
    tracks: dict[str, ReceivedTrack] = field(default_factory=dict)
    closed_with: int | None = None
    negotiation_timeout: float = 20.0  # seconds; the bench on a crowded host gives more
    video_codec: str | None = None  # offer only this video codec ("video/H264", "video/VP8"); None: aiortc's list

    def __post_init__(self) -> None:
        # Balanced bundling: aiortc 1.16 with max-bundle stops the shared transport when the answer bundles a data
        # channel made before the transceivers.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel(DATA_CHANNEL_LABEL, negotiated=True, id=DATA_CHANNEL_ID, ordered=True)
        self.channel.on("message", self._on_data)
        self.pc.on("track", self._on_track)
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._negotiated = asyncio.Event()
        self._track_infos: dict[str, TrackInfo] = {}

    async def connect(self) -> None:
        """Open the socket and send `join`; `joined` (or a refusal) arrives through the reader."""
        self._socket = await connect(self.url, max_size=4 * MAX_SIGNAL_BYTES)
        self._reader = asyncio.create_task(self._read())
        await self.send(self.join)

    async def start(self) -> None:
        """Join, then make the first offer with the published tracks and the data channel."""
        await self.connect()
        await self.offer()

    async def offer(self) -> None:
        self._negotiated.clear()
        sources = {}
        for track, source in self.publish:
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if self.video_codec is not None and track.kind == "video":
                codecs = RTCRtpSender.getCapabilities("video").codecs
                wanted = self.video_codec.lower()
                transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in (wanted, "video/rtx")])
            sources[track.id] = (transceiver, source)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = {transceiver.mid: source for transceiver, source in sources.values() if transceiver.mid}
        await self.send(Offer(sdp=self.pc.localDescription.sdp, sources=mids))

    async def negotiated(self) -> None:
        """The server answered our offer, or we answered its offer (fails by name at `negotiation_timeout`)."""
        try:
            await asyncio.wait_for(self._negotiated.wait(), self.negotiation_timeout)
        except TimeoutError as exc:
            within = f"{self.negotiation_timeout:.0f} s"
            raise TimeoutError(f"no negotiation with the live process within {within}; errors {self.errors}") from exc

    async def send(self, message: ClientMessage) -> None:
        assert self._socket is not None
        await self._socket.send(message.model_dump_json())

    async def send_raw(self, text: str) -> None:
        assert self._socket is not None
        await self._socket.send(text)

    def send_state(self, state: ViewerState) -> None:
        self.channel.send(StateUpdate(state=state).model_dump_json())

    async def _read(self) -> None:
        assert self._socket is not None
        try:
            async for text in self._socket:
                message = server_message.validate_json(text)
                await self._handle(message)
        except Exception:  # a closed socket ends the reader; the close code says why
            pass
        finally:
            self.closed_with = self._socket.close_code if self._socket.close_code is not None else -1

    async def _handle(self, message: ServerMessage) -> None:
        if isinstance(message, Joined):
            self.joined = message
        elif isinstance(message, Presence):
            self.presence = message
        elif isinstance(message, ErrorMessage):
            self.errors.append(message)
        elif isinstance(message, ServerAnswer):
            self._remember(message.tracks)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="answer"))
            self._negotiated.set()
        elif isinstance(message, ServerOffer):
            self._remember(message.tracks)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.send(Answer(sdp=self.pc.localDescription.sdp))
            self._negotiated.set()
        self.messages.append(message)

    def _remember(self, tracks: list[TrackInfo]) -> None:
        self._track_infos = {info.mid: info for info in tracks}
        for mid, received in self.tracks.items():
            received.info = self._track_infos.get(mid)

    def _on_track(self, track: MediaStreamTrack) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid is not None:
                received = ReceivedTrack(
                    transceiver.mid, track, transceiver.receiver, self._track_infos.get(transceiver.mid)
                )
                self.tracks[transceiver.mid] = received
                if self.on_track is not None:
                    self.on_track(received)

    def _on_data(self, raw: str | bytes) -> None:
        try:
            message = data_message.validate_json(raw)
        except ValueError:
            self.data.append(json.loads(raw))
            return
        if isinstance(message, StateBroadcast):
            self.states.append(message)
        self.data.append(message)

    def tracks_from(self, participant_id: str) -> list[ReceivedTrack]:
        return [t for t in self.tracks.values() if t.info is not None and t.info.participant_id == participant_id]

    async def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)
        await self.pc.close()
