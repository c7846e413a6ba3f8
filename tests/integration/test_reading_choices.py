"""The referral form's reading-hospital picker through the real API: GET /api/hospitals/{id}/reading-choices lists
where a doctor of the hospital may send a case of a modality (its own hospital under its in-house policy, each
agreement's reading hospital that may cover it), each choice is honoured by POST /api/referrals, and only the
hospital's own county doctors (and admins) may ask."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.in_house import ReadsItself, make_reads_itself, set_policy
from yilian.db.schema import agreements, hospitals
from yilian.domain.in_house import InHousePolicy

pytestmark = pytest.mark.integration


def _path(hospital_id: str) -> str:
    return f"/api/hospitals/{hospital_id}/reading-choices"


async def _choices(api: Api, user: str, hospital_id: str, modality: str) -> dict[str, Any]:
    return await api.ok(user, "GET", _path(hospital_id), params={"modality": modality})  # type: ignore[no-any-return]


def _summary(body: dict[str, Any]) -> list[tuple[str, bool, list[str], list[str]]]:
    return [(c["hospital_id"], c["in_house"], c["service_modes"], c["when"]) for c in body["choices"]]


@pytest.fixture
async def ih(engine: AsyncEngine) -> ReadsItself:
    """A county hospital under full hosting with the provincial hospital, and a half-hosting agreement with a second
    tertiary hospital (MR hosted, overflow up to 3 a day), plus an inactive one that never shows."""
    ih = await make_reads_itself(engine, level="county", agreement_mode="full_hosting")  # agr-ih-…: after agr-half-…
    s = ih.hospital.removeprefix("h-ih-")  # the second tertiary hospital is h-city-<the same suffix>
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            hospitals.insert().values(
                id=f"h-city-{s}", name=f"市中心医院 {s}", level="tertiary", patient_id_issuer=f"CITY{s}", created_at=now
            )
        )
        half = {"half_hosting": {"modalities": ["MR"], "overflow_daily_cap": 3}}
        await conn.execute(
            agreements.insert(),
            [
                {"id": f"agr-half-{s}", "requesting_hospital_id": ih.hospital, "reading_hospital_id": f"h-city-{s}",
                 "service_mode": "half_hosting", "terms": half, "active": True, "created_at": now},
                {"id": f"agr-off-{s}", "requesting_hospital_id": ih.hospital, "reading_hospital_id": f"h-city-{s}",
                 "service_mode": "full_hosting", "terms": {}, "active": False, "created_at": now},
            ],
        )  # fmt: skip
    return ih


async def test_choices_follow_the_agreements_and_the_in_house_policy(
    api: Api, engine: AsyncEngine, ih: ReadsItself
) -> None:
    doctor, city = ih.doctor.user_id, f"h-city-{ih.hospital.removeprefix('h-ih-')}"
    ct = await _choices(api, doctor, ih.hospital, "CT")
    assert ct["automatic_in_house"] is False and ct["modality"] == "CT"
    assert _summary(ct) == [  # in the agreements' order (by id), the order submission tries them in
        (city, False, ["half_hosting"], ["overflow"]),
        ("h-provincial", False, ["full_hosting"], ["always"]),
    ]
    assert ct["choices"][1]["hospital_name"].startswith("省人民医院")
    assert ct["choices"][1]["agreement_ids"] == [ih.agreement]

    await set_policy(engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"})))
    ct = await _choices(api, doctor, ih.hospital, "ct")  # the modality's case does not matter
    assert ct["automatic_in_house"] is True and ct["modality"] == "CT"
    assert _summary(ct) == [
        (ih.hospital, True, [], ["always"]),
        (city, False, ["half_hosting"], ["overflow"]),
        ("h-provincial", False, ["full_hosting"], ["always"]),
    ]
    assert ct["choices"][0]["hospital_name"] == f"本院 {ih.hospital.removeprefix('h-ih-')}"
    mr = await _choices(api, doctor, ih.hospital, "MR")
    assert mr["automatic_in_house"] is False
    assert _summary(mr) == [
        (city, False, ["half_hosting"], ["always"]),
        ("h-provincial", False, ["full_hosting"], ["always"]),
    ]

    await set_policy(engine, InHousePolicy(ih.hospital, enabled=False, modalities=frozenset({"CT"})))
    off = await _choices(api, doctor, ih.hospital, "CT")
    assert not off["automatic_in_house"] and [c["hospital_id"] for c in off["choices"]] == [city, "h-provincial"]


async def test_difficult_only_is_a_choice_for_flagged_cases(api: Api) -> None:
    dx = await _choices(api, "sun.qingshan", "h-qingshan", "DX")
    assert _summary(dx) == [("h-provincial", False, ["difficult_only"], ["difficult"])]


async def test_each_choice_is_where_the_case_goes(api: Api, engine: AsyncEngine, ih: ReadsItself) -> None:
    await set_policy(engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"})))
    doctor = ih.doctor.user_id
    choices = (await _choices(api, doctor, ih.hospital, "CT"))["choices"]
    sent: dict[str | None, tuple[str, bool]] = {}
    for named in [None] + [c["hospital_id"] for c in choices if c["when"] == ["always"]]:
        patient = {"patient_id": f"RC-{uuid.uuid4().hex[:6]}", "name": "孙权 Sun Quan", "birth_date": "1970-02-03",
                   "sex": "M"}  # fmt: skip
        case = await api.submit(doctor, patient=patient, modality="CT", reading_hospital_id=named)
        sent[named] = (case["reading_hospital_id"], case["in_house"])
    assert sent == {
        None: (ih.hospital, True),
        ih.hospital: (ih.hospital, True),
        "h-provincial": ("h-provincial", False),
    }


async def test_only_the_hospitals_own_doctors_and_admins_may_ask(api: Api, ih: ReadsItself) -> None:
    for user in ("zhao.anping", "sun.qingshan", ih.coordinator.user_id, ih.generalist.user_id, "wang.expert"):
        for params in ({"modality": "CT"}, {"modality": "C1"}):  # refused before the query is read
            r = await api.call(user, "GET", _path(ih.hospital), params=params)
            assert r.status_code == 403 and r.json()["error"] == "forbidden", (user, r.text)
    r = await api.call(None, "GET", _path(ih.hospital), params={"modality": "CT"})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text
    as_admin = await _choices(api, "admin", ih.hospital, "CT")
    assert as_admin["choices"][-1]["hospital_id"] == "h-provincial"
    missing = await api.call("admin", "GET", _path("h-nowhere"), params={"modality": "CT"})
    assert missing.status_code == 404 and missing.json()["error"] == "not_found", missing.text
    for bad in ({"modality": "C1"}, {}):
        r = await api.call(ih.doctor.user_id, "GET", _path(ih.hospital), params=bad)
        assert r.status_code == 422 and r.json()["error"] == "validation_failed", (bad, r.text)
