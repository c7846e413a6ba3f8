"""In-house reading (本院写片) through the real API: the admin resource, its change log, and who sees an in-house case.

Each refusal has its catalogue code and changes nothing (no policy, no change-log row); each change writes exactly one
admin_changes row in the same transaction, shown in the admin change log like agreement changes.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.in_house import ReadsItself, make_reads_itself
from yilian.db.schema import admin_changes, in_house_readings

pytestmark = pytest.mark.integration


def _path(hospital_id: str) -> str:
    return f"/api/admin/hospitals/{hospital_id}/in-house-reading"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "modalities": ["CT"],
        "sla": {"stat_minutes": 20, "urgent_minutes": 90, "routine_minutes": 480},
        "second_reading": "random_share",
        "second_reading_share": 0.3,
    }
    body.update(overrides)
    return body


async def _changes(api: Api, hospital_id: str) -> list[dict[str, Any]]:
    query = {"entity": "in_house_reading", "entity_id": hospital_id}
    return (await api.ok("admin", "GET", "/api/admin/changes", params=query))["items"]  # type: ignore[no-any-return]


async def _stored(engine: AsyncEngine, hospital_id: str) -> tuple[int, int]:
    """(policies, change-log rows) of the hospital."""
    async with engine.connect() as conn:
        policies = await conn.scalar(
            select(func.count()).select_from(in_house_readings).where(in_house_readings.c.hospital_id == hospital_id)
        )
        logged = await conn.scalar(
            select(func.count()).select_from(admin_changes).where(admin_changes.c.entity_id == hospital_id)
        )
    return int(policies or 0), int(logged or 0)


@pytest.fixture
async def ih(engine: AsyncEngine) -> ReadsItself:
    return await make_reads_itself(engine)


async def test_create_read_replace_delete_each_in_the_change_log(api: Api, ih: ReadsItself) -> None:
    path = _path(ih.hospital)
    missing = await api.call("admin", "GET", path)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"

    made = await api.ok("admin", "PUT", path, 201, json=_body(reader_ids=[ih.generalist.user_id]))
    assert made["hospital_id"] == ih.hospital and made["enabled"] is True and made["auto_read"] is False
    assert made["modalities"] == ["CT"] and made["reader_ids"] == [ih.generalist.user_id]
    assert made["sla"] == {"stat_minutes": 20, "urgent_minutes": 90, "routine_minutes": 480}
    assert (made["second_reading"], made["second_reading_share"]) == ("random_share", 0.3)
    assert made["offer_timeout_minutes"] == 10  # a term not sent takes the agreements' default
    assert await api.ok("admin", "GET", path) == made
    assert (await api.ok(ih.doctor.user_id, "GET", "/api/me"))["reads_in_house"] == ["CT"]  # the referral form says so

    replaced = await api.ok("admin", "PUT", path, json=_body(modalities=["MR", "CT"], auto_read=True))
    assert replaced["modalities"] == ["CT", "MR"] and replaced["reader_ids"] == [] and replaced["auto_read"]
    assert replaced["created_at"] == made["created_at"] and replaced["updated_at"] >= made["updated_at"]

    deleted = await api.call("admin", "DELETE", path)
    assert deleted.status_code == 204
    assert (await api.call("admin", "GET", path)).status_code == 404
    assert (await api.ok(ih.doctor.user_id, "GET", "/api/me"))["reads_in_house"] == []
    again = await api.call("admin", "DELETE", path)
    assert again.status_code == 404 and again.json()["error"] == "not_found"

    log = await _changes(api, ih.hospital)  # newest first
    assert [c["action"] for c in log] == ["delete", "update", "create"] and {c["actor_id"] for c in log} == {"admin"}
    delete, update, create = log
    assert create["before"] is None and create["after"]["reader_ids"] == [ih.generalist.user_id]
    assert update["before"] == create["after"] and update["after"]["modalities"] == ["CT", "MR"]
    assert delete["before"] == update["after"] and delete["after"] is None
    everything = (await api.ok("admin", "GET", "/api/admin/changes", params={"limit": 500}))["items"]
    assert {c["id"] for c in log} <= {c["id"] for c in everything}  # in the admin change log with the rest


async def test_only_admins(api: Api, ih: ReadsItself) -> None:
    path = _path(ih.hospital)
    for user in ("liu.coord", ih.coordinator.user_id, ih.senior.user_id, ih.doctor.user_id):
        for method, kw in (("GET", {}), ("PUT", {"json": _body()}), ("DELETE", {})):
            r = await api.call(user, method, path, **kw)
            assert r.status_code == 403 and r.json()["error"] == "forbidden", (user, method, r.text)
    assert (await api.call(None, "PUT", path, json=_body())).status_code == 401
    assert (await api.call("admin", "GET", path)).status_code == 404  # none of them made one


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_body(modalities=[]), "body.modalities", "at least one modality"),
        (_body(modalities=["CT", "XYZ"]), "body.modalities", "not an image modality"),
        (_body(modalities=["ct"]), "body.modalities.0", ""),  # the pattern: upper-case DICOM codes
        (_body(reader_ids=["wang.expert"]), "body.reader_ids.0", "not an active expert or senior of this hospital"),
        (_body(reader_ids=["nobody-at-all"]), "body.reader_ids.0", "not an active expert or senior"),
        (_body(modalities=["MR"], reader_ids=["{chest}"]), "body.reader_ids.0", "reads none of MR"),
        (_body(reader_ids=["{doctor}"]), "body.reader_ids.0", "not an active expert or senior"),
        (_body(sla={"stat_minutes": 0}), "body.sla.stat_minutes", ""),
    ],
)
async def test_bad_policies_are_refused_and_change_nothing(
    api: Api, engine: AsyncEngine, ih: ReadsItself, body: dict[str, Any], field: str, words: str
) -> None:
    names = {"{chest}": ih.chest.user_id, "{doctor}": ih.doctor.user_id}
    body = {**body, "reader_ids": [names.get(r, r) for r in body.get("reader_ids", [])]}
    before = await _stored(engine, ih.hospital)
    r = await api.call("admin", "PUT", _path(ih.hospital), json=body)
    assert r.status_code == 422, r.text
    refusal = r.json()
    assert refusal["error"] == "validation_failed"
    assert field in [d["field"] for d in refusal["details"]], refusal
    assert words in r.text
    assert await _stored(engine, ih.hospital) == before


async def test_a_township_hospital_cannot_read_in_house_nor_can_a_reader_become_one(
    api: Api, engine: AsyncEngine, ih: ReadsItself
) -> None:
    s = uuid.uuid4().hex[:6]
    township = await api.ok(
        "admin", "POST", "/api/admin/hospitals", 201,
        json={"name": f"乡镇卫生院 {s}", "level": "township", "patient_id_issuer": f"TS{s}"},
    )  # fmt: skip
    r = await api.call("admin", "PUT", _path(township["id"]), json=_body())
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "path.hospital_id"
    assert "township" in r.json()["message"]
    assert await _changes(api, township["id"]) == []

    unknown = await api.call("admin", "PUT", _path(f"h-none-{s}"), json=_body())
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"

    await api.ok("admin", "PUT", _path(ih.hospital), 201, json=_body())
    hospital = {"name": f"本院 {s}", "level": "township", "patient_id_issuer": f"IH{s}"}
    demoted = await api.call("admin", "PUT", f"/api/admin/hospitals/{ih.hospital}", json=hospital)
    assert demoted.status_code == 422 and "in-house" in demoted.json()["message"]
    county = await api.ok("admin", "PUT", f"/api/admin/hospitals/{ih.hospital}", json={**hospital, "level": "county"})
    assert county["level"] == "county"  # a strong county hospital reads in-house too


async def test_an_in_house_case_is_seen_by_the_hospitals_readers_and_nobody_outside(
    api: Api, engine: AsyncEngine, ih: ReadsItself
) -> None:
    await api.ok("admin", "PUT", _path(ih.hospital), 201, json=_body(reader_ids=[ih.generalist.user_id]))
    doctor = ih.doctor.user_id
    patient = {"patient_id": f"IH-{uuid.uuid4().hex[:6]}", "name": "孙权 Sun Quan", "birth_date": "1970-02-03",
               "sex": "M"}  # fmt: skip
    case = await api.submit(doctor, patient=patient)
    assert case["in_house"] is True and case["agreement_id"] is None
    assert case["requesting_hospital_id"] == case["reading_hospital_id"] == ih.hospital
    rid = case["id"]
    offered = await api.wait_for(ih.generalist.user_id, rid, "offered")
    assert offered["offered_to"] == ih.generalist.user_id and "accept" in offered["allowed_actions"]
    worklist = await api.ok(ih.generalist.user_id, "GET", "/api/referrals")
    assert [r["in_house"] for r in worklist["items"] if r["id"] == rid] == [True]

    insiders = (doctor, ih.coordinator.user_id, ih.chest.user_id, ih.senior.user_id, "admin")
    for user in insiders:
        assert (await api.call(user, "GET", f"/api/referrals/{rid}")).status_code == 200, user
    # Outsiders: the alliance's tertiary readers (licensed for counties, not for this hospital), its coordinator and
    # senior, and another hospital's doctor see nothing of it: not the case, not its study.
    outsiders = ("wang.expert", "chen.senior", "liu.coord", "zhao.anping")
    for user in outsiders:
        r = await api.call(user, "GET", f"/api/referrals/{rid}")
        assert r.status_code == 404, (user, r.text)
        listed = await api.ok(user, "GET", "/api/referrals", params={"hospital_id": ih.hospital})
        assert listed["items"] == [], user
        found = await api.call(
            user, "GET", "/dicomweb/studies", params={"StudyInstanceUID": case["study_instance_uid"]}
        )
        assert found.status_code in (200, 204) and (found.status_code == 204 or found.json() == []), (user, found.text)
    own = await api.call(ih.generalist.user_id, "GET", "/dicomweb/studies",
                         params={"StudyInstanceUID": case["study_instance_uid"]})  # fmt: skip
    assert own.status_code == 200 and len(own.json()) == 1


async def test_a_case_sent_out_names_its_agreement(api: Api) -> None:
    """A case sent out under an agreement says so, as before: in_house false, its agreement named."""
    patient = {"patient_id": f"AP-IH-{uuid.uuid4().hex[:6]}", "name": "刘备 Liu Bei", "birth_date": "1961-03-14",
               "sex": "M"}  # fmt: skip
    case = await api.submit("zhao.anping", patient=patient)
    assert case["in_house"] is False and case["agreement_id"] == "agr-anping"
