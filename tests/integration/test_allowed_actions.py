"""Every referral the API returns carries the caller's own `allowed_actions`, and the server keeps to them."""

from __future__ import annotations

import pytest

from tests.support.api import REPORT, Api

pytestmark = pytest.mark.integration

PATIENT = {"patient_id": "AA0001", "name": "关羽 Guan Yu", "birth_date": "1960-06-24", "sex": "M"}
COUNTY, OTHER_COUNTY, COORDINATOR, SENIOR = "zhao.anping", "sun.qingshan", "liu.coord", "chen.senior"


async def _actions(api: Api, user: str, rid: str) -> list[str]:
    return list((await api.ok(user, "GET", f"/api/referrals/{rid}"))["allowed_actions"])


async def test_each_caller_sees_their_own_actions_through_the_loop(api: Api) -> None:
    rid = (await api.submit(patient=PATIENT))["id"]
    offered = await api.wait_for(COUNTY, rid, "offered")
    reader = offered["offered_to"]
    assert reader != SENIOR  # the routing prefers a matching expert; the senior is the second reader here

    assert offered["allowed_actions"] == ["cancel", "correct_question"]
    assert await _actions(api, reader, rid) == ["accept", "decline"]
    assert await _actions(api, COORDINATOR, rid) == ["reassign"]
    assert await _actions(api, SENIOR, rid) == []
    listed = [r for r in (await api.ok(reader, "GET", "/api/referrals"))["items"] if r["id"] == rid]
    assert [r["allowed_actions"] for r in listed] == [["accept", "decline"]], "the worklist row says the same"

    # An action's answer is the case as the caller now sees it.
    accepted = await api.ok(reader, "POST", f"/api/referrals/{rid}/accept", json={})
    assert accepted["allowed_actions"] == [
        "save_draft", "submit_preliminary", "request_info", "grade_quality", "request_retake"
    ]  # fmt: skip
    assert await _actions(api, COUNTY, rid) == []

    prelim = await api.ok(reader, "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    assert prelim["state"] == "preliminary" and prelim["allowed_actions"] == []
    assert await _actions(api, SENIOR, rid) == ["approve", "request_changes"]

    await api.ok(SENIOR, "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})
    await api.wait_for(COUNTY, rid, "returned")
    assert await _actions(api, COUNTY, rid) == ["acknowledge_receipt"]
    assert await _actions(api, reader, rid) == ["add_addendum"]
    assert await _actions(api, SENIOR, rid) == ["add_addendum"]  # the second reader answers for it too
    assert await _actions(api, COORDINATOR, rid) == []


async def test_what_is_not_offered_is_refused(api: Api) -> None:
    rid = (await api.submit(patient={**PATIENT, "patient_id": "AA0002"}))["id"]
    offered = await api.wait_for(COUNTY, rid, "offered")
    reader = offered["offered_to"]
    assert "accept" not in offered["allowed_actions"]
    refused = await api.call(COUNTY, "POST", f"/api/referrals/{rid}/accept", json={})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert "request_info" not in await _actions(api, reader, rid)
    too_early = await api.call(reader, "POST", f"/api/referrals/{rid}/request-info", json={"comment": "prior CT?"})
    assert too_early.status_code == 403  # not the reader until accepted
    # Another county's doctor cannot see the case at all, so gets no list either.
    assert (await api.call(OTHER_COUNTY, "GET", f"/api/referrals/{rid}")).status_code == 404
    await api.ok(COUNTY, "POST", f"/api/referrals/{rid}/cancel", json={"comment": "test over"})
    assert await _actions(api, COUNTY, rid) == []
