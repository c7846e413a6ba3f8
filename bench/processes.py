"""Stopping the processes a benchmark started: newest first, politely, then by force.

Standard library only: bench/referral_loop.py is re-imported inside Temporal's workflow sandbox.
"""

from __future__ import annotations

import subprocess
import sys


def stop_processes(procs: dict[str, subprocess.Popen[bytes]], grace_s: float = 15) -> None:
    """SIGTERM each process still running (the last started first), SIGKILL any that outlive `grace_s`."""
    for name, p in reversed(list(procs.items())):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace_s)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop; killing pid {p.pid}", file=sys.stderr)
                p.kill()
                p.wait()
