"""Referrals and their images through the API: a case waits for its study, the reader then sees it and its priors."""

from __future__ import annotations

import pytest
from pydicom.uid import generate_uid
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api

pytestmark = pytest.mark.integration


async def test_submitted_before_the_images_waits_then_routes_when_they_arrive(api: Api) -> None:
    study = generate_uid()
    case = await api.submit(study_instance_uid=study, patient={"patient_id": "IMG-1", "name": "关羽 Guan Yu",
                            "birth_date": "1960-06-24", "sex": "M"})  # fmt: skip
    row = await api.wait_for("zhao.anping", case["id"], "awaiting_images")
    assert row["state"] == "awaiting_images"
    # Nobody can read it yet: the expert does not even see it in the archive.
    r = await api.call("wang.expert", "GET", "/dicomweb/studies", params={"StudyInstanceUID": study})
    assert r.status_code == 204
    await api.send_study("zhao.anping", "IMG-1", study_uid=study)
    offered = await api.wait_for("zhao.anping", case["id"], "offered")
    expert = offered["offered_to"]
    r = await api.call(expert, "GET", "/dicomweb/studies", params={"StudyInstanceUID": study})
    assert r.status_code == 200, r.text


async def test_the_reader_sees_the_patients_priors_but_no_other_patient(api: Api) -> None:
    patient = {"patient_id": "IMG-2", "name": "张飞 Zhang Fei", "birth_date": "1965-01-01", "sex": "M"}
    prior = await api.send_study("zhao.anping", "IMG-2")
    stranger = await api.send_study("zhao.anping", "IMG-2-OTHER")
    case = await api.submit(patient=patient)
    offered = await api.wait_for("zhao.anping", case["id"], "offered")
    r = await api.call(offered["offered_to"], "GET", "/dicomweb/studies", params={"PatientID": "IMG-2"})
    seen = {s["0020000D"]["Value"][0] for s in r.json()}
    assert seen == {prior, case["study_instance_uid"]}
    r = await api.call(offered["offered_to"], "GET", f"/dicomweb/studies/{stranger}/metadata")
    assert r.status_code == 404


async def test_the_referrals_woken_are_those_waiting_for_the_studies_stored(api: Api, engine: AsyncEngine) -> None:
    """awaiting_images (asked after each STOW-RS request) against the IN-list query it replaced: the waiting
    referrals of the studies named, not a routed one nor another study's, for 1 to 70 UIDs."""
    from sqlalchemy import select

    from yilian.db.engine import reading
    from yilian.db.queries.referral import awaiting_images
    from yilian.db.schema import referrals

    studies = [generate_uid() for _ in range(3)]
    waiting = []
    for i, study in enumerate(studies):
        case = await api.submit(study_instance_uid=study, patient={"patient_id": f"IMG-W{i}", "name": "孙权 Sun Quan",
                                "birth_date": "1962-05-05", "sex": "M"})  # fmt: skip
        waiting.append((await api.wait_for("zhao.anping", case["id"], "awaiting_images"))["id"])
    routed = await api.send_study("zhao.anping", "IMG-W9")
    await api.wait_for("zhao.anping", (await api.submit(study_instance_uid=routed, patient={"patient_id": "IMG-W9",
                       "name": "周瑜 Zhou Yu", "birth_date": "1975-01-01", "sex": "M"}))["id"], "offered")  # fmt: skip
    others = [generate_uid() for _ in range(70)]
    asked = [
        ({studies[0]}, waiting[:1]),
        ({studies[1], routed}, waiting[1:2]),
        (set(studies) | set(others[:60]), waiting),
        ({routed, *others}, []),
    ]
    async with reading(engine) as conn:
        for uids, expected in asked:
            found = await awaiting_images(conn, uids)
            old = select(referrals.c.id).where(
                referrals.c.state == "awaiting_images", referrals.c.study_instance_uid.in_(sorted(uids))
            )
            assert sorted(found) == sorted(expected) == sorted((await conn.scalars(old)).all())


async def test_a_waiting_case_can_be_cancelled(api: Api) -> None:
    case = await api.submit(study_instance_uid=generate_uid(), patient={"patient_id": "IMG-3", "name": "赵云 Zhao Yun",
                            "birth_date": "1970-02-02", "sex": "M"})  # fmt: skip
    await api.wait_for("zhao.anping", case["id"], "awaiting_images")
    await api.ok("zhao.anping", "POST", f"/api/referrals/{case['id']}/cancel", json={"comment": "wrong patient"})
    await api.wait_for("zhao.anping", case["id"], "cancelled")


async def test_a_county_doctor_uploads_a_zip_and_files_and_each_gets_its_outcome(api: Api) -> None:
    import io
    import zipfile

    from tests.support.dicom_gen import ct_series, to_bytes

    series = ct_series(n_slices=3, rows=32, cols=32, patient_id="UPLOAD-1")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for i, ds in enumerate(series[:2]):
            archive.writestr(f"CT/{i}.dcm", to_bytes(ds))
        archive.writestr("README.txt", "not an image")
    files = [
        ("files", ("study.zip", packed.getvalue(), "application/zip")),
        ("files", ("slice3.dcm", to_bytes(series[2]), "application/dicom")),
    ]
    body = await api.ok("zhao.anping", "POST", "/api/studies/upload", files=files)
    assert body["stored"] == 3 and body["failed"] == 1
    [study] = body["studies"]
    assert study["study_instance_uid"] == series[0].StudyInstanceUID
    [bad] = [f for f in body["files"] if f["outcome"] == "rejected"]
    assert bad["file"] == "study.zip/README.txt" and bad["failure_reason"] == "C000"
    r = await api.call("wang.expert", "POST", "/api/studies/upload", files=files)
    assert r.status_code == 403


async def test_the_patients_link_shows_key_images_with_short_lived_addresses(api: Api, engine: AsyncEngine) -> None:
    import io

    from PIL import Image

    from tests.support.matrix import walk

    patient = {"patient_id": "IMG-KEY", "name": "马良 Ma Liang", "birth_date": "1975-03-03", "sex": "M"}
    rid = await walk(api, engine, "returned", patient=patient)
    link = await api.ok("zhao.anping", "POST", f"/api/referrals/{rid}/share-links", 201, json={})
    view = await api.ok(None, "POST", f"/api/share/{link['token']}", json={"birth_date": patient["birth_date"]})
    [url] = view["key_images"]  # the one-image study: its only image
    r = await api.call(None, "GET", url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size == (16, 16)
    tampered = url.replace("signature=", "signature=x")
    assert (await api.call(None, "GET", tampered)).status_code == 403
    await api.ok("zhao.anping", "POST", f"/api/share-links/{link['link_id']}/revoke", json={})
    r = await api.call(None, "GET", url)
    assert r.status_code == 410 and r.json()["error"] == "share_link_revoked"
