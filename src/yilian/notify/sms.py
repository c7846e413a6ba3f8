"""SMS, an outside boundary: the `SmsSender` port, a local adapter that records each message in `sms_outbox` (where
a tester or a developer reads it), and an HTTP adapter for a real gateway, chosen by YILIAN_SMS_PROVIDER."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.config import Settings
from yilian.db.queries import patient_sign_in as queries
from yilian.domain.errors import ErrorCode, YilianError


class SmsSender(Protocol):
    """Sends one text message. Called inside the caller's transaction: a failed send rolls the code back, so a
    patient never waits for a code that was stored but not sent."""

    provider: str

    async def send(self, conn: AsyncConnection, phone: str, body: str, now: datetime) -> None: ...


class OutboxSms:
    """Development and tests: the message is a row of sms_outbox; nothing leaves the machine."""

    provider = "local"

    async def send(self, conn: AsyncConnection, phone: str, body: str, now: datetime) -> None:
        await queries.record_sms(conn, phone, body, now)


class HttpSms:
    """A real SMS gateway that takes `POST {url}` with JSON {"phone", "body"} and a bearer token (a small relay in
    front of the region's carrier or cloud SMS account, which each need their own signing)."""

    provider = "http"

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self._url, self._token, self._timeout = url, token, timeout

    async def send(self, conn: AsyncConnection, phone: str, body: str, now: datetime) -> None:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                r = await client.post(
                    self._url, json={"phone": phone, "body": body}, headers={"Authorization": f"Bearer {self._token}"}
                )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, "the SMS gateway did not take the message") from exc


def sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "http":
        if not settings.sms_http_url:
            raise ValueError("YILIAN_SMS_PROVIDER=http needs YILIAN_SMS_HTTP_URL")
        return HttpSms(settings.sms_http_url, settings.sms_http_token)
    return OutboxSms()
