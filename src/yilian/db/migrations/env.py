"""Alembic environment: runs migrations over the asyncpg driver."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from yilian.db.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def _in_thread() -> None:
    asyncio.run(_main())


try:
    asyncio.get_running_loop()
    # Called from inside a running loop (tests, `yilian up`): run on a fresh loop in a thread.
    import threading

    t = threading.Thread(target=_in_thread)
    t.start()
    t.join()
except RuntimeError:
    asyncio.run(_main())
