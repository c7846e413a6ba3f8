"""Alembic driven from a test: the repository's migrations against a given database URL."""

from __future__ import annotations

from alembic.config import Config

from yilian.db.engine import MIGRATIONS_DIR


def alembic_config(url: str) -> Config:
    """The configuration `alembic upgrade/downgrade` needs, without an alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg
