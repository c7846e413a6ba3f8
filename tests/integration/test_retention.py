"""Retention and legal holds through the real API (docs/retention.md): policies never under the floor, a study's
retention as the policies make it, deletion refused before expiry and under a hold (a clear 409, recorded), and a
permitted deletion that removes the rows and, through the blob store, the files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from yilian.config import Settings
from yilian.db.schema import dicom_instances, dicom_studies
from yilian.domain.retention import add_years
from yilian.imaging.blob import blob_store_from_url

pytestmark = pytest.mark.integration


async def _trail(api: Api, uid: str) -> list[dict[str, Any]]:
    """The study's retention events, oldest first."""
    out = await api.ok("admin", "GET", "/api/retention/events", params={"study_instance_uid": uid})
    return list(reversed(out["items"]))


async def _received_years_ago(engine: AsyncEngine, uid: str, years: int) -> None:
    """Test setup: the archive received (and the modality dated) the study `years` ago, the one way to have a study
    whose retention has ended without waiting for it."""
    long_ago = datetime.now(UTC) - timedelta(days=366 * years)
    async with engine.begin() as conn:
        await conn.execute(
            update(dicom_studies)
            .where(dicom_studies.c.study_instance_uid == uid)
            .values(created_at=long_ago, study_date=long_ago.strftime("%Y%m%d"))
        )


async def _blob_keys(engine: AsyncEngine, uid: str) -> list[str]:
    async with engine.connect() as conn:
        return list(
            await conn.scalars(select(dicom_instances.c.blob_key).where(dicom_instances.c.study_instance_uid == uid))
        )


async def test_policies_raise_the_floor_never_lower_it(api: Api) -> None:
    listed = (await api.ok("liu.coord", "GET", "/api/retention/policies"))["items"]
    alliance = {p["encounter_type"]: p for p in listed if p["hospital_id"] is None}
    assert {k: (p["years"], p["minimum_years"]) for k, p in alliance.items()} == {
        "outpatient": (15, 15), "emergency": (15, 15), "inpatient": (30, 30),
    }  # fmt: skip

    raised = await api.ok(
        "admin", "PUT", "/api/retention/policies",
        json={"hospital_id": "h-qingshan", "encounter_type": "outpatient", "years": 20},
    )  # fmt: skip
    assert (raised["years"], raised["source"], raised["hospital_id"]) == (20, "hospital", "h-qingshan")
    listed = (await api.ok("admin", "GET", "/api/retention/policies"))["items"]
    assert {"hospital_id": "h-qingshan", "encounter_type": "outpatient", "years": 20, "minimum_years": 15,
            "source": "hospital"} in listed  # fmt: skip

    r = await api.call("admin", "PUT", "/api/retention/policies", json={"encounter_type": "inpatient", "years": 20})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert r.json()["details"] == [{"field": "body.years", "problem": "at least 30 for inpatient"}]

    r = await api.call(
        "admin", "PUT", "/api/retention/policies",
        json={"hospital_id": "h-nowhere", "encounter_type": "outpatient", "years": 20},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "body.hospital_id", r.text

    r = await api.call("liu.coord", "PUT", "/api/retention/policies", json={"encounter_type": "inpatient", "years": 40})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"

    events = (await api.ok("admin", "GET", "/api/retention/events", params={"limit": 500}))["items"]
    mine = [e for e in events if e["action"] == "policy_set" and e["hospital_id"] == "h-qingshan"]
    assert mine and mine[0]["details"]["years"] == 20 and mine[0]["actor_id"] == "admin"
    assert not any(e["details"].get("years") in (20, 40) and e["hospital_id"] == "*" for e in events), (
        "refused, unrecorded"
    )


async def test_deletion_before_expiry_is_refused_and_recorded(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    uid = await api.send_study("zhao.anping", "RET-0001")
    kept = await api.ok("admin", "GET", f"/api/retention/studies/{uid}")
    # Nobody said outpatient or inpatient: kept as inpatient, the longest.
    assert (kept["encounter_type"], kept["encounter_type_recorded"], kept["years"], kept["policy"]) == (
        "inpatient", False, 30, "default",
    )  # fmt: skip
    counted_from = date.fromisoformat(kept["counted_from"])
    assert counted_from == datetime.now(UTC).date()
    assert kept["retain_until"] == add_years(counted_from, 30).isoformat()
    assert (kept["deletable"], kept["blocked_by"], kept["instances"]) == (False, ["retention_not_expired"], 1)

    r = await api.call("admin", "DELETE", f"/api/studies/{uid}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "retention_not_expired"
    assert body["message"] == f"the study must be kept until {kept['retain_until']}"
    assert body["details"] == {
        "retain_until": kept["retain_until"], "encounter_type": "inpatient", "years": 30, "policy": "default",
        "counted_from": kept["counted_from"],
    }  # fmt: skip
    keys = await _blob_keys(engine, uid)
    assert len(keys) == 1 and blob_store_from_url(settings.storage_url).exists(keys[0]), "nothing was deleted"

    # The county doctor who sent it may not delete it at all (and a refusal by role changes nothing).
    r = await api.call("zhao.anping", "DELETE", f"/api/studies/{uid}")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"

    outpatient = await api.ok("admin", "PUT", f"/api/retention/studies/{uid}/encounter",
                              json={"encounter_type": "outpatient"})  # fmt: skip
    assert (outpatient["encounter_type"], outpatient["years"]) == ("outpatient", 15)
    assert outpatient["retain_until"] == add_years(counted_from, 15).isoformat()

    trail = await _trail(api, uid)
    assert [e["action"] for e in trail] == ["deletion_refused", "encounter_set"]
    refused = trail[0]
    assert (refused["actor_id"], refused["actor_role"], refused["hospital_id"]) == ("admin", "admin", "h-anping")
    assert refused["details"]["code"] == "retention_not_expired"
    assert refused["details"]["details"]["retain_until"] == kept["retain_until"]
    assert trail[1]["details"] == {"encounter_type": "outpatient", "before": None}


async def test_a_legal_hold_suspends_deletion_until_released(api: Api, engine: AsyncEngine, settings: Settings) -> None:
    uid = await api.send_study("zhao.anping", "RET-0002")
    await api.ok("admin", "PUT", f"/api/retention/studies/{uid}/encounter", json={"encounter_type": "outpatient"})
    await _received_years_ago(engine, uid, 16)
    expired = await api.ok("admin", "GET", f"/api/retention/studies/{uid}")
    assert (expired["deletable"], expired["blocked_by"]) == (True, [])
    # liu.coord's hospital has no referral of this study: to the coordinator it does not exist.
    r = await api.call("liu.coord", "GET", f"/api/retention/studies/{uid}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"

    dispute = {"reason": "患者家属投诉 / family complaint", "case_reference": "(2026)医调字第12号"}
    hold = await api.ok("admin", "POST", f"/api/retention/studies/{uid}/holds", 201, json=dispute)
    assert (hold["active"], hold["placed_by"], hold["study_instance_uid"]) == (True, "admin", uid)
    held = await api.ok("admin", "GET", f"/api/retention/studies/{uid}")
    assert (held["deletable"], held["blocked_by"], [h["id"] for h in held["holds"]]) == (
        False, ["legal_hold_active"], [hold["id"]],
    )  # fmt: skip

    r = await api.call("admin", "DELETE", f"/api/studies/{uid}")
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["details"]) == ("legal_hold_active", {"holds": [hold["id"]]})

    released = await api.ok("admin", "POST", f"/api/retention/holds/{hold['id']}/release",
                            json={"reason": "调解结案 / settled"})  # fmt: skip
    assert (released["active"], released["released_by"], released["release_reason"]) == (
        False, "admin", "调解结案 / settled",
    )  # fmt: skip
    r = await api.call("admin", "POST", f"/api/retention/holds/{hold['id']}/release", json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"

    keys = await _blob_keys(engine, uid)
    deleted = await api.ok("admin", "DELETE", f"/api/studies/{uid}")
    assert deleted == {"study_instance_uid": uid, "instances": 1, "blobs_deleted": 1}
    assert await _blob_keys(engine, uid) == []
    assert not blob_store_from_url(settings.storage_url).exists(keys[0]), "the blob store still has the file"
    r = await api.call("admin", "GET", f"/api/retention/studies/{uid}")
    assert r.status_code == 404

    trail = await _trail(api, uid)
    assert [e["action"] for e in trail] == [
        "encounter_set", "hold_placed", "deletion_refused", "hold_released", "study_deleted",
    ]  # fmt: skip
    assert trail[1]["details"]["case_reference"] == "(2026)医调字第12号"
    assert trail[2]["details"]["code"] == "legal_hold_active"
    assert trail[4]["details"]["instances"] == 1 and trail[4]["details"]["encounter_type"] == "outpatient"


async def test_coordinator_holds_a_referred_case_but_deletes_only_its_own(api: Api, engine: AsyncEngine) -> None:
    referral = await api.submit(patient={"patient_id": "RET-0003", "name": "关羽 Guan Yu", "birth_date": "1960-06-06",
                                         "sex": "M"})  # fmt: skip
    uid = referral["study_instance_uid"]
    seen = await api.ok("liu.coord", "GET", f"/api/retention/studies/{uid}")
    assert seen["hospital_id"] == "h-anping"
    assert "conflict" in seen["blocked_by"], "a referral in progress holds its images"

    hold = await api.ok(
        "liu.coord", "POST", f"/api/retention/studies/{uid}/holds", 201, json={"reason": "争议 / dispute"}
    )
    r = await api.call("liu.coord", "DELETE", f"/api/studies/{uid}")
    assert r.status_code == 403 and r.json()["error"] == "forbidden", "the reading hospital's coordinator"

    await _received_years_ago(engine, uid, 31)
    await api.ok("liu.coord", "POST", f"/api/retention/holds/{hold['id']}/release", json={"reason": "结案 / closed"})
    r = await api.call("admin", "DELETE", f"/api/studies/{uid}")
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["details"]) == ("conflict", {"open_referrals": 1})
    assert len(await _blob_keys(engine, uid)) == 1
