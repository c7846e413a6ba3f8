"""Shared fixtures: a real PostgreSQL and a real Temporal dev server for the session, the demo alliance."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.search import SearchNode
from yilian.config import Settings
from yilian.runtime import postgres, temporal
from yilian.runtime.postgres import EmbeddedPostgres
from yilian.runtime.s3proxy import S3ProxyServer
from yilian.runtime.temporal import TemporalDevServer


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def pg_server(services_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = postgres.start_embedded_postgres(postgres.default_data_dir(services_dir), durable=False)
    yield server
    server.stop()
    _no_deadlock_in(server.data_dir / postgres.LOG_FILE_NAME)


def _no_deadlock_in(log: Path) -> None:
    """A deadlock anywhere in the session fails it, even one a retry (Temporal's, the gateway's) recovered from:
    PostgreSQL settles a deadlock by aborting one side, and each is a lock-order bug (docs/dicomweb.md)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = [k for k, line in enumerate(lines) if "deadlock detected" in line]
    if found:
        detail = "\n".join(lines[found[0] : found[0] + 4])
        pytest.fail(f"PostgreSQL detected {len(found)} deadlock(s) during the tests; the first:\n{detail}")


@pytest.fixture(scope="session")
def database_url(pg_server: EmbeddedPostgres) -> str:
    """A fresh database with the newest schema and the demo alliance."""
    from yilian.db.demo import migrate_and_seed

    url = pg_server.create_database(f"t_{uuid.uuid4().hex[:8]}")
    migrate_and_seed(url)
    return url


@pytest.fixture(scope="session")
def dev_server(services_dir: Path) -> Iterator[TemporalDevServer]:
    server = temporal.start_dev_server(temporal.default_data_dir(services_dir))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(database_url: str, dev_server: TemporalDevServer, services_dir: Path) -> Settings:
    return Settings(
        storage_url=f"file://{services_dir / 'dicom'}",
        database_url=database_url,
        temporal_address=dev_server.address,
        task_queue=f"yilian-test-{uuid.uuid4().hex[:6]}",
        var_dir=Path(os.getcwd()) / "var",
        # The demo's h-anping is fully hosted: with this on, every study a test stores would become a referral.
        auto_referral=False,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    from yilian.db.engine import make_engine

    assert settings.database_url
    eng = make_engine(settings.database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
async def temporal_client(settings: Settings) -> Client:
    from yilian.temporal_client import connect

    assert settings.temporal_address
    return await connect(settings.temporal_address)


@pytest.fixture(scope="session")
async def worker(temporal_client: Client, engine: AsyncEngine, settings: Settings) -> AsyncIterator[None]:
    """One worker per test session: Temporal refuses two in one process on the same task queue, and both
    the integration and the e2e tests need one."""
    from yilian.worker import build_worker

    async with build_worker(temporal_client, engine, settings):
        yield


@pytest.fixture(scope="session")
def opensearch_node(services_dir: Path) -> Iterator[SearchNode]:
    """A real OpenSearch node for the tests that search; only a session that asks for it pays for its start.
    YILIAN_TEST_OPENSEARCH_URL points the tests at a node already running instead (it cannot be restarted)."""
    existing = os.environ.get("YILIAN_TEST_OPENSEARCH_URL")
    holder = SearchNode(None if existing else services_dir / "opensearch", existing)
    if not existing:
        holder.start()
    yield holder
    holder.stop()


@pytest.fixture(scope="session")
def opensearch_url(opensearch_node: SearchNode) -> str:
    return opensearch_node.url


@pytest.fixture(scope="session")
def s3_server(services_dir: Path) -> Iterator[S3ProxyServer]:
    """A real S3-compatible server (s3proxy, runtime/s3proxy.py) with the bucket `yilian-test`; only a session
    that asks for it pays for its start (about 15 s, and once the jars' fetch with Maven)."""
    from yilian.runtime.s3proxy import start_s3proxy

    server = start_s3proxy(services_dir / "s3proxy")
    server.create_bucket(S3_TEST_BUCKET)
    yield server
    server.stop()


S3_TEST_BUCKET = "yilian-test"
