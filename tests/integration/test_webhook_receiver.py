"""Issue 16: a hospital's receiver checks our webhook signatures. The standalone receiver
(src/yilian/notify/receiver.py, run by Debian's python3 in isolated mode: standard library only) gets a real
delivery (a patient link locked by wrong birth dates, issue 16 item 10), keeps it once, and refuses forgeries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.matrix import walk
from yilian.db.schema import webhook_deliveries, webhooks
from yilian.domain.share_link import MAX_FAILED_ATTEMPTS
from yilian.notify.webhook import SIGNATURE_HEADER, deliver_pending, sign

pytestmark = pytest.mark.integration

RECEIVER = Path(__file__).resolve().parents[2] / "src" / "yilian" / "notify" / "receiver.py"
PATIENT = {"patient_id": "HOOK-0016", "name": "Webhook Patient", "birth_date": "1971-03-09", "sex": "F"}


class RunningReceiver:
    def __init__(self, out: Path, secret: str) -> None:
        python = shutil.which("python3") or sys.executable
        self.process = subprocess.Popen(
            [python, "-I", str(RECEIVER), "--port", "0", "--out", str(out)],
            env={"YILIAN_WEBHOOK_SECRET": secret, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "receiving on 127.0.0.1:PORT, ..." once it listens
        assert first.startswith("receiving on "), f"the receiver did not start: {first!r}"
        self.url = "http://" + first.split()[2].rstrip(",") + "/yilian"
        self.out = out

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.read_text().splitlines()] if self.out.exists() else []


@pytest.fixture
def secret() -> str:
    return f"whsec-{uuid.uuid4().hex}"


@pytest.fixture
def hospital_receiver(tmp_path: Path, secret: str) -> Iterator[RunningReceiver]:
    receiver = RunningReceiver(tmp_path / "deliveries.jsonl", secret)
    yield receiver
    receiver.process.terminate()
    receiver.process.wait(10)


async def test_the_hospitals_receiver_keeps_our_signed_delivery_once_and_refuses_forgeries(
    api: Api, engine: AsyncEngine, hospital_receiver: RunningReceiver, secret: str
) -> None:
    hook_id = f"wh-{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(
            webhooks.insert().values(id=hook_id, hospital_id="h-anping", url=hospital_receiver.url, secret=secret)
        )
    try:
        returned = await walk(api, engine, "returned", patient=PATIENT)
        link = await api.ok("zhao.anping", "POST", f"/api/referrals/{returned}/share-links", 201, json={})
        for _ in range(MAX_FAILED_ATTEMPTS):
            await api.client.post(f"/api/share/{link['token']}", json={"birth_date": "1900-01-01"})

        async with httpx.AsyncClient(timeout=10) as client:
            while await deliver_pending(engine, client):
                pass
        kept = [line for line in hospital_receiver.lines() if line["delivery"]["kind"] == "share_link_locked"]  # type: ignore[index]
        assert len(kept) == 1, hospital_receiver.lines()
        delivery = kept[0]["delivery"]
        assert isinstance(delivery, dict) and delivery["referral_id"] == returned
        assert delivery["text"]["en"]["title"] == "Patient link locked"
        assert delivery["text"]["zh-CN"]["title"] == "患者链接已锁定"

        before = len(hospital_receiver.lines())
        body = json.dumps(delivery, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Yilian-Delivery": str(kept[0]["key"])}
        async with httpx.AsyncClient(timeout=10) as client:
            signed = {**headers, SIGNATURE_HEADER: sign(secret, body)}
            replay = await client.post(hospital_receiver.url, content=body, headers=signed)
            tampered = body.replace(returned.encode(), b"r-forged")
            forged = await client.post(
                hospital_receiver.url, content=tampered, headers={**headers, SIGNATURE_HEADER: sign(secret, body)}
            )
            wrong_key = await client.post(
                hospital_receiver.url, content=body, headers={**headers, SIGNATURE_HEADER: sign("not-it", body)}
            )
            unsigned = await client.post(hospital_receiver.url, content=body, headers=headers)
        assert (replay.status_code, replay.text) == (200, "already received")
        assert [r.status_code for r in (forged, wrong_key, unsigned)] == [401, 401, 401]
        assert len(hospital_receiver.lines()) == before  # nothing replayed or forged was kept
    finally:
        async with engine.begin() as conn:
            await conn.execute(webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == hook_id))
            await conn.execute(webhooks.delete().where(webhooks.c.id == hook_id))
