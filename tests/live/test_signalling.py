"""Joining, refusals and host controls over the signalling socket, with real aiortc peers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.live.conftest import SECRET, join_for
from tests.support.wait import wait_until
from yilian.live.assertion import sign_assertion
from yilian.live.client import LiveClient
from yilian.live.protocol import (
    MAX_SIGNAL_BYTES,
    ChatSend,
    CloseCode,
    GrantControl,
    HandOverPresenter,
    Join,
    LiveAssertion,
    LiveErrorCode,
    MediaKind,
    Offer,
    Remove,
    RequestControl,
    SetMuted,
)


async def _refused(client: LiveClient, code: LiveErrorCode) -> None:
    await client.connect()
    await wait_until(lambda: client.closed_with, f"the socket to close after {code}")
    assert [e.code for e in client.errors] == [code]
    assert client.errors[0].fatal and client.closed_with == CloseCode.REFUSED
    assert client.joined is None


async def test_a_join_without_the_apis_signature_is_refused(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/refuse-1", json={})
    await _refused(clients(Join()), LiveErrorCode.NOT_ALLOWED)
    forged = LiveAssertion(room_id="refuse-1", user_id="mallory", display_name="M")
    await _refused(clients(Join(assertion=sign_assertion(forged, "not-" + SECRET))), LiveErrorCode.NOT_ALLOWED)
    info = (await control.get("/rooms/refuse-1")).json()
    assert info["participants"] == []


async def test_unknown_room_and_full_room_are_refused_without_disturbing_the_room(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await _refused(clients(join_for("no-such-room", "u1")), LiveErrorCode.UNKNOWN_ROOM)
    await control.put("/rooms/full-1", json={"capacity": 2})
    first, second = clients(join_for("full-1", "a", host=True)), clients(join_for("full-1", "b"))
    await first.start()
    await second.start()
    await _refused(clients(join_for("full-1", "c")), LiveErrorCode.ROOM_FULL)
    await wait_until(lambda: first.presence, "presence of the two", ok=lambda p: p and len(p.participants) == 2)
    assert first.closed_with is None and second.closed_with is None and not first.errors and not second.errors


async def test_anything_before_join_is_refused(clients: Callable[..., LiveClient]) -> None:
    client = clients(Join())
    client.join = Offer(sdp="v=0")  # type: ignore[assignment]
    await _refused(client, LiveErrorCode.NOT_JOINED)


async def test_malformed_sdp_is_an_error_for_that_peer_who_can_then_offer_properly(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/sdp-1", json={})
    other = clients(join_for("sdp-1", "other", host=True))
    await other.start()
    client = clients(join_for("sdp-1", "sloppy"))
    await client.connect()
    await client.send(Offer(sdp="this is not SDP at all"))
    await wait_until(lambda: client.errors, "an error for the bad offer")
    assert client.errors[0].code is LiveErrorCode.MALFORMED_SDP and not client.errors[0].fatal
    await client.offer()
    await client.negotiated()
    await wait_until(lambda: client.pc.connectionState, "the sloppy peer to connect", ok=lambda s: s == "connected")
    assert not other.errors and other.closed_with is None


async def test_a_frame_over_the_limit_closes_only_that_socket(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/big-1", json={})
    calm, noisy = clients(join_for("big-1", "calm", host=True)), clients(join_for("big-1", "noisy"))
    await calm.start()
    await noisy.start()
    await noisy.send_raw('{"type": "chat", "text": "' + "x" * MAX_SIGNAL_BYTES + '"}')
    await wait_until(lambda: noisy.closed_with, "the noisy socket to close")
    assert noisy.errors[-1].code is LiveErrorCode.MESSAGE_TOO_LARGE and noisy.closed_with == CloseCode.REFUSED
    await wait_until(lambda: calm.presence, "the room to lose the noisy peer", ok=lambda p: len(p.participants) == 1)
    await calm.send(ChatSend(text="still here"))
    await wait_until(lambda: [m for m in calm.messages if m.type == "chat_message"], "calm's chat to come back")
    assert calm.closed_with is None


async def test_host_controls_and_who_may_use_them(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/host-1", json={})
    host, guest, other = (
        clients(join_for("host-1", "host", host=True)),
        clients(join_for("host-1", "guest")),
        clients(join_for("host-1", "other")),
    )
    for client in (host, guest, other):
        await client.start()
    await wait_until(lambda: host.presence, "everyone present", ok=lambda p: len(p.participants) == 3)
    assert host.joined and guest.joined and other.joined
    host_id, guest_id, other_id = host.joined.participant_id, guest.joined.participant_id, other.joined.participant_id
    assert host.presence and host.presence.presenter_id == host_id

    # A guest may not mute or remove others; the host may.
    await guest.send(SetMuted(participant_id=other_id, kind=MediaKind.AUDIO, muted=True))
    await guest.send(Remove(participant_id=other_id))
    await wait_until(lambda: guest.errors, "two refusals", ok=lambda e: len(e) == 2)
    assert {e.code for e in guest.errors} == {LiveErrorCode.NOT_ALLOWED}
    await host.send(SetMuted(participant_id=guest_id, kind=MediaKind.AUDIO, muted=True))
    await wait_until(lambda: [m for m in guest.messages if m.type == "muted"], "the guest to hear it was muted")
    await wait_until(
        lambda: host.presence,
        "the mute in presence",
        ok=lambda p: next(x for x in p.participants if x.participant_id == guest_id).muted == [MediaKind.AUDIO],
    )
    # The host may not unmute someone; the guest may unmute themselves.
    await host.send(SetMuted(participant_id=guest_id, kind=MediaKind.AUDIO, muted=False))
    await wait_until(lambda: host.errors, "the host's unmute refused")
    await guest.send(SetMuted(participant_id=guest_id, kind=MediaKind.AUDIO, muted=False))
    await wait_until(
        lambda: host.presence,
        "the guest unmuted",
        ok=lambda p: next(x for x in p.participants if x.participant_id == guest_id).muted == [],
    )

    # Control: asked by the guest, the presenter hears it and grants it; a naming of nobody is refused.
    await guest.send(RequestControl())
    await wait_until(lambda: [m for m in host.messages if m.type == "control_requested"], "the request at the host")
    await host.send(GrantControl(participant_id="nobody"))
    await wait_until(lambda: len(host.errors) == 2, "unknown participant refused")
    assert host.errors[-1].code is LiveErrorCode.UNKNOWN_PARTICIPANT
    await host.send(GrantControl(participant_id=guest_id))
    await wait_until(lambda: other.presence, "control with the guest", ok=lambda p: p.controller_id == guest_id)
    await host.send(HandOverPresenter(participant_id=other_id))
    await wait_until(
        lambda: guest.presence,
        "the presenter handed over",
        ok=lambda p: p.presenter_id == other_id and p.controller_id is None,
    )

    # Removal closes the guest's socket and nobody else's.
    await host.send(Remove(participant_id=guest_id))
    await wait_until(lambda: guest.closed_with, "the guest's socket to close")
    assert guest.closed_with == CloseCode.REMOVED
    assert [m for m in guest.messages if m.type == "removed"]
    await wait_until(lambda: other.presence, "two left", ok=lambda p: len(p.participants) == 2)
    assert host.closed_with is None and other.closed_with is None


@pytest.mark.parametrize("path", ["/rooms/x", "/rooms/x/recording"])
async def test_the_control_api_wants_the_secret(live_url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as anonymous:
        assert (await anonymous.put(path, json={})).status_code in (401, 405)
        assert (await anonymous.post(path, json={})).status_code in (401, 405)
        assert (await anonymous.get("/health")).json()["status"] == "ok"
    async with httpx.AsyncClient(base_url=live_url, headers={"Authorization": "Bearer wrong"}) as wrong:
        assert (await wrong.get("/rooms/x")).status_code == 401
