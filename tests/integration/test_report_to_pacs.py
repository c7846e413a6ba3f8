"""The signed report goes back to the county (issue 10): the real API and worker sign a case, a `yilian gateway run`
process fetches the report's PDF and SR and C-STOREs them into DCMTK's storescp as the county PACS (also across a
kill -9 in the middle of a C-STORE); findscu and movescu, as a county workstation, query and pull through the gateway.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_gateway import Gateway, GatewayMaker, free_port
from tests.support.api import REPORT, Api
from tests.support.dicom_gen import CHINESE_NAME
from tests.support.matrix import walk
from tests.support.wait import wait_until
from yilian.db.queries import pacs_delivery as queries
from yilian.db.schema import api_keys, pacs_deliveries
from yilian.dicom.report_instances import BASIC_TEXT_SR_STORAGE, ENCAPSULATED_PDF_STORAGE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("storescp") is None, reason="DCMTK (storescp, findscu, movescu) is not installed"),
]
PACS_AE, WORKSTATION_AE = "COUNTY_PACS", "WS1"
ADDENDUM = {"findings": "补充：纵隔淋巴结不大。 Addendum: no mediastinal nodes.", "impression": "同前。 As before."}


@dataclass
class Storescp:
    """DCMTK's Storage SCP as the county PACS: a real process writing each instance it receives under `folder`."""

    port: int
    folder: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: list[int] = field(default_factory=list)

    def start(self, *, sleep_during: int = 0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.starts.append(offset)
        args = ["storescp", "-v", "-aet", PACS_AE, "-od", str(self.folder), "--sleep-during", str(sleep_during)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*args, str(self.port)], stdout=log, stderr=log)
        _wait_for_port(self.port, "storescp to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_since_start(self) -> str:
        return self.log.read_text(errors="replace")[self.starts[-1] :]

    def received(self) -> dict[str, Dataset]:
        """What the PACS holds, by SOP Instance UID (a file storescp is still writing is skipped)."""
        found: dict[str, Dataset] = {}
        for path in self.folder.iterdir():
            try:
                ds = dcmread(path)
            except Exception:  # noqa: BLE001 - half-written: not received yet
                continue
            found[str(ds.SOPInstanceUID)] = ds
        return found


def _wait_for_port(port: int, what: str) -> None:
    import socket

    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} on port {port}")
        time.sleep(0.05)


@pytest.fixture
def pacs(tmp_path: Path) -> Iterator[Storescp]:
    server = Storescp(free_port(), tmp_path / "pacs", tmp_path / "storescp.log")
    yield server
    server.stop()


@pytest.fixture
def county_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    maker = GatewayMaker(tmp_path)

    def make(cloud_url: str, api_key: str, pacs_port: int, workstation_port: int) -> Gateway:
        return maker.make(
            cloud_url, api_key,
            ALLOWED_CALLING_AES=f"CT1, {WORKSTATION_AE}",
            PACS_AE_TITLE=PACS_AE,
            PACS_HOST="127.0.0.1",
            PACS_PORT=str(pacs_port),
            REPORT_POLL_SECONDS="0.5",
            MOVE_DESTINATIONS=f"{WORKSTATION_AE}=127.0.0.1:{workstation_port}",
            BACKOFF_MIN_SECONDS="0.2",
            BACKOFF_MAX_SECONDS="1",
        )  # fmt: skip

    yield make
    maker.close()


async def _deliveries(engine: AsyncEngine, referral_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(pacs_deliveries).where(pacs_deliveries.c.referral_id == referral_id).order_by(pacs_deliveries.c.id)
        )
        return [dict(r) for r in rows.mappings()]


async def _asked(engine: AsyncEngine, key_id: str) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(select(api_keys.c.reports_asked_at).where(api_keys.c.id == key_id)) is not None


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TCP_NODELAY": "1"}
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, **kw)


async def test_the_signed_report_reaches_the_county_pacs_as_pdf_and_sr_and_survives_a_kill_9(
    api: Api,
    live_url: str,
    engine: AsyncEngine,
    pacs: Storescp,
    county_gateway: Callable[..., Gateway],
    tmp_path: Path,
) -> None:
    body = {"label": "PACS gateway", "scope": "store_retrieve"}
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json=body)
    workstation_port = free_port()
    pacs.start()
    gateway = county_gateway(live_url, key["api_key"], pacs.port, workstation_port)
    await asyncio.to_thread(gateway.start)
    try:
        await wait_until(lambda: _asked(engine, key["id"]), "the gateway to ask the cloud for reports")
        rid = await walk(api, engine, "returned")
        referral = await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}")
        study = referral["study_instance_uid"]

        # The final report arrives as an Encapsulated PDF and a Basic Text SR, in the study, in new series.
        v1 = await wait_until(
            lambda: asyncio.to_thread(pacs.received), "the PDF and SR of the final report in the PACS",
            ok=lambda got: len(got) == 2, within=90,
        )  # fmt: skip
        by_class = {str(ds.SOPClassUID): ds for ds in v1.values()}
        pdf, sr = by_class[ENCAPSULATED_PDF_STORAGE], by_class[BASIC_TEXT_SR_STORAGE]
        assert pdf.StudyInstanceUID == sr.StudyInstanceUID == study
        assert len({pdf.SeriesInstanceUID, sr.SeriesInstanceUID}) == 2
        assert pdf.EncapsulatedDocument[:5] == b"%PDF-" and pdf.MIMETypeOfEncapsulatedDocument == "application/pdf"
        assert str(pdf.PatientName) == str(sr.PatientName) == CHINESE_NAME, pdf.PatientName
        texts = {item.ConceptNameCodeSequence[0].CodeValue: item for item in sr.ContentSequence}
        assert texts["121071"].TextValue == REPORT["findings"] and texts["121073"].TextValue == REPORT["impression"]
        assert sr.VerificationFlag == "VERIFIED" and str(sr.VerifyingObserverSequence[0].VerifyingObserverName)
        for path in pacs.folder.iterdir():
            dumped = _run(["dcmdump", str(path)])
            assert dumped.returncode == 0 and "E:" not in dumped.stderr, dumped.stderr
        sr_file = next(p for p in pacs.folder.iterdir() if str(dcmread(p).SOPInstanceUID) == sr.SOPInstanceUID)
        structured = _run(["dsrdump", str(sr_file)])
        assert structured.returncode == 0, structured.stderr
        assert "Basic Text SR" in structured.stdout and "右肺上叶" in structured.stdout, structured.stdout

        rows = await wait_until(
            lambda: _deliveries(engine, rid), "both deliveries recorded as delivered in the cloud",
            ok=lambda rs: len(rs) == 2 and all(r["state"] == "delivered" for r in rs),
        )  # fmt: skip
        assert {r["dicom_status"] for r in rows} == {0}
        async with engine.connect() as conn:
            trail = [e["state"] for e in await queries.events(conn, rows[0]["id"])]
        assert trail == ["pending", "queued", "delivered"], trail

        # An addendum while the PACS hangs in the middle of a C-STORE: kill -9 the gateway there, restart both.
        pacs.stop()
        pacs.start(sleep_during=60)
        await api.ok("wang.expert", "POST", f"/api/referrals/{rid}/addenda", json=ADDENDUM)
        await wait_until(
            lambda: asyncio.to_thread(pacs.log_since_start), "the gateway's C-STORE of the addendum to begin",
            ok=lambda text: "Received Store Request" in text, within=90,
        )  # fmt: skip
        await asyncio.to_thread(gateway.kill, signal.SIGKILL)
        status = await asyncio.to_thread(gateway.status)
        assert status["reports"]["queued"] == 2, status  # durable: both instances of v2 wait in the gateway's queue
        pacs.stop()
        pacs.start()
        await asyncio.to_thread(gateway.start)
        held = await wait_until(
            lambda: asyncio.to_thread(pacs.received), "the addendum's PDF and SR in the PACS after the restart",
            ok=lambda got: len(got) == 4, within=60,
        )  # fmt: skip
        [v2_sr] = [ds for uid, ds in held.items() if uid not in v1 and ds.SOPClassUID == BASIC_TEXT_SR_STORAGE]
        predecessor = v2_sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
        assert predecessor.ReferencedSOPInstanceUID == sr.SOPInstanceUID
        # Instance numbers are the report's versions (the preliminary report took one, never sent).
        assert int(v2_sr.InstanceNumber) > int(sr.InstanceNumber) and v2_sr.SeriesInstanceUID == sr.SeriesInstanceUID
        rows = await wait_until(
            lambda: _deliveries(engine, rid), "all four deliveries delivered",
            ok=lambda rs: len(rs) == 4 and all(r["state"] == "delivered" for r in rs),
        )  # fmt: skip
        status = await asyncio.to_thread(gateway.status)
        assert (status["reports"]["queued"], status["reports"]["delivered"], status["reports"]["failed"]) == (0, 4, 0)

        # A county workstation finds the study through the gateway and pulls it back with its reports.
        found = await asyncio.to_thread(
            _run,
            ["findscu", "-v", "-S", "-aet", WORKSTATION_AE, "-aec", "YILIAN_GW", "127.0.0.1", str(gateway.port),
             "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}", "-k", "PatientName",
             "-k", "NumberOfStudyRelatedInstances"],
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert study in found.stderr + found.stdout
        workstation = tmp_path / "workstation"
        workstation.mkdir()
        moved = await asyncio.to_thread(
            _run,
            ["movescu", "-v", "-S", "-aet", WORKSTATION_AE, "-aem", WORKSTATION_AE, "-aec", "YILIAN_GW",
             "--port", str(workstation_port), "-od", str(workstation), "127.0.0.1", str(gateway.port),
             "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"],
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr
        pulled = {str(dcmread(p).SOPClassUID) for p in workstation.iterdir()}
        assert {ENCAPSULATED_PDF_STORAGE, BASIC_TEXT_SR_STORAGE} <= pulled and len(list(workstation.iterdir())) == 5
    finally:
        await asyncio.to_thread(gateway.kill)
        # Revoked, so later tests' signings at h-anping do not render reports for a gateway that is gone.
        revoked = await api.call("admin", "DELETE", f"/api/hospitals/h-anping/api-keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text
