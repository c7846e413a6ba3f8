"""bench/region.py at a tiny scale, so the benchmark cannot rot: the bulk load makes a province the API serves
(worklist, dashboard, search, a new submission) and the renderer writes its section."""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.search import fresh_alias
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.demo import migrate_and_seed
from yilian.db.engine import make_engine
from yilian.db.schema import audit_events, referrals, report_versions
from yilian.runtime.postgres import EmbeddedPostgres
from yilian.worker import build_worker

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def region() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("region")
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
async def province(
    region: ModuleType, pg_server: EmbeddedPostgres, settings: Settings, opensearch_url: str, temporal_client: Client
) -> AsyncIterator[tuple[httpx.AsyncClient, object, AsyncEngine]]:
    url = pg_server.create_database(f"region_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate_and_seed, url)
    loaded = await region.load_province(url, hospitals=3, referrals=300, days=30)
    local = settings.model_copy(update={"database_url": url, "opensearch_url": opensearch_url,
                                        "search_alias": fresh_alias("region"),
                                        "task_queue": f"region-{uuid.uuid4().hex[:6]}"})  # fmt: skip
    indexed, _ = await region.index_reports(url, opensearch_url, local.search_alias)
    assert indexed == loaded.reports
    engine = make_engine(url)
    try:
        async with build_worker(temporal_client, engine, local):
            app = create_app(local, engine, temporal_client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://region.test") as c:
                yield c, loaded, engine
    finally:
        await engine.dispose()


async def test_a_tiny_province_loads_and_every_screen_answers(
    region: ModuleType, province: tuple[httpx.AsyncClient, object, AsyncEngine]
) -> None:
    client, loaded, engine = province
    assert (loaded.hospitals, loaded.referrals) == (3, 300)  # type: ignore[attr-defined]
    assert loaded.open == 9 and loaded.reports == 291 and loaded.audit_events > 6 * 290  # type: ignore[attr-defined]
    load = await region.live_load("", loaded.county_doctors, 4.0, 2, client=client)  # type: ignore[attr-defined]
    assert load.errors == {}, load.first_errors()
    assert all(load.times[screen] for screen in region.SCREENS), {k: len(v) for k, v in load.times.items()}
    # every submit the load counted is a case the county doctor's hospital sent, recorded with its audit event
    assert len(load.submitted) == len(load.times["submit"]) >= 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(referrals.c.requesting_hospital_id, referrals.c.submitted_by, audit_events.c.action)
                .join(audit_events, (audit_events.c.referral_id == referrals.c.id) & (audit_events.c.seq == 1))
                .where(referrals.c.id.in_(load.submitted))
            )
        ).all()
    doctors = dict(zip(loaded.county_doctors, [f"h-county-{i:02d}" for i in range(1, 4)], strict=True))  # type: ignore[attr-defined]
    assert len(rows) == len(load.submitted) and all(
        (hospital, action) == (doctors[by], "submit") for hospital, by, action in rows
    ), rows
    summary = {
        "machine": {
            "date": "now",
            "nproc": 2,
            "cpu": "x",
            "mem_gib": 1,
            "loadavg_at_start": [0],
            "loadavg_at_end": [0],
        },
        "args": {"days": 30},
        "loaded": {k: v for k, v in vars(loaded).items() if k != "county_doctors"},
        "indexed": {"reports": loaded.reports, "seconds": 0},  # type: ignore[attr-defined]
        "live": {
            "seconds": 4,
            "users": 2,
            "requests_per_s": 1,
            "errors": 0,
            "screens": {s: region.percentiles(load.times[s]) for s in region.SCREENS},
        },  # fmt: skip
        "cpu_percent": {"api": 50.0, "postgresql": 10.0},
    }
    text = region.render(summary, "python bench/region.py --referrals 300")
    assert text.startswith(region.SECTION) and "| worklist |" in text
    assert "no Yilian process was CPU-bound (the busiest, `api`, used 50.0 %" in text  # the samples decide
    summary["cpu_percent"] = {"api": 97.0, "postgresql": 10.0}
    assert "`api` at 97.0 % of a core: it is CPU-bound" in region.render(summary, "x")
    failed = {"errors": 2, "errors_by_screen": {"submit": 2}, "first_errors": {"submit": "POST /api/referrals: 503 x"}}
    summary["live"] = {**summary["live"], **failed}  # type: ignore[dict-item]
    text = region.render(summary, "x")
    assert "2 errors (the first of each screen: submit (2): `POST /api/referrals: 503 x`)." in text


async def test_the_bulk_rows_are_whole(region: ModuleType, pg_server: EmbeddedPostgres) -> None:
    url = pg_server.create_database(f"region_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate_and_seed, url)
    loaded = await region.load_province(url, hospitals=2, referrals=100, days=10)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            ours = referrals.c.id.like("ref-r-%")
            n = await conn.scalar(select(func.count()).select_from(referrals).where(ours))
            events = await conn.scalar(
                select(func.count()).select_from(audit_events).where(audit_events.c.referral_id.like("ref-r-%"))
            )
            reports = await conn.scalar(select(func.count()).select_from(report_versions))
            gaps = await conn.scalar(
                select(func.count())
                .select_from(referrals)
                .where(
                    ours,
                    referrals.c.last_seq
                    != select(func.max(audit_events.c.seq))
                    .where(audit_events.c.referral_id == referrals.c.id)
                    .scalar_subquery(),
                )
            )
    finally:
        await engine.dispose()
    assert (n, events, reports, gaps) == (100, loaded.audit_events, loaded.reports, 0)
