"""The regional patient index through the real API and PostgreSQL: exact matches link, uncertain ones wait for a
coordinator, unlinks split and relinks undo them, and the national ID is never stored."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import hospital_record, national_id, phone
from yilian.db.schema import patient_index, regional_patients

pytestmark = pytest.mark.integration

ENROL = "/api/patient-index/enrolments"


def person() -> tuple[str, date]:
    """A name and birth date nobody else in the session's database has."""
    return f"测试 Test {uuid.uuid4().hex[:8]}", date(1940, 1, 1) + timedelta(days=random.randint(0, 25000))


async def test_an_exact_match_links_records_from_two_hospitals(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    nid = national_id(born)
    a, _ = await hospital_record(engine, "h-anping", name, born, "F")
    b, _ = await hospital_record(engine, "h-qingshan", name.upper(), born, "F")  # case and width do not matter
    first = await api.ok(
        "zhao.anping", "POST", ENROL, 201, json={"patient_ref": a, "national_id": nid, "phone": phone()}
    )
    assert first["outcome"] == "own" and first["review_id"] is None
    second = await api.ok("sun.qingshan", "POST", ENROL, 201, json={"patient_ref": b, "national_id": nid})
    assert second == {"patient_ref": b, "regional_patient_id": first["regional_patient_id"], "outcome": "linked",
                      "review_id": None}  # fmt: skip
    rp = await api.ok("liu.coord", "GET", f"/api/patient-index/regional-patients/{first['regional_patient_id']}")
    assert {r["hospital_id"] for r in rp["records"]} == {"h-anping", "h-qingshan"}
    assert [e["action"] for e in rp["events"]] == ["enrolled", "linked"]
    assert rp["events"][1]["actor_id"] == "sun.qingshan" and rp["has_phone"]
    # Enrolling twice is refused: a record is moved by a link or an unlink, not enrolled again.
    again = await api.call("sun.qingshan", "POST", ENROL, json={"patient_ref": b, "national_id": nid})
    assert again.status_code == 409 and again.json()["error"] == "conflict"


async def test_the_national_id_is_stored_only_as_a_keyed_hash(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    nid = national_id(born)
    a, _ = await hospital_record(engine, "h-anping", name, born, "M")
    done = await api.ok(
        "zhao.anping", "POST", ENROL, 201, json={"patient_ref": a, "national_id": f" {nid[:6]} {nid[6:]}"}
    )
    async with engine.connect() as conn:
        stored = await conn.scalar(select(patient_index.c.national_id_hash).where(patient_index.c.patient_ref == a))
        person_row = (await conn.execute(select(regional_patients).where(
            regional_patients.c.id == done["regional_patient_id"]))).mappings().one()  # fmt: skip
    assert stored is not None and len(stored) == 64 and nid not in stored and nid[-6:] not in stored
    assert nid not in " ".join(str(v) for v in person_row.values())


async def test_uncertain_matches_wait_for_a_coordinator(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    nid = national_id(born)
    a, _ = await hospital_record(engine, "h-anping", name, born, "M")
    # The same national ID with another birth date (a typo at one desk, or a wrong number): not linked, reviewed.
    b, _ = await hospital_record(engine, "h-qingshan", name, born + timedelta(days=1), "M")
    first = await api.ok("zhao.anping", "POST", ENROL, 201, json={"patient_ref": a, "national_id": nid})
    second = await api.ok("sun.qingshan", "POST", ENROL, 201, json={"patient_ref": b, "national_id": nid})
    assert second["outcome"] == "review" and second["regional_patient_id"] != first["regional_patient_id"]
    queue = await api.ok("liu.coord", "GET", "/api/patient-index/reviews")
    mine = [r for r in queue["items"] if r["id"] == second["review_id"]]
    assert len(mine) == 1 and mine[0]["reason"] == "demographics_differ"
    assert mine[0]["record"]["patient_ref"] == b and mine[0]["candidate_id"] == first["regional_patient_id"]
    # Only the alliance's keepers see the queue and decide.
    assert (await api.call("zhao.anping", "GET", "/api/patient-index/reviews")).status_code == 403
    refused = await api.call("zhao.anping", "POST", f"/api/patient-index/reviews/{second['review_id']}/link")
    assert refused.status_code == 403
    linked = await api.ok("liu.coord", "POST", f"/api/patient-index/reviews/{second['review_id']}/link")
    assert linked["id"] == first["regional_patient_id"]
    assert {r["patient_ref"]: r["how"] for r in linked["records"]} == {a: "own", b: "reviewed"}
    assert [e["action"] for e in linked["events"]][-1] == "review_linked"
    twice = await api.call("liu.coord", "POST", f"/api/patient-index/reviews/{second['review_id']}/keep-apart")
    assert twice.status_code == 409 and twice.json()["error"] == "invalid_transition"
    done = await api.ok("liu.coord", "GET", "/api/patient-index/reviews", params={"state": "linked"})
    assert second["review_id"] in {r["id"] for r in done["items"]}


async def test_same_demographics_without_a_national_id_can_be_kept_apart(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    a, _ = await hospital_record(engine, "h-anping", name, born, "F")
    b, _ = await hospital_record(engine, "h-qingshan", name, born, "F")
    first = await api.ok("zhao.anping", "POST", ENROL, 201, json={"patient_ref": a, "national_id": national_id(born)})
    second = await api.ok("sun.qingshan", "POST", ENROL, 201, json={"patient_ref": b})
    assert second["outcome"] == "review"
    kept = await api.ok("liu.coord", "POST", f"/api/patient-index/reviews/{second['review_id']}/keep-apart")
    assert kept["id"] == second["regional_patient_id"] != first["regional_patient_id"]
    assert [r["patient_ref"] for r in kept["records"]] == [b]
    assert [e["action"] for e in kept["events"]] == ["enrolled", "review_opened", "review_kept_apart"]


async def test_unlink_splits_a_record_off_and_relink_undoes_it(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    nid = national_id(born)
    a, _ = await hospital_record(engine, "h-anping", name, born, "M")
    b, _ = await hospital_record(engine, "h-qingshan", name, born, "M")
    rid = (await api.ok("zhao.anping", "POST", ENROL, 201, json={"patient_ref": a, "national_id": nid}))[
        "regional_patient_id"
    ]
    await api.ok("sun.qingshan", "POST", ENROL, 201, json={"patient_ref": b, "national_id": nid})
    split = await api.ok("liu.coord", "POST", f"/api/patient-index/records/{b}/unlink")
    assert split["id"] != rid and [r["patient_ref"] for r in split["records"]] == [b]
    assert split["events"][-1]["action"] == "unlinked" and split["events"][-1]["from_regional_id"] == rid
    left = await api.ok("liu.coord", "GET", f"/api/patient-index/regional-patients/{rid}")
    assert [r["patient_ref"] for r in left["records"]] == [a]
    # The last record of a regional patient cannot be split off from itself.
    alone = await api.call("liu.coord", "POST", f"/api/patient-index/records/{a}/unlink")
    assert alone.status_code == 409
    back = await api.ok("liu.coord", "POST", f"/api/patient-index/records/{b}/link", json={"regional_patient_id": rid})
    assert back["id"] == rid and {r["patient_ref"] for r in back["records"]} == {a, b}
    assert [e["action"] for e in back["events"]] == ["enrolled", "linked", "unlinked", "moved"]
    assert all(e["actor_id"] in {"zhao.anping", "sun.qingshan", "liu.coord"} for e in back["events"])


async def test_refusals_say_what_is_wrong(api: Api, engine: AsyncEngine) -> None:
    name, born = person()
    a, _ = await hospital_record(engine, "h-anping", name, born, "M")
    good = national_id(born)  # once: each call is a new random id, whose check digit the "bad" one might match
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    r = await api.call("zhao.anping", "POST", ENROL, json={"patient_ref": a, "national_id": bad_check})
    assert r.status_code == 422 and r.json()["details"] == [{"field": "national_id"}]
    r = await api.call("zhao.anping", "POST", ENROL, json={"patient_ref": a, "phone": "12345"})
    assert r.status_code == 422 and r.json()["details"] == [{"field": "phone"}]
    # Another hospital's record is not there for you, word for word as an unknown one.
    other = await api.call("sun.qingshan", "POST", ENROL, json={"patient_ref": a})
    unknown = await api.call("sun.qingshan", "POST", ENROL, json={"patient_ref": "pat-nobody"})
    assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()
    assert (await api.call("wang.expert", "POST", ENROL, json={"patient_ref": a})).status_code == 403
    taken = phone()
    b, _ = await hospital_record(engine, "h-anping", *person(), "F")
    await api.ok("zhao.anping", "POST", ENROL, 201, json={"patient_ref": b, "phone": taken})
    clash = await api.call("zhao.anping", "POST", ENROL, json={"patient_ref": a, "phone": taken})
    assert clash.status_code == 409
    assert (await api.ok("zhao.anping", "POST", ENROL, 201, json={"patient_ref": a}))["outcome"] == "own"
