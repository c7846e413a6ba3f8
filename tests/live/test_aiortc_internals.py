"""Every aiortc internal the SFU touches, exercised against the installed aiortc: the receive tap, the send port
(RTX from its history on NACK), PLI forwarding, the REMB cap, and mute stopping the forwarding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, is_rtcp
from starlette.applications import Starlette

from tests.live.conftest import join_for, room_of
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack, shows_pattern
from tests.support.wait import wait_until
from yilian.live import aiortc_internals
from yilian.live.client import LiveClient
from yilian.live.protocol import MediaKind, MediaSource, SetMuted


def test_the_installed_aiortc_is_the_one_we_checked() -> None:
    aiortc_internals.check_version()


async def test_the_private_attributes_exist_on_fresh_objects() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        receiver, sender = transceiver.receiver, transceiver.sender
        for name in ("_RTCRtpReceiver__jitter_buffer", "_RTCRtpReceiver__remote_bitrate_estimator"):
            assert getattr(receiver, name) is not None
        assert hasattr(receiver, "_RTCRtpReceiver__rtcp_ssrc")
        assert isinstance(sender._RTCRtpSender__rtp_history, dict)
        for name in ("__ntp_timestamp", "__rtp_timestamp", "__octet_count", "__packet_count"):
            assert isinstance(getattr(sender, "_RTCRtpSender" + name), int)
        assert sender._RTCRtpSender__rtp_header_extensions_map is not None
        assert aiortc_internals.restrict_codecs(transceiver, "video/VP8")
        assert [c.mimeType for c in transceiver._preferred_codecs] == ["video/VP8", "video/rtx"]
    finally:
        await pc.close()


async def test_the_packed_header_is_what_aiortc_would_serialise() -> None:
    pc = RTCPeerConnection()
    try:
        for kind, level in (("video", None), ("audio", (True, 42))):
            transceiver = pc.addTransceiver(kind)
            port = aiortc_internals.SenderPort(transceiver.sender, lambda: None)
            parameters = RTCRtpParameters(
                codecs=[RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)],
                headerExtensions=[
                    RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                    RTCRtpHeaderExtensionParameters(
                        id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                    ),
                    RTCRtpHeaderExtensionParameters(id=3, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
                ],
                muxId="4",
            )
            port.payload_type, port.mid = 97, "4"
            port._ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
            clock = aiortc_internals.SendClock()
            data = port.pack(1, 65535, 4_000_000_000, b"payload!", clock, level)

            expected = RtpPacket(payload_type=97, marker=1, sequence_number=65535, timestamp=4_000_000_000)
            expected.ssrc, expected.payload = transceiver.sender._ssrc, b"payload!"
            expected.extensions.mid, expected.extensions.abs_send_time = "4", clock.abs_send_time
            expected.extensions.audio_level = level
            extensions_map = HeaderExtensionsMap()
            extensions_map.configure(parameters)
            assert data == expected.serialize(extensions_map)
    finally:
        await pc.close()


async def _room_with_publisher(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], room_id: str, **room: int
) -> tuple[LiveClient, LiveClient]:
    await control.put(f"/rooms/{room_id}", json=room)
    publisher = clients(
        join_for(room_id, "pub", host=True),
        publish=[(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)],
    )
    await publisher.start()
    await publisher.negotiated()
    subscriber = clients(join_for(room_id, "sub"))
    await subscriber.start()
    return publisher, subscriber


async def test_lost_packets_are_retransmitted_from_the_senders_history(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], live_app: Starlette
) -> None:
    publisher, subscriber = await _room_with_publisher(control, clients, "rtx-1")
    assert subscriber.joined is not None
    room = room_of(live_app, "rtx-1")
    peer = room.peers[subscriber.joined.participant_id]
    slot = await wait_until(
        lambda: [s for s in peer.slots.values() if s.kind is MediaKind.VIDEO and s.stream.port.ready],
        "the subscriber's video sender to start",
    )
    sender = slot[0].transceiver.sender
    transport = sender.transport

    # Drop every 9th original video packet on the way out (the RTX copies, on another SSRC, pass).
    original_send, counter, retransmits = transport._send_rtp, [0], [0]

    async def lossy(data: bytes) -> None:
        if not is_rtcp(data) and RtpPacket.parse(data).ssrc == sender._ssrc:
            counter[0] += 1
            if counter[0] % 9 == 0:
                return
        await original_send(data)

    original_retransmit = sender._retransmit

    async def counted(sequence_number: int) -> None:
        retransmits[0] += 1
        await original_retransmit(sequence_number)

    transport._send_rtp = lossy  # type: ignore[method-assign]
    sender._retransmit = counted  # type: ignore[method-assign]
    video = await wait_until(
        lambda: [t for t in subscriber.tracks.values() if t.info and t.info.kind is MediaKind.VIDEO], "video track"
    )
    frames = []
    for _ in range(30):
        frames.append(await asyncio.wait_for(video[0].track.recv(), 10))
    assert counter[0] >= 27 and retransmits[0] >= 2  # some dropped; the subscriber NACKed them and we resent
    assert sum(shows_pattern(f) for f in frames[5:]) == len(frames[5:])  # type: ignore[arg-type]


async def test_a_subscribers_picture_loss_reaches_the_publisher(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    publisher, subscriber = await _room_with_publisher(control, clients, "pli-1")
    video_sender = next(t.sender for t in publisher.pc.getTransceivers() if t.kind == "video")
    requests = [0]
    original = video_sender._send_keyframe

    def counted() -> None:
        requests[0] += 1
        original()

    video_sender._send_keyframe = counted  # type: ignore[method-assign]
    video = await wait_until(
        lambda: [t for t in subscriber.tracks.values() if t.info and t.info.kind is MediaKind.VIDEO], "video track"
    )
    await asyncio.wait_for(video[0].track.recv(), 10)
    await asyncio.sleep(0.6)  # past the throttle of the join's own request
    before = requests[0]
    ssrc = (await wait_until(lambda: video[0].receiver.getSynchronizationSources(), "an SSRC"))[0].source
    await video[0].receiver._send_rtcp_pli(ssrc)
    await wait_until(lambda: requests[0], "the PLI at the publisher", ok=lambda n: n > before)


async def test_the_publishers_bitrate_is_capped_by_remb(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    publisher, _ = await _room_with_publisher(control, clients, "remb-1", max_video_bitrate=300_000)
    video_sender = next(t.sender for t in publisher.pc.getTransceivers() if t.kind == "video")
    encoder = await wait_until(lambda: video_sender._RTCRtpSender__encoder, "the publisher's encoder")  # type: ignore[attr-defined]
    await wait_until(lambda: encoder.target_bitrate, "the REMB cap at the encoder", ok=lambda b: b <= 300_000)


async def test_a_muted_track_is_not_forwarded_until_unmuted(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient], live_app: Starlette
) -> None:
    publisher, subscriber = await _room_with_publisher(control, clients, "mute-1")
    assert publisher.joined and subscriber.joined
    room = room_of(live_app, "mute-1")
    peer = room.peers[subscriber.joined.participant_id]
    audio = await wait_until(
        lambda: [s.stream for s in peer.slots.values() if s.kind is MediaKind.AUDIO and s.stream.packets_sent > 10],
        "audio forwarded to the subscriber",
    )
    await publisher.send(SetMuted(participant_id=publisher.joined.participant_id, kind=MediaKind.AUDIO, muted=True))
    await wait_until(lambda: publisher.presence, "muted", ok=lambda p: p.participants[0].muted == [MediaKind.AUDIO])
    await asyncio.sleep(0.3)
    frozen = audio[0].packets_sent
    await asyncio.sleep(1.0)
    assert audio[0].packets_sent == frozen
    await publisher.send(SetMuted(participant_id=publisher.joined.participant_id, kind=MediaKind.AUDIO, muted=False))
    await wait_until(lambda: audio[0].packets_sent, "audio forwarded again", ok=lambda n: n > frozen + 10)
