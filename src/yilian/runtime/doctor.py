"""`yilian doctor`: check that the database, Temporal, search, storage and secrets are usable, in plain words."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from yilian.config import Settings
from yilian.runtime import opensearch, postgres, temporal

DEFAULT_TIMEOUT = 3.0
_DATABASE_HINT = (
    "Set YILIAN_DATABASE_URL to a reachable server "
    "(postgresql+asyncpg://USER:PASSWORD@HOST:5432/yilian), or unset it to use the embedded one "
    "that `yilian up` starts."
)
_TEMPORAL_HINT = (
    "Set YILIAN_TEMPORAL_ADDRESS to a reachable Temporal frontend (HOST:7233), or unset it to use "
    "the embedded dev server that `yilian up` starts."
)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


async def check(settings: Settings, *, seconds: float = DEFAULT_TIMEOUT) -> list[Check]:
    """Run every check concurrently; each network or disk wait is bounded by `seconds`."""
    checks: list[tuple[str, Callable[[Settings, float], Awaitable[Check]]]] = [
        ("PostgreSQL", _check_postgres),
        ("Temporal", _check_temporal),
        ("Search", _check_search),
        ("Storage", _check_storage),
        ("Fixity", _check_fixity),
        ("Secrets", _check_secrets),
    ]

    async def guarded(name: str, run: Callable[[Settings, float], Awaitable[Check]]) -> Check:
        # Every check bounds its own network waits; this outer bound (with slack) is a backstop
        # so one stuck check can never hang the whole report.
        try:
            return await asyncio.wait_for(run(settings, seconds), 2 * seconds + 1.0)
        except TimeoutError:
            return Check(name, False, f"The {name} check did not finish in time.")
        except Exception as exc:  # the report must list every check, whatever goes wrong
            return Check(name, False, f"The {name} check failed unexpectedly: {_describe(exc)}")

    return list(await asyncio.gather(*(guarded(name, run) for name, run in checks)))


def render(checks: list[Check]) -> str:
    """The report as text, one check per line."""
    width = max((len(c.name) for c in checks), default=0)
    return "\n".join(f"[{'ok' if c.ok else 'FAIL':>4}] {c.name:<{width}}  {c.detail}" for c in checks)


# --- PostgreSQL --------------------------------------------------------------------------------


async def _check_postgres(settings: Settings, seconds: float) -> Check:
    name = "PostgreSQL"
    if settings.database_url is not None:
        return await _check_postgres_url(settings.database_url, seconds)

    data_dir = postgres.default_data_dir(settings.var_dir).absolute()
    state = await asyncio.wait_for(asyncio.to_thread(_embedded_postgres_state, data_dir), seconds)
    if isinstance(state, Check):
        return state
    port = state
    result = await _check_postgres_url(f"postgresql://{postgres.SUPERUSER}@{postgres.HOST}:{port}/postgres", seconds)
    if result.ok:
        return Check(name, True, f"Embedded server in {data_dir} is running at {postgres.HOST}:{port}.")
    return result


def _embedded_postgres_state(data_dir: Path) -> Check | int:
    """A final verdict about the embedded server, or the port it is running on."""
    name = "PostgreSQL"
    try:
        postgres.bin_dir()
    except postgres.EmbeddedPostgresError as exc:
        return Check(name, False, str(exc))
    if not data_dir.exists():
        return Check(name, True, f"Embedded server not created yet: `yilian up` will initialise it in {data_dir}.")
    if not (data_dir / "PG_VERSION").exists():
        if os.access(data_dir, os.R_OK | os.X_OK) and any(data_dir.iterdir()):
            return Check(
                name,
                False,
                f"{data_dir} is not empty but holds no PostgreSQL data (no PG_VERSION): move it away.",
            )
        return Check(name, True, f"Embedded server not initialised yet: `yilian up` will do it in {data_dir}.")
    port = postgres.find_running(data_dir)
    if port is None:
        return Check(name, True, f"Embedded server in {data_dir} is not running; `yilian up` starts it.")
    return port


async def _check_postgres_url(url: str, seconds: float) -> Check:
    name = "PostgreSQL"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Check(name, False, f"YILIAN_DATABASE_URL is not a valid database URL. {_DATABASE_HINT}")
    where = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    user = parsed.username or "(default user)"
    database = parsed.database or "(default database)"
    # asyncpg takes libpq-style URLs: drop SQLAlchemy's "+asyncpg" driver suffix.
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=seconds)
    except ConnectionRefusedError:
        return Check(name, False, f"{where} refused the connection: is it running? {_DATABASE_HINT}")
    except socket.gaierror:
        return Check(name, False, f"{where}: the host name could not be resolved. {_DATABASE_HINT}")
    except TimeoutError:
        return Check(name, False, f"{where} did not answer within {seconds:.0f} s. {_DATABASE_HINT}")
    except asyncpg.InvalidPasswordError:
        return Check(name, False, f"{where} rejected the password for user {user}.")
    except asyncpg.InvalidAuthorizationSpecificationError:
        return Check(name, False, f"{where} does not let user {user} in (no such role, or pg_hba.conf).")
    except asyncpg.InvalidCatalogNameError:
        return Check(name, False, f"{where} has no database {database}: create it or fix the URL.")
    except OSError as exc:
        return Check(name, False, f"{where} could not be reached: {_describe(exc)}. {_DATABASE_HINT}")
    except Exception as exc:
        return Check(name, False, f"{where} could not be used: {_describe(exc)}")
    try:
        await asyncio.wait_for(conn.fetchval("SELECT 1"), seconds)
    except Exception as exc:
        return Check(name, False, f"{where} accepted the connection but failed `SELECT 1`: {_describe(exc)}")
    finally:
        conn.terminate()
    return Check(name, True, f"{where}, database {database}, user {user}: connected.")


# --- Temporal ----------------------------------------------------------------------------------


async def _check_temporal(settings: Settings, seconds: float) -> Check:
    name = "Temporal"
    if settings.temporal_address is not None:
        return await _check_temporal_address(settings.temporal_address, settings.temporal_namespace, seconds)

    data_dir = temporal.default_data_dir(settings.var_dir).absolute()
    try:
        temporal.temporal_cli_path()
    except temporal.TemporalStartError as exc:
        return Check(name, False, str(exc))
    address = await asyncio.to_thread(temporal.find_running, data_dir)
    if address is None:
        return Check(name, True, f"Embedded dev server ({data_dir}) is not running; `yilian up` starts it.")
    result = await _check_temporal_address(address, settings.temporal_namespace, seconds)
    if result.ok:
        return Check(name, True, f"Embedded dev server is running at {address}.")
    return result


async def _check_temporal_address(address: str, namespace: str, seconds: float) -> Check:
    name = "Temporal"
    where = f"Temporal at {address}"
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        return Check(name, False, f"{address!r} is not HOST:PORT. {_TEMPORAL_HINT}")
    # A plain TCP probe first: it tells "refused" from "unresolvable" from "no answer", which the
    # gRPC client reports only as a generic connection error.
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port_text)), seconds)
        writer.close()
    except ConnectionRefusedError:
        return Check(name, False, f"{where} refused the connection: is it running? {_TEMPORAL_HINT}")
    except socket.gaierror:
        return Check(name, False, f"{where}: the host name could not be resolved. {_TEMPORAL_HINT}")
    except TimeoutError:
        return Check(name, False, f"{where} did not answer within {seconds:.0f} s. {_TEMPORAL_HINT}")
    except OSError as exc:
        return Check(name, False, f"{where} could not be reached: {_describe(exc)}. {_TEMPORAL_HINT}")

    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=namespace), seconds)
        await asyncio.wait_for(
            client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace)),
            seconds,
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Check(
                name,
                False,
                f"{where} has no namespace {namespace!r}: create it "
                f"(temporal operator namespace create {namespace}) or set YILIAN_TEMPORAL_NAMESPACE.",
            )
        return Check(name, False, f"{where} answered with an error: {exc.message}")
    except TimeoutError:
        return Check(name, False, f"{where} accepts connections but is not a ready Temporal server.")
    except Exception as exc:
        return Check(name, False, f"{where} accepts connections but does not answer as Temporal: {_describe(exc)}")
    return Check(name, True, f"{where}, namespace {namespace!r}: connected.")


# --- Search ------------------------------------------------------------------------------------


async def _check_search(settings: Settings, seconds: float) -> Check:
    """The node answers, and the index holds as many reports as PostgreSQL has signed."""
    name = "Search"
    url = settings.opensearch_url
    if url is None:
        data_dir = opensearch.default_data_dir(settings.var_dir).absolute()
        url = await asyncio.to_thread(opensearch.find_running, data_dir)
        if url is None:
            return Check(name, True, f"Embedded OpenSearch ({data_dir}) is not running; `yilian up` starts it.")
    from yilian.search.reindex import counts
    from yilian.search.reports import connect

    client = connect(url, timeout=seconds)
    try:
        health = await client.cluster.health()
        database_url = settings.database_url or _embedded_database_url(settings)
        if database_url is None:
            return Check(name, True, f"OpenSearch at {url} is {health.get('status')}; no database to compare with.")
        from yilian.db.engine import make_engine

        engine = make_engine(database_url)
        try:
            found = await counts(engine, client, settings.search_alias)
        finally:
            await engine.dispose()
    except Exception as exc:
        return Check(name, False, f"OpenSearch at {url} could not be used: {_describe(exc)}")
    finally:
        await client.close()
    where = f"OpenSearch at {url} ({health.get('status')}), index {settings.search_alias}"
    if found.index != found.database:
        held = "no index yet" if found.index is None else f"{found.index} in the index"
        return Check(
            name,
            False,
            f"{where}: {found.database} signed reports in PostgreSQL, {held}: run `yilian search reindex`.",
        )
    return Check(name, True, f"{where}: {found.index} reports, as many as PostgreSQL has signed.")


# --- Fixity ------------------------------------------------------------------------------------


async def _check_fixity(settings: Settings, seconds: float) -> Check:
    """The daily fixity run (activities/fixity.py): when it last ran, and how many instances still fail it."""
    name = "Fixity"
    database_url = settings.database_url or _embedded_database_url(settings)
    if database_url is None:
        return Check(name, True, "No database to read the fixity runs from.")
    from yilian.db.engine import make_engine, reading
    from yilian.db.queries import fixity

    engine = make_engine(database_url)
    try:
        async with reading(engine) as conn:
            last = await fixity.latest_run(conn)
            failing = await fixity.still_failing(conn)
    except Exception as exc:
        if _undefined_table(exc):  # a database nothing has migrated yet: not a fixity failure
            return Check(name, True, "The database has no schema yet; `yilian up` migrates it.")
        return Check(name, False, f"The fixity runs could not be read: {_describe(exc)}")
    finally:
        await engine.dispose()
    if last is None:
        return Check(name, True, "No fixity run yet: the worker's daily schedule makes the first.")
    ran = f"last run {last['started_at']:%Y-%m-%d %H:%M} UTC re-hashed {last['checked']} instances"
    if failing:
        return Check(
            name, False,
            f"{failing} stored instances are missing or no longer match the SHA-256 recorded at ingest "
            f"(table fixity_failures; {ran}): restore them from backup.",
        )  # fmt: skip
    return Check(name, True, f"{ran}; no instance fails its check.")


def _undefined_table(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPI error; asyncpg's own is its cause
    return getattr(orig, "sqlstate", None) == "42P01" or type(getattr(orig, "__cause__", None)).__name__ == (
        "UndefinedTableError"
    )


def _embedded_database_url(settings: Settings) -> str | None:
    port = postgres.find_running(postgres.default_data_dir(settings.var_dir).absolute())
    if port is None:
        return None
    return f"postgresql+asyncpg://{postgres.SUPERUSER}@{postgres.HOST}:{port}/{postgres.DATABASE}"


# --- Storage -----------------------------------------------------------------------------------


async def _check_storage(settings: Settings, seconds: float) -> Check:
    name = "Storage"
    url = settings.storage_url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return Check(name, False, f"YILIAN_STORAGE_URL {url!r} has no scheme: use file:///path/to/dicom.")
    if scheme == "s3":
        return await asyncio.wait_for(asyncio.to_thread(_s3_reachable, settings), seconds)
    if scheme != "file":
        return Check(
            name,
            False,
            f"YILIAN_STORAGE_URL scheme {scheme!r} is not supported: use file:///path or s3://bucket/prefix.",
        )
    # Run in a thread: a hung network mount must not block the event loop past the timeout.
    return await asyncio.wait_for(asyncio.to_thread(_storage_writable, Path(rest)), seconds)


def _s3_reachable(settings: Settings) -> Check:
    """Asks the bucket for a key that is never written: 'not found' proves the endpoint, bucket and credentials."""
    from yilian.imaging.blob import blob_store

    name, url = "Storage", settings.storage_url
    where = f"{url} (endpoint {settings.s3_endpoint or 'AWS_ENDPOINT_URL or AWS'})"
    try:
        blob_store(settings).exists("0" * 64)
    except Exception as exc:
        return Check(name, False, f"{where} could not be used: {_describe(exc)}. See docs/storage.md.")
    return Check(name, True, f"{where}: the bucket answers to these credentials.")


def _storage_writable(path: Path) -> Check:
    name = "Storage"
    # "file://var/dicom" is a path relative to the working directory, "file:///srv/dicom" absolute.
    path = path.absolute()
    if path.exists():
        if not path.is_dir():
            return Check(name, False, f"{path} exists but is not a directory.")
        try:
            # Really write: os.access says yes for root even on a read-only mount.
            with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
                pass
        except OSError as exc:
            return Check(name, False, f"{path} is not writable: {_describe(exc)}.")
        return Check(name, True, f"{path} exists and is writable.")
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return Check(name, False, f"{path} cannot be created: {ancestor} is not a directory.")
    try:
        # A real attempt, removed at once: os.access says yes for root even on /proc or read-only mounts.
        os.rmdir(tempfile.mkdtemp(dir=ancestor, prefix=".doctor-"))
    except OSError as exc:
        return Check(name, False, f"{path} does not exist and cannot be created in {ancestor}: {_describe(exc)}.")
    return Check(name, True, f"{path} does not exist yet; it will be created.")


# --- Secrets -----------------------------------------------------------------------------------


async def _check_secrets(settings: Settings, seconds: float) -> Check:
    name = "Secrets"
    defaults = settings.default_secrets()
    if settings.environment == "development":
        if defaults:
            return Check(
                name,
                True,
                f"Development defaults in use for {', '.join(defaults)}: fine here, "
                "but set real ones before running anywhere else.",
            )
        return Check(name, True, "Custom secrets are set.")
    where = f"environment {settings.environment!r}"
    if defaults:
        return Check(name, False, f"{', '.join(defaults)} still have the development default in {where}.")
    weak = settings.weak_secrets()
    if weak:
        return Check(
            name,
            False,
            f"Too weak for {where}: {'; '.join(f'{var} ({why})' for var, why in weak.items())}. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`.",
        )
    return Check(name, True, f"Secrets are set for {where}.")


def _describe(exc: BaseException, limit: int = 300) -> str:
    # Client libraries can put whole gRPC status dumps in messages: keep the report readable.
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
