"""The demo's cloud film patient: two hospitals' records linked as one regional patient with a phone, once."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import texted_code
from yilian.config import Settings
from yilian.imaging.blob import blob_store
from yilian.runtime.demo_film import DEMO_FILM_PHONE, seed_demo_film

pytestmark = pytest.mark.integration


async def test_the_demo_patient_has_exams_at_two_hospitals(api: Api, engine: AsyncEngine, settings: Settings) -> None:
    blobs = blob_store(settings)
    rid = await seed_demo_film(engine, blobs, settings.patient_index_secret)
    assert rid is not None
    assert await seed_demo_film(engine, blobs, settings.patient_index_secret) is None  # once
    person = await api.ok("liu.coord", "GET", f"/api/patient-index/regional-patients/{rid}")
    assert {r["hospital_id"] for r in person["records"]} == {"h-anping", "h-qingshan"} and person["has_phone"]
    await api.ok(None, "POST", "/api/patient-sessions/codes", 202, json={"phone": DEMO_FILM_PHONE})
    code = await texted_code(api, DEMO_FILM_PHONE)
    session = await api.ok(None, "POST", "/api/patient-sessions", json={"phone": DEMO_FILM_PHONE, "code": code})
    assert session["regional_patient_id"] == rid
    auth = {"Authorization": f"Bearer {session['access_token']}"}
    studies = (await api.client.get("/api/cloud-film/studies", headers=auth)).json()["items"]
    assert "h-qingshan" in {s["hospital_id"] for s in studies}
