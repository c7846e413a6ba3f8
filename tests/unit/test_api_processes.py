"""The multi-process API's parts that need no database: its listening sockets and how it watches its children."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from yilian.runtime import api_processes
from yilian.runtime.api_processes import ApiProcesses, ChildProcessFailed, listen_sockets


class _Sleepers(ApiProcesses):
    """Children that are plain Python processes: exiting at once (`code`), or sleeping until stopped."""

    code: int | None = None

    def command(self, index: int) -> list[str]:
        body = "import time; time.sleep(60)" if self.code is None else f"raise SystemExit({self.code})"
        return [sys.executable, "-c", body]


def test_the_sockets_are_those_asyncio_would_open_and_are_inherited() -> None:
    sockets = listen_sockets("127.0.0.1", 0)
    try:
        assert [s.family for s in sockets] == [socket.AF_INET]
        sock = sockets[0]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert sock.get_inheritable()
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening already: connections wait in the queue until a process accepts
    finally:
        for s in sockets:
            s.close()


def test_an_ipv6_socket_is_ipv6_only_as_asyncio_makes_it() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        sockets = listen_sockets("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert [s.family for s in sockets] == [socket.AF_INET6]
        assert sockets[0].getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        for s in sockets:
            s.close()


async def test_a_child_that_dies_young_is_not_restarted_but_fails_the_api() -> None:
    children = _Sleepers(1, [])
    children.code = 3
    children.start()
    with pytest.raises(ChildProcessFailed, match="exited with status 3"):
        await asyncio.wait_for(children.watch(), 10)
    await children.stop()


async def test_a_child_that_dies_after_its_start_grace_is_started_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_processes, "START_GRACE_S", 0.0)
    children = _Sleepers(1, [])
    children.code = 3
    children.start()
    first = children.children[0].proc
    watching = asyncio.create_task(children.watch())
    try:
        for _ in range(100):
            if children.children[0].proc is not first:
                break
            await asyncio.sleep(0.05)
        assert children.children[0].proc is not first, "the dead child was not started again"
        assert children.children[0].index == 1
    finally:
        watching.cancel()
        await children.stop()


async def test_stop_ends_every_child_and_a_stopped_watch_keeps_waiting() -> None:
    children = _Sleepers(2, [])
    children.start()
    watching = asyncio.create_task(children.watch())
    await children.stop(grace_s=5)
    assert all(c.proc.poll() is not None for c in children.children)
    await asyncio.sleep(api_processes.WATCH_INTERVAL_S * 2)
    assert not watching.done(), "a stopping parent's watch must not end its server early"
    watching.cancel()
