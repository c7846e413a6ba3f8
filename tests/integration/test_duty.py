"""A reader who goes off duty is not offered new cases; back on duty, they are again."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.alliance import make_alliance
from tests.support.api import Api

pytestmark = pytest.mark.integration


async def test_off_duty_reader_is_skipped_by_routing(api: Api, engine: AsyncEngine) -> None:
    a = await make_alliance(engine, experts=2)
    first, second = sorted(a.experts)  # equal load and specificity: routing would pick `first` by id
    me = await api.ok(first, "PUT", "/api/me/duty", json={"on_duty": False})
    assert me["on_duty"] is False and me["licensed_for"] == [a.county]

    patient = {"patient_id": "DUTY-1", "name": "Duty", "birth_date": "1970-01-01", "sex": "F"}
    rid = (await api.submit(a.doctor, patient=patient))["id"]
    assert (await api.wait_for(a.coordinator, rid, "offered"))["offered_to"] == second

    await api.ok(first, "PUT", "/api/me/duty", json={"on_duty": True})
    rid2 = (await api.submit(a.doctor, patient=patient))["id"]
    # `second` now holds one case, so the lighter-loaded `first` gets the next.
    assert (await api.wait_for(a.coordinator, rid2, "offered"))["offered_to"] == first

    refused = await api.call(a.doctor, "PUT", "/api/me/duty", json={"on_duty": False})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
