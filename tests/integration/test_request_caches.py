"""What the API keeps between requests to make them cheaper never decides who sees what.

Each request still asks the database who may see a study or a case (a viewer's frame and rendered requests may use
its answer of the last 2 s, per caller: test_kept_visibility.py): the frame layouts it keeps are by content (blob
key), the statements it builds once per caller hold the access rule, not its answer, and a token whose signature was
checked is still matched against its user's row. So another hospital's caller is refused after the owner's requests
filled every cache, and a password change ends the old token at the next request.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.support.api import Api
from tests.support.dicom_gen import ct_series
from tests.support.stow import CONTENT_TYPE, stow_body

pytestmark = pytest.mark.integration

FRAMES = {"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'}
PASSWORD = "Cache-test-pw-1"


async def test_kept_layouts_statements_and_tokens_let_no_one_else_in_and_end_with_the_password(api: Api) -> None:
    # A county doctor of our own, so that changing the password ends no token another test holds.
    username = f"rc.{uuid.uuid4().hex[:8]}"
    made = await api.ok("admin", "POST", "/api/admin/users", 201, json={
        "username": username, "display_name": "缓存 Cache", "role": "county_doctor", "hospital_id": "h-anping",
        "password": PASSWORD,
    })  # fmt: skip
    login = await api.ok(None, "POST", "/api/auth/login", json={"username": username, "password": PASSWORD})
    doctor = {"Authorization": f"Bearer {login['access_token']}"}
    patient = {"patient_id": "RQCACHE-1", "name": "马超 Ma Chao", "birth_date": "1970-02-02", "sex": "M"}
    [image] = ct_series(n_slices=1, rows=32, cols=32, patient_id=patient["patient_id"])
    r = await api.client.post("/dicomweb/studies", content=stow_body([image]),
                              headers={**doctor, "Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    study, series, sop = (str(image.StudyInstanceUID), str(image.SeriesInstanceUID), str(image.SOPInstanceUID))
    case = await api.submit(study_instance_uid=study, patient=patient)
    frame = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/1"

    async def listed(headers: dict[str, str]) -> bool:
        r = await api.client.get("/api/referrals", params={"limit": 200}, headers=headers)
        assert r.status_code == 200, r.text
        return case["id"] in {item["id"] for item in r.json()["items"]}

    for _ in range(3):  # the owner's requests fill the layout, statement and token caches
        r = await api.client.get(frame, headers={**doctor, **FRAMES})
        assert r.status_code == 200 and image.PixelData in r.content  # this instance's pixels, by the kept layout
        assert await listed(doctor)
        assert (await api.client.get(f"/api/referrals/{case['id']}", headers=doctor)).status_code == 200
    # Another county, after every cache is warm: as for a study or case that does not exist.
    assert (await api.call("sun.qingshan", "GET", frame, headers=FRAMES)).status_code == 404
    assert (await api.call("sun.qingshan", "GET", frame.replace("frames/1", "bulk/7FE00010"))).status_code == 404
    assert not await listed({"Authorization": f"Bearer {await api.token('sun.qingshan')}"})
    assert (await api.call("sun.qingshan", "GET", f"/api/referrals/{case['id']}")).status_code == 404

    r = await api.call("admin", "POST", f"/api/admin/users/{made['id']}/password", json={"password": PASSWORD + "x"})
    assert r.status_code == 204, r.text
    # The JSON API refuses the old token at once, although its signature check is kept ...
    r = await api.client.get("/api/referrals", headers=doctor)
    assert r.status_code == 401 and "password has changed" in r.json()["message"]
    assert (await api.client.get(f"/api/referrals/{case['id']}", headers=doctor)).status_code == 401
    # ... and DICOMweb once its caller's row, kept for 2 s (PrincipalCache), is read again.
    deadline = time.monotonic() + 3
    while (status := (await api.client.get(frame, headers={**doctor, **FRAMES})).status_code) == 200:
        assert time.monotonic() < deadline, "DICOMweb still took the old token 3 s after the password change"
        await asyncio.sleep(0.2)
    assert status == 401
