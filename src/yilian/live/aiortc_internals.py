"""Everything the SFU touches inside aiortc that is not public API, in one place.

aiortc has no way to take encoded media out of a receiver or put RTP into a sender (its maintainer: "WebRTC ... is
not a pipe which blindly forwards pre-encoded data", aiortc issue 449). A packet-forwarding SFU needs both, so this
module reaches in, for aiortc 1.16.0 exactly (pinned in pyproject.toml; `check_version` refuses anything else, and
tests/live/test_aiortc_internals.py exercises every touch point against the installed aiortc):

- receive side: `RTCRtpReceiver.__jitter_buffer` is replaced by a tap. The receiver calls it with each RTP packet
  after SRTP, RTX unwrapping and NACK generation; the tap never returns a frame, so nothing is ever decoded.
  `_handle_rtp_packet` is wrapped to forward what the tap caught, in the same coroutine (no task per packet).
  `__remote_bitrate_estimator` is wrapped to cap the REMB the receiver sends to the publisher.
- send side: `RTCRtpSender.send` is wrapped to learn the negotiated payload type and header extension ids;
  packets are packed here as aiortc would serialise them, written through `transport._send_rtp`, kept in its
  `__rtp_history` so its own NACK handling retransmits them over RTX (with its `__rtp_header_extensions_map`), and
  counted in its sender-report fields. `_send_keyframe` (called on a
  PLI or FIR) is replaced to ask the publisher instead of an encoder we do not have.
- offers: `RTCPeerConnection.createOffer` resets every transceiver's `_headerExtensions` to aiortc's own ids (mid 1,
  audio level 2, abs-send-time 3). `create_offer` puts back the ids already negotiated with the peer (a browser
  refuses "RTP extension ID reassignment" on renegotiation), in the SDP and on the transceivers the senders read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from struct import pack
from typing import Any

import aiortc
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.clock import current_ntp_time
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtpPacket,
    pack_header_extensions,
    pack_remb_fci,
)

AIORTC_VERSION = "1.16.0"

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
_RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_SENDER_HISTORY = "_RTCRtpSender__rtp_history"
_SENDER_EXTENSIONS = "_RTCRtpSender__rtp_header_extensions_map"  # checked by tests: retransmissions use it
_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_SENDER_NTP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_SENDER_OCTETS = "_RTCRtpSender__octet_count"
_SENDER_PACKETS = "_RTCRtpSender__packet_count"

PacketHandler = Callable[[RtpPacket], Awaitable[None]]


def check_version() -> None:
    """Refuse to run on an aiortc whose internals we have not checked."""
    if aiortc.__version__ != AIORTC_VERSION:
        raise RuntimeError(
            f"yilian live needs aiortc {AIORTC_VERSION} (it reaches into it), found {aiortc.__version__}"
        )
    for owner, name in [
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "_send_rtcp"),
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_retransmit"),
    ]:
        if not callable(getattr(owner, name, None)):
            raise RuntimeError(f"aiortc {aiortc.__version__} has no {owner.__name__}.{name}")


# --- receive side -------------------------------------------------------------------------------------------


class PacketTap:
    """Stands in for the receiver's jitter buffer: keeps the packets it is given and never returns a frame, so
    the receiver's decoder thread stays idle."""

    def __init__(self) -> None:
        self.pending: list[RtpPacket] = []

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self.pending.append(packet)
        return False, None


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketHandler) -> PacketTap:
    """Every RTP packet the receiver accepts (RTX unwrapped) goes to `on_packet`, and is never decoded."""
    if not hasattr(receiver, _RECEIVER_JITTER_BUFFER):
        raise RuntimeError("RTCRtpReceiver has no jitter buffer to replace")
    tap = PacketTap()
    setattr(receiver, _RECEIVER_JITTER_BUFFER, tap)
    original = receiver._handle_rtp_packet

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        await original(packet, arrival_time_ms)
        while tap.pending:
            await on_packet(tap.pending.pop(0))

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    return tap


class CappedEstimator:
    """Wraps the receiver's REMB estimator: the publisher is never told it may send more than `cap()` bit/s."""

    def __init__(self, inner: Any, cap: Callable[[], int]) -> None:
        self._inner = inner
        self._cap = cap

    def add(self, **kwargs: Any) -> tuple[int, list[int]] | None:
        estimate = self._inner.add(**kwargs)
        if estimate is None:
            return None
        bitrate, ssrcs = estimate
        return min(int(bitrate), self._cap()), ssrcs


def cap_receiver_bitrate(receiver: RTCRtpReceiver, cap: Callable[[], int]) -> None:
    """Video receivers estimate bandwidth and send REMB; cap what they send. (Audio receivers have no estimator.)"""
    inner = getattr(receiver, _RECEIVER_ESTIMATOR)
    if inner is not None:
        setattr(receiver, _RECEIVER_ESTIMATOR, CappedEstimator(inner, cap))


async def send_remb(receiver: RTCRtpReceiver, bitrate: int, media_ssrc: int) -> None:
    """Tell the publisher its ceiling at once (the estimator only speaks when its estimate changes)."""
    rtcp_ssrc = getattr(receiver, _RECEIVER_RTCP_SSRC)
    if rtcp_ssrc is not None:
        packet = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, [media_ssrc])
        )
        await receiver._send_rtcp(packet)


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """A PLI to the publisher (RFC 4585 6.3.1): a subscriber lost a picture or just arrived."""
    await receiver._send_rtcp_pli(media_ssrc)


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> bool:
    """Keep one codec (and its RTX) on a transceiver, before an offer is made or after a remote offer was applied.
    False when the remote side did not offer it."""
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    preferred = [c for c in capabilities if c.mimeType.lower() == mime_type.lower()]
    preferred += [c for c in capabilities if is_rtx(c)]
    transceiver.setCodecPreferences(preferred)
    negotiated = getattr(transceiver, "_codecs", [])
    if negotiated:
        transceiver._codecs = filter_preferred_codecs(negotiated, transceiver._preferred_codecs)
        return any(c.mimeType.lower() == mime_type.lower() for c in transceiver._codecs)
    return True


def choose_codec(transceiver: RTCRtpTransceiver, mime_types: list[str]) -> str | None:
    """After a remote offer was applied: the first of `mime_types` the remote side offered (and aiortc supports),
    kept alone on the transceiver (with its RTX); None when it offered none of them."""
    offered = {c.mimeType.lower() for c in getattr(transceiver, "_codecs", [])}
    for mime_type in mime_types:
        if mime_type.lower() in offered and restrict_codecs(transceiver, mime_type):
            return mime_type
    return None


# --- send side ----------------------------------------------------------------------------------------------


class SilentTrack(MediaStreamTrack):
    """The track of a forwarding sender: it never yields, so the sender's own RTP loop waits instead of polling
    (a sender without a track sleeps and wakes 50 times a second)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        # Never resolved: the sender's task is cancelled when the sender stops.
        await asyncio.get_running_loop().create_future()


class SendClock:
    """What every copy of one incoming packet shares: the send time, computed once, not once per subscriber."""

    __slots__ = ("ntp", "abs_send_time")

    def __init__(self) -> None:
        self.ntp = current_ntp_time()
        self.abs_send_time = (self.ntp >> 14) & 0x00FFFFFF


class SenderPort:
    """Writes forwarded RTP through an RTCRtpSender: its SSRC, its negotiated payload type, its mid and header
    extension ids, its RTX history and sender-report counters.

    The header is packed here with struct and aiortc's own `pack_header_extensions` rather than by building and
    serialising an RtpPacket per subscriber (~4x cheaper, the hot path of the SFU); tests check the bytes equal
    aiortc's serialisation. The history keeps a real RtpPacket, so aiortc's NACK handling retransmits it."""

    def __init__(self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
        self.sender = sender
        self.payload_type: int | None = None
        self.mid: str | None = None
        self._history: dict[int, RtpPacket] = getattr(sender, _SENDER_HISTORY)
        self._ids: dict[str, int] = {}
        self._history_extensions = HeaderExtensions()
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            await original_send(parameters)
            self.mid = parameters.muxId
            self._ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
            self._history_extensions.mid = self.mid
            self.payload_type = parameters.codecs[0].payloadType  # last: `ready` turns true with it

        sender.send = send  # type: ignore[method-assign]
        sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        return self.payload_type is not None

    @property
    def ssrc(self) -> int:
        return self.sender._ssrc

    def pack(
        self,
        marker: int,
        sequence_number: int,
        timestamp: int,
        payload: bytes,
        clock: SendClock,
        audio_level: tuple[bool, int] | None,
    ) -> bytes:
        """The RTP packet as aiortc's RtpPacket.serialize would write it for this sender (RFC 3550 5.1, header
        extensions per RFC 8285 in aiortc's order: mid, abs-send-time, audio level)."""
        assert self.payload_type is not None
        extensions = []
        ids = self._ids
        if self.mid is not None and (mid_id := ids.get(_MID_URI)):
            extensions.append((mid_id, self.mid.encode()))
        if abs_id := ids.get(_ABS_SEND_TIME_URI):
            extensions.append((abs_id, pack("!L", clock.abs_send_time)[1:]))
        if audio_level is not None and (level_id := ids.get(_AUDIO_LEVEL_URI)):
            extensions.append((level_id, pack("!B", (0x80 if audio_level[0] else 0) | (audio_level[1] & 0x7F))))
        profile, value = pack_header_extensions(extensions)
        header = pack(
            "!BBHLL",
            0x90 if value else 0x80,
            (marker << 7) | self.payload_type,
            sequence_number,
            timestamp,
            self.sender._ssrc,
        )
        if value:
            header += pack("!HH", profile, len(value) >> 2) + value
        return header + payload

    async def write(
        self,
        marker: int,
        sequence_number: int,
        timestamp: int,
        payload: bytes,
        clock: SendClock,
        audio_level: tuple[bool, int] | None = None,
    ) -> None:
        """Send one rewritten packet and keep it for NACKs (RTX)."""
        data = self.pack(marker, sequence_number, timestamp, payload, clock, audio_level)
        kept = RtpPacket.__new__(RtpPacket)  # what aiortc's _retransmit reads; no per-packet HeaderExtensions
        kept.version, kept.marker, kept.payload_type = 2, marker, self.payload_type  # type: ignore[assignment]
        kept.sequence_number, kept.timestamp, kept.ssrc = sequence_number, timestamp, self.sender._ssrc
        kept.csrc, kept.extensions, kept.payload, kept.padding_size = [], self._history_extensions, payload, 0
        self._history[sequence_number % RTP_HISTORY_SIZE] = kept
        await self.sender.transport._send_rtp(data)
        sender = self.sender
        setattr(sender, _SENDER_NTP, clock.ntp)
        setattr(sender, _SENDER_RTP_TS, timestamp)
        setattr(sender, _SENDER_OCTETS, getattr(sender, _SENDER_OCTETS) + len(payload))
        setattr(sender, _SENDER_PACKETS, getattr(sender, _SENDER_PACKETS) + 1)


# --- loopback (tests and the bench) ---------------------------------------------------------------------------


MAX_ONE_BYTE_EXTENSION_ID = 14  # RFC 8285 one-byte headers: ids 1-14


def negotiated_extension_ids(pc: RTCPeerConnection) -> dict[str, int]:
    """uri -> id as negotiated so far on this connection (one map for the whole BUNDLE), including the ids the peer
    gave extensions aiortc does not use (a new one must not take those: transport-cc, playout-delay, ...)."""
    found: dict[str, int] = {}
    for transceiver in pc.getTransceivers():
        if transceiver.mid is None:
            continue
        for ext in transceiver._headerExtensions:
            found.setdefault(ext.uri, ext.id)
    if pc.remoteDescription is not None:
        for media in aiortc_sdp.SessionDescription.parse(pc.remoteDescription.sdp).media:
            for ext in media.rtp.headerExtensions:
                found.setdefault(ext.uri, ext.id)
    return found


def renumber_extensions(pc: RTCPeerConnection, sdp: str, id_for: Callable[[str], int]) -> str:
    """The offer `sdp` with every m-section's header extensions numbered `id_for(uri)`; the transceivers (whose ids
    aiortc's senders use once the answer comes) are set the same way."""
    for transceiver in pc.getTransceivers():
        transceiver._headerExtensions = [
            RTCRtpHeaderExtensionParameters(id=id_for(ext.uri), uri=ext.uri) for ext in transceiver._headerExtensions
        ]
    description = aiortc_sdp.SessionDescription.parse(sdp)
    for media in description.media:
        if media.kind in ("audio", "video"):
            media.rtp.headerExtensions = [
                RTCRtpHeaderExtensionParameters(id=id_for(ext.uri), uri=ext.uri) for ext in media.rtp.headerExtensions
            ]
    return str(description)


async def create_offer(pc: RTCPeerConnection) -> RTCSessionDescription:
    """`pc.createOffer()` keeping the header extension ids the peer negotiated (its own numbering, whatever the
    client); an extension not negotiated yet gets the lowest free id. Call `setLocalDescription` with the result."""
    ids = negotiated_extension_ids(pc)
    offer = await pc.createOffer()
    if not ids:
        return offer  # the first offer of this connection: aiortc's numbering is as good as any

    def id_for(uri: str) -> int:
        if uri not in ids:
            free = [i for i in range(1, MAX_ONE_BYTE_EXTENSION_ID + 1) if i not in ids.values()]
            ids[uri] = free[0]
        return ids[uri]

    return RTCSessionDescription(sdp=renumber_extensions(pc, offer.sdp, id_for), type="offer")


def use_loopback_candidates() -> None:
    """aioice leaves 127.0.0.1 out of host candidates; tests and the bench run wholly on loopback, so offer only it
    (and gather nothing slower). Never in production: a browser elsewhere could not reach it."""
    import aioice.ice

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    aioice.ice.get_host_addresses = loopback
