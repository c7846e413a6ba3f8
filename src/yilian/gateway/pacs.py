"""Signed reports into the hospital's PACS: fetch them from the cloud, queue them durably, C-STORE them (PS3.4 B.2),
and tell the cloud how each went; retried across network cuts, a PACS that is down, and gateway restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydicom import dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_context
from pynetdicom.sop_class import BasicTextSRStorage, EncapsulatedPDFStorage  # type: ignore[attr-defined]

from yilian.gateway.report_queue import QueuedReport, ReportQueue, ReportState
from yilian.gateway.settings import GatewaySettings, PacsDestination
from yilian.gateway.uploader import backoff_delay

log = logging.getLogger(__name__)

# PS3.4 B.2.3: Warning statuses mean the PACS stored the instance (perhaps coerced): delivered.
_WARNINGS = frozenset({0xB000, 0xB006, 0xB007})
_SUCCESS = 0x0000


@dataclass(frozen=True)
class StoreOutcome:
    delivery_id: int
    state: ReportState | None  # None: not settled, try again later
    dicom_status: int | None
    detail: str


def pacs_status_words(status: int) -> str:
    """A C-STORE status (PS3.4 B.2.3, PS3.7 C) in plain words, with its hex code."""
    if status == _SUCCESS:
        words = "stored"
    elif status in _WARNINGS:
        words = "stored with a warning (coerced or elements discarded)"
    elif 0xA700 <= status <= 0xA7FF:
        words = "the PACS is out of resources"
    elif 0xA900 <= status <= 0xA9FF:
        words = "the PACS says the data set does not match its SOP class"
    elif 0xC000 <= status <= 0xCFFF:
        words = "the PACS cannot understand the instance"
    elif status == 0x0122:
        words = "the PACS does not support this SOP class"
    elif status == 0x0124:
        words = "the PACS does not allow the gateway to store"
    else:
        words = "refused"
    return f"{words} ({status:04X})"


def store_reports(
    ae_title: str, pacs: PacsDestination, items: list[QueuedReport], timeout: float
) -> list[StoreOutcome]:
    """One association with the PACS, one C-STORE per report instance; blocking (run it in a thread).

    Out of resources (A7xx), a lost association or no answer leave the instance queued; other failures are final.
    """
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    syntaxes: list[str | UID] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    contexts = [build_context(EncapsulatedPDFStorage, syntaxes), build_context(BasicTextSRStorage, syntaxes)]
    where = f"the PACS {pacs.ae_title} at {pacs.host}:{pacs.port}"
    assoc = ae.associate(pacs.host, pacs.port, contexts=contexts, ae_title=pacs.ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "cannot be reached"
        return [StoreOutcome(item.delivery_id, None, None, f"{where} {why}") for item in items]
    outcomes: list[StoreOutcome] = []
    try:
        for item in items:
            if not assoc.is_established:
                outcomes.append(StoreOutcome(item.delivery_id, None, None, f"{where} dropped the association"))
                continue
            try:
                ds = dcmread(item.path)
            except FileNotFoundError:
                detail = f"the spooled report {item.path} is missing"
                outcomes.append(StoreOutcome(item.delivery_id, ReportState.FAILED, None, detail))
                continue
            answer = assoc.send_c_store(ds)
            outcomes.append(_outcome(item, answer, where))
    finally:
        if assoc.is_established:
            assoc.release()
    return outcomes


def _outcome(item: QueuedReport, answer: Any, where: str) -> StoreOutcome:
    status = getattr(answer, "Status", None)
    if status is None:
        return StoreOutcome(item.delivery_id, None, None, f"{where} did not answer the C-STORE")
    status = int(status)
    comment = str(getattr(answer, "ErrorComment", "") or "")
    words = pacs_status_words(status) + (f": {comment}" if comment else "")
    if status == _SUCCESS or status in _WARNINGS:
        return StoreOutcome(item.delivery_id, ReportState.DELIVERED, status, "" if status == _SUCCESS else words)
    if 0xA700 <= status <= 0xA7FF:
        return StoreOutcome(item.delivery_id, None, status, f"{where}: {words}")
    return StoreOutcome(item.delivery_id, ReportState.FAILED, status, f"{where}: {words}")


class CloudReports:
    """The cloud's /api/pacs-deliveries, with the hospital's API key."""

    def __init__(self, settings: GatewaySettings, client: httpx.AsyncClient) -> None:
        self._url = f"{settings.cloud_url}/api/pacs-deliveries"
        self._cloud = settings.cloud_url
        self._client = client
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._headers = {"Authorization": f"Bearer {key}"}

    async def open_deliveries(self) -> list[dict[str, Any]]:
        r = await self._client.get(self._url, headers=self._headers)
        self._check(r, "list the reports to deliver")
        return list(r.json()["items"])

    async def instance(self, delivery_id: int) -> bytes:
        r = await self._client.get(f"{self._url}/{delivery_id}/instance", headers=self._headers)
        self._check(r, f"fetch report instance {delivery_id}")
        return r.content

    async def tell(self, delivery_id: int, state: ReportState, dicom_status: int | None, detail: str) -> None:
        body = {"state": str(state), "dicom_status": dicom_status, "detail": detail[:1000]}
        r = await self._client.post(f"{self._url}/{delivery_id}/outcome", headers=self._headers, json=body)
        if r.status_code == 409:  # the cloud has a later word on it (delivered): nothing more to say
            log.warning("the cloud did not take %s for delivery %d: %s", state, delivery_id, r.text[:200])
            return
        self._check(r, f"report the outcome of delivery {delivery_id}")

    def _check(self, r: httpx.Response, what: str) -> None:
        if r.status_code >= 400:
            raise CloudError(f"the cloud at {self._cloud} refused to {what} (HTTP {r.status_code}): {r.text[:200]}")


class CloudError(RuntimeError):
    """The cloud could not be reached or refused: plain words for `yilian gateway status`."""


async def deliver_reports_forever(
    settings: GatewaySettings, reports: ReportQueue, client: httpx.AsyncClient, stop: asyncio.Event
) -> None:
    """Fetch new report instances, C-STORE what is queued, tell the cloud; back off while the cloud or the PACS is
    unreachable. A C-STORE may be repeated after a crash (at least once): the instance's UIDs never change, so the
    PACS stores it once."""
    pacs = settings.pacs
    assert pacs is not None
    cloud = CloudReports(settings, client)
    failures = 0
    while not stop.is_set():
        ok = await _fetch_new(cloud, reports) and await _tell(cloud, reports)
        due = reports.due()
        if due:
            outcomes = await asyncio.to_thread(
                store_reports, settings.ae_title, pacs, due, settings.request_timeout_seconds
            )
            for outcome in outcomes:
                if outcome.state is None:
                    reports.retry(outcome.delivery_id, outcome.detail, outcome.dicom_status)
                    ok = False
                else:
                    reports.settle(outcome.delivery_id, outcome.state, outcome.dicom_status, outcome.detail)
                log.info("report delivery %d: %s %s", outcome.delivery_id, outcome.state or "retry", outcome.detail)
            ok = await _tell(cloud, reports) and ok
        if ok:
            failures = 0
            await _pause(stop, settings.report_poll_seconds)
            continue
        failures += 1
        await _pause(stop, backoff_delay(failures, settings.backoff_min_seconds, settings.backoff_max_seconds))


async def _fetch_new(cloud: CloudReports, reports: ReportQueue) -> bool:
    try:
        listed = await cloud.open_deliveries()
        known = reports.known()
        for item in listed:
            if item["id"] in known:
                if reports.requeue_retried(item["id"]):
                    log.info("report delivery %d: sent again at the hospital's request", item["id"])
                continue
            data = await cloud.instance(item["id"])
            await asyncio.to_thread(
                reports.put, item["id"], data, sop_instance_uid=item["sop_instance_uid"],
                sop_class_uid=item["sop_class_uid"], study=item["study_instance_uid"],
            )  # fmt: skip
        return True
    except (CloudError, httpx.HTTPError) as exc:
        log.warning("cannot fetch reports from the cloud: %s", _words(exc))
        return False


async def _tell(cloud: CloudReports, reports: ReportQueue) -> bool:
    try:
        for item in reports.untold():
            await cloud.tell(item.delivery_id, item.state, item.dicom_status, item.detail)
            reports.told(item.delivery_id, item.state)
        return True
    except (CloudError, httpx.HTTPError) as exc:
        log.warning("cannot tell the cloud how reports went: %s", _words(exc))
        return False


def _words(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CloudError) else f"{type(exc).__name__}: {exc}"


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
