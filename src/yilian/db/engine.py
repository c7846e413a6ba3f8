"""The async engine (SQLAlchemy Core on asyncpg) and the Alembic entry points."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout (several per request). Connections are
    # recycled instead, and a connection that died with the server fails once and is replaced.
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for reads, in autocommit: each query is one round trip to PostgreSQL.

    `engine.connect()` wraps the first query in BEGIN and returns the connection with ROLLBACK: two more round
    trips that bought a read nothing (under READ COMMITTED every statement takes its own snapshot anyway).
    Writes keep `engine.begin()`, one transaction, unless they are one statement (`single_statement`).
    """
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def single_statement(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    """A connection for a write that is one statement: atomic on its own, so it needs no BEGIN and COMMIT."""
    return reading(engine)


def migrate(url: str) -> None:
    """Bring the database to the newest schema (idempotent). Synchronous: call before the loop starts work."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")
