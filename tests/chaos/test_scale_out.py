"""Scale-out under faults (issue 15): two APIs behind nginx and two workers share PostgreSQL, Temporal, OpenSearch
and the blob store; referrals flow from a modality through the gateway to a signed report while the API, the
worker and the gateway are each killed with SIGKILL and PostgreSQL and Temporal are restarted. Every referral
completes, none is lost or duplicated, each audit trail runs 1..n without a gap or a double, every image comes
back byte for byte. `make chaos` runs it alone; `make test` runs it with the rest."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydicom import dcmread
from sqlalchemy import select

from tests.conftest import S3_TEST_BUCKET
from tests.support import dicom_gen
from tests.support.api import REPORT, Api, referral_body
from tests.support.cluster import Cluster, nginx_bin
from tests.support.search import fresh_alias
from tests.support.wait import wait_until
from yilian.db.engine import make_engine
from yilian.db.schema import audit_events, referrals
from yilian.dicom.multipart import iter_parts, multipart_boundary
from yilian.runtime.s3proxy import S3ProxyServer

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

CASES = 10
TRANSIENT = {500, 502, 503, 504}
DONE = "returned"
# What each referral's audit trail must hold exactly once, whatever else a fault added (an awaiting_images wait).
ONCE = ("submit", "offer", "accept", "submit_preliminary", "approve", "return")


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, opensearch_url: str, s3_server: S3ProxyServer
) -> Iterator[Cluster]:
    if nginx_bin() is None:
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run installs it)")
    if shutil.which("storescu") is None:
        pytest.skip("DCMTK storescu is not installed (.ci/run installs dcmtk)")
    root = tmp_path_factory.mktemp("chaos")
    # The archive in S3 (s3proxy), as a deployment with several API hosts has it: no process owns the blobs.
    storage = s3_server.environment(S3_TEST_BUCKET, f"chaos-{uuid.uuid4().hex[:6]}")
    made = Cluster(root, opensearch_url, fresh_alias("chaos"), storage)
    try:
        t0 = time.monotonic()
        made.start_services()
        t1 = time.monotonic()
        made.start_cloud()
        print(f"chaos cluster: services {t1 - t0:.0f} s, 2 APIs + nginx + 2 workers {time.monotonic() - t1:.0f} s")
        yield made
    finally:
        made.stop()


class Client(Api):
    """The people of the demo alliance through nginx, retrying what a fault interrupts, never doing a thing twice:
    a submission carries an Idempotency-Key; an action interrupted mid-way is looked up before it is retried."""

    async def call(self, user: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        for attempt in range(240):
            try:
                r = await super().call(user, method, path, **kw)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code not in TRANSIENT:
                return r
            if method != "GET" and "Idempotency-Key" not in kw.get("headers", {}):
                assert r is not None, f"{method} {path}: the connection broke"
                return r  # the caller decides whether it happened
            await asyncio.sleep(0.25 if attempt < 20 else 1.0)
        raise AssertionError(f"{method} {path} kept failing")

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            from yilian.db.demo import DEMO_PASSWORD

            r = await self.call(None, "GET", "/api/health")  # wait out a restart first
            for _ in range(120):
                r = await self.client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.5)
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    async def state(self, rid: str) -> dict[str, Any]:
        return await self.ok("zhao.anping", "GET", f"/api/referrals/{rid}")  # type: ignore[no-any-return]

    async def act(self, user: str, rid: str, path: str, body: dict[str, Any], done: set[str]) -> None:
        """POST an action; after an interrupted try, the case's state says whether it took effect."""
        for _ in range(120):
            try:
                r = await self.client.post(
                    f"/api/referrals/{rid}/{path}", json=body,
                    headers={"Authorization": f"Bearer {await self.token(user)}"},
                )  # fmt: skip
                if r.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if (await self.state(rid))["state"] in done:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{path} on {rid} never took effect")


async def _send_through_gateway(cluster: Cluster, files: list[Path]) -> None:
    """The modality (DCMTK storescu) sends until the gateway acknowledges every instance; a gateway killed mid-way
    means the modality sends again, as it would."""

    def send() -> subprocess.CompletedProcess[str]:
        args = ["storescu", "-aet", "CT1", "-aec", "YILIAN_GW", "127.0.0.1", str(cluster.gateway_port)]
        return subprocess.run([*args, *map(str, files)], capture_output=True, text=True, timeout=60)

    for _ in range(120):
        if (await asyncio.to_thread(send)).returncode == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the gateway never took {files[0].parent.name}")


async def _one_case(cluster: Cluster, api: Client, i: int, folder: Path, run: str) -> str:
    patient = {"patient_id": f"CHAOS-{run}-{i:03d}", "name": "压力 Chaos", "birth_date": "1970-01-01", "sex": "F"}
    series = dicom_gen.ct_series(n_slices=2, rows=32, cols=32, patient_id=patient["patient_id"])
    files = [dicom_gen.write(ds, folder / f"{i:03d}" / f"{n}.dcm") for n, ds in enumerate(series)]
    await _send_through_gateway(cluster, files)
    body = referral_body(patient=patient, study_instance_uid=series[0].StudyInstanceUID)
    created = await api.ok("zhao.anping", "POST", "/api/referrals", 201, json=body,
                           headers={"Idempotency-Key": f"chaos-{run}-{i}"})  # fmt: skip
    rid: str = created["id"]
    row = await wait_until(lambda: api.state(rid), f"{rid} offered", ok=lambda r: r["state"] == "offered", within=180)
    reader = row["offered_to"]
    await api.act(reader, rid, "accept", {}, {"in_reading", "preliminary", DONE})
    await api.act(reader, rid, "preliminary", REPORT, {"preliminary", DONE})
    await api.act("chen.senior", rid, "approve", {"discrepancy": "agree"}, {DONE})
    await wait_until(lambda: api.state(rid), f"{rid} returned", ok=lambda r: r["state"] == DONE, within=180)
    return rid


async def _faults(cluster: Cluster, log: list[str], started: asyncio.Event) -> None:
    await started.wait()
    assert cluster.gateway is not None
    steps: list[tuple[str, Callable[[], None]]] = [
        ("SIGKILL api-1", cluster.apis[0].kill), ("start api-1", cluster.apis[0].start),
        ("SIGKILL worker-1", cluster.workers[0].kill), ("start worker-1", cluster.workers[0].start),
        ("SIGKILL gateway", cluster.gateway.kill), ("start gateway", cluster.gateway.start),
        ("restart PostgreSQL", cluster.restart_postgres),
        ("restart Temporal", cluster.restart_temporal),
        ("SIGKILL api-2", cluster.apis[1].kill), ("SIGKILL worker-2", cluster.workers[1].kill),
        ("start api-2", cluster.apis[1].start), ("start worker-2", cluster.workers[1].start),
    ]  # fmt: skip
    for what, step in steps:
        await asyncio.sleep(1.0)
        t0 = time.monotonic()
        await asyncio.to_thread(step)
        log.append(f"{what} ({time.monotonic() - t0:.1f} s)")


async def _images_back(api: Client, folder: Path) -> int:
    n = 0
    for path in await asyncio.to_thread(lambda: sorted(folder.glob("*/*.dcm"))):
        original = await asyncio.to_thread(path.read_bytes)
        ds = dcmread(io.BytesIO(original), stop_before_pixels=True)
        url = (f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
               f"/instances/{ds.SOPInstanceUID}")  # fmt: skip
        r = await api.call("zhao.anping", "GET", url, headers={"Accept": 'multipart/related; type="application/dicom"'})
        assert r.status_code == 200, (path, r.text)

        async def body(content: bytes = r.content) -> AsyncIterator[bytes]:
            yield content

        [part] = [p async for p in iter_parts(body(), multipart_boundary(r.headers["content-type"]))]
        # DIMSE carries the data set, not the file: the gateway writes its own file meta, the rest is the same.
        back, sent = dcmread(io.BytesIO(part.body)), dcmread(io.BytesIO(original))
        assert back.SOPInstanceUID == sent.SOPInstanceUID and back.PatientID == sent.PatientID, path
        assert hashlib.sha256(back.PixelData).digest() == hashlib.sha256(sent.PixelData).digest(), path
        n += 1
    return n


def _requests_served(url: str) -> float:
    text = httpx.get(url, timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "yilian_http_request_duration_seconds_count"
    )


async def test_referrals_complete_exactly_once_while_processes_die(cluster: Cluster, tmp_path: Path) -> None:
    assert cluster.nginx is not None
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=cluster.nginx.url, timeout=30) as http:
        api = Client(http)
        key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "chaos gateway"})
        await asyncio.to_thread(cluster.start_gateway, key["api_key"])

        started, log = asyncio.Event(), []
        faults = asyncio.create_task(_faults(cluster, log, started))
        gate = asyncio.Semaphore(4)

        async def paced(i: int) -> str:
            await asyncio.sleep(i * 1.0)  # a steady stream, so every fault meets cases in every stage
            async with gate:
                if i == 2:
                    started.set()
                return await _one_case(cluster, api, i, tmp_path, run)

        t0 = time.monotonic()
        try:
            ids = await asyncio.wait_for(asyncio.gather(*(paced(i) for i in range(CASES))), timeout=600)
            await asyncio.wait_for(faults, timeout=300)
        except BaseException:
            faults.cancel()
            print(f"faults done: {log}\n{cluster.logs()}")
            raise
        elapsed = time.monotonic() - t0
        print(f"{CASES} referrals returned in {elapsed:.0f} s through: {'; '.join(log)}")
        assert len(log) == 12, log

        # None lost, none doubled: one referral per patient, all returned.
        engine = make_engine(cluster.database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(select(referrals.c.id, referrals.c.state).where(referrals.c.id.in_(ids)))
                ).all()
                ours = (
                    await conn.execute(
                        select(referrals.c.id).where(
                            referrals.c.clinical_question == referral_body()["clinical_question"]
                        )
                    )
                ).all()
                trail = (
                    await conn.execute(
                        select(audit_events.c.referral_id, audit_events.c.seq, audit_events.c.action)
                        .where(audit_events.c.referral_id.in_(ids))
                        .order_by(audit_events.c.referral_id, audit_events.c.seq)
                    )
                ).all()
        finally:
            await engine.dispose()
        assert len(set(ids)) == CASES and len(ours) == CASES
        assert {r.state for r in rows} == {DONE} and len(rows) == CASES
        for rid in ids:
            events = [(e.seq, e.action) for e in trail if e.referral_id == rid]
            assert [seq for seq, _ in events] == list(range(1, len(events) + 1)), (rid, events)  # no gap, no double
            actions = [a for _, a in events]
            assert all(actions.count(a) == 1 for a in ONCE), (rid, actions)

        # Every image back through nginx, byte for byte.
        assert await _images_back(api, tmp_path) == CASES * 2

        # Both APIs served (nginx spread the load), each restarted process counting since its start.
        served = [await asyncio.to_thread(_requests_served, cluster.metrics_url(p)) for p in cluster.apis]
        assert all(n > 0 for n in served), served
