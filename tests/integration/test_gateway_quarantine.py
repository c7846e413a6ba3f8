"""Issue 16 (f): what a gateway quarantines is visible in the web app. A real `yilian gateway run` sets a poison
instance aside, reports it (reason, SOP Instance UID, since when; never pixel data) with its API key, and the hospital's
managers see it through the API while another hospital's coordinator gets nothing; the report survives a kill -9
and sending it again changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_gateway import Gateway, gateway_for  # noqa: F401 - fixtures
from tests.support.api import Api
from tests.support.wait import wait_until
from yilian.db.demo import DEMO_PASSWORD

pytestmark = pytest.mark.integration
ANPING = "/api/hospitals/h-anping/gateway-quarantine"


async def test_a_quarantined_instance_reaches_the_hospitals_managers_and_no_one_else(
    api: Api,
    live_url: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.support.dicom_gen import dx_image, write

    [bad] = dx_image(rows=16, cols=16, patient_id="GW-QUARANTINE", accession_number="Q" * 100)
    uid = str(bad.SOPInstanceUID)
    label = f"quarantine gateway {uuid.uuid4().hex[:6]}"
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": label})
    gateway = gateway_for(live_url, api_key=key["api_key"])
    gateway.env["YILIAN_GATEWAY_REPORT_SECONDS"] = "0.3"
    await asyncio.to_thread(gateway.start)

    async def listed() -> list[dict[str, Any]]:
        view = await api.ok("admin", "GET", ANPING)
        return [i for i in view["items"] if i["gateway"] == label]

    try:
        sent = await asyncio.to_thread(gateway.storescu, [write(bad, tmp_path / "bad.dcm")])
        assert sent.returncode == 0, sent.stderr
        [item] = await wait_until(listed, "the poison instance in the hospital's quarantine list", ok=lambda x: x != [])
        assert item["sop_instance_uid"] == uid and item["code"] == "C000", item
        assert "AccessionNumber" in item["reason"] and item["study_instance_uid"] == str(bad.StudyInstanceUID)
        view = await api.ok("admin", "GET", ANPING)
        assert view["count"] >= 1 and view["reported_at"] is not None

        # Killed and started again, the gateway does not report what the cloud already has.
        await asyncio.to_thread(gateway.kill)
        await asyncio.to_thread(gateway.start)
        await asyncio.sleep(2)  # several report intervals
        assert await listed() == [item]
    finally:
        await asyncio.to_thread(gateway.kill)

    # Sending the same report again changes nothing; an empty one clears this gateway's list (only its own).
    gw = {"Authorization": f"Bearer {key['api_key']}"}
    fields = ("sop_instance_uid", "study_instance_uid", "code", "reason", "first_seen_at")
    again = {"count": 1, "instances": [{k: item[k] for k in fields}]}
    for _ in range(2):
        r = await api.client.put("/api/gateway-quarantine", json=again, headers=gw)
        assert r.status_code == 200, r.text
    [same] = await listed()
    assert {k: same[k] for k in fields} == {k: item[k] for k in fields}

    # Another hospital's coordinator sees nothing of Anping's; a person's token cannot report.
    other = f"qs.coord.{uuid.uuid4().hex[:6]}"
    await api.ok("admin", "POST", "/api/admin/users", 201, json={
        "username": other, "display_name": "青山协调员 Qingshan Coordinator", "role": "coordinator",
        "hospital_id": "h-qingshan", "password": DEMO_PASSWORD})  # fmt: skip
    assert (await api.call(other, "GET", ANPING)).status_code == 403
    own = await api.ok(other, "GET", "/api/hospitals/h-qingshan/gateway-quarantine")
    assert uid not in {i["sop_instance_uid"] for i in own["items"]}
    assert (await api.call("zhao.anping", "PUT", "/api/gateway-quarantine", json=again)).status_code == 403

    r = await api.client.put("/api/gateway-quarantine", json={"count": 0, "instances": []}, headers=gw)
    assert r.status_code == 200 and await listed() == []
