"""The dashboard's lists over a bulk-loaded province (bench/region.py's loader, where every open case is overdue):
cases at risk and breaches are listed up to a limit, in their order, and counted whole."""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from yilian.db.demo import migrate_and_seed
from yilian.db.engine import make_engine
from yilian.db.queries import alliance
from yilian.db.queries import dashboard as d
from yilian.db.schema import referrals
from yilian.domain.access import Principal
from yilian.domain.roles import Role
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


async def test_at_risk_and_breaches_are_listed_up_to_a_limit_and_counted_whole(pg_server: EmbeddedPostgres) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        region = importlib.import_module("region")
    finally:
        sys.path.remove(str(BENCH))
    url = pg_server.create_database(f"dashboard_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate_and_seed, url)
    await region.load_province(url, hospitals=2, referrals=1000, days=30)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:  # a few open cases breached too: the breaches list puts them first
            await conn.execute(update(referrals).where(referrals.c.id.in_(["ref-r-0000990", "ref-r-0000991"]))
                               .values(breached=True))  # fmt: skip
        async with engine.connect() as conn:
            u = await alliance.principal_row(conn, "liu.coord")
            assert u is not None
            scope = d.scope_of(Principal(u["id"], Role(u["role"]), u["hospital_id"], u["display_name"]))
            now = datetime.now(UTC)
            since, until = now - timedelta(days=31), now + timedelta(seconds=1)
            every_risk, risk_total = await d.at_risk(conn, scope, now, 10_000)
            first_risk, total = await d.at_risk(conn, scope, now, 5)
            assert risk_total == len(every_risk) > 5 and total == risk_total and first_risk == every_risk[:5]
            assert [r["sla_due_at"] for r in every_risk] == sorted(r["sla_due_at"] for r in every_risk)
            every_breach, breach_total = await d.breaches(conn, scope, since, until, 10_000)
            first_breach, total = await d.breaches(conn, scope, since, until, 4)
            assert breach_total == len(every_breach) > 4 and total == breach_total and first_breach == every_breach[:4]
            assert [b["id"] for b in first_breach[:2]] == ["ref-r-0000991", "ref-r-0000990"] or {
                b["id"] for b in first_breach[:2]} == {"ref-r-0000990", "ref-r-0000991"}  # fmt: skip
            assert all(b["final_at"] is None for b in first_breach[:2]) and first_breach[2]["final_at"] is not None
            assert "_total" not in first_breach[0]
            assert await d.at_risk(conn, d.scope_of(Principal("nobody", Role.COORDINATOR, "h-none", "x")), now, 5) == (
                [], 0)  # fmt: skip
    finally:
        await engine.dispose()
