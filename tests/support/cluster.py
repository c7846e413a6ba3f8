"""A scaled-out Yilian on one machine for the chaos test: PostgreSQL and Temporal of its own (so it may restart
them), two `yilian api` behind nginx, two `yilian worker`, one `yilian gateway run`, each a real process that can
be killed with SIGKILL and started again on the same port."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from yilian.runtime import postgres, temporal
from yilian.runtime.postgres import EmbeddedPostgres
from yilian.runtime.process import free_port, port_accepts
from yilian.runtime.temporal import TemporalDevServer

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def wait_for(check: object, what: str, within: float = 60.0) -> None:
    """Poll `check()` (sync) until true; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.2)


def nginx_bin() -> str | None:
    """nginx from PATH, or Debian's /usr/sbin (not on an ordinary user's PATH)."""
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Proc:
    """One `python -m yilian.cli ...` process, restartable with the same environment (and so the same ports)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready: str | None = None  # a health URL, or None to wait for the log's `ready_text`
    ready_text: str | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "yilian.cli", *self.args], cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        self.starts += 1
        process = self.process

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {process.returncode}:\n{self.log_tail()}")
            if self.ready is not None:
                return _healthy(self.ready)
            return self.ready_text is not None and self.ready_text in self.log.read_text(errors="replace")[offset:]

        wait_for(up, f"{self.name} to be ready", within=240)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


NGINX_CONF = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream yilian_api {{
{servers}
    }}
    server {{
        listen {host}:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
        proxy_read_timeout 120s;
        # A dead API (refused connection) is skipped for GET and friends; a POST that reached a dying API is
        # not replayed here (it may have taken effect): the client retries it with its Idempotency-Key.
        proxy_next_upstream error timeout http_502;
        location / {{ proxy_pass http://yilian_api; }}
    }}
}}
"""


@dataclass
class Nginx:
    prefix: Path
    port: int
    upstreams: list[int]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {HOST}:{p} max_fails=1 fail_timeout=2s;" for p in self.upstreams)
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, prefix=self.prefix, servers=servers, host=HOST, port=self.port))
        self.process = subprocess.Popen(
            [nginx_bin() or "nginx", "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "stderr.log").open("ab"),
        )
        wait_for(lambda: _healthy(f"{self.url}/api/health"), "nginx to answer /api/health", within=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class Cluster:
    root: Path
    opensearch_url: str
    search_alias: str
    storage_env: dict[str, str]  # YILIAN_STORAGE_URL and, for s3://, the endpoint and keys every process shares
    pg: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    gateway: Proc | None = None
    nginx: Nginx | None = None
    task_queue: str = "yilian-chaos"

    # -- the shared services --------------------------------------------------------------------------------
    def start_services(self) -> None:
        from yilian.db.demo import migrate_and_seed

        self.pg = postgres.start_embedded_postgres(self.root / "pg", durable=True)
        migrate_and_seed(self.pg.sqlalchemy_url, demo=True, history=False)
        self.temporal = temporal.start_dev_server(self.root / "temporal")

    @property
    def database_url(self) -> str:
        assert self.pg is not None
        return self.pg.sqlalchemy_url

    def restart_postgres(self) -> None:
        assert self.pg is not None
        port = self.pg.port
        self.pg.stop()
        self.pg = postgres.start_embedded_postgres(self.root / "pg", port, durable=True)

    def restart_temporal(self) -> None:
        assert self.temporal is not None
        port = self.temporal.port
        self.temporal.stop()
        wait_for(lambda: not port_accepts(HOST, port), "the Temporal port to close", within=30)
        self.temporal = temporal.start_dev_server(self.root / "temporal", port)

    # -- our processes ------------------------------------------------------------------------------------------
    def cloud_env(self) -> dict[str, str]:
        assert self.temporal is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("YILIAN_")}
        env.update(
            YILIAN_DATABASE_URL=self.database_url,
            YILIAN_TEMPORAL_ADDRESS=self.temporal.address,
            YILIAN_TASK_QUEUE=self.task_queue,
            YILIAN_OPENSEARCH_URL=self.opensearch_url,
            YILIAN_SEARCH_ALIAS=self.search_alias,
            YILIAN_VAR_DIR=str(self.root / "var"),
            YILIAN_METRICS_REFRESH_SECONDS="2",
        )
        env.update(self.storage_env)
        return env

    def start_cloud(self, n_api: int = 2, n_worker: int = 2) -> None:
        api_ports = [free_port() for _ in range(n_api)]
        for i, port in enumerate(api_ports):
            env = {**self.cloud_env(), "YILIAN_API_PORT": str(port), "YILIAN_METRICS_PORT": str(free_port())}
            self.apis.append(Proc(f"api-{i + 1}", ["api"], env, self.root / f"api-{i + 1}.log",
                                  ready=f"http://{HOST}:{port}/api/health"))  # fmt: skip
        for i in range(n_worker):
            env = {**self.cloud_env(), "YILIAN_METRICS_PORT": str(free_port())}
            self.workers.append(Proc(f"worker-{i + 1}", ["worker"], env, self.root / f"worker-{i + 1}.log",
                                     ready_text="Metrics (Prometheus)"))  # fmt: skip
        for proc in [*self.apis, *self.workers]:
            proc.start()
        self.nginx = Nginx(self.root / "nginx", free_port(), api_ports)
        self.nginx.start()

    def start_gateway(self, api_key: str) -> None:
        assert self.nginx is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("YILIAN_")}
        env.update(
            YILIAN_GATEWAY_SPOOL_DIR=str(self.root / "gateway"),
            YILIAN_GATEWAY_PORT=str(free_port()),
            YILIAN_GATEWAY_CLOUD_URL=self.nginx.url,
            YILIAN_GATEWAY_API_KEY=api_key,
            YILIAN_GATEWAY_BATCH_LINGER_SECONDS="0.05",
            YILIAN_GATEWAY_BACKOFF_MIN_SECONDS="0.2",
            YILIAN_GATEWAY_BACKOFF_MAX_SECONDS="1",
            YILIAN_GATEWAY_METRICS_PORT=str(free_port()),
        )
        self.gateway = Proc("gateway", ["gateway", "run"], env, self.root / "gateway.log", ready_text="listening on")
        self.gateway.start()

    @property
    def gateway_port(self) -> int:
        assert self.gateway is not None
        return int(self.gateway.env["YILIAN_GATEWAY_PORT"])

    def metrics_url(self, proc: Proc) -> str:
        port = proc.env.get("YILIAN_METRICS_PORT") or proc.env["YILIAN_GATEWAY_METRICS_PORT"]
        return f"http://{HOST}:{port}/metrics"

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for proc in [*([self.gateway] if self.gateway else []), *self.apis, *self.workers]:
            proc.stop()
        if self.temporal is not None:
            self.temporal.stop()
        if self.pg is not None:
            self.pg.stop()

    def logs(self) -> str:
        procs = [*([self.gateway] if self.gateway else []), *self.apis, *self.workers]
        return "\n\n".join(f"--- {p.name} (started {p.starts}x) ---\n{p.log_tail()}" for p in procs)
