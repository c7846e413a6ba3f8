"""The referral form's reading-hospital picker in Chromium: a doctor of a county hospital that reads CT in-house
(本院写片) sends a CT to the provincial hospital by choosing it on the form, and the case is offered there."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.webapp import shot, signed_in
from tests.support.api import Api
from tests.support.in_house import make_reads_itself, set_policy
from yilian.db.schema import reader_licences
from yilian.domain.in_house import InHousePolicy

pytestmark = pytest.mark.integration


async def test_a_doctor_picks_another_hospital_for_an_in_house_modality(
    api: Api, live_api: str, web_build: Path, browser: Browser, engine: AsyncEngine
) -> None:
    ih = await make_reads_itself(engine, level="county", agreement_mode="full_hosting")
    await set_policy(engine, InHousePolicy(ih.hospital, modalities=frozenset({"CT"})))
    async with engine.begin() as conn:  # the provincial chest reader may read for this county (多机构执业备案)
        await conn.execute(reader_licences.insert().values(user_id="wang.expert", hospital_id=ih.hospital))
    patient_id = f"PK-{uuid.uuid4().hex[:6]}"
    study = await api.send_study(ih.doctor.user_id, patient_id)
    started = datetime.now(UTC)

    doctor = await signed_in(browser, live_api, ih.doctor.user_id)
    await doctor.goto(f"{live_api}/cases/new")
    picker = doctor.get_by_label("Reading hospital")
    await expect(picker).to_have_value("")
    await expect(doctor.get_by_text("Enter the modality to see where this case can be read.")).to_be_visible()
    await doctor.get_by_label("Study Instance UID").fill(study)
    await doctor.get_by_label("Patient ID").fill(patient_id)
    await doctor.get_by_label("Patient name").fill("孙权 Sun Quan")
    await doctor.get_by_label("Birth date").fill("1970-02-03")
    await doctor.get_by_label("Sex").select_option("M")
    await doctor.get_by_label("Modality").fill("CT")
    await doctor.get_by_label("Body part").fill("CHEST")
    await doctor.get_by_label("Clinical question").fill("咳嗽两周，排除肺部占位 / cough for two weeks, rule out a mass")

    # CT is read in-house here: automatic keeps it, and the choices are this hospital and the provincial one
    automatic = "Automatic (read in-house, by your hospital's policy)"
    await expect(picker.locator("option").first).to_have_text(automatic)
    own = f"本院 {ih.hospital.removeprefix('h-ih-')}: in-house (本院)"
    provincial = "省人民医院 Provincial People's Hospital: full hosting"
    await expect(picker.locator("option")).to_have_text([automatic, own, provincial])
    await expect(doctor.get_by_text("Your hospital reads CT in-house.", exact=False)).to_be_visible()
    await picker.select_option(label=provincial)
    await expect(picker).to_have_value("h-provincial")
    await shot(doctor, "county-reading-hospital-picker")

    await doctor.get_by_role("button", name="Submit referral").click()
    await expect(doctor).to_have_url(re.compile(r"/cases/ref-[\w-]+$"), timeout=20_000)
    referral_id = doctor.url.rsplit("/", 1)[-1]
    case = await api.wait_for(ih.doctor.user_id, referral_id, "offered", timeout=30)
    assert (case["reading_hospital_id"], case["in_house"], case["agreement_id"]) == (
        "h-provincial",
        False,
        ih.agreement,
    )
    assert case["offered_to"] == "wang.expert" and case["study_instance_uid"] == study
    assert datetime.fromisoformat(case["submitted_at"]) >= started
    assert not doctor.errors  # type: ignore[attr-defined]
    await doctor.context.close()
