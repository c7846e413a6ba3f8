"""Activities of the consult workflow: recording a step (one transaction), and a step on a case's own timeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from yilian.db.queries import consult as q
from yilian.domain.consult_io import ConsultActivityName, ConsultOnReferralInput, RecordConsultStepInput
from yilian.domain.referral_io import ReferralInput
from yilian.notify import dispatch
from yilian.notify.port import Notifier

log = logging.getLogger(__name__)
REFERRAL_WORKFLOW = "ReferralWorkflow"  # by name: activities do not import workflows
RECORD_CONSULT = "record_consult"  # the referral workflow's Update


class ConsultActivities:
    """Bound to one engine and the Temporal client; every method is idempotent (Temporal may run it twice)."""

    def __init__(self, engine: AsyncEngine, notifiers: list[Notifier], client: Client, task_queue: str) -> None:
        self._engine = engine
        self._notifiers = notifiers
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name=ConsultActivityName.RECORD_STEP)
    async def record_step(self, inp: RecordConsultStepInput) -> bool:
        """Notices, audit event, projection and attendance: all or nothing; False for a step already recorded."""
        async with self._engine.begin() as conn:
            details = dict(inp.details)
            if told := await dispatch.notify_all(conn, self._notifiers, inp.notifications):
                details["notified"] = told
            return await q.record_step(conn, inp, details)

    @activity.defn(name=ConsultActivityName.RECORD_ON_REFERRAL)
    async def record_on_referral(self, inp: ConsultOnReferralInput) -> bool:
        """The step on the case's timeline, by the referral's own workflow (its `record_consult` Update, which
        ignores a step it already has). A referral whose workflow has finished is restarted from its final result,
        as an addendum restarts it. False when the referral has no workflow to record it (never started)."""
        handle = self._client.get_workflow_handle(inp.referral_id)
        try:
            await handle.execute_update(RECORD_CONSULT, inp)
            return True
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        except WorkflowUpdateFailedError:
            log.exception("referral %s refused consult step %s", inp.referral_id, inp.action)
            return False
        try:
            previous = await self._client.get_workflow_handle(inp.referral_id, result_type=ReferralInput).result()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                log.warning("referral %s has no workflow: consult step %s not on its timeline", inp.referral_id,
                            inp.action)  # fmt: skip
                return False
            raise
        except WorkflowFailureError:
            log.warning("referral %s ended without a result: consult step %s not on its timeline", inp.referral_id,
                        inp.action)  # fmt: skip
            return False
        op: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            REFERRAL_WORKFLOW,
            previous,
            id=inp.referral_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        await self._client.execute_update_with_start_workflow(RECORD_CONSULT, inp, start_workflow_operation=op)
        return True

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_step, self.record_on_referral]
