"""The async engine (SQLAlchemy Core on asyncpg) and the Alembic entry points."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout (several per request). Connections are
    # recycled instead, and a connection that died with the server fails once and is replaced.
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)


def migrate(url: str) -> None:
    """Bring the database to the newest schema (idempotent). Synchronous: call before the loop starts work."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")
