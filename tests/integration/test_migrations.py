"""The migrated database matches yilian.db.schema exactly: a schema edit without a migration fails here."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.schema import metadata

pytestmark = pytest.mark.integration


async def test_no_drift_between_migrations_and_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    assert diff == []
