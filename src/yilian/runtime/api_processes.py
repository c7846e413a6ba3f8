"""`yilian api` in more than one process on one port: the first binds the listening sockets, the others inherit them.

Why one shared socket rather than SO_REUSEPORT in each process: the kernel spreads SO_REUSEPORT connections by a
hash of their addresses, so a few keep-alive clients can all land on one busy process, and connections waiting in
the queue of a process that dies are reset. With one inherited socket there is one queue, and whichever process is
free accepts next. Nor can a stray process of the same user join the port unnoticed.

A child is `python -m yilian.cli api --listen-fds ...`: it asks the kernel for SIGTERM when its parent dies (kill -9
included), and stops gracefully on it, as on the parent's forwarded SIGTERM. A child that dies is logged and started
again; one that dies within START_GRACE_S of its start cannot come up (settings, database) and takes the API down,
so a supervisor sees it rather than an API quietly serving with fewer processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger("yilian.api.processes")

START_GRACE_S = 30.0  # a child that dies sooner after its start is not restarted: it would die again
STOP_GRACE_S = 10.0  # the API's graceful shutdown gives open streams 5 s; then a child is killed
WATCH_INTERVAL_S = 0.5
BACKLOG = 2048  # uvicorn's default
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class ChildProcessFailed(RuntimeError):
    """An API child process died right after it started."""


def listen_sockets(host: str, port: int, backlog: int = BACKLOG) -> list[socket.socket]:
    """The listening sockets asyncio's create_server(host, port) would open: every address `host` resolves to
    (both IPv4 and IPv6 for a name like localhost), SO_REUSEADDR, IPv6 sockets IPv6-only. Inheritable."""
    infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def inherited_sockets(fds: str) -> list[socket.socket]:
    """The listening sockets a parent passed down, from `--listen-fds 3,4`."""
    return [socket.socket(fileno=int(fd)) for fd in fds.split(",")]


def die_with_parent(parent_pid: int) -> None:
    """SIGTERM to this process when its parent dies (Linux's PR_SET_PDEATHSIG); exits at once when the parent is
    already gone. Elsewhere only the parent's own stop ends its children."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("could not ask to die with the parent (errno %d)", ctypes.get_errno())
    if os.getppid() != parent_pid:
        sys.exit("yilian api: the parent process is gone; not starting")


@dataclass
class _Child:
    index: int
    proc: subprocess.Popen[bytes]
    started: float


@dataclass
class ApiProcesses:
    """The N-1 children of a multi-process `yilian api`, started, watched and stopped by the parent."""

    count: int  # children, the parent not included
    sockets: list[socket.socket]
    children: list[_Child] = field(default_factory=list)
    stopping: bool = False

    def command(self, index: int) -> list[str]:
        fds = ",".join(str(s.fileno()) for s in self.sockets)
        return [
            sys.executable,
            "-m",
            "yilian.cli",
            "api",
            "--listen-fds",
            fds,
            "--parent-pid",
            str(os.getpid()),
            "--process-index",
            str(index),
        ]

    def _spawn(self, index: int) -> _Child:
        # Called from the main thread only: PR_SET_PDEATHSIG fires when the thread that forked the child ends.
        proc = subprocess.Popen(self.command(index), pass_fds=[s.fileno() for s in self.sockets])
        log.info("API process %d started (pid %d)", index, proc.pid)
        return _Child(index, proc, time.monotonic())

    def start(self) -> None:
        self.children = [self._spawn(i) for i in range(1, self.count + 1)]

    async def watch(self) -> None:
        """Runs until cancelled: restarts a child that died, raises ChildProcessFailed for one that died young.
        Once stopping, it only waits: returning would end the parent's server before its graceful shutdown."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            if self.stopping:
                continue
            for n, child in enumerate(self.children):
                code = child.proc.poll()
                if code is None:
                    continue
                lived = time.monotonic() - child.started
                if lived < START_GRACE_S:
                    log.error(
                        "API process %d (pid %d) exited with status %d %.1f s after it started: stopping the API"
                        " rather than serving with fewer processes",
                        child.index,
                        child.proc.pid,
                        code,
                        lived,
                    )
                    raise ChildProcessFailed(f"API process {child.index} exited with status {code}")
                log.error(
                    "API process %d (pid %d) exited with status %d after %.0f s; starting it again",
                    child.index,
                    child.proc.pid,
                    code,
                    lived,
                )
                self.children[n] = self._spawn(child.index)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Ask every living child to stop (graceful on SIGTERM), and stop restarting them."""
        self.stopping = True
        for child in self.children:
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signum)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the children, wait for them, SIGKILL any that outlive `grace_s`."""
        self.signal(signal.SIGTERM)
        for _ in range(int(grace_s / 0.05)):
            if all(c.proc.poll() is not None for c in self.children):
                break
            await asyncio.sleep(0.05)
        for child in self.children:
            if child.proc.poll() is None:
                log.error("API process %d (pid %d) did not stop; killing it", child.index, child.proc.pid)
                child.proc.kill()
                child.proc.wait()
