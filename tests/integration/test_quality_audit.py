"""Quality audit sampling through the API: a coordinator samples graded studies (the worst, or at random), records each
outcome; the audit's workflow writes every step with its event, and completes when all are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.matrix import walk
from yilian.db.schema import quality_audit_events

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "QA0001", "name": "小乔 Xiao Qiao", "birth_date": "1992-03-03", "sex": "F"}


def _month() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")  # the scorecards' Asia/Shanghai month


async def _events(engine: AsyncEngine, audit_id: str) -> list[tuple[int, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(quality_audit_events.c.seq, quality_audit_events.c.action, quality_audit_events.c.actor_id)
            .where(quality_audit_events.c.audit_id == audit_id)
            .order_by(quality_audit_events.c.seq)
        )
    return [(r[0], r[1], r[2]) for r in rows]


async def test_a_coordinator_samples_graded_studies_and_records_each_outcome(api: Api, engine: AsyncEngine) -> None:
    poor, good = [await walk(api, engine, "in_reading", patient=PATIENT) for _ in range(2)]  # CT: graded 3-0
    await api.ok("wang.expert", "POST", f"/api/referrals/{poor}/quality", json={"grade": "0", "reasons": ["motion"]})
    await api.ok("wang.expert", "POST", f"/api/referrals/{good}/quality", json={"grade": "3"})
    month = _month()

    # The worst first: a grade 0 (the lowest there is) heads the sample.
    worst = await api.ok("liu.coord", "POST", "/api/quality/audits", 201,
                         json={"hospital_id": "h-anping", "month": month, "size": 1, "mode": "worst"})  # fmt: skip
    assert worst["state"] == "open" and worst["total"] == 1 and worst["recorded"] == 0
    [item] = worst["items"]
    assert item["grade"] == "0" and item["scale"] == "cross_sectional" and item["verdict"] is None

    # At random: as many as asked, or all there are; both of ours are among h-anping's graded cases this month.
    sample = await api.ok("liu.coord", "POST", "/api/quality/audits", 201,
                          json={"hospital_id": "h-anping", "month": month, "size": 50})  # fmt: skip
    sampled = {i["referral_id"] for i in sample["items"]}
    assert {poor, good} <= sampled and sample["mode"] == "random"
    assert await _events(engine, sample["id"]) == [(1, "sampled", "liu.coord")]

    # Refusals: a stranger to the audit, a case outside the sample, a regrade equal to the reader's or without words.
    path = f"/api/quality/audits/{worst['id']}"
    assert (await api.call("zhao.anping", "GET", path)).status_code == 403
    refusals = (
        ({"referral_id": good, "verdict": "confirmed"}, 422),  # not in this sample
        (
            {
                "referral_id": item["referral_id"],
                "verdict": "regraded",
                "grade": "0",
                "reasons": ["motion"],
                "comment": "same",
            },
            422,
        ),  # fmt: skip
        ({"referral_id": item["referral_id"], "verdict": "regraded", "grade": "2", "reasons": ["motion"]}, 422),
        ({"referral_id": item["referral_id"], "verdict": "regraded", "grade": "B", "comment": "x"}, 422),
    )
    for body, status in refusals:
        r = await api.call("liu.coord", "POST", f"{path}/outcomes", json=body)
        assert r.status_code == status, (body, r.text)
    assert await _events(engine, worst["id"]) == [(1, "sampled", "liu.coord")]

    done = await api.ok("liu.coord", "POST", f"{path}/outcomes", json={
        "referral_id": item["referral_id"], "verdict": "regraded", "grade": "1", "reasons": ["motion"],
        "comment": "轻度运动伪影，仍可诊断 / mild motion, still diagnostic"})  # fmt: skip
    assert done["state"] == "completed" and done["recorded"] == 1
    [audited] = done["items"]
    assert (audited["verdict"], audited["auditor_grade"], audited["auditor_reasons"]) == ("regraded", "1", ["motion"])
    assert audited["audited_by"] == "liu.coord"
    assert [e[1] for e in await _events(engine, worst["id"])] == ["sampled", "outcome", "completed"]
    again = await api.call("liu.coord", "POST", f"{path}/outcomes", json={"referral_id": item["referral_id"],
                                                                          "verdict": "confirmed"})  # fmt: skip
    assert again.status_code == 409, again.text

    # The random sample: confirm one, twice is refused; the audit stays open until every study has its outcome.
    spath = f"/api/quality/audits/{sample['id']}"
    first = await api.ok("liu.coord", "POST", f"{spath}/outcomes", json={"referral_id": good, "verdict": "confirmed"})
    assert first["recorded"] == 1 and first["state"] == ("completed" if first["total"] == 1 else "open")
    twice = await api.call("liu.coord", "POST", f"{spath}/outcomes", json={"referral_id": good, "verdict": "confirmed"})
    assert twice.status_code == 409

    listed = await api.ok("liu.coord", "GET", "/api/quality/audits")
    ids = [a["id"] for a in listed["items"]]
    assert sample["id"] in ids and worst["id"] in ids
    assert next(a for a in listed["items"] if a["id"] == worst["id"])["state"] == "completed"

    # Nothing graded to sample (a month long gone): refused, and no audit made.
    empty = await api.call("liu.coord", "POST", "/api/quality/audits", json={"hospital_id": "h-anping",
                                                                            "month": "2001-01"})  # fmt: skip
    assert empty.status_code == 422 and empty.json()["error"] == "validation_failed"
    assert len((await api.ok("liu.coord", "GET", "/api/quality/audits"))["items"]) == len(ids)
