"""Embedded PostgreSQL, the Temporal dev server and doctor, against real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from yilian.config import Settings
from yilian.runtime import doctor, postgres, temporal
from yilian.runtime.postgres import EmbeddedPostgres, start_embedded_postgres
from yilian.runtime.process import free_port, port_accepts
from yilian.runtime.temporal import TemporalDevServer, TemporalStartError, start_dev_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="module")
def pg(var_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = start_embedded_postgres(postgres.default_data_dir(var_dir), durable=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dev_server(var_dir: Path) -> Iterator[TemporalDevServer]:
    server = start_dev_server(temporal.default_data_dir(var_dir), namespaces=["yilian-test"])
    yield server
    server.stop()


async def test_postgres_answers_select_1(pg: EmbeddedPostgres) -> None:
    assert pg.dsn == f"postgresql://postgres@127.0.0.1:{pg.port}/yilian"
    assert pg.sqlalchemy_url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/yilian"
    conn = await asyncpg.connect(pg.dsn)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
    finally:
        await conn.close()


async def test_postgres_is_reused_and_creates_isolated_databases(pg: EmbeddedPostgres) -> None:
    again = start_embedded_postgres(pg.data_dir)
    assert again.reused and again.port == pg.port

    url = pg.create_database("runtime_iso", template="yilian")
    assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/runtime_iso"
    conn = await asyncpg.connect(pg.dsn_for("runtime_iso"))
    try:
        assert await conn.fetchval("SELECT current_database()") == "runtime_iso"
    finally:
        await conn.close()
    pg.drop_database("runtime_iso")
    assert not pg.database_exists("runtime_iso")
    with pytest.raises(ValueError):
        pg.create_database('x"; DROP DATABASE yilian; --')


def test_postgres_stops_and_restarts_on_the_same_port(tmp_path: Path) -> None:
    server = start_embedded_postgres(tmp_path / "pg", durable=False)
    port = server.port
    server.stop()
    assert not port_accepts("127.0.0.1", port)
    assert postgres.find_running(tmp_path / "pg") is None

    restarted = start_embedded_postgres(tmp_path / "pg", durable=False)
    try:
        assert not restarted.reused
        assert restarted.port == port
        assert restarted.database_exists("yilian")
    finally:
        restarted.stop()


async def test_dev_server_accepts_a_client(dev_server: TemporalDevServer) -> None:
    assert dev_server.address == f"127.0.0.1:{dev_server.port}"
    client = await Client.connect(dev_server.address, namespace="yilian-test")
    await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="yilian-test"))
    assert (dev_server.data_dir / temporal.DB_FILE_NAME).exists()

    again = start_dev_server(dev_server.data_dir)
    assert again.reused and again.address == dev_server.address


def test_dev_server_stops(tmp_path: Path) -> None:
    server = start_dev_server(tmp_path)
    server.stop()
    assert not port_accepts("127.0.0.1", server.port)
    assert temporal.find_running(tmp_path) is None


def test_dev_server_failure_shows_its_log(tmp_path: Path) -> None:
    with pytest.raises(TemporalStartError) as caught:
        start_dev_server(tmp_path, search_attributes={"Broken": "NoSuchType"}, timeout=20)
    message = str(caught.value)
    assert "exited" in message and "temporal.log" in message


def test_test_server_binary_is_installed() -> None:
    path = temporal.start_test_server_path()
    assert os.access(path, os.X_OK)


def _settings(var_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"var_dir": var_dir, "storage_url": f"file://{var_dir}/dicom"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


async def test_doctor_finds_the_embedded_services(
    var_dir: Path, pg: EmbeddedPostgres, dev_server: TemporalDevServer
) -> None:
    checks = _by_name(await doctor.check(_settings(var_dir)))
    assert all(c.ok for c in checks.values()), doctor.render(list(checks.values()))
    assert f":{pg.port}" in checks["PostgreSQL"].detail
    assert dev_server.address in checks["Temporal"].detail

    explicit = _settings(var_dir, database_url=pg.sqlalchemy_url, temporal_address=dev_server.address)
    assert all(c.ok for c in await doctor.check(explicit))


async def test_doctor_explains_unreachable_services_in_plain_words(tmp_path: Path) -> None:
    closed = free_port()
    settings = _settings(
        tmp_path,
        database_url=f"postgresql+asyncpg://yilian:s3cret@127.0.0.1:{closed}/yilian",
        temporal_address=f"127.0.0.1:{closed}",
    )
    checks = _by_name(await doctor.check(settings, seconds=1.0))

    pg_check = checks["PostgreSQL"]
    assert not pg_check.ok
    assert f"PostgreSQL at 127.0.0.1:{closed} refused the connection" in pg_check.detail
    assert "YILIAN_DATABASE_URL" in pg_check.detail
    assert "s3cret" not in pg_check.detail

    temporal_check = checks["Temporal"]
    assert not temporal_check.ok
    assert f"Temporal at 127.0.0.1:{closed} refused the connection" in temporal_check.detail
    assert "YILIAN_TEMPORAL_ADDRESS" in temporal_check.detail

    assert checks["Storage"].ok and checks["Secrets"].ok


async def test_doctor_rejects_default_secrets_and_unwritable_storage(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # model_construct skips the validator that already refuses default secrets outside development:
    # doctor must catch the same mistake when settings come from elsewhere.
    settings = Settings.model_construct(
        environment="production",
        var_dir=tmp_path,
        storage_url=f"file://{blocker}",
        jwt_secret="short",
        webhook_secret="dev-only-webhook-secret",
    )
    checks = _by_name(await doctor.check(settings, seconds=1.0))
    assert not checks["Secrets"].ok and "YILIAN_WEBHOOK_SECRET" in checks["Secrets"].detail
    assert "YILIAN_SHARE_LINK_SECRET" in checks["Secrets"].detail  # left at its default too
    assert not checks["Storage"].ok and "not a directory" in checks["Storage"].detail
