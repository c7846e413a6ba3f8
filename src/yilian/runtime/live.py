"""The live process `yilian up` starts beside the API: `yilian live` as a child, on loopback, with a generated
secret that only the two of them know (docs/live.md)."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from yilian.config import DEV_LIVE_SECRET, Settings
from yilian.runtime.process import free_port, port_accepts
from yilian.runtime.service import StoppableService

_log = logging.getLogger(__name__)
LOG_FILE_NAME = "live.log"


class LiveStartError(RuntimeError):
    """The live process exited or did not answer /health in time."""


class LiveProcess(StoppableService):
    def __init__(self, process: subprocess.Popen[bytes], url: str, secret: str) -> None:
        self.process = process
        self.url = url
        self.secret = secret

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_live_process(settings: Settings, *, loopback_only: bool = False, timeout: float = 30.0) -> LiveProcess:
    """Start `yilian live` on live_host and a free port (live_port when it is free); wait for /health."""
    host = settings.live_host
    taken = not settings.live_port or port_accepts(host, settings.live_port, timeout=0.2)
    port = free_port(host) if taken else settings.live_port
    secret = settings.live_secret if settings.live_secret != DEV_LIVE_SECRET else secrets.token_urlsafe(32)
    env = {**os.environ, "YILIAN_LIVE_SECRET": secret}  # handed to our child, never on its command line
    env["YILIAN_LECTURE_MEDIA_DIR"] = str(settings.lecture_media_root())  # the API serves lectures from there
    log_dir = Path(settings.var_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "yilian.cli", "live", "--host", host, "--port", str(port)]
    if loopback_only:
        command.append("--loopback-only")
    with open(log_dir / LOG_FILE_NAME, "ab") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    live = LiveProcess(process, f"http://{host}:{port}", secret)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LiveStartError(f"yilian live exited with {process.returncode}; see {log_dir / LOG_FILE_NAME}")
        try:
            with urllib.request.urlopen(f"{live.url}/health", timeout=1) as answer:
                if answer.status == 200:
                    return live
        except OSError:
            time.sleep(0.1)
    live.stop()
    raise LiveStartError(f"yilian live did not answer {live.url}/health within {timeout:.0f} s")
