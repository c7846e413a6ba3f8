"""`yilian up` for an operator: it says where the Temporal Web UI is, and its start-up log has no migration noise."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest

from yilian import cli
from yilian.config import Settings
from yilian.db.engine import migrate
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_up_serves_the_temporal_web_ui_on_loopback_and_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A configured database and search cluster, so only the Temporal dev server is started here.
    settings = Settings(
        var_dir=tmp_path, database_url="postgresql+asyncpg://unused/yilian", opensearch_url="http://127.0.0.1:9"
    )
    with cli.embedded_services(settings, ui=True) as services:
        assert services.temporal_ui is not None and services.temporal_ui.startswith("http://127.0.0.1:")
        page = httpx.get(services.temporal_ui, timeout=10, follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower()
    assert "Temporal (dev server)  127.0.0.1:" in capsys.readouterr().out


def test_migrations_log_nothing_at_info_once_the_cli_configured_logging(
    pg_server: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    url = pg_server.create_database(f"quiet_{uuid.uuid4().hex[:8]}")
    try:
        cli.configure_logging()
        with caplog.at_level(logging.INFO):
            migrate(url)
        assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
    finally:
        logging.getLogger("alembic").setLevel(logging.NOTSET)
        pg_server.drop_database(url.rsplit("/", 1)[1])
