"""Results recognised across hospitals (检查结果互认) through the real API: without the patient's consent nothing of
one hospital's studies reaches another's doctors; with it (on the phone, or at a desk with an SMS code) the other
hospital's doctor sees them among the patient's priors and in the viewer (DICOMweb), each view in the patient's log;
withdrawing it closes them again."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import (
    Film,
    hospital_record,
    national_id,
    phone,
    send_dated_study,
    texted_code,
    two_hospital_patient,
)
from yilian.db.schema import dicom_studies, patients

pytestmark = pytest.mark.integration
FILM = "/api/cloud-film"


@pytest.fixture(scope="module")
async def film(api: Api, engine: AsyncEngine) -> Film:
    return await two_hospital_patient(api, engine)


async def _qingshan_record(engine: AsyncEngine, film: Film) -> str:
    """The patient's Qingshan record (the one the Qingshan study was stored under)."""
    async with engine.connect() as conn:
        pid = await conn.scalar(
            select(dicom_studies.c.patient_id).where(dicom_studies.c.study_instance_uid == film.qingshan_study)
        )
        return str(await conn.scalar(select(patients.c.id).where(patients.c.hospital_id == "h-qingshan",
                                                                patients.c.patient_id == pid)))  # fmt: skip


async def test_without_consent_nothing_crosses_and_with_it_the_other_hospital_sees(
    api: Api, engine: AsyncEngine, film: Film
) -> None:
    ref = await _qingshan_record(engine, film)
    elsewhere = f"/api/patient-index/records/{ref}/recognised-studies"
    anping_metadata = f"/dicomweb/studies/{film.anping_study}/metadata"
    # No consent: the Qingshan doctor sees no Anping study, in the list or in the viewer.
    assert (await api.ok("sun.qingshan", "GET", elsewhere))["items"] == []
    assert (await api.call("sun.qingshan", "GET", anping_metadata)).status_code == 404
    assert await api.ok("liu.coord", "GET", "/api/referrals")  # the coordinator's own paths are untouched
    consent = (await api.client.get(f"{FILM}/consent", headers=film.auth)).json()
    assert consent["granted"] is False

    granted = (await api.client.post(f"{FILM}/consent", headers=film.auth)).json()
    assert granted["granted"] is True and granted["granted_via"] == "phone"
    seen = (await api.ok("sun.qingshan", "GET", elsewhere))["items"]
    assert [s["study_instance_uid"] for s in seen] == [film.anping_study] and seen[0]["reports"]
    assert (await api.call("sun.qingshan", "GET", anping_metadata)).status_code == 200
    # Only hospitals that hold a record of the patient: Anping's own doctor sees Anping's as always, and a stranger's
    # study stays out of reach.
    stranger = await api.call("sun.qingshan", "GET", f"/dicomweb/studies/{film.stranger_study}/metadata")
    assert stranger.status_code == 404
    log = (await api.client.get(f"{FILM}/accesses", headers=film.auth)).json()["items"]
    assert any(a["viewer"] == "doctor" and a["study_instance_uid"] == film.anping_study and "孙丽" in a["viewer_label"]
               for a in log)  # fmt: skip

    withdrawn = (await api.client.post(f"{FILM}/consent/withdraw", headers=film.auth)).json()
    assert withdrawn["granted"] is False and withdrawn["revoked_at"] is not None
    assert (await api.ok("sun.qingshan", "GET", elsewhere))["items"] == []
    assert (await api.call("sun.qingshan", "GET", anping_metadata)).status_code == 404


async def test_consent_at_the_desk_takes_the_code_the_patient_reads_out(api: Api, engine: AsyncEngine) -> None:
    film = await two_hospital_patient(api, engine, sign_in=False)  # a phone that had no code this minute
    ref = await _qingshan_record(engine, film)
    # Another hospital's desk cannot ask for this patient's consent.
    assert (await api.call("zhao.anping", "POST", f"/api/patient-index/records/{ref}/consent-code")).status_code == 404
    await api.ok("sun.qingshan", "POST", f"/api/patient-index/records/{ref}/consent-code", 202)
    code = await texted_code(api, film.phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    bad = await api.call("sun.qingshan", "POST", f"/api/patient-index/records/{ref}/consent", json={"code": wrong})
    assert bad.status_code == 403
    done = await api.ok("sun.qingshan", "POST", f"/api/patient-index/records/{ref}/consent", json={"code": code})
    assert done["granted"] is True and done["granted_via"] == "desk"
    assert (await api.call("sun.qingshan", "GET", f"/dicomweb/studies/{film.anping_study}/metadata")).status_code == 200


async def test_the_reader_of_a_case_sees_the_patients_consented_studies_from_other_hospitals(
    api: Api, engine: AsyncEngine
) -> None:
    """The tertiary hospital's reader of an Anping case sees the patient's Qingshan study among the priors and in the
    viewer while the patient consents, and only then; an expert with no part in the case never does."""
    from tests.support.matrix import walk

    tag = uuid.uuid4().hex[:6].upper()
    person = {"name": f"甘宁 Gan Ning {tag}", "birth_date": "1968-08-08", "sex": "M"}
    nid, number = national_id(date(1968, 8, 8)), phone()
    qs_ref, qs_pid = await hospital_record(engine, "h-qingshan", person["name"], date(1968, 8, 8), "M")
    elsewhere = await send_dated_study(api, "sun.qingshan", qs_pid, "20260110")
    ap_pid = f"AP-RP-{tag}"
    case_study = await send_dated_study(api, "zhao.anping", ap_pid, "20260201")
    rid = await walk(api, engine, "in_reading", study_instance_uid=case_study, patient={**person, "patient_id": ap_pid},
                     difficult=True)  # fmt: skip
    ap_ref = (await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}"))["patient_ref"]
    await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201,
                 json={"patient_ref": ap_ref, "national_id": nid, "phone": number})  # fmt: skip
    linked = await api.ok("sun.qingshan", "POST", "/api/patient-index/enrolments", 201,
                          json={"patient_ref": qs_ref, "national_id": nid})  # fmt: skip
    assert linked["outcome"] == "linked"
    priors = f"/api/referrals/{rid}/recognised-priors"
    metadata = f"/dicomweb/studies/{elsewhere}/metadata"

    # No consent: the reader sees the case's own study, nothing of Qingshan's.
    assert (await api.call("wang.expert", "GET", f"/dicomweb/studies/{case_study}/metadata")).status_code == 200
    assert (await api.ok("wang.expert", "GET", priors))["items"] == []
    assert (await api.call("wang.expert", "GET", metadata)).status_code == 404

    await api.ok(None, "POST", "/api/patient-sessions/codes", 202, json={"phone": number})
    session = await api.ok(None, "POST", "/api/patient-sessions",
                           json={"phone": number, "code": await texted_code(api, number)})  # fmt: skip
    patient = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await api.client.post(f"{FILM}/consent", headers=patient)).status_code == 200

    seen = (await api.ok("wang.expert", "GET", priors))["items"]
    assert [(s["study_instance_uid"], s["hospital_id"]) for s in seen] == [(elsewhere, "h-qingshan")]
    assert (await api.call("wang.expert", "GET", metadata)).status_code == 200
    # An expert with no part in the case: neither the case nor the study.
    assert (await api.call("he.surgeon", "GET", priors)).status_code == 404
    assert (await api.call("he.surgeon", "GET", metadata)).status_code == 404
    log = (await api.client.get(f"{FILM}/accesses", headers=patient)).json()["items"]
    assert any(a["viewer"] == "doctor" and a["study_instance_uid"] == elsewhere and "王立" in a["viewer_label"]
               for a in log)  # fmt: skip

    assert (await api.client.post(f"{FILM}/consent/withdraw", headers=patient)).status_code == 200
    assert (await api.ok("wang.expert", "GET", priors))["items"] == []
    assert (await api.call("wang.expert", "GET", metadata)).status_code == 404
