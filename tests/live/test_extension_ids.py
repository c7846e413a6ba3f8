"""Header extension ids: the SFU's renegotiation offers keep each client's own numbering (a browser refuses "RTP
extension ID reassignment"), so any client works, not only one that numbers them as aiortc does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from aiortc import RTCSessionDescription
from aiortc import sdp as aiortc_sdp

from tests.live.conftest import join_for
from tests.support.live_media import PatternVideoTrack, ToneAudioTrack, shows_pattern
from tests.support.wait import wait_until
from yilian.live import aiortc_internals
from yilian.live.client import LiveClient
from yilian.live.protocol import MediaSource, ServerOffer

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
CHROME = {LEVEL: 1, ABS: 2, MID: 4}  # as Chromium numbers them (aiortc: mid 1, level 2, abs-send-time 3)
OTHER = {MID: 9, LEVEL: 10, ABS: 11}


def numbering(client: LiveClient, ids: dict[str, int]) -> None:
    """Make the client offer (and send with) its own extension ids, as a browser does."""
    create = client.pc.createOffer

    async def offer() -> RTCSessionDescription:
        made = await create()
        return RTCSessionDescription(
            aiortc_internals.renumber_extensions(client.pc, made.sdp, ids.__getitem__), "offer"
        )

    client.pc.createOffer = offer  # type: ignore[method-assign]


def offered_ids(message: ServerOffer) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for media in aiortc_sdp.SessionDescription.parse(message.sdp).media:
        for ext in media.rtp.headerExtensions:
            found.setdefault(ext.uri, set()).add(ext.id)
    return found


async def test_clients_numbering_extensions_their_own_way_keep_their_ids_and_see_each_other(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/ext-1", json={})
    publish = [(PatternVideoTrack(), MediaSource.CAMERA), (ToneAudioTrack(), MediaSource.MICROPHONE)]
    chrome = clients(join_for("ext-1", "chrome", host=True), publish=publish)
    numbering(chrome, CHROME)
    await chrome.start()
    await chrome.negotiated()
    other = clients(join_for("ext-1", "other"), publish=[(PatternVideoTrack(), MediaSource.CAMERA)])
    numbering(other, OTHER)
    await other.start()

    def server_offers(client: LiveClient) -> list[ServerOffer]:
        return [m for m in client.messages if isinstance(m, ServerOffer)]

    await wait_until(lambda: server_offers(chrome), "the SFU to offer the newcomer's tracks to the first client")
    await wait_until(lambda: server_offers(other), "the SFU to offer the first client's tracks to the newcomer")
    # What each client numbered in its own offer (the video-only one never offered audio level).
    sent = [(chrome, CHROME), (other, {MID: OTHER[MID], ABS: OTHER[ABS]})]
    for client, ids in sent:
        for message in server_offers(client):
            offered = offered_ids(message)
            # Every extension the client numbered keeps its number in every m-section; any other extension gets a
            # number the client does not use.
            assert {u: offered[u] for u in offered if u in ids} == {u: {ids[u]} for u in offered if u in ids}
            assert all(not (numbers & set(ids.values())) for uri, numbers in offered.items() if uri not in ids)
            assert set(ids) <= set(offered)

    async def sees(viewer: LiveClient, publisher: LiveClient) -> bool:
        assert publisher.joined is not None
        for received in viewer.tracks_from(publisher.joined.participant_id):
            if received.info and received.info.kind == "video":
                frame = await asyncio.wait_for(received.track.recv(), 10)
                return shows_pattern(frame)  # type: ignore[arg-type]
        return False

    await wait_until(lambda: sees(other, chrome), "the newcomer to decode the first client's picture", within=30)
    await wait_until(lambda: sees(chrome, other), "the first client to decode the newcomer's picture", within=30)
