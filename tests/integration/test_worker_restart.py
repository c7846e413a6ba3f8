"""A worker killed with SIGKILL mid-case: the case finishes correctly once a worker is back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import REPORT, Api
from yilian.api.app import create_app
from yilian.config import Settings

pytestmark = pytest.mark.integration


def _spawn_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YILIAN_DATABASE_URL": settings.database_url or "",
        "YILIAN_TEMPORAL_ADDRESS": settings.temporal_address or "",
        "YILIAN_TASK_QUEUE": settings.task_queue,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "yilian.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture
async def separate(
    settings: Settings, engine: AsyncEngine, temporal_client: Client
) -> AsyncIterator[tuple[Api, Callable[[], subprocess.Popen[bytes]]]]:
    local = settings.model_copy(update={"task_queue": f"restart-{uuid.uuid4().hex[:6]}"})
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        procs.append(_spawn_worker(local))
        return procs[-1]

    app = create_app(local, engine, temporal_client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
        yield Api(client), start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


async def test_case_survives_kill_9_of_the_worker(
    separate: tuple[Api, Callable[[], subprocess.Popen[bytes]]],
) -> None:
    api, start_worker = separate
    first = start_worker()
    sub = await api.submit(
        patient={"patient_id": "AP0002", "name": "黄月英 Huang Yueying", "birth_date": "1978-11-02", "sex": "F"}
    )
    rid = sub["id"]
    offered = await api.wait_for("liu.coord", rid, "offered", timeout=60)
    await api.ok(offered["offered_to"], "POST", f"/api/referrals/{rid}/accept", json={})
    await api.ok(offered["offered_to"], "PUT", f"/api/referrals/{rid}/draft", json=REPORT)

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # The reader submits while no worker runs: the Update waits for one instead of failing.
    pending = asyncio.create_task(
        api.call(offered["offered_to"], "POST", f"/api/referrals/{rid}/preliminary", json=REPORT)
    )
    await asyncio.sleep(1.0)
    assert not pending.done()
    start_worker()
    response = await asyncio.wait_for(pending, timeout=60)
    assert response.status_code == 200, response.text
    await api.ok("chen.senior", "POST", f"/api/referrals/{rid}/approve", json={"discrepancy": "agree"})
    await api.wait_for("zhao.anping", rid, "returned", timeout=60)

    trail = (await api.ok("liu.coord", "GET", f"/api/referrals/{rid}/audit"))["items"]
    assert [e["action"] for e in trail] == [
        "submit",
        "offer",
        "accept",
        "save_draft",
        "submit_preliminary",
        "approve",
        "return",
    ]
    assert [e["seq"] for e in trail] == list(range(1, 8))  # nothing lost, nothing recorded twice
    detail = await api.ok("wang.expert", "GET", f"/api/referrals/{rid}")
    assert [r["kind"] for r in detail["reports"]] == ["draft", "preliminary", "final"]
