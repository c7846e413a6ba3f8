"""Time-skipping Temporal (the Java test server from its wheel) with the real activities and PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.support.archive import store_study
from tests.support.time_skipping import time_skipping_server
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.schema import audit_events, notifications, referrals
from yilian.domain.agreement import Priority, SecondReadingPolicy, SlaTargets
from yilian.domain.referral_io import ActionResult, ActorInput, CaseFacts, ReferralInput, ReferralPolicy
from yilian.domain.roles import Actor, Role
from yilian.worker import build_worker
from yilian.workflows.referral import ReferralWorkflow

ZHAO = Actor("zhao.anping", Role.COUNTY_DOCTOR, "h-anping", "Zhao")
WANG = Actor("wang.expert", Role.EXPERT, "h-provincial", "Wang")
ZHANG = Actor("zhang.expert", Role.EXPERT, "h-provincial", "Zhang")
CHEN = Actor("chen.senior", Role.SENIOR, "h-provincial", "Chen")
LIU = Actor("liu.coord", Role.COORDINATOR, "h-provincial", "Liu")


def policy(**overrides: Any) -> ReferralPolicy:
    base: dict[str, Any] = dict(
        agreement_id="agr-anping",
        sla=SlaTargets(30, 120, 1440),
        offer_timeout_minutes=10,
        grace_minutes=30,
        auto_reassign=True,
        max_auto_reassigns=2,
        second_reading=SecondReadingPolicy.ALWAYS,
        second_reading_share=0.2,
        pause_sla_in_needs_info=True,
        critical_ack_minutes=15,
        critical_renotify_max=2,
    )
    base.update(overrides)
    return ReferralPolicy(**base)


def facts(referral_id: str, **overrides: Any) -> CaseFacts:
    base: dict[str, Any] = dict(
        referral_id=referral_id,
        requesting_hospital_id="h-anping",
        reading_hospital_id="h-provincial",
        patient_ref="pat-anping-2",
        study_instance_uid="1.2.3.4.5",
        modality="CT",
        body_part="CHEST",
        clinical_question="cough",
        priority=Priority.ROUTINE,
        difficult=False,
        submitted_by=ZHAO,
    )
    base.update(overrides)
    return CaseFacts(**base)


@dataclass
class Harness:
    env: WorkflowEnvironment
    engine: AsyncEngine
    task_queue: str
    started: list[WorkflowHandle[Any, Any]]
    blob_root: Path

    async def start(
        self, pol: ReferralPolicy | None = None, *, routed: bool = True, **fact_overrides: Any
    ) -> WorkflowHandle[Any, Any]:
        rid = f"wf-{uuid.uuid4().hex[:10]}"
        case = facts(rid, **fact_overrides)
        if "study_instance_uid" not in fact_overrides:  # its study is in the archive, so the case routes at once
            uid = await store_study(self.engine, self.blob_root, case.requesting_hospital_id)
            case = replace(case, study_instance_uid=uid)
        handle = await self.env.client.start_workflow(
            ReferralWorkflow.run,
            ReferralInput(case, pol or policy()),
            id=rid,
            task_queue=self.task_queue,
        )
        self.started.append(handle)
        await handle.execute_update(ReferralWorkflow.submitted)
        if routed:
            await self.offered(rid)
        return handle

    async def update(self, handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> ActionResult:
        result: ActionResult = await handle.execute_update(update, arg, result_type=ActionResult)
        return result

    async def accept(self, handle: WorkflowHandle[Any, Any], actor: Actor) -> ActionResult:
        return await self.update(handle, ReferralWorkflow.accept, ActorInput(actor))

    async def row(self, referral_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            found = (await conn.execute(select(referrals).where(referrals.c.id == referral_id))).mappings().first()
        assert found is not None
        return dict(found)

    async def wait_row(
        self, referral_id: str, check: Callable[[dict[str, Any]], Any], what: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll (real time) until the projection satisfies `check`: routing runs after an Update returns.
        At the deadline it fails, naming `what` it waited for and the last row it saw."""
        row: dict[str, Any] = await wait_until(
            lambda: self.row(referral_id), f"{referral_id} {what}", ok=check, within=timeout, every=0.02
        )
        return row

    async def wait_state(self, referral_id: str, state: str, timeout: float = 10.0) -> dict[str, Any]:
        return await self.wait_row(referral_id, lambda r: r["state"] == state, f"to be {state}", timeout)

    async def offered(self, referral_id: str) -> str:
        """Who the case is offered to, once it is offered to someone."""
        row = await self.wait_row(
            referral_id, lambda r: r["state"] == "offered" and r["offered_to"] is not None, "to be offered to someone"
        )
        return str(row["offered_to"])

    async def actions(self, referral_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(audit_events.c.action)
                .where(audit_events.c.referral_id == referral_id)
                .order_by(audit_events.c.seq)
            )
        return [r[0] for r in rows]

    async def events(self, referral_id: str, action: str) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(audit_events)
                .where(audit_events.c.referral_id == referral_id, audit_events.c.action == action)
                .order_by(audit_events.c.seq)
            )
        return [dict(r) for r in rows.mappings()]

    async def inbox(self, referral_id: str, user_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(notifications.c.kind)
                .where(notifications.c.referral_id == referral_id, notifications.c.recipient_id == user_id)
                .order_by(notifications.c.id)
            )
        return [r[0] for r in rows]

    async def sleep(self, **kw: float) -> None:
        """Skip virtual time. Called directly with a long RPC deadline: on a loaded 2-core machine the
        test server can take longer than the default deadline to run every timer it skips past."""
        req = SleepRequest()
        req.duration.FromTimedelta(timedelta(**kw))
        await self.env.client.test_service.unlock_time_skipping_with_sleep(req, timeout=timedelta(seconds=120))


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (about a second to start). Workflows a test leaves behind keep their timers
    (auto-referrals, lecture reminders, SLA clocks): on a server shared by the session, later tests' long skips had
    to run them and their RPCs timed out with h2 errors in full runs; shared by a module, the amendment-window test
    never saw its workflow close after the module's earlier tests."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def harness(
    time_env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> AsyncIterator[Harness]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    local = settings.model_copy(update={"task_queue": task_queue})
    async with build_worker(time_env.client, engine, local):
        h = Harness(time_env, engine, task_queue, [], tmp_path)
        yield h
        # Leftover timers of a finished test would hold the shared test server's clock without a worker.
        for handle in h.started:
            with contextlib.suppress(Exception):
                await handle.terminate("test finished")
