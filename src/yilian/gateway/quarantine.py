"""Telling the cloud what the gateway has quarantined (issue 16): the instances the cloud refused for good, each
with its reason and since when, never their pixel data, over the same authenticated HTTPS as STOW-RS.

The report is the whole list every time, so a report sent twice changes nothing. It goes when the list differs from
the last one the cloud acknowledged (its digest is kept in the queue's database), so a restart, a lost answer or an
unreachable cloud only delays it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from yilian.gateway.queue import InstanceQueue, QueueSnapshot
from yilian.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

REPORT_LIMIT = 500  # instances listed at most (the newest); the count is always the whole number
_REPORTED = "quarantine_reported_digest"
_CODE = re.compile(r"\(([0-9A-F]{4})\)")  # the FailureReason that stow.failure_reason_words writes in the reason
_UID_MAX, _REASON_MAX = 64, 1000


def failure_code(reason: str) -> str | None:
    """The DICOM FailureReason (hex) the cloud gave, if the reason names one (a missing spool file names none)."""
    found = _CODE.search(reason)
    return found.group(1) if found else None


def report_body(snapshot: QueueSnapshot) -> dict[str, Any]:
    """What the cloud is told: the number quarantined and the newest REPORT_LIMIT of them."""
    return {
        "count": snapshot.failed,
        "instances": [
            {
                "sop_instance_uid": f.sop_instance_uid[:_UID_MAX],
                "study_instance_uid": f.study_instance_uid[:_UID_MAX],
                "code": failure_code(f.reason),
                "reason": f.reason[:_REASON_MAX],
                "first_seen_at": datetime.fromtimestamp(f.at, UTC).isoformat(),
            }
            for f in snapshot.recent_failures
        ],
    }


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def report_once(settings: GatewaySettings, queue: InstanceQueue, client: httpx.AsyncClient) -> bool:
    """Send the quarantine list if the cloud has not acknowledged this very list; True when it is up to date."""
    body = report_body(queue.snapshot(recent_failures=REPORT_LIMIT))
    current = digest(body)
    if queue.state_value(_REPORTED) == current:
        return True
    headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"} if settings.api_key else {}
    try:
        response = await client.put(settings.quarantine_url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("could not report %d quarantined instance(s) to the cloud: %s", body["count"], exc)
        return False
    if response.status_code != httpx.codes.OK:
        log.warning("the cloud refused the quarantine report (HTTP %d): %s", response.status_code, response.text[:200])
        return False
    queue.set_state_value(_REPORTED, current)
    log.info("reported %d quarantined instance(s) to the cloud", body["count"])
    return True


async def report_forever(
    settings: GatewaySettings, queue: InstanceQueue, client: httpx.AsyncClient, stop: asyncio.Event
) -> None:
    """Check every `report_seconds` until `stop` is set; a failed report is tried again at the next check."""
    while not stop.is_set():
        try:
            await report_once(settings, queue, client)
        except Exception:  # never let reporting stop the gateway: the images matter more
            log.exception("the quarantine report failed")
        try:
            await asyncio.wait_for(stop.wait(), settings.report_seconds)
        except TimeoutError:
            pass
