"""The daily fixity check: a Temporal schedule starts this workflow, whose one activity re-hashes a sample."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from yilian.domain.fixity import FixityInput, FixityOutcome, FixityRunInput


@workflow.defn(name="FixityWorkflow")
class FixityWorkflow:
    @workflow.run
    async def run(self, inp: FixityInput) -> FixityOutcome:
        info = workflow.info()
        # The schedule names each run's workflow id by its start time: one run, one record, however often retried.
        run = FixityRunInput(run_id=info.workflow_id, sample_size=inp.sample_size)
        outcome: FixityOutcome = await workflow.execute_activity(
            "verify_fixity_sample",
            run,
            result_type=FixityOutcome,
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(minutes=1)),
        )
        return outcome
