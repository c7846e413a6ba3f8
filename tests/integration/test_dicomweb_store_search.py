"""STOW-RS and QIDO-RS against the real archive: stored once, found by the right people only."""

from __future__ import annotations

import uuid

import pytest
from pydicom.dataset import Dataset

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, dx_image, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body

pytestmark = pytest.mark.integration

STORED, FAILED, RETRIEVE_URL = "00081199", "00081198", "00081190"


async def stow(
    api: Api, user: str, instances: list[Dataset | bytes], path: str = "/dicomweb/studies"
) -> tuple[int, dict]:
    r = await api.call(user, "POST", path, content=stow_body(instances), headers={"Content-Type": CONTENT_TYPE})
    return r.status_code, r.json()


async def test_a_county_series_is_stored_once_and_found_by_patient_id(any_api: Api) -> None:
    api, patient_id = any_api, f"STOW-1-{uuid.uuid4().hex[:6]}"  # once per storage (local disk, S3)
    series = ct_series(n_slices=4, rows=64, cols=64, patient_id=patient_id, accession_number="ACC-STOW-1")
    status, body = await stow(api, "zhao.anping", list(series))
    assert status == 200, body
    assert len(body[STORED]["Value"]) == 4
    study_uid = series[0].StudyInstanceUID
    assert body[RETRIEVE_URL]["Value"][0].endswith(f"/dicomweb/studies/{study_uid}")

    again_status, again = await stow(api, "zhao.anping", list(series))  # a gateway retry: idempotent
    assert again_status == 200 and len(again[STORED]["Value"]) == 4

    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": patient_id})
    assert r.status_code == 200, r.text
    [study] = r.json()
    assert study["0020000D"]["Value"] == [study_uid]
    assert study["00201208"]["Value"] == [4] and study["00201206"]["Value"] == [1]
    assert study["00080061"]["Value"] == ["CT"]
    assert study["00100010"]["Value"][0]["Ideographic"] == "张^三"


async def test_same_uid_different_content_is_a_conflict_and_nothing_changes(any_api: Api) -> None:
    api, patient_id = any_api, f"STOW-2-{uuid.uuid4().hex[:6]}"
    [image] = dx_image(patient_id=patient_id)
    assert (await stow(api, "zhao.anping", [image]))[0] == 200
    image.PatientName = "Someone^Else"
    status, body = await stow(api, "zhao.anping", [image])
    assert status == 409
    [failed] = body[FAILED]["Value"]
    assert failed["00081197"]["Value"] == [0xA9F1]
    assert "different content" in failed["00000902"]["Value"][0]
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": patient_id})
    assert r.json()[0]["00100010"]["Value"][0]["Alphabetic"] != "Someone^Else"


async def test_partial_store_is_202_with_a_reason_per_instance(api: Api) -> None:
    good = ct_series(n_slices=2, rows=32, cols=32, patient_id="STOW-3")
    truncated = to_bytes(ct_series(n_slices=1, rows=32, cols=32)[0])[:-300]
    status, body = await stow(api, "zhao.anping", [*good, truncated, b"this is not DICOM"])
    assert status == 202, body
    assert len(body[STORED]["Value"]) == 2
    reasons = [item["00081197"]["Value"][0] for item in body[FAILED]["Value"]]
    assert reasons == [0xC000, 0xC000]


async def test_wrong_content_type_is_415_and_a_broken_body_is_400(api: Api) -> None:
    r = await api.call(
        "zhao.anping", "POST", "/dicomweb/studies", content=b"x", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    body = stow_body(ct_series(n_slices=1, rows=32, cols=32, patient_id="STOW-4"))[:-40]
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=body, headers={"Content-Type": CONTENT_TYPE})
    assert r.status_code == 400, r.text
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": "STOW-4"})
    assert r.status_code == 204  # the truncated part was never stored


async def test_post_to_a_study_refuses_instances_of_another_study(api: Api) -> None:
    series = ct_series(n_slices=1, rows=32, cols=32, patient_id="STOW-5")
    status, body = await stow(api, "zhao.anping", list(series), path="/dicomweb/studies/1.2.3.999")
    assert status == 409
    assert body[FAILED]["Value"][0]["00081197"]["Value"] == [0xA901]


async def test_another_county_and_unlicensed_readers_see_nothing(api: Api) -> None:
    series = ct_series(n_slices=1, rows=32, cols=32, patient_id="STOW-6")
    assert (await stow(api, "zhao.anping", list(series)))[0] == 200
    uid = series[0].StudyInstanceUID
    for user in ("sun.qingshan", "wang.expert"):
        r = await api.call(user, "GET", "/dicomweb/studies", params={"StudyInstanceUID": uid})
        assert r.status_code == 204, (user, r.text)
    r = await api.call("admin", "GET", "/dicomweb/studies", params={"StudyInstanceUID": uid})
    assert r.status_code == 200


async def test_qido_matching_wildcards_dates_uid_lists_and_paging(api: Api) -> None:
    uids = []
    for day in ("20250101", "20250615", "20251231"):
        [image] = dx_image(patient_id="QIDO-7")
        image.StudyDate = day
        assert (await stow(api, "zhao.anping", [image]))[0] == 200
        uids.append(image.StudyInstanceUID)

    async def found(**params: str) -> list[str]:
        r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": "QIDO-7", **params})
        assert r.status_code in (200, 204), r.text
        return [s["0020000D"]["Value"][0] for s in r.json()] if r.status_code == 200 else []

    assert await found(StudyDate="20250601-20251231") == [uids[2], uids[1]]
    assert await found(StudyDate="-20250101") == [uids[0]]
    assert sorted(await found(StudyInstanceUID="\\".join(uids[:2]))) == sorted(uids[:2])
    assert sorted(await found(StudyInstanceUID=",".join(uids[1:]))) == sorted(uids[1:])
    assert len(await found(PatientName="*张*")) == 3
    assert len(await found(PatientName="zhang^san")) == 3  # PN matching ignores case
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": "QIDO-7", "limit": "2"})
    assert len(r.json()) == 2 and "1 additional results" in r.headers["warning"]
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": "QIDO-7", "offset": "2"})
    assert [s["0020000D"]["Value"][0] for s in r.json()] == [uids[0]]
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"StudyDate": "2025"})
    assert r.status_code == 400 and r.json()["error"] == "malformed_request"


async def test_series_and_instance_levels(api: Api) -> None:
    series = ct_series(n_slices=3, rows=32, cols=32, patient_id="QIDO-8")
    assert (await stow(api, "zhao.anping", list(series)))[0] == 200
    study, se = series[0].StudyInstanceUID, series[0].SeriesInstanceUID
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{study}/series", params={"includefield": "0008103E"})
    [row] = r.json()
    assert row["00201209"]["Value"] == [3] and row["00080060"]["Value"] == ["CT"]
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{study}/series/{se}/instances")
    assert [i["00200013"]["Value"][0] for i in r.json()] == [1, 2, 3]
    r = await api.call(
        "zhao.anping", "GET", "/dicomweb/instances", params={"PatientID": "QIDO-8", "InstanceNumber": "2"}
    )
    [one] = r.json()
    assert one["00100020"]["Value"] == ["QIDO-8"] and one["00280010"]["Value"] == [32]
    r = await api.call("zhao.anping", "GET", "/dicomweb/series", params={"Modality": "CT", "PatientID": "QIDO-8"})
    assert r.json()[0]["0020000E"]["Value"] == [se]
