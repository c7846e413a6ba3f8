"""The coordinator dashboard over virtual hours: at-risk, breach, counts and turnaround percentiles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.alliance import Alliance, make_alliance
from tests.support.api import REPORT, Api
from tests.workflows.conftest import Harness, policy
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.domain.agreement import Priority
from yilian.domain.referral_io import ActorInput, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Actor, Role
from yilian.workflows.referral import ReferralWorkflow

CONTENT = ReportContent(REPORT["findings"], REPORT["impression"])


@pytest.fixture
async def api(harness: Harness, engine: AsyncEngine, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings.model_copy(update={"task_queue": harness.task_queue}), engine, harness.env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        yield Api(client)


async def _read_and_sign(harness: Harness, h: object, a: Alliance) -> None:
    reader = Actor(a.experts[0], Role.EXPERT, a.tertiary)
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(reader, CONTENT))  # type: ignore[arg-type]
    senior = Actor(a.senior, Role.SENIOR, a.tertiary)
    await harness.update(h, ReferralWorkflow.approve, ReviewInput(senior, Discrepancy.AGREE))  # type: ignore[arg-type]


async def _window(harness: Harness) -> dict[str, Any]:
    """The last day of the test server's clock: cases carry its virtual times, which run ahead of the wall clock
    once earlier tests in the session have skipped days (the board's default window ends at the wall clock)."""
    now = await harness.env.get_current_time()
    return {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()}


async def test_dashboard_shows_risk_breach_counts_and_turnaround(
    harness: Harness, engine: AsyncEngine, api: Api
) -> None:
    a = await make_alliance(engine, experts=3)
    doctor = Actor(a.doctor, Role.COUNTY_DOCTOR, a.county)
    common = dict(
        requesting_hospital_id=a.county, reading_hospital_id=a.tertiary, patient_ref=a.patient, submitted_by=doctor
    )
    pol = policy(agreement_id=a.agreement)
    stat = await harness.start(pol, priority=Priority.STAT, **common)
    urgent = await harness.start(pol, priority=Priority.URGENT, **common)
    routine = await harness.start(pol, priority=Priority.ROUTINE, **common)
    for h in (stat, urgent, routine):
        offered_to = (await harness.row(h.id))["offered_to"]
        await harness.update(h, ReferralWorkflow.accept, ActorInput(Actor(offered_to, Role.EXPERT, a.tertiary)))
    # Make every case readable by the first expert for the helper below.
    for h in (stat, urgent, routine):
        row = await harness.row(h.id)
        if row["reader_id"] != a.experts[0]:
            coord = Actor(a.coordinator, Role.COORDINATOR, a.tertiary)
            await harness.update(h, ReferralWorkflow.reassign, _reassign(coord, a.experts[0]))
            await harness.update(h, ReferralWorkflow.accept, ActorInput(Actor(a.experts[0], Role.EXPERT, a.tertiary)))
    await _read_and_sign(harness, routine, a)

    await harness.sleep(minutes=23)  # the stat case is past 75 % of 30 min
    board = await api.ok(a.coordinator, "GET", "/api/dashboard", params=await _window(harness))
    assert [c["id"] for c in board["at_risk"]] == [stat.id]
    assert board["breaches"] == []

    await harness.sleep(minutes=10)  # 33 min: the stat case breached
    await _read_and_sign(harness, urgent, a)
    await harness.wait_state(urgent.id, "returned")
    # The breach is written by an activity after the timer fires: on a busy machine it can land after the sign.
    await harness.wait_row(stat.id, lambda r: r["breached"], "to be marked breached")
    board = await api.ok(a.coordinator, "GET", "/api/dashboard", params=await _window(harness))
    assert board["at_risk"] == []
    assert [b["id"] for b in board["breaches"]] == [stat.id]
    counts = {(c["requesting_hospital_id"], c["state"]): c["count"] for c in board["counts"]}
    assert counts == {(a.county, "in_reading"): 1, (a.county, "returned"): 2}
    tat = {t["priority"]: t for t in board["turnaround"]}
    assert set(tat) == {"routine", "urgent"}
    assert tat["routine"]["count"] == 1 and tat["routine"]["p50_minutes"] < 1
    assert 33 <= tat["urgent"]["p50_minutes"] < 34 and tat["urgent"]["p90_minutes"] == tat["urgent"]["p50_minutes"]
    assert all(t["requesting_hospital_id"] == a.county for t in board["turnaround"])

    # Another alliance's coordinator sees none of it; a county doctor may not open the dashboard.
    other = await api.ok("liu.coord", "GET", "/api/dashboard", params=await _window(harness))
    assert stat.id not in {b["id"] for b in other["breaches"]}
    refused = await api.call(a.doctor, "GET", "/api/dashboard")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def _reassign(coord: Actor, expert: str) -> object:
    from yilian.domain.referral_io import ReassignInput

    return ReassignInput(coord, expert, "dashboard test")
