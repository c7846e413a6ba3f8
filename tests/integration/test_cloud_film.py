"""Cloud film through the real API, worker, PostgreSQL and Chromium: a patient with studies at two alliance
hospitals sees both on the phone (and nobody else's), scrolls rendered images, downloads the report PDF and the
DICOM file, gives a clinician a QR for one study (scoped on DICOMweb too), revokes it, and reads the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import Film, patient_token, two_hospital_patient
from yilian.api import cloud_film_service
from yilian.config import Settings
from yilian.domain.errors import ErrorCode, YilianError

pytestmark = pytest.mark.integration
FILM = "/api/cloud-film"


@pytest.fixture(scope="module")
async def film(api: Api, engine: AsyncEngine) -> Film:
    return await two_hospital_patient(api, engine)


async def test_the_patient_sees_studies_from_two_hospitals_newest_first(api: Api, film: Film) -> None:
    page = (await api.client.get(f"{FILM}/studies", headers=film.auth)).json()
    assert [s["study_instance_uid"] for s in page["items"]] == [film.qingshan_study, film.anping_study]
    assert [s["hospital_id"] for s in page["items"]] == ["h-qingshan", "h-anping"]
    assert all(s["reports"] and s["reports"][0]["kind"] == "final" for s in page["items"])
    assert "not for diagnosis" in page["notice"] and "仅供参考" in page["notice"]
    # Someone else's study, at one of the same hospitals, is not there and cannot be opened.
    other = await api.client.get(f"{FILM}/studies/{film.stranger_study}", headers=film.auth)
    assert other.status_code == 404
    assert (await api.client.get(f"{FILM}/studies")).status_code == 401


async def test_the_phone_viewer_renders_presets_and_downloads(api: Api, film: Film) -> None:
    detail = (await api.client.get(f"{FILM}/studies/{film.anping_study}", headers=film.auth)).json()
    [series] = detail["series"]
    [image] = series["images"]
    assert "lung" in detail["presets"] and "bone" in detail["presets"]
    plain = await api.client.get(image["url"])
    lung = await api.client.get(image["url"] + "&preset=lung")
    assert plain.status_code == lung.status_code == 200 and plain.headers["content-type"] == "image/jpeg"
    assert plain.content[:2] == b"\xff\xd8" and plain.content != lung.content  # the window is applied
    dicom = await api.client.get(image["dicom_url"])
    assert dicom.status_code == 200 and dicom.content[128:132] == b"DICM"
    forged = image["url"].replace("signature=", "signature=x")
    assert (await api.client.get(forged)).status_code == 403
    # The signature is for this patient and study: another study's UID in the same address is refused.
    moved = image["url"].replace(film.anping_study, film.stranger_study)
    assert (await api.client.get(moved)).status_code == 403


async def test_the_report_downloads_as_a_pdf_with_embedded_chinese(api: Api, film: Film) -> None:
    r = await api.client.get(f"{FILM}/studies/{film.qingshan_study}/report.pdf", headers=film.auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert b"NotoSansCJK" in r.content or b"NotoSerifCJK" in r.content  # the CJK glyphs travel with the file
    assert (
        await api.client.get(f"{FILM}/studies/{film.stranger_study}/report.pdf", headers=film.auth)
    ).status_code == 404


async def test_a_qr_opens_exactly_its_study_until_revoked(api: Api, film: Film, settings: Settings) -> None:
    made = await api.client.post(f"{FILM}/grants", headers=film.auth,
                                 json={"study_instance_uid": film.anping_study, "hours": 2})  # fmt: skip
    assert made.status_code == 201, made.text
    grant = made.json()
    assert grant["state"] == "active" and grant["url"].startswith(f"{settings.public_base_url}/c/")
    token = grant["url"].rsplit("/", 1)[1]
    opened = await api.ok(None, "POST", f"/api/film-grants/{token}/open")
    assert [s["study_instance_uid"] for s in opened["studies"]] == [film.anping_study]
    assert opened["studies"][0]["reports"] and opened["viewer_url"].startswith("/viewer/viewer?StudyInstanceUIDs=")
    viewer = {"Authorization": f"Bearer {opened['viewer_token']}"}
    # DICOMweb with the QR's token: that study, and not the patient's other one.
    found = await api.client.get("/dicomweb/studies", headers=viewer)
    assert found.status_code == 200
    assert [s["0020000D"]["Value"][0] for s in found.json()] == [film.anping_study]
    assert (await api.client.get(f"/dicomweb/studies/{film.anping_study}/metadata", headers=viewer)).status_code == 200
    assert (
        await api.client.get(f"/dicomweb/studies/{film.qingshan_study}/metadata", headers=viewer)
    ).status_code == 404
    # It stores nothing, and opens no JSON API.
    assert (await api.client.get("/api/referrals", headers=viewer)).status_code == 401
    # The patient revokes it: the page and the viewer session stop at once.
    revoked = await api.client.post(f"{FILM}/grants/{grant['id']}/revoke", headers=film.auth)
    assert revoked.json()["state"] == "revoked" and revoked.json()["url"] is None
    again = await api.call(None, "POST", f"/api/film-grants/{token}/open")
    assert again.status_code == 410 and again.json()["error"] == "gone"
    assert (await api.client.get("/dicomweb/studies", headers=viewer)).status_code == 401
    log = (await api.client.get(f"{FILM}/accesses", headers=film.auth)).json()["items"]
    mine = [(a["viewer"], a["action"]) for a in log if a["grant_id"] == grant["id"]]
    assert mine == [("clinician", "refused_revoked"), ("clinician", "opened")]
    assert any(a["viewer"] == "patient" and a["study_instance_uid"] == film.anping_study for a in log)


async def test_a_qr_for_all_studies_expires(api: Api, engine: AsyncEngine, film: Film, settings: Settings) -> None:
    grant = (await api.client.post(f"{FILM}/grants", headers=film.auth, json={"hours": 1})).json()
    token = grant["url"].rsplit("/", 1)[1]
    opened = await api.ok(None, "POST", f"/api/film-grants/{token}/open")
    assert {s["study_instance_uid"] for s in opened["studies"]} == {film.anping_study, film.qingshan_study}
    with pytest.raises(YilianError) as late:
        later = datetime.now(UTC) + timedelta(hours=1, seconds=1)
        await cloud_film_service.open_grant(engine, settings.share_link_secret, token, "test", later)
    assert late.value.code is ErrorCode.GONE
    too_long = await api.client.post(f"{FILM}/grants", headers=film.auth, json={"hours": 721})
    assert too_long.status_code == 422
    assert (await api.call(None, "POST", "/api/film-grants/not.a-token/open")).status_code == 404


async def test_a_patient_cannot_touch_another_patients_grant(api: Api, engine: AsyncEngine, film: Film) -> None:
    grant = (await api.client.post(f"{FILM}/grants", headers=film.auth, json={"hours": 1})).json()
    other = {"Authorization": f"Bearer {await patient_token(api, engine)}"}
    assert (await api.client.post(f"{FILM}/grants/{grant['id']}/revoke", headers=other)).status_code == 404
    assert grant["id"] not in {g["id"] for g in (await api.client.get(f"{FILM}/grants", headers=other)).json()["items"]}
