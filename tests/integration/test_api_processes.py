"""`yilian api` with YILIAN_API_PROCESSES=2: two processes on one port, both serving, stopped together."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import psutil

from tests.support.api_process import api_env, start_api
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.demo import DEMO_PASSWORD
from yilian.runtime.process import free_port


def _start(settings: Settings, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    return start_api(api_env(settings, tmp_path, port, YILIAN_API_PROCESSES="2"), tmp_path / "api.log")


def _listening(pid: int, port: int) -> bool:
    """Whether the process holds a socket listening on `port` (psutil reads its fds and /proc/net/tcp)."""
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns)


def _accepted_by(pids: list[int], port: int) -> set[int]:
    """Which of `pids` hold an accepted (established) connection on `port`."""
    found = set()
    for pid in pids:
        conns = psutil.Process(pid).net_connections(kind="tcp")
        if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in conns):
            found.add(pid)
    return found


async def _up(proc: subprocess.Popen[bytes], tmp_path: Path, port: int) -> list[int]:
    """Waits until the parent and its one child both listen on `port` and /api/health answers; their pids."""
    url = f"http://127.0.0.1:{port}"

    async def state() -> tuple[list[int], int | str, int]:
        if proc.poll() is not None:
            raise AssertionError(f"the API exited with {proc.returncode}: {(tmp_path / 'api.log').read_text()[-3000:]}")
        pids = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children())]
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                health: int | str = (await client.get("/api/health")).status_code
        except httpx.TransportError as exc:
            health = repr(exc)
        # The child listens from its first instant (it inherits the socket); it serves once uvicorn says so.
        started = (tmp_path / "api.log").read_text().count("Application startup complete.")
        return [p for p in pids if _listening(p, port)], health, started

    pids, _, _ = await wait_until(
        state,
        "two API processes listening, both started, and /api/health",
        ok=lambda s: len(s[0]) == 2 and s[1] == 200 and s[2] == 2,
        within=120,
    )
    return pids


def _hold_connections_until_both_accepted(pids: list[int], port: int) -> tuple[set[int], int]:
    """Opens keep-alive connections, one request each, until each process has accepted one (at most 60)."""
    held: list[socket.socket] = []
    try:
        for _ in range(60):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            held.append(sock)
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            owners = _accepted_by(pids, port)
            if owners == set(pids):
                return owners, len(held)
        return _accepted_by(pids, port), len(held)
    finally:
        for sock in held:
            sock.close()


def _gone(pids: list[int]) -> list[int]:
    """Which of `pids` have exited (a zombie not yet reaped by its parent counts)."""
    gone = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                gone.append(pid)
        except psutil.NoSuchProcess:
            gone.append(pid)
    return gone


async def test_two_processes_share_the_port_serve_requests_and_stop_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    proc = _start(settings, tmp_path, port)
    try:
        pids = await _up(proc, tmp_path, port)
        assert pids[0] == proc.pid and len(set(pids)) == 2

        owners, opened = await asyncio.to_thread(_hold_connections_until_both_accepted, pids, port)
        assert owners == set(pids), f"only {owners} of {pids} accepted a connection in {opened}"

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            login = await client.post("/api/auth/login", json={"username": "zhao.anping", "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each: both processes take some
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
            gate = asyncio.Semaphore(8)

            async def one() -> int:
                async with gate:
                    return (await client.get("/api/me", headers=auth)).status_code

            codes = await asyncio.gather(*(one() for _ in range(200)))
        assert codes.count(200) == 200, codes

        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 20)
        await wait_until(lambda: _gone(pids), "both API processes to exit", ok=lambda g: len(g) == 2, within=20)
        assert "did not stop" not in (tmp_path / "api.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_killing_the_first_process_leaves_no_other(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    proc = _start(settings, tmp_path, port)
    pids = [proc.pid]
    try:
        pids = await _up(proc, tmp_path, port)
        proc.kill()
        proc.wait()
        await wait_until(lambda: _gone(pids), "the child to exit after its parent's kill -9", ok=lambda g: len(g) == 2)
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, "something still listens on the API's port"
    finally:
        for pid in set(pids) - set(_gone(pids)):
            os.kill(pid, signal.SIGKILL)


async def test_a_child_that_dies_young_takes_the_api_down(settings: Settings, tmp_path: Path) -> None:
    """Not half strength in silence: a child dying within its first 30 s (it cannot come up) stops the API."""
    port = free_port()
    proc = _start(settings, tmp_path, port)
    try:
        pids = await _up(proc, tmp_path, port)
        child = next(p for p in pids if p != proc.pid)
        os.kill(child, signal.SIGKILL)
        code = await asyncio.to_thread(proc.wait, 30)
        assert code != 0
        assert "rather than serving with fewer processes" in (tmp_path / "api.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
