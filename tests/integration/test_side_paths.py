"""Side paths through the API: cancel, needs_info, coordinator reassign, addenda, patient links (lifetime, revoke)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import REPORT, Api
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration

AP2 = {"patient_id": "AP0002", "name": "黄月英 Huang Yueying", "birth_date": "1978-11-02", "sex": "F"}


async def _read_to_return(api: Api, rid: str) -> str:
    reader = (await api.wait_for("liu.coord", rid, "offered"))["offered_to"]
    await api.ok(reader, "POST", f"/api/referrals/{rid}/accept", json={})
    await api.ok(reader, "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})
    await api.wait_for("zhao.anping", rid, "returned")
    return str(reader)


async def test_cancel_before_reading_only(api: Api) -> None:
    rid = (await api.submit(patient=AP2))["id"]
    await api.wait_for("zhao.anping", rid, "offered")
    no_reason = await api.call("zhao.anping", "POST", f"/api/referrals/{rid}/cancel", json={"comment": ""})
    assert no_reason.status_code == 422
    done = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/cancel", json={"comment": "patient transferred"})
    assert done["state"] == "cancelled" and done["offered_to"] is None

    rid2 = (await api.submit(patient=AP2))["id"]
    reader = (await api.wait_for("zhao.anping", rid2, "offered"))["offered_to"]
    await api.ok(reader, "POST", f"/api/referrals/{rid2}/accept", json={})
    late = await api.call("zhao.anping", "POST", f"/api/referrals/{rid2}/cancel", json={"comment": "too late"})
    assert late.status_code == 409 and late.json()["error"] == "invalid_transition"
    assert (await api.ok("zhao.anping", "GET", f"/api/referrals/{rid2}"))["state"] == "in_reading"


async def test_needs_info_round_trip_and_coordinator_reassign(api: Api) -> None:
    rid = (await api.submit(patient=AP2, priority="urgent"))["id"]
    reader = (await api.wait_for("zhao.anping", rid, "offered"))["offered_to"]
    await api.ok(reader, "POST", f"/api/referrals/{rid}/accept", json={})
    asked = await api.ok(
        reader,
        "POST",
        f"/api/referrals/{rid}/request-info",
        json={"comment": "请补充增强扫描 / please add the contrast series"},
    )
    assert asked["state"] == "needs_info" and asked["sla_paused"] and asked["sla_status"] == "paused"
    inbox = await api.ok("zhao.anping", "GET", "/api/notifications?unread=true")
    assert any(n["kind"] == "needs_info" and n["referral_id"] == rid for n in inbox["items"])
    answered = await api.ok(
        "zhao.anping", "POST", f"/api/referrals/{rid}/provide-info", json={"comment": "contrast series sent"}
    )
    assert answered["state"] == "in_reading" and answered["reader_id"] == reader and not answered["sla_paused"]

    # Coordinator moves the case to a named reader; a reader without a licence for the county is refused.
    bad = await api.call(
        "liu.coord", "POST", f"/api/referrals/{rid}/reassign", json={"expert_id": "zhao.anping", "reason": "x"}
    )
    assert bad.status_code == 422
    moved = await api.ok(
        "liu.coord",
        "POST",
        f"/api/referrals/{rid}/reassign",
        json={"expert_id": "li.expert", "reason": "Dr Wang in theatre"},
    )
    assert moved["state"] == "offered" and moved["offered_to"] == "li.expert" and moved["reader_id"] is None
    await api.ok("li.expert", "POST", f"/api/referrals/{rid}/accept", json={})
    # The old reader no longer holds it.
    stale = await api.call(reader, "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    assert stale.status_code in (403, 404)


async def test_addendum_after_final_keeps_the_signed_report(api: Api) -> None:
    rid = (await api.submit(patient=AP2))["id"]
    reader = await _read_to_return(api, rid)
    addendum = {
        "findings": "补充：左肺下叶小结节4mm。 Addendum: 4 mm nodule LLL.",
        "impression": "补充报告 Addendum: additional 4 mm LLL nodule.",
    }
    outsider = await api.call(
        "li.expert" if reader != "li.expert" else "zhang.expert", "POST", f"/api/referrals/{rid}/addenda", json=addendum
    )
    assert outsider.status_code in (403, 404)
    amended = await api.ok(reader, "POST", f"/api/referrals/{rid}/addenda", json=addendum)
    assert amended["state"] == "amended"
    county = await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}")
    assert [r["kind"] for r in county["reports"]] == ["final", "addendum"]
    assert county["reports"][0]["impression"] == REPORT["impression"]  # the signed report is unchanged
    assert any(n["kind"] == "addendum" for n in (await api.ok("zhao.anping", "GET", "/api/notifications"))["items"])
    closed = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/acknowledge-receipt", json={})
    assert closed["state"] == "closed"

    link = (await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}/share-links"))["items"][0]
    view = await api.ok(None, "POST", f"/api/share/{link['token']}", json={"birth_date": "1978-11-02"})
    assert [r["kind"] for r in view["reports"]] == ["final", "addendum"]

    # A fresh link can be issued and the old one revoked; the revoked token stops working at once.
    fresh = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/share-links", 201, json={"days": 7})
    revoked = await api.ok("zhao.anping", "POST", f"/api/share-links/{link['link_id']}/revoke")
    assert revoked["status"] == "share_link_revoked" and revoked["token"] is None
    gone = await api.call(None, "POST", f"/api/share/{link['token']}", json={"birth_date": "1978-11-02"})
    assert gone.status_code == 410 and gone.json()["error"] == "share_link_revoked"
    await api.ok(None, "POST", f"/api/share/{fresh['token']}", json={"birth_date": "1978-11-02"})


async def test_share_links_last_the_configured_days(
    worker: None, settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> None:
    """YILIAN_SHARE_LINK_DAYS: the link made when the report returns, a new link made without `days`, and the
    default the web app's slip form starts from."""
    app = create_app(settings.model_copy(update={"share_link_days": 9}), engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        api = Api(client)
        rid = (await api.submit(patient=AP2))["id"]
        await _read_to_return(api, rid)

        def lifetime(link: dict[str, Any]) -> timedelta:
            return datetime.fromisoformat(link["expires_at"]) - datetime.fromisoformat(link["created_at"])

        listed = await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}/share-links")
        assert listed["default_days"] == 9
        [returned] = listed["items"]
        assert abs(lifetime(returned) - timedelta(days=9)) < timedelta(minutes=1)
        new = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/share-links", 201, json={})
        assert lifetime(new) == timedelta(days=9)
        chosen = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/share-links", 201, json={"days": 2})
        assert lifetime(chosen) == timedelta(days=2)


async def test_priors_put_the_patients_history_at_hand(api: Api) -> None:
    patient = {"patient_id": "AP0777", "name": "Prior Patient", "birth_date": "1950-01-01", "sex": "M"}
    first = (await api.submit(patient=patient))["id"]
    reader = await _read_to_return(api, first)
    second = (await api.submit(patient=patient, clinical_question="follow-up of the RUL nodule"))["id"]
    offered = await api.wait_for("liu.coord", second, "offered")
    assert offered["offered_to"] == reader  # same patient, same reader
    priors = (await api.ok(reader, "GET", f"/api/referrals/{second}/priors"))["items"]
    assert [p["id"] for p in priors] == [first]
    assert priors[0]["impression"] == REPORT["impression"]
