"""Report deliveries as the county's people see them (issue 10 follow-up), through the real API and worker: who sees
which hospital's, a failed one sent again (who may, from which state, its audit event), the gateway's own API as the
outside boundary; and a real `yilian gateway run` whose PACS refused a report stores it once it is sent again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import BasicTextSRStorage, EncapsulatedPDFStorage  # type: ignore[attr-defined]
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_gateway import Gateway, free_port
from tests.integration.test_report_to_pacs import PACS_AE, _asked, county_gateway  # noqa: F401 - fixture
from tests.support.api import Api
from tests.support.cloud_film import patient_token
from tests.support.matrix import walk
from tests.support.report_deliveries import settle_open
from tests.support.wait import wait_until
from yilian.db.demo import DEMO_PASSWORD
from yilian.db.queries import pacs_delivery as queries

pytestmark = pytest.mark.integration
LIST = "/api/report-deliveries"
WHY = {"reason": "PACS 已修复 / the PACS was fixed"}
UNDERSTOOD_NOT = 0xC000  # the PACS cannot understand the instance: a refusal for good
MISMATCH = 0xA900  # the data set does not match its SOP class: a refusal for good


async def _coordinator(api: Api, hospital_id: str) -> str:
    name = f"{hospital_id.removeprefix('h-')}.coord.{uuid.uuid4().hex[:6]}"
    await api.ok("admin", "POST", "/api/admin/users", 201, json={
        "username": name, "display_name": f"协调员 Coordinator {name}", "role": "coordinator",
        "hospital_id": hospital_id, "password": DEMO_PASSWORD})  # fmt: skip
    return name


async def _of_case(api: Api, user: str, referral_id: str, **params: Any) -> list[dict[str, Any]]:
    """What `user` sees of the case's deliveries (the newest 200 of their view: the case's are among them)."""
    page = await api.ok(user, "GET", LIST, params={"limit": 200, **params})
    return [d for d in page["items"] if d["referral_id"] == referral_id]


async def _trail(engine: AsyncEngine, delivery_id: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return await queries.events(conn, delivery_id)


async def test_the_hospitals_people_see_its_deliveries_and_its_coordinator_sends_a_failed_one_again(
    api: Api, engine: AsyncEngine
) -> None:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "deliveries view"})
    gateway = {"Authorization": f"Bearer {key['api_key']}"}

    async def tell(delivery_id: int, state: str, status: int | None, detail: str = "") -> None:
        body = {"state": state, "dicom_status": status, "detail": detail}
        r = await api.client.post(f"/api/pacs-deliveries/{delivery_id}/outcome", headers=gateway, json=body)
        assert r.status_code == 200, r.text

    rid = ""
    try:
        # The gateway asks for reports (it has a PACS), so the cloud makes them for Anping's signed cases.
        assert (await api.client.get("/api/pacs-deliveries", headers=gateway)).status_code == 200
        rid = await walk(api, engine, "returned")
        case = await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}")
        made = await wait_until(
            lambda: _of_case(api, "admin", rid), "the report's PDF and SR listed for the hospital",
            ok=lambda ds: len(ds) == 2, within=90,
        )  # fmt: skip
        assert sorted(d["kind"] for d in made) == ["pdf", "sr"]
        assert made[0]["id"] > made[1]["id"], "newest first"
        for d in made:
            assert (d["patient_name"], d["hospital_id"], d["study_instance_uid"]) == (
                case["patient"]["name"], "h-anping", case["study_instance_uid"])  # fmt: skip
            assert (d["report_kind"], d["report_version"]) == ("final", case["report_version"])
            assert (d["state"], d["attempts"], d["dicom_status"], d["detail"]) == ("pending", 0, None, "")
        ids = sorted(d["id"] for d in made)

        # Who sees them: the sending hospital's doctor and coordinator, the alliance's coordinator at the reading
        # hospital, admins. Another county's people see none, even asking for Anping's.
        anping_coord, qingshan_coord = await _coordinator(api, "h-anping"), await _coordinator(api, "h-qingshan")
        for user in ("zhao.anping", anping_coord, "liu.coord", "admin"):
            assert sorted(d["id"] for d in await _of_case(api, user, rid)) == ids, user
            assert sorted(d["id"] for d in await _of_case(api, user, rid, hospital_id="h-anping")) == ids, user
        for user in ("sun.qingshan", qingshan_coord):
            assert await _of_case(api, user, rid) == [], user
            assert (await api.ok(user, "GET", LIST, params={"hospital_id": "h-anping"}))["items"] == [], user
        assert await _of_case(api, "liu.coord", rid, hospital_id="h-qingshan") == []
        # Readers and a gateway's key are refused with the error body; a patient's session is no staff sign-in.
        for r in (
            await api.call("wang.expert", "GET", LIST),
            await api.call("chen.senior", "GET", LIST),
            await api.client.get(LIST, headers=gateway),
            await api.client.post(f"{LIST}/{ids[0]}/retry", headers=gateway, json=WHY),
        ):
            assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
        patient = {"Authorization": f"Bearer {await patient_token(api, engine)}"}
        r = await api.client.get(LIST, headers=patient)
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text

        # One page at a time, newest first; a state filter.
        first = await api.ok("admin", "GET", LIST, params={"limit": 1, "hospital_id": "h-anping"})
        second = await api.ok("admin", "GET", LIST, params={"limit": 1, "offset": 1, "hospital_id": "h-anping"})
        assert first["next_offset"] == 1 and first["items"][0]["id"] > second["items"][0]["id"]
        assert await _of_case(api, "admin", rid, state="failed") == []

        # Sent again only once it failed: pending means on its way.
        pdf = next(d for d in made if d["kind"] == "pdf")
        retry = f"{LIST}/{pdf['id']}/retry"
        r = await api.call(anping_coord, "POST", retry, json=WHY)
        assert r.status_code == 409 and r.json()["error"] == "invalid_transition", r.text
        # The gateway fetched it and the PACS refused it for good, as the gateway tells through its own API.
        refusal = "the PACS COUNTY_PACS at 10.0.0.5:104: the PACS cannot understand the instance (C000)"
        await tell(pdf["id"], "queued", None)
        await tell(pdf["id"], "failed", UNDERSTOOD_NOT, refusal)
        [failed] = await _of_case(api, "zhao.anping", rid, state="failed")
        assert (failed["id"], failed["attempts"], failed["dicom_status"], failed["detail"]) == (
            pdf["id"], 1, UNDERSTOOD_NOT, refusal)  # fmt: skip

        # Not theirs to send again: a county doctor (by role), the alliance's coordinator (not Anping's), another
        # county's coordinator (cannot see it: 404 as for no such delivery); and never without a reason.
        before = await _trail(engine, pdf["id"])
        for user, status, error in (
            ("zhao.anping", 403, "forbidden"),
            ("liu.coord", 403, "forbidden"),
            (qingshan_coord, 404, "not_found"),
        ):
            r = await api.call(user, "POST", retry, json=WHY)
            assert (r.status_code, r.json()["error"]) == (status, error), f"{user}: {r.text}"
        ghost = await api.call(qingshan_coord, "POST", f"{LIST}/999999999/retry", json=WHY)
        assert ghost.json() == json.loads(r.text.replace(str(pdf["id"]), "999999999")), "as for no such delivery"
        r = await api.call(anping_coord, "POST", retry, json={"reason": ""})
        assert r.status_code == 422, r.text
        assert await _trail(engine, pdf["id"]) == before, "a refused retry must change nothing"

        # The hospital's coordinator sends it again: queued, the PACS's last answer kept, audited with who and why.
        again = await api.ok(anping_coord, "POST", retry, json=WHY)
        assert (again["state"], again["dicom_status"], again["attempts"]) == ("queued", UNDERSTOOD_NOT, 1)
        trail = await _trail(engine, pdf["id"])
        assert [e["state"] for e in trail] == ["pending", "queued", "failed", "queued"]
        me = await api.ok(anping_coord, "GET", "/api/me")
        assert (trail[-1]["actor_id"], trail[-1]["detail"]) == (me["id"], WHY["reason"])
        r = await api.call(anping_coord, "POST", retry, json=WHY)
        assert r.status_code == 409 and r.json()["error"] == "invalid_transition", r.text
        # The gateway finds it among its open deliveries again; its next answer is a second attempt.
        open_ids = {d["id"] for d in (await api.client.get("/api/pacs-deliveries", headers=gateway)).json()["items"]}
        assert pdf["id"] in open_ids
        await tell(pdf["id"], "delivered", 0)
        [delivered] = await _of_case(api, anping_coord, rid, state="delivered")
        assert (delivered["id"], delivered["attempts"], delivered["dicom_status"]) == (pdf["id"], 2, 0)

        # An admin may send any hospital's failed delivery again.
        sr = next(d for d in made if d["kind"] == "sr")
        await tell(sr["id"], "failed", MISMATCH, "refused")
        assert (await api.ok("admin", "POST", f"{LIST}/{sr['id']}/retry", json=WHY))["state"] == "queued"
    finally:
        if rid:
            await settle_open(api, gateway, rid)
        revoked = await api.call("admin", "DELETE", f"/api/hospitals/h-anping/api-keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text


class CountyPacs:
    """pynetdicom's Storage SCP as the county PACS: it refuses every report (A900) until it is fixed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.fixed = False
        self.refused: set[str] = set()
        self.stored: dict[str, Dataset] = {}
        ae = AE(ae_title=PACS_AE)
        for sop_class in (EncapsulatedPDFStorage, BasicTextSRStorage):
            ae.add_supported_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        self._server = ae.start_server(
            ("127.0.0.1", self.port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._store)]
        )

    def _store(self, event: Any) -> int:
        if not self.fixed:
            self.refused.add(str(event.request.AffectedSOPInstanceUID))
            return MISMATCH
        self.stored[str(event.request.AffectedSOPInstanceUID)] = event.dataset
        return 0x0000

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def county_pacs() -> Iterator[CountyPacs]:
    pacs = CountyPacs()
    yield pacs
    pacs.stop()


async def test_a_report_the_pacs_refused_reaches_it_once_sent_again(
    api: Api,
    live_url: str,
    engine: AsyncEngine,
    county_pacs: CountyPacs,
    county_gateway: Callable[..., Gateway],  # noqa: F811
) -> None:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "refused reports"})
    gateway = county_gateway(live_url, key["api_key"], county_pacs.port, free_port())
    await asyncio.to_thread(gateway.start)
    rid = ""
    try:
        await wait_until(lambda: _asked(engine, key["id"]), "the gateway to ask the cloud for reports")
        rid = await walk(api, engine, "returned")
        failed = await wait_until(
            lambda: _of_case(api, "admin", rid), "the PACS's refusal of the PDF and the SR told to the cloud",
            ok=lambda ds: len(ds) == 2 and all(d["state"] == "failed" for d in ds), within=120,
        )  # fmt: skip
        for d in failed:
            assert d["dicom_status"] == MISMATCH and "does not match its SOP class (A900)" in d["detail"], d
        # Fixed, the PACS gets nothing by itself: a refusal is final until a person sends the report again.
        county_pacs.fixed = True
        await asyncio.sleep(2)  # four of the gateway's polls
        uids = {d["sop_instance_uid"] for d in failed}
        assert county_pacs.stored == {} and uids <= county_pacs.refused
        for d in failed:
            await api.ok("admin", "POST", f"{LIST}/{d['id']}/retry", json=WHY)
        done = await wait_until(
            lambda: _of_case(api, "admin", rid), "both delivered after being sent again",
            ok=lambda ds: all(d["state"] == "delivered" for d in ds), within=60,
        )  # fmt: skip
        assert set(county_pacs.stored) == uids
        assert all((d["attempts"], d["dicom_status"]) == (2, 0) for d in done), done
        trail = [e["state"] for e in await _trail(engine, done[0]["id"])]
        assert trail == ["pending", "queued", "failed", "queued", "delivered"], trail
    finally:
        await asyncio.to_thread(gateway.kill)
        if rid:
            await settle_open(api, {"Authorization": f"Bearer {key['api_key']}"}, rid)
        revoked = await api.call("admin", "DELETE", f"/api/hospitals/h-anping/api-keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text
