"""The admin API and the directory through the real API: hospitals, agreements and users made without SQL.

Each refusal has its catalogue code and changes nothing (no row, no change-log entry); each change writes
exactly one admin_changes row in the same transaction; and what an admin makes is what the product then uses:
a new county with a new agreement and a new doctor can submit, and a new licensed expert is offered the case.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from yilian.api.routes.admin import NewAgreement
from yilian.db.demo import DEMO_PASSWORD
from yilian.db.queries import admin as admin_queries
from yilian.db.queries.alliance import agreement_from_row
from yilian.db.schema import admin_changes, agreements, hospitals, reader_licences, users

pytestmark = pytest.mark.integration

TERTIARY = "h-provincial"


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


def _fields(body: dict[str, Any]) -> list[str]:
    return [d["field"] for d in body["details"]]


async def _count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def _changes(api: Api, entity: str, entity_id: str) -> list[dict[str, Any]]:
    out = await api.ok("admin", "GET", "/api/admin/changes", params={"entity": entity, "entity_id": entity_id})
    return out["items"]  # type: ignore[no-any-return]


async def _hospital(api: Api, level: str, s: str) -> str:
    body = {"name": f"{level} {s}", "level": level, "patient_id_issuer": f"I{s}"}
    made = await api.ok("admin", "POST", "/api/admin/hospitals", 201, json=body)
    return str(made["id"])


async def _user(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"password": DEMO_PASSWORD, "display_name": fields.get("username", "x"), **fields}
    made: dict[str, Any] = await api.ok("admin", "POST", "/api/admin/users", 201, json=body)
    return made


def _editable(user: dict[str, Any]) -> dict[str, Any]:
    """A user as GET shows it, as a PUT body."""
    keys = ("username", "display_name", "role", "hospital_id", "title", "is_junior", "licensed_for",
            "subspecialties", "active")  # fmt: skip
    return {k: user[k] for k in keys}


# ---- hospitals ----------------------------------------------------------------------------------
async def test_hospital_create_update_and_change_log(api: Api, engine: AsyncEngine) -> None:
    s = _suffix()
    made = await api.ok(
        "admin", "POST", "/api/admin/hospitals", 201,
        json={"name": " 东乡卫生院 Dongxiang ", "level": "township", "patient_id_issuer": f"DX{s}"},
    )  # fmt: skip
    hid = made["id"]
    assert hid.startswith("h-") and made["name"] == "东乡卫生院 Dongxiang" and made["level"] == "township"
    listed = (await api.ok("admin", "GET", "/api/admin/hospitals"))["items"]
    assert made in listed

    updated = await api.ok(
        "admin", "PUT", f"/api/admin/hospitals/{hid}",
        json={"name": "东乡镇卫生院", "level": "county", "patient_id_issuer": f"DX{s}"},
    )  # fmt: skip
    assert updated == {**made, "name": "东乡镇卫生院", "level": "county"}

    update, create = await _changes(api, "hospital", hid)
    assert (create["action"], create["actor_id"], create["before"], create["after"]) == ("create", "admin", None, made)
    assert (update["action"], update["before"], update["after"]) == ("update", made, updated)

    # The directory shows names and levels to everyone signed in, and nothing more.
    directory = (await api.ok("sun.qingshan", "GET", "/api/hospitals"))["items"]
    assert {"id": hid, "name": "东乡镇卫生院", "level": "county"} in directory
    assert {"id": TERTIARY, "name": "省人民医院 Provincial People's Hospital", "level": "tertiary"} in directory


async def test_hospital_refusals_change_nothing(api: Api, engine: AsyncEngine) -> None:
    s = _suffix()
    hid = f"h-dup-{s}"
    body = {"id": hid, "name": "Dup", "level": "county", "patient_id_issuer": f"D{s}"}
    await api.ok("admin", "POST", "/api/admin/hospitals", 201, json=body)
    before = await _count(engine, admin_changes)

    dup = await api.call("admin", "POST", "/api/admin/hospitals", json={**body, "name": "Other"})
    assert dup.status_code == 409 and dup.json()["error"] == "conflict" and _fields(dup.json()) == ["body.id"]
    bad = await api.call("admin", "POST", "/api/admin/hospitals", json={**body, "id": None, "level": "clinic"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    assert _fields(bad.json()) == ["body.level"]
    missing = await api.call("admin", "PUT", "/api/admin/hospitals/h-nowhere", json=body)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    # A hospital that reads for others under an agreement cannot stop being tertiary.
    demoted = await api.call(
        "admin", "PUT", f"/api/admin/hospitals/{TERTIARY}",
        json={"name": "x", "level": "county", "patient_id_issuer": "PPH"},
    )  # fmt: skip
    assert demoted.status_code == 422 and _fields(demoted.json()) == ["body.level"]

    assert await _count(engine, admin_changes) == before
    async with engine.connect() as conn:
        names = (await conn.execute(select(hospitals.c.name).where(hospitals.c.id.in_([hid, TERTIARY])))).scalars()
        assert sorted(names) == ["Dup", "省人民医院 Provincial People's Hospital"]


# ---- agreements ---------------------------------------------------------------------------------
HALF_HOSTING = {
    "service_mode": "half_hosting",
    "sla": {"stat_minutes": 45, "urgent_minutes": 180, "routine_minutes": 2000},
    "offer_timeout_minutes": 7,
    "grace_minutes": 20,
    "auto_reassign": False,
    "max_auto_reassigns": 1,
    "second_reading": "random_share",
    "second_reading_share": 0.35,
    "pause_sla_in_needs_info": False,
    "critical_ack_minutes": 9,
    "critical_renotify_max": 4,
    "half_hosting": {"modalities": ["MR"], "hours_start": "18:00", "hours_end": "08:00", "overflow_daily_cap": 3},
    "timezone": "Asia/Urumqi",
}


async def test_agreement_terms_round_trip_and_updates(api: Api, engine: AsyncEngine) -> None:
    s = _suffix()
    county = await _hospital(api, "county", s)
    body = {**HALF_HOSTING, "requesting_hospital_id": county, "reading_hospital_id": TERTIARY}
    made = await api.ok("admin", "POST", "/api/admin/agreements", 201, json=body)
    aid = made["id"]
    assert aid.startswith("agr-")
    assert made == {**body, "id": aid, "cooperation_modalities": [], "active": True, "created_at": made["created_at"]}
    async with engine.connect() as conn:
        row = (await conn.execute(select(agreements).where(agreements.c.id == aid))).mappings().one()
    # What the routing reads back is exactly what the admin wrote.
    assert agreement_from_row(row) == NewAgreement.model_validate(body).agreement(aid)
    assert made["created_at"] == row["created_at"].isoformat()
    assert made in (await api.ok("admin", "GET", "/api/admin/agreements"))["items"]

    changed = {**body, "service_mode": "cooperation", "half_hosting": None, "cooperation_modalities": ["CT", "MR"],
               "active": False}  # fmt: skip
    updated = await api.ok("admin", "PUT", f"/api/admin/agreements/{aid}", json=changed)
    assert updated == {**changed, "id": aid, "created_at": made["created_at"]}
    update, create = await _changes(api, "agreement", aid)
    assert create["after"] == made and update["before"] == made and update["after"] == updated

    # The county's own view of what the agreement covers.
    doctor = f"doc-{s}"
    await _user(api, username=doctor, role="county_doctor", hospital_id=county)
    [mine] = (await api.ok(doctor, "GET", "/api/agreements"))["items"]
    assert mine["id"] == aid and mine["covers"] == "CT, MR studies" and mine["active"] is False
    assert mine["reading_hospital_name"] == "省人民医院 Provincial People's Hospital"
    assert mine["second_reading_covers"] == "a random 35% of cases"


AGREEMENT_REFUSALS = [
    pytest.param(
        {"requesting_hospital_id": TERTIARY},
        ["body.reading_hospital_id", "body.requesting_hospital_id"],  # with itself, and a tertiary that sends
        id="tertiary-requests-from-itself",
    ),
    pytest.param({"reading_hospital_id": "h-anping"}, ["body.reading_hospital_id"], id="county-reads"),
    pytest.param({"reading_hospital_id": "h-nowhere"}, ["body.reading_hospital_id"], id="unknown-reader"),
    pytest.param({"timezone": "Mars/Olympus"}, ["body.timezone"], id="timezone"),
    pytest.param({"sla": {"stat_minutes": 0}}, ["body.sla.stat_minutes"], id="sla-zero"),
    pytest.param({"second_reading_share": 1.5}, ["body.second_reading_share"], id="share"),
    pytest.param({"second_reading": "sometimes"}, ["body.second_reading"], id="policy"),
    pytest.param({"service_mode": "full_hosting"}, ["body.half_hosting"], id="rules-on-full-hosting"),
    pytest.param({"half_hosting": {"modalities": []}}, ["body.half_hosting"], id="half-hosting-without-rules"),
    pytest.param({"half_hosting": {"hours_start": "18:00"}}, ["body.half_hosting.hours_end"], id="half-a-window"),
    pytest.param({"half_hosting": {"hours_start": "25:00"}}, ["body.half_hosting.hours_start"], id="bad-hour"),
    pytest.param({"cooperation_modalities": ["CT"]}, ["body.cooperation_modalities"], id="modalities-not-coop"),
]


@pytest.mark.parametrize(("change", "fields"), AGREEMENT_REFUSALS)
async def test_agreement_refusals_change_nothing(
    api: Api, engine: AsyncEngine, change: dict[str, Any], fields: list[str]
) -> None:
    body = {**HALF_HOSTING, "requesting_hospital_id": "h-qingshan", "reading_hospital_id": TERTIARY, **change}
    before = (await _count(engine, agreements), await _count(engine, admin_changes))
    r = await api.call("admin", "POST", "/api/admin/agreements", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed" and _fields(r.json()) == fields
    put = await api.call("admin", "PUT", "/api/admin/agreements/agr-qingshan", json=body)
    assert put.status_code == 422, put.text
    assert (await _count(engine, agreements), await _count(engine, admin_changes)) == before


async def test_agreement_parties_do_not_change(api: Api) -> None:
    body = {"requesting_hospital_id": "h-anping", "reading_hospital_id": TERTIARY, "service_mode": "full_hosting"}
    r = await api.call("admin", "PUT", "/api/admin/agreements/agr-qingshan", json=body)
    assert r.status_code == 422 and _fields(r.json()) == ["body.requesting_hospital_id"]
    dup = await api.call("admin", "POST", "/api/admin/agreements", json={**body, "id": "agr-anping"})
    assert dup.status_code == 409 and dup.json()["error"] == "conflict"
    missing = await api.call("admin", "PUT", "/api/admin/agreements/agr-nowhere", json=body)
    assert missing.status_code == 404


async def test_directory_agreements_are_scoped_to_the_callers_hospital(api: Api) -> None:
    anping = {a["id"]: a for a in (await api.ok("zhao.anping", "GET", "/api/agreements"))["items"]}
    assert all("h-anping" in (a["requesting_hospital_id"], a["reading_hospital_id"]) for a in anping.values())
    assert anping["agr-anping"]["covers"] == "every study"
    assert anping["agr-anping"]["sla"] == {"stat_minutes": 30, "urgent_minutes": 120, "routine_minutes": 1440}
    assert "agr-qingshan" not in anping
    reading = {a["id"] for a in (await api.ok("wang.expert", "GET", "/api/agreements"))["items"]}
    assert {"agr-anping", "agr-qingshan"} <= reading
    qingshan = {a["id"]: a for a in (await api.ok("sun.qingshan", "GET", "/api/agreements"))["items"]}
    assert qingshan["agr-qingshan"]["covers"] == "only cases flagged difficult"
    everything = {a["id"] for a in (await api.ok("admin", "GET", "/api/agreements"))["items"]}
    assert reading | set(anping) | set(qingshan) <= everything


# ---- users --------------------------------------------------------------------------------------
async def test_users_create_update_and_password(api: Api, engine: AsyncEngine) -> None:
    s = _suffix()
    username = f"expert.{s}"
    made = await _user(
        api, username=username, display_name="新专家 New Expert", role="expert", hospital_id=TERTIARY,
        title="主治医师", is_junior=True, licensed_for=["h-qingshan", "h-anping", "h-anping"],
        subspecialties=[{"modality": "CT", "body_part": " chest "}, {"modality": "*", "body_part": "*"}],
    )  # fmt: skip
    uid = made["id"]
    assert uid.startswith("u-")
    assert made["licensed_for"] == ["h-anping", "h-qingshan"]
    assert made["subspecialties"] == [{"modality": "*", "body_part": "*"}, {"modality": "CT", "body_part": "CHEST"}]
    listed = (await api.ok("admin", "GET", "/api/admin/users"))["items"]
    assert made in listed
    assert not any("password" in k for u in listed for k in u)

    # The new expert signs in and is who the admin said.
    me = await api.ok(username, "GET", "/api/me")
    assert (me["id"], me["role"], me["licensed_for"]) == (uid, "expert", ["h-anping", "h-qingshan"])

    edited = {**_editable(made), "licensed_for": ["h-anping"], "subspecialties": [], "title": "副主任医师"}
    updated = await api.ok("admin", "PUT", f"/api/admin/users/{uid}", json=edited)
    assert (updated["licensed_for"], updated["subspecialties"], updated["title"]) == (["h-anping"], [], "副主任医师")
    assert (await api.ok(username, "GET", "/api/me"))["licensed_for"] == ["h-anping"]

    new_password = f"new-password-{s}"
    changed = await api.call("admin", "POST", f"/api/admin/users/{uid}/password", json={"password": new_password})
    assert changed.status_code == 204 and changed.content == b""
    old = await api.client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert old.status_code == 401
    new = await api.client.post("/api/auth/login", json={"username": username, "password": new_password})
    assert new.status_code == 200 and new.json()["user"]["id"] == uid

    password, update, create = await _changes(api, "user", uid)
    assert [c["action"] for c in (create, update, password)] == ["create", "update", "password"]
    assert (password["before"], password["after"]) == (None, None)
    assert update["before"] == made and update["after"] == updated
    log = json.dumps(await api.ok("admin", "GET", "/api/admin/changes", params={"limit": 500}))
    assert "argon2" not in log and new_password not in log and DEMO_PASSWORD not in log


USER_REFUSALS = [
    pytest.param({"password": "short"}, 422, ["body.password"], id="short-password"),
    pytest.param({"role": "patient"}, 422, ["body.role"], id="patient"),
    pytest.param({"role": "system"}, 422, ["body.role"], id="system"),
    pytest.param({"hospital_id": None}, 422, ["body.hospital_id"], id="no-hospital"),
    pytest.param({"hospital_id": "h-nowhere"}, 422, ["body.hospital_id"], id="unknown-hospital"),
    pytest.param({"licensed_for": ["h-nowhere"]}, 422, ["body.licensed_for"], id="unknown-licence"),
    pytest.param({"role": "county_doctor"}, 422, ["body.licensed_for", "body.subspecialties"], id="not-a-reader"),
    pytest.param(
        {"subspecialties": [{"modality": "ct", "body_part": "*"}]},
        422,
        ["body.subspecialties.0.modality"],
        id="bad-modality",
    ),  # fmt: skip
    pytest.param({"username": "zhao.anping"}, 409, ["body.username"], id="taken-username"),
    pytest.param({"id": "wang.expert"}, 409, ["body.id"], id="taken-id"),
]


@pytest.mark.parametrize(("change", "status", "fields"), USER_REFUSALS)
async def test_user_refusals_change_nothing(
    api: Api, engine: AsyncEngine, change: dict[str, Any], status: int, fields: list[str]
) -> None:
    body = {
        "username": f"refused.{_suffix()}", "password": DEMO_PASSWORD, "display_name": "Refused", "role": "expert",
        "hospital_id": TERTIARY, "licensed_for": ["h-anping"], "subspecialties": [{"modality": "CT", "body_part": "*"}],
        **change,
    }  # fmt: skip
    before = (await _count(engine, users), await _count(engine, reader_licences), await _count(engine, admin_changes))
    r = await api.call("admin", "POST", "/api/admin/users", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == ("conflict" if status == 409 else "validation_failed")
    assert _fields(r.json()) == fields
    after = (await _count(engine, users), await _count(engine, reader_licences), await _count(engine, admin_changes))
    assert after == before


async def test_username_taken_on_update(api: Api) -> None:
    made = await _user(api, username=f"renamed.{_suffix()}", role="coordinator", hospital_id="h-anping")
    r = await api.call("admin", "PUT", f"/api/admin/users/{made['id']}", json={**_editable(made), "username": "admin"})
    assert r.status_code == 409 and _fields(r.json()) == ["body.username"]
    missing = await api.call("admin", "PUT", "/api/admin/users/u-nobody", json=_editable(made))
    assert missing.status_code == 404
    nobody = await api.call("admin", "POST", "/api/admin/users/u-nobody/password", json={"password": DEMO_PASSWORD})
    assert nobody.status_code == 404


async def test_an_admin_cannot_deactivate_or_demote_themself(api: Api, engine: AsyncEngine) -> None:
    me = next(u for u in (await api.ok("admin", "GET", "/api/admin/users"))["items"] if u["id"] == "admin")
    before = await _count(engine, admin_changes)
    off = await api.call("admin", "PUT", "/api/admin/users/admin", json={**_editable(me), "active": False})
    assert off.status_code == 422 and _fields(off.json()) == ["body.active"]
    demoted = {**_editable(me), "role": "coordinator", "hospital_id": TERTIARY}
    down = await api.call("admin", "PUT", "/api/admin/users/admin", json=demoted)
    assert down.status_code == 422 and _fields(down.json()) == ["body.role"]
    assert await _count(engine, admin_changes) == before
    assert (await api.ok("admin", "GET", "/api/me"))["role"] == "admin"

    # Another admin can be deactivated, and is out at once.
    other = await _user(api, username=f"admin.{_suffix()}", role="admin")
    await api.ok(other["username"], "GET", "/api/admin/users")
    await api.ok("admin", "PUT", f"/api/admin/users/{other['id']}", json={**_editable(other), "active": False})
    gone = await api.call(other["username"], "GET", "/api/admin/users")
    assert gone.status_code == 401


async def test_nothing_half_written_when_the_change_log_fails(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the change log is unavailable")

    monkeypatch.setattr(admin_queries, "record_change", broken)
    s = _suffix()
    hospital = {"id": f"h-half-{s}", "name": "Half", "level": "county", "patient_id_issuer": f"H{s}"}
    user = {"id": f"u-half-{s}", "username": f"half.{s}", "password": DEMO_PASSWORD, "display_name": "Half",
            "role": "expert", "hospital_id": TERTIARY, "licensed_for": ["h-anping"]}  # fmt: skip
    for path, body in (("/api/admin/hospitals", hospital), ("/api/admin/users", user)):
        try:
            r = await api.call("admin", "POST", path, json=body)
        except RuntimeError:  # the in-process transport re-raises what the 500 handler rendered
            pass
        else:
            assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert await _count(engine, hospitals, hospitals.c.id == hospital["id"]) == 0
    assert await _count(engine, users, users.c.id == user["id"]) == 0
    assert await _count(engine, reader_licences, reader_licences.c.user_id == user["id"]) == 0


# ---- a new alliance, made through the API, at work ------------------------------------------------
async def test_a_new_county_agreement_and_doctor_can_submit(api: Api, engine: AsyncEngine) -> None:
    s = _suffix()
    tertiary, county = await _hospital(api, "tertiary", s), await _hospital(api, "county", s)
    doctor, expert, stranger, coordinator = f"doc.{s}", f"exp.{s}", f"unlic.{s}", f"coord.{s}"
    await _user(api, username=doctor, role="county_doctor", hospital_id=county)
    made_expert = await _user(
        api, username=expert, display_name="新专家", role="expert", hospital_id=tertiary, title="主任医师",
        licensed_for=[county], subspecialties=[{"modality": "*", "body_part": "*"}],
    )  # fmt: skip
    await _user(api, username=stranger, role="expert", hospital_id=tertiary, subspecialties=[
        {"modality": "*", "body_part": "*"}])  # fmt: skip
    await _user(api, username=coordinator, role="coordinator", hospital_id=tertiary)
    patient = {"patient_id": f"NEW{s}", "name": "新患者 New Patient", "birth_date": "1990-01-02", "sex": "F"}

    # No agreement yet: the county is refused with the reason.
    refused = await api.call(doctor, "POST", "/api/referrals", json={
        "patient": patient, "study_instance_uid": "1.2.3.4", "modality": "CT", "body_part": "CHEST",
        "clinical_question": "cough", "priority": "routine"})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["error"] == "not_covered_by_agreement"

    agreement = {"requesting_hospital_id": county, "reading_hospital_id": tertiary, "service_mode": "half_hosting",
                 "half_hosting": {"modalities": ["MR"]}}  # fmt: skip
    aid = (await api.ok("admin", "POST", "/api/admin/agreements", 201, json=agreement))["id"]
    not_ct = await api.call(doctor, "POST", "/api/referrals", json={
        "patient": patient, "study_instance_uid": "1.2.3.4", "modality": "CT", "body_part": "CHEST",
        "clinical_question": "cough", "priority": "routine"})  # fmt: skip
    assert not_ct.status_code == 422 and not_ct.json()["message"].startswith("half hosting covers MR")
    agreement["half_hosting"] = {"modalities": ["CT", "MR"]}
    await api.ok("admin", "PUT", f"/api/admin/agreements/{aid}", json=agreement)

    case = await api.submit(doctor, patient=patient)
    assert (case["agreement_id"], case["reading_hospital_id"]) == (aid, tertiary)
    offered = await api.wait_for(doctor, case["id"], "offered")
    assert offered["offered_to"] == made_expert["id"]

    # The licensed expert sees it; an expert of the same hospital without the licence does not.
    assert case["id"] in {r["id"] for r in (await api.ok(expert, "GET", "/api/referrals"))["items"]}
    assert (await api.call(stranger, "GET", f"/api/referrals/{case['id']}")).status_code == 404

    # The reading hospital's coordinator sees who could read it, with their load.
    readers = (await api.ok(coordinator, "GET", "/api/readers", params={"referral_id": case["id"]}))["items"]
    assert readers == [{
        "id": made_expert["id"], "display_name": "新专家", "role": "expert", "title": "主任医师", "is_junior": False,
        "on_duty": True, "subspecialties": [{"modality": "*", "body_part": "*"}], "open_cases": 1,
    }]  # fmt: skip
    # Another hospital's coordinator cannot see the case: it answers as an unknown id.
    hidden = await api.call("liu.coord", "GET", "/api/readers", params={"referral_id": case["id"]})
    unknown = await api.call("liu.coord", "GET", "/api/readers", params={"referral_id": "ref-20000101-0000000000"})
    assert hidden.status_code == unknown.status_code == 404

    # Deactivated, the agreement covers nothing more.
    await api.ok("admin", "PUT", f"/api/admin/agreements/{aid}", json={**agreement, "active": False})
    stopped = await api.call(doctor, "POST", "/api/referrals", json={
        "patient": patient, "study_instance_uid": "1.2.3.5", "modality": "CT", "body_part": "CHEST",
        "clinical_question": "cough", "priority": "routine"})  # fmt: skip
    assert stopped.status_code == 422 and stopped.json()["message"] == "the agreement is not active"


async def test_demo_readers_of_a_demo_case(api: Api) -> None:
    case = await api.submit("zhao.anping", patient={
        "patient_id": f"RD{_suffix()}", "name": "读者 Readers", "birth_date": "1960-06-06", "sex": "M"})  # fmt: skip
    listed = await api.ok("liu.coord", "GET", "/api/readers", params={"referral_id": case["id"]})
    readers = {r["id"]: r for r in listed["items"]}
    # The demo's readers, and any other test's new reader licensed for h-anping; never the unlicensed.
    assert {"wang.expert", "li.expert", "zhang.expert", "chen.senior"} <= set(readers)
    assert "zhou.unlicensed" not in readers and "liu.coord" not in readers
    assert readers["zhang.expert"]["is_junior"] is True
    assert {"modality": "CT", "body_part": "CHEST"} in readers["wang.expert"]["subspecialties"]
    assert all(isinstance(r["open_cases"], int) for r in readers.values())


async def test_a_strong_county_hospital_reads_for_others_under_cooperation(api: Api) -> None:
    """Cooperation is for strong hospitals that are not tertiary: a county reader is accepted there, and only there;
    while it reads under cooperation it may not become a township hospital."""
    s = _suffix()
    strong, township = await _hospital(api, "county", s), await _hospital(api, "township", s)
    coop = {"requesting_hospital_id": township, "reading_hospital_id": strong, "service_mode": "cooperation",
            "cooperation_modalities": ["DX", "CT"]}  # fmt: skip
    made = await api.ok("admin", "POST", "/api/admin/agreements", 201, json=coop)
    assert (made["reading_hospital_id"], made["service_mode"]) == (strong, "cooperation")

    hosting = await api.call("admin", "POST", "/api/admin/agreements", json={**coop, "service_mode": "full_hosting",
                                                                             "cooperation_modalities": []})  # fmt: skip
    assert hosting.status_code == 422 and _fields(hosting.json()) == ["body.reading_hospital_id"]
    by_township = await api.call(
        "admin", "POST", "/api/admin/agreements", json={**coop, "requesting_hospital_id": strong,
                                                        "reading_hospital_id": township},
    )  # fmt: skip
    assert by_township.status_code == 422 and _fields(by_township.json()) == ["body.reading_hospital_id"]
    demoted = await api.call(
        "admin", "PUT", f"/api/admin/hospitals/{strong}",
        json={"name": f"county {s}", "level": "township", "patient_id_issuer": f"I{s}"},
    )  # fmt: skip
    assert demoted.status_code == 422 and _fields(demoted.json()) == ["body.level"]
