"""Everything the SFU touches inside aiortc that is not public API, in one place.

aiortc has no way to take encoded media out of a receiver or put RTP into a sender (its maintainer: "WebRTC ... is
not a pipe which blindly forwards pre-encoded data", aiortc issue 449). A packet-forwarding SFU needs both, so this
module reaches in, for aiortc 1.16.0 exactly (pinned in pyproject.toml; `check_version` refuses anything else, and
tests/live/test_aiortc_internals.py exercises every touch point against the installed aiortc):

- receive side: `RTCRtpReceiver.__jitter_buffer` is replaced by a tap. The receiver calls it with each RTP packet
  after SRTP, RTX unwrapping and NACK generation; the tap never returns a frame, so nothing is ever decoded.
  `_handle_rtp_packet` is wrapped to forward what the tap caught, in the same coroutine (no task per packet).
  `__remote_bitrate_estimator` is wrapped to cap the REMB the receiver sends to the publisher.
- send side: `RTCRtpSender.send` is wrapped to learn the negotiated payload types; packets are written through
  `transport._send_rtp` with the sender's `__rtp_header_extensions_map`, kept in its `__rtp_history` so its own
  NACK handling retransmits them over RTX, and counted in its sender-report fields. `_send_keyframe` (called on a
  PLI or FIR) is replaced to ask the publisher instead of an encoder we do not have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.clock import current_ntp_time
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RTCP_PSFB_APP, RTP_HISTORY_SIZE, RtcpPsfbPacket, RtpPacket, pack_remb_fci

AIORTC_VERSION = "1.16.0"

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
_RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_SENDER_HISTORY = "_RTCRtpSender__rtp_history"
_SENDER_EXTENSIONS = "_RTCRtpSender__rtp_header_extensions_map"
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


class SenderPort:
    """Writes forwarded RTP through an RTCRtpSender: its SSRC, its negotiated payload type, its mid and header
    extension ids, its RTX history and sender-report counters."""

    def __init__(self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
        self.sender = sender
        self.payload_type: int | None = None
        self.mid: str | None = None
        self._history: dict[int, RtpPacket] = getattr(sender, _SENDER_HISTORY)
        self._extensions = getattr(sender, _SENDER_EXTENSIONS)
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            await original_send(parameters)
            self.payload_type = parameters.codecs[0].payloadType
            self.mid = parameters.muxId

        sender.send = send  # type: ignore[method-assign]
        sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        return self.payload_type is not None

    @property
    def ssrc(self) -> int:
        return self.sender._ssrc

    async def write(self, packet: RtpPacket) -> None:
        """Send one rewritten packet (its ssrc, payload type and mid are set here) and keep it for NACKs."""
        assert self.payload_type is not None
        packet.ssrc = self.sender._ssrc
        packet.payload_type = self.payload_type
        packet.extensions.mid = self.mid
        packet.extensions.abs_send_time = (current_ntp_time() >> 14) & 0x00FFFFFF
        self._history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
        await self.sender.transport._send_rtp(packet.serialize(self._extensions))
        sender = self.sender
        setattr(sender, _SENDER_NTP, current_ntp_time())
        setattr(sender, _SENDER_RTP_TS, packet.timestamp)
        setattr(sender, _SENDER_OCTETS, getattr(sender, _SENDER_OCTETS) + len(packet.payload))
        setattr(sender, _SENDER_PACKETS, getattr(sender, _SENDER_PACKETS) + 1)


# --- loopback (tests and the bench) ---------------------------------------------------------------------------


def use_loopback_candidates() -> None:
    """aioice leaves 127.0.0.1 out of host candidates; tests and the bench run wholly on loopback, so offer only it
    (and gather nothing slower). Never in production: a browser elsewhere could not reach it."""
    import aioice.ice

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    aioice.ice.get_host_addresses = loopback
