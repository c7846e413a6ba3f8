"""Outgoing webhooks: queued with the step, delivered signed (HMAC-SHA256) to a real HTTP receiver, retried."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.api import Api
from tests.support.live import started
from yilian.db.schema import webhook_deliveries, webhooks
from yilian.notify.webhook import SIGNATURE_HEADER, deliver_pending, verify

pytestmark = pytest.mark.integration


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.fail = False

    async def hook(self, request: Request) -> Response:
        if self.fail:
            return Response(status_code=503)
        self.received.append((await request.body(), dict(request.headers)))
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", rec.hook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    await started(server, task, f"the webhook receiver on port {port}")
    yield rec, f"http://127.0.0.1:{port}/hook"
    server.should_exit = True
    await task


async def test_needs_info_reaches_the_county_webhook_signed(
    api: Api, engine: AsyncEngine, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    secret = f"s-{uuid.uuid4().hex}"
    hook_id = f"wh-{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(webhooks.insert().values(id=hook_id, hospital_id="h-anping", url=url, secret=secret))
    try:
        rid = (
            await api.submit(patient={"patient_id": "AP0009", "name": "Hook", "birth_date": "1990-01-01", "sex": "F"})
        )["id"]
        reader = (await api.wait_for("zhao.anping", rid, "offered"))["offered_to"]
        await api.ok(reader, "POST", f"/api/referrals/{rid}/accept", json={})
        await api.ok(reader, "POST", f"/api/referrals/{rid}/request-info", json={"comment": "send the prior CT"})

        async with httpx.AsyncClient() as client:
            rec.fail = True  # the hospital's endpoint is down: the delivery stays queued with the reason
            assert await deliver_pending(engine, client) == 0
            row = await _delivery(engine, hook_id)
            assert row["attempts"] == 1 and row["delivered_at"] is None and row["last_error"] == "HTTP 503"
            rec.fail = False
            assert await deliver_pending(engine, client) >= 1
            assert await deliver_pending(engine, client) == 0  # delivered once, not again

        assert len(rec.received) == 1
        body, headers = rec.received[0]
        assert verify(secret, body, headers[SIGNATURE_HEADER.lower()])
        assert not verify("wrong-secret", body, headers[SIGNATURE_HEADER.lower()])
        payload: dict[str, Any] = json.loads(body)
        assert payload["kind"] == "needs_info" and payload["referral_id"] == rid
        assert payload["params"] == {"referral_id": rid, "request": "send the prior CT"}
        # In words in both languages (the hospital's system cannot be asked which); title/body are zh-CN's.
        assert payload["text"] == {
            "zh-CN": {"title": "需补充资料", "body": f"申请 {rid}：send the prior CT"},
            "en": {"title": "More information requested", "body": f"Referral {rid}: send the prior CT"},
        }
        assert payload["hospital_id"] == "h-anping" and (payload["title"], payload["body"]) == (
            "需补充资料",
            f"申请 {rid}：send the prior CT",
        )
        row = await _delivery(engine, hook_id)
        assert row["status"] == 204 and row["delivered_at"] is not None and row["attempts"] == 2
    finally:
        async with engine.begin() as conn:
            await conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == hook_id))
            await conn.execute(webhooks.delete().where(webhooks.c.id == hook_id))


async def _delivery(engine: AsyncEngine, hook_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.webhook_id == hook_id))
        found = [dict(r) for r in rows.mappings()]
    assert len(found) == 1, found
    return found[0]
