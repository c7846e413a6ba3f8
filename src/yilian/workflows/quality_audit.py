"""QualityAuditWorkflow: one per quality audit (影像质控抽检), the single writer of its sample and outcomes.

The API draws the sample (the cases the coordinator may see) and starts this workflow with it; one activity records
the sample, and each auditor's outcome is an Update, validated by the domain's `check_outcome`, recorded (item, event,
and on the last one the audit's completion) in one transaction before the Update returns. The workflow ends once every
sampled study has its outcome.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from yilian.domain.errors import YilianError
    from yilian.domain.quality import QualityGrade
    from yilian.domain.quality_audit import (
        AuditActivity,
        AuditFacts,
        AuditResult,
        AuditState,
        OutcomeInput,
        RecordOutcomeInput,
        Verdict,
        check_outcome,
    )
    from yilian.domain.roles import Actor  # noqa: F401  (decoded inside AuditFacts and OutcomeInput in the sandbox)
    from yilian.workflows.rejection import rejection

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=["YilianError"])


@workflow.defn(name="QualityAuditWorkflow")
class QualityAuditWorkflow:
    @workflow.init
    def __init__(self, facts: AuditFacts) -> None:
        self._facts = facts
        self._recorded: dict[str, str] = {}  # referral id -> verdict
        self._seq = 0  # audit events recorded so far
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, facts: AuditFacts) -> AuditResult:
        async with self._lock:
            await workflow.execute_activity(
                AuditActivity.RECORD_SAMPLE, facts, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )
            self._seq = 1
        await workflow.wait_condition(
            lambda: len(self._recorded) == len(self._facts.items) and workflow.all_handlers_finished()
        )
        return self._result()

    @workflow.update
    async def made(self) -> AuditResult:
        """Used with update-with-start: returns once the sample is recorded."""
        await workflow.wait_condition(lambda: self._seq > 0)
        return self._result()

    @workflow.update
    async def record_outcome(self, inp: OutcomeInput) -> AuditResult:
        await workflow.wait_condition(lambda: self._seq > 0)
        async with self._lock:
            verdict, regrade = self._check(inp)  # again under the lock: another outcome may have come first
            completed = len(self._recorded) + 1 == len(self._facts.items)
            record = RecordOutcomeInput(
                self._facts.audit_id, self._seq + 1, inp.referral_id, verdict, regrade.grade if regrade else "",
                [str(r) for r in regrade.reasons] if regrade else [], inp.comment.strip(), inp.actor, workflow.now(),
                completed,
            )  # fmt: skip
            await workflow.execute_activity(
                AuditActivity.RECORD_OUTCOME, record, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )  # fmt: skip
            self._recorded[inp.referral_id] = str(verdict)
            self._seq += 2 if completed else 1
        return self._result()

    @record_outcome.validator
    def _validate_outcome(self, inp: OutcomeInput) -> None:
        self._check(inp)

    def _check(self, inp: OutcomeInput) -> tuple[Verdict, QualityGrade | None]:
        try:
            return check_outcome(self._facts, frozenset(self._recorded), inp)
        except YilianError as err:
            raise rejection(err) from err

    def _result(self) -> AuditResult:
        done = len(self._recorded) == len(self._facts.items)
        return AuditResult(
            self._facts.audit_id, AuditState.COMPLETED if done else AuditState.OPEN, len(self._recorded),
            len(self._facts.items),
        )  # fmt: skip
