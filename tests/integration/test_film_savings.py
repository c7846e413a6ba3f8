"""Cloud film's savings on the coordinator's dashboard (issue 17), through the real API: each count moves by exactly
what the test does. A study delivered to its patient as cloud film counts once as film not printed (at its hospital);
another hospital's recent study opened through 检查结果互认 counts as a repeat avoided (at the viewing hospital), until
that hospital stores a study of the same kind after all."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import hospital_record, national_id, phone, send_dated_study, texted_code

pytestmark = pytest.mark.integration
ZONE = ZoneInfo("Asia/Shanghai")


def _days_ago(n: int) -> str:
    return (datetime.now(ZONE).date() - timedelta(days=n)).strftime("%Y%m%d")


async def _this_month(api: Api) -> dict[str, tuple[int, int]]:
    """(films not printed, repeats avoided) this month, per hospital liu.coord oversees."""
    page = await api.ok("liu.coord", "GET", "/api/film-savings", params={"months": 1})
    assert page["repeat_window_days"] == 30
    return {h["hospital_id"]: (h["months"][-1]["films_not_printed"], h["months"][-1]["repeats_avoided"])
            for h in page["items"]}  # fmt: skip


def _moved(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {h: (after[h][0] - before[h][0], after[h][1] - before[h][1]) for h in after if after[h] != before.get(h)}


async def test_film_not_printed_and_repeats_avoided_count_exactly_what_happened(api: Api, engine: AsyncEngine) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    name, born, number = f"鲁肃 Lu Su {tag}", date(1972, 2, 2), phone()
    nid = national_id(born)
    ap_ref, ap_pid = await hospital_record(engine, "h-anping", name, born, "M")
    qs_ref, qs_pid = await hospital_record(engine, "h-qingshan", name, born, "M")
    await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201,
                 json={"patient_ref": ap_ref, "national_id": nid, "phone": number})  # fmt: skip
    linked = await api.ok("sun.qingshan", "POST", "/api/patient-index/enrolments", 201,
                          json={"patient_ref": qs_ref, "national_id": nid})  # fmt: skip
    assert linked["outcome"] == "linked"
    recent = await send_dated_study(api, "zhao.anping", ap_pid, _days_ago(5))  # DX chest
    old = await send_dated_study(api, "zhao.anping", ap_pid, _days_ago(45))  # DX chest, too old to stand in
    await api.ok(None, "POST", "/api/patient-sessions/codes", 202, json={"phone": number})
    session = await api.ok(None, "POST", "/api/patient-sessions",
                           json={"phone": number, "code": await texted_code(api, number)})  # fmt: skip
    patient = {"Authorization": f"Bearer {session['access_token']}"}
    start = await _this_month(api)
    assert {"h-anping", "h-qingshan", "h-provincial"} <= start.keys()

    # The patient opens one study on the phone, twice: one film not printed, at Anping.
    for _ in range(2):
        r = await api.client.get(f"/api/cloud-film/studies/{recent}", headers=patient)
        assert r.status_code == 200, r.text
    assert _moved(start, await _this_month(api)) == {"h-anping": (1, 0)}

    # A clinician opens the other through the patient's QR code: a second one.
    grant = await api.client.post("/api/cloud-film/grants", headers=patient,
                                  json={"study_instance_uid": old, "hours": 2})  # fmt: skip
    assert grant.status_code == 201, grant.text
    token = grant.json()["url"].rsplit("/c/", 1)[1]
    await api.ok(None, "POST", f"/api/film-grants/{token}/open")
    assert _moved(start, await _this_month(api)) == {"h-anping": (2, 0)}

    # Without consent Qingshan's doctor sees nothing, and nothing is avoided.
    elsewhere = f"/api/patient-index/records/{qs_ref}/recognised-studies"
    assert (await api.ok("sun.qingshan", "GET", elsewhere))["items"] == []
    assert _moved(start, await _this_month(api)) == {"h-anping": (2, 0)}

    # With it, Qingshan's doctor opens both (twice): the 5-day-old chest radiograph stands in for a new one there,
    # the 45-day-old one does not.
    assert (await api.client.post("/api/cloud-film/consent", headers=patient)).status_code == 200
    for _ in range(2):
        seen = (await api.ok("sun.qingshan", "GET", elsewhere))["items"]
        assert {s["study_instance_uid"] for s in seen} == {recent, old}
    assert _moved(start, await _this_month(api)) == {"h-anping": (2, 0), "h-qingshan": (0, 1)}

    # Qingshan takes a chest radiograph of the patient after all: that exam was repeated, not avoided.
    await send_dated_study(api, "sun.qingshan", qs_pid, _days_ago(1))
    assert _moved(start, await _this_month(api)) == {"h-anping": (2, 0)}

    # Coordinators only, and only the hospitals they oversee.
    assert (await api.call("zhao.anping", "GET", "/api/film-savings")).status_code == 403
    one = await api.ok("liu.coord", "GET", "/api/film-savings", params={"hospital_id": "h-anping", "months": 3})
    assert [h["hospital_id"] for h in one["items"]] == ["h-anping"] and len(one["items"][0]["months"]) == 3
    missing = await api.call("liu.coord", "GET", "/api/film-savings", params={"hospital_id": "h-nowhere"})
    assert missing.status_code == 404
