"""The worklist's order and pages over a bulk-loaded province (bench/region.py's loader): open cases by due time,
then finished ones newest first, every page the slice of that whole order, for a reader and for a county doctor; and
the open part is read through its partial index."""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from yilian.db.demo import migrate_and_seed
from yilian.db.engine import make_engine
from yilian.db.queries import alliance
from yilian.db.queries.access import visible_referrals
from yilian.db.queries.referral import OPEN_STATE_VALUES, worklist, worklist_focus
from yilian.db.schema import referrals
from yilian.domain.access import Principal
from yilian.domain.roles import Role
from yilian.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _expected(rows: list[dict[str, Any]]) -> list[str]:
    """The worklist's order, sorted here in full: open by due time (none last), then the rest newest first."""
    open_ = sorted(
        (r for r in rows if r["state"] in OPEN_STATE_VALUES),
        key=lambda r: (r["sla_due_at"] is None, r["sla_due_at"] or 0, -r["submitted_at"].timestamp()),
    )
    done = sorted((r for r in rows if r["state"] not in OPEN_STATE_VALUES), key=lambda r: r["submitted_at"],
                  reverse=True)  # fmt: skip
    return [r["id"] for r in open_ + done]


async def test_worklist_pages_are_slices_of_one_order(pg_server: EmbeddedPostgres) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        region = importlib.import_module("region")
    finally:
        sys.path.remove(str(BENCH))
    url = pg_server.create_database(f"worklist_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate_and_seed, url)
    await region.load_province(url, hospitals=2, referrals=400, days=60)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            people = []
            for user in ("wang.expert", "doc.county01"):
                u = await alliance.principal_row(conn, user)
                assert u is not None
                people.append(Principal(u["id"], Role(u["role"]), u["hospital_id"], u["display_name"],
                                        frozenset(u["licensed_for"] or ())))  # fmt: skip
            for p in people:
                every = [dict(r) for r in (await conn.execute(
                    select(referrals).where(visible_referrals(p), worklist_focus(p)))).mappings()]  # fmt: skip
                order = _expected(every)
                assert len(order) > 100 and any(r["state"] in OPEN_STATE_VALUES for r in every), p.user_id
                for limit, offset in ((50, 0), (50, 50), (7, 3), (500, 0), (20, len(order) - 10)):
                    got = await worklist(conn, p, states=None, priority=None, modality=None, hospital_id=None,
                                         limit=limit, offset=offset)  # fmt: skip
                    assert [r["id"] for r in got] == order[offset : offset + limit], (p.user_id, limit, offset)
                routine = await worklist(conn, p, states=None, priority="routine", modality=None, hospital_id=None,
                                         limit=30, offset=10)  # fmt: skip
                assert [r["id"] for r in routine] == _expected([r for r in every if r["priority"] == "routine"])[10:40]
            await conn.execute(text("SET enable_seqscan = off"))  # a 400-row table is read whole otherwise
            states = ", ".join(f"'{s}'" for s in OPEN_STATE_VALUES)
            plan = (await conn.execute(text(
                f"EXPLAIN SELECT id FROM referrals WHERE state IN ({states}) ORDER BY sla_due_at LIMIT 5"
            ))).scalars().all()  # fmt: skip
            assert any("ix_referrals_open_due" in line for line in plan), plan
    finally:
        await engine.dispose()
