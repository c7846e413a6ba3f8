"""The whole loop through the real API, worker, PostgreSQL and Temporal dev server."""

from __future__ import annotations

import pytest

from tests.support.api import REPORT, Api

pytestmark = pytest.mark.integration


async def test_county_submission_to_patient_view(api: Api) -> None:
    sub = await api.submit()
    rid = sub["id"]
    assert sub["state"] in ("submitted", "offered")
    assert sub["reading_hospital_id"] == "h-provincial"

    offered = await api.wait_for("wang.expert", rid, "offered")
    assert offered["offered_to"] == "wang.expert"  # CT chest subspecialist, lightest load
    assert (await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/accept", json={}))["state"] == "in_reading"

    await api.ok("wang.expert", "PUT", f"/api/referrals/{rid}/draft", json={**REPORT, "impression": "待定"})
    await api.ok("wang.expert", "PUT", f"/api/referrals/{rid}/draft", json=REPORT)
    prelim = await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    assert prelim["state"] == "preliminary"

    changes = await api.ok(
        "chen.senior",
        "POST",
        f"/api/referrals/{rid}/request-changes",
        json={"discrepancy": "minor", "comments": "请描述结节与胸膜关系 / describe pleural relation"},
    )
    assert changes["state"] == "changes_requested"
    fixed = {**REPORT, "findings": REPORT["findings"] + " 与胸膜无接触。 No pleural contact."}
    await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/preliminary", json=fixed)
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})

    returned = await api.wait_for("zhao.anping", rid, "returned")
    assert returned["signer_id"] == "chen.senior" and returned["final_at"]
    county_view = await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}")
    assert [r["kind"] for r in county_view["reports"]] == ["final"]  # drafts stay on the reading side
    reader_view = await api.ok("wang.expert", "GET", f"/api/referrals/{rid}")
    assert [r["kind"] for r in reader_view["reports"]] == ["draft", "draft", "preliminary", "preliminary", "final"]

    inbox = await api.ok("zhao.anping", "GET", "/api/notifications")
    assert any(n["kind"] == "report_ready" and n["referral_id"] == rid for n in inbox["items"])

    links = (await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}/share-links"))["items"]
    assert len(links) == 1 and links[0]["status"] == "active"
    token = links[0]["token"]
    wrong = await api.call(None, "POST", f"/api/share/{token}", json={"birth_date": "1961-03-15"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_second_factor"
    view = await api.ok(None, "POST", f"/api/share/{token}", json={"birth_date": "1961-03-14"})
    assert "not for diagnosis" in view["notice"]
    assert view["reports"][0]["impression"] == REPORT["impression"]
    assert "No pleural contact" in view["reports"][0]["findings"]

    closed = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/acknowledge-receipt", json={})
    assert closed["state"] == "closed"

    trail = (await api.ok("liu.coord", "GET", f"/api/referrals/{rid}/audit"))["items"]
    assert [e["action"] for e in trail] == [
        "submit",
        "offer",
        "accept",
        "save_draft",
        "save_draft",
        "submit_preliminary",
        "request_changes",
        "submit_preliminary",
        "approve",
        "return",
        "acknowledge_receipt",
    ]
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    assert trail[2]["actor_id"] == "wang.expert" and trail[2]["from_state"] == "offered"
    assert trail[8]["details"]["discrepancy"] == "agree"
    accesses = (await api.ok("zhao.anping", "GET", f"/api/share-links/{links[0]['link_id']}/accesses"))["items"]
    assert [a["outcome"] for a in accesses] == ["wrong_birth_date", "opened"]
