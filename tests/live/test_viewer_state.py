"""Synchronised viewing over the data channel: order, the late joiner, who may drive, the size limit."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.live.conftest import join_for
from tests.support.wait import wait_until
from yilian.live.client import LiveClient
from yilian.live.protocol import MAX_DATA_BYTES, GrantControl, LiveErrorCode, ViewerState

STUDY = "1.2.826.0.1.3680043.8.498.1"


def _state(slice_index: int) -> ViewerState:
    return ViewerState(
        study_instance_uid=STUDY,
        series_instance_uid=STUDY + ".1",
        slice_index=slice_index,
        window_center=40,
        window_width=400,
        zoom=1.5,
    )


async def _channel_open(client: LiveClient) -> None:
    await wait_until(lambda: client.channel.readyState, "the data channel to open", ok=lambda s: s == "open")


async def test_viewer_state_reaches_everyone_in_order_and_a_late_joiner_lands_on_it(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/view-1", json={})
    presenter = clients(join_for("view-1", "presenter", host=True))
    viewers = [clients(join_for("view-1", f"viewer{i}")) for i in range(3)]
    for client in (presenter, *viewers):
        await client.start()
    for client in (presenter, *viewers):
        await _channel_open(client)

    for index in range(40):
        presenter.send_state(_state(index))
    for client in (presenter, *viewers):
        states = await wait_until(lambda c=client: c.states, "all 40 states", ok=lambda s: len(s) == 40)  # type: ignore[misc]
        assert [s.state.slice_index for s in states] == list(range(40))
        seqs = [s.seq for s in states]
        assert seqs == list(range(seqs[0], seqs[0] + 40))  # no gap, no step back
        assert {s.participant_id for s in states} == {presenter.joined.participant_id}  # type: ignore[union-attr]

    late = clients(join_for("view-1", "late"))
    await late.start()
    first = await wait_until(lambda: late.states, "the late joiner's first state")
    assert first[0].state.slice_index == 39 and first[0].seq == seqs[-1]
    presenter.send_state(_state(40))
    await wait_until(lambda: late.states, "the next live state", ok=lambda s: len(s) == 2)
    assert late.states[1].seq == seqs[-1] + 1


async def test_only_the_presenter_or_controller_drives_and_oversized_messages_are_refused(
    control: httpx.AsyncClient, clients: Callable[..., LiveClient]
) -> None:
    await control.put("/rooms/view-2", json={})
    presenter, guest = clients(join_for("view-2", "presenter", host=True)), clients(join_for("view-2", "guest"))
    for client in (presenter, guest):
        await client.start()
        await _channel_open(client)

    guest.send_state(_state(7))
    await wait_until(lambda: guest.errors, "the guest's state refused")
    assert guest.errors[0].code is LiveErrorCode.NOT_ALLOWED and not guest.errors[0].fatal

    presenter.channel.send('{"type": "state", "state": {"study_instance_uid": "' + "9" * MAX_DATA_BYTES + '"}}')
    await wait_until(lambda: presenter.errors, "the oversized message refused")
    assert presenter.errors[0].code is LiveErrorCode.MESSAGE_TOO_LARGE and presenter.closed_with is None

    # Nothing of either reached anyone; the room goes on.
    presenter.send_state(_state(1))
    await wait_until(lambda: guest.states, "the presenter's state at the guest")
    assert [s.state.slice_index for s in guest.states] == [1]

    assert guest.joined is not None
    await presenter.send(GrantControl(participant_id=guest.joined.participant_id))
    await wait_until(lambda: guest.presence, "control granted", ok=lambda p: p.controller_id is not None)
    guest.send_state(_state(2))
    await wait_until(lambda: presenter.states, "the controller's state at the presenter", ok=lambda s: len(s) == 2)
    assert presenter.states[-1].state.slice_index == 2
