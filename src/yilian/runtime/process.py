"""Operating-system helpers for the embedded services: loopback ports and whether a process still lives."""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST = "127.0.0.1"


def port_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user (the postgres system account)
    try:
        # Containers without an init that reaps orphans keep exited servers as zombies.
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(0) is all we can know
    return stat_line.rpartition(")")[2].split()[:1] != ["Z"]
