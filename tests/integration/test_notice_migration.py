"""Migration 0004: notifications written before notices had parameters stay readable, and new ones carry them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from tests.support.migrations import alembic_config
from yilian.api.models.notification import Notification
from yilian.db.engine import make_engine, migrate
from yilian.db.queries import notification as queries
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


async def test_old_notifications_keep_their_text_across_the_upgrade(pg_server: EmbeddedPostgres) -> None:
    url = pg_server.create_database(f"m_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0003")  # the table as 0003 left it
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            found = await conn.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = 'notifications'")
            )
            columns = set(found.scalars())
            assert "params" not in columns
            await conn.execute(
                text(
                    "INSERT INTO hospitals (id, name, level, patient_id_issuer, created_at)"
                    " VALUES ('h-1', 'H', 'county', 'H', now())"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, role, hospital_id, password_hash, created_at)"
                    " VALUES ('u-1', 'u-1', 'U', 'county_doctor', 'h-1', 'x', now())"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO notifications (key, recipient_id, referral_id, kind, title, body, created_at)"
                    " VALUES ('r-0/5/report_ready', 'u-1', 'r-0', 'report_ready', 'Final report ready',"
                    " 'The report for referral r-0 is signed. Please confirm receipt.', :at)"
                ),
                {"at": datetime(2025, 1, 1, tzinfo=UTC)},
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.connect() as conn:
            [row] = await queries.inbox(conn, "u-1", unread=False, limit=10)
        old = Notification.model_validate(row)
        assert (old.kind, old.params) == ("report_ready", {})
        assert (old.title, old.body) == (
            "Final report ready",
            "The report for referral r-0 is signed. Please confirm receipt.",
        )
    finally:
        await engine.dispose()
