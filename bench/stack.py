"""Yilian's stack for a benchmark, as a deployment runs it: an embedded PostgreSQL with the demo data, the Temporal
dev server, `yilian worker` and `yilian api` (in `api_processes` processes on one port: YILIAN_API_PROCESSES).

yilian is imported inside the functions, as the benches do: importing this module starts nothing and loads nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import stop_processes  # bench/ is on sys.path: these run as scripts


@dataclass
class Stack:
    tmp: Path
    pg: Any = None
    dev: Any = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_url: str = ""

    def servers(self) -> list[Any]:
        """The servers started in-process (not in `procs`), in the order they are stopped."""
        return [self.dev, self.pg]

    def stop(self) -> None:
        stop_processes(self.procs)
        for server in self.servers():
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()

    def close(self, *, keep: bool) -> None:
        """Stops everything, then removes the stack's files, or keeps them (logs, data) to look at."""
        self.stop()
        if keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def spawn(name: str, args: list[str], env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    """Starts a process in `tmp`, its output in tmp/<name>.log."""
    log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)


def wait_http(
    url: str, name: str, watch: Mapping[str, subprocess.Popen[bytes]], tmp: Path, timeout: float = 90
) -> None:
    """Until `url` (served by `name`) answers below 500; fails at once if a process in `watch` exits."""
    deadline = time.monotonic() + timeout
    while True:
        for proc_name, proc in watch.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{proc_name} exited ({proc.returncode}); see {tmp / (proc_name + '.log')}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not up after {timeout} s; see {tmp / (name + '.log')}")
        time.sleep(0.2)


API_PROCESSES = 2  # one per core of the bench's 2-core box, as Orthanc uses its threads on both


def start_yilian_stack(
    stack: Stack, *, durable: bool, env: Mapping[str, str] | None = None, api_processes: int = API_PROCESSES
) -> dict[str, str]:
    """Starts the stack into `stack` (its files under stack.tmp) and returns the environment the API runs with.

    `durable` is PostgreSQL's (fsync and synchronous commit, as in production; off when only CPU is measured).
    `env` is added to the YILIAN_* settings, e.g. YILIAN_AUTO_REFERRAL. `api_processes`: YILIAN_API_PROCESSES; the
    API's first process is stack.procs["api"], the others its children (count them with it: bench/procstat.py).
    """
    from yilian.db.demo import migrate_and_seed
    from yilian.runtime import postgres, temporal
    from yilian.runtime.process import free_port

    tmp = stack.tmp
    stack.pg = postgres.start_embedded_postgres(tmp / "pg", durable=durable)
    stack.dev = temporal.start_dev_server(tmp / "temporal")
    url = stack.pg.sqlalchemy_url
    migrate_and_seed(url)
    port = free_port()
    api_env = {k: v for k, v in os.environ.items() if not k.startswith(("YILIAN_", "TEMPORAL_"))}
    api_env.update(
        {
            "YILIAN_DATABASE_URL": url,
            "YILIAN_TEMPORAL_ADDRESS": stack.dev.address,
            "YILIAN_VAR_DIR": str(tmp / "var"),
            "YILIAN_STORAGE_URL": f"file://{tmp / 'var' / 'dicom'}",
            "YILIAN_API_HOST": "127.0.0.1",
            "YILIAN_API_PORT": str(port),
            "YILIAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "YILIAN_API_PROCESSES": str(api_processes),
        }
    )
    api_env.update(env or {})
    stack.api_url = f"http://127.0.0.1:{port}"
    for command in ("worker", "api"):
        stack.procs[command] = spawn(command, [sys.executable, "-m", "yilian.cli", command], api_env, tmp)
    wait_http(f"{stack.api_url}/api/health", "api", stack.procs, tmp)
    wait_started(tmp / "api.log", api_processes, stack.procs, tmp)
    return api_env


def wait_started(log: Path, processes: int, watch: Mapping[str, subprocess.Popen[bytes]], tmp: Path) -> None:
    """Until each of the API's `processes` has said uvicorn's "Application startup complete." in `log`: the first
    answers /api/health before the others it started serve."""
    deadline = time.monotonic() + 90
    while log.read_text(errors="replace").count("Application startup complete.") < processes:
        for proc_name, proc in watch.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{proc_name} exited ({proc.returncode}); see {tmp / (proc_name + '.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {processes} API processes up after 90 s; see {log}")
        time.sleep(0.2)
