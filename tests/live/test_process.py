"""`yilian live` as its own process: started the way `yilian up` starts it, and killed -9 under its peers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.live.assertion import sign_assertion
from yilian.live.client import LiveClient
from yilian.live.protocol import Join, LiveAssertion, RoomRole
from yilian.runtime.live import start_live_process


def _join(room_id: str, user_id: str, secret: str) -> Join:
    claims = LiveAssertion(room_id=room_id, user_id=user_id, display_name=user_id, room_role=RoomRole.HOST)
    return Join(assertion=sign_assertion(claims, secret))


async def test_a_killed_live_process_closes_its_sockets_and_a_fresh_one_takes_the_room(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, live_port=0)
    live = start_live_process(settings, loopback_only=True)
    clients: list[LiveClient] = []
    try:
        assert live.secret != Settings().live_secret  # generated for this pair, not the development default
        headers = {"Authorization": f"Bearer {live.secret}"}
        async with httpx.AsyncClient(base_url=live.url, headers=headers) as control:
            assert (await control.put("/rooms/kill-1", json={})).status_code == 200
            assert (await control.get("/health")).json()["rooms"] == 1
        ws = live.url.replace("http://", "ws://") + "/ws"
        clients = [LiveClient(ws, _join("kill-1", f"u{i}", live.secret)) for i in range(2)]
        for client in clients:
            await client.start()
            await client.negotiated()

        os.kill(live.pid, signal.SIGKILL)
        for client in clients:
            await wait_until(lambda c=client: c.closed_with, "the socket to close when the process dies")  # type: ignore[misc]
            assert client.closed_with not in (None, 1000)  # not a normal close: the API turns it into 4503
    finally:
        for client in clients:
            await client.close()
        live.stop()

    # The API's next step: a fresh process, the room opened again, the same people join again.
    fresh = start_live_process(settings, loopback_only=True)
    try:
        async with httpx.AsyncClient(base_url=fresh.url, headers={"Authorization": f"Bearer {fresh.secret}"}) as c:
            assert (await c.get("/rooms/kill-1")).status_code == 404  # nothing survives in memory
            assert (await c.put("/rooms/kill-1", json={})).status_code == 200
        again = LiveClient(fresh.url.replace("http://", "ws://") + "/ws", _join("kill-1", "u0", fresh.secret))
        await again.start()
        await again.negotiated()
        assert again.joined is not None and not again.errors
        await again.close()
    finally:
        fresh.stop()
