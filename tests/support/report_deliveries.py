"""Report deliveries in tests: what a test leaves open, the gateway of a later test would store."""

from __future__ import annotations

from tests.support.api import Api


async def settle_open(api: Api, gateway: dict[str, str], referral_id: str) -> None:
    """The case's open deliveries told delivered through the gateway's own API, before the test revokes its key:
    test_report_to_pacs counts what its PACS receives, and its gateway lists every open delivery of h-anping."""
    r = await api.client.get("/api/pacs-deliveries", headers=gateway)
    assert r.status_code == 200, r.text
    for d in r.json()["items"]:
        if d["referral_id"] == referral_id:
            body = {"state": "delivered", "dicom_status": 0, "detail": ""}
            done = await api.client.post(f"/api/pacs-deliveries/{d['id']}/outcome", headers=gateway, json=body)
            assert done.status_code == 200, done.text
