"""AutoReferralSweepWorkflow: the safety net of auto-referral. A study stored while Temporal was down never signalled
its AutoReferralWorkflow; a Temporal schedule runs this sweep, which finds covered studies quiet for the quiet period
with no auto-referral decision and starts (and signals) their workflows, as the archive's door would have. Idempotent:
the workflow id is the study's, so a study already started or decided is never started twice."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from yilian.domain.auto_referral import (
        INSTANCES_STORED,
        ArrivedStudy,
        AutoActivity,
        AutoReferralInput,
        FindUnreferredInput,
        SweepInput,
        SweepResult,
        workflow_id,
    )
    from yilian.workflows.action_table import ACTIVITY_RETRY, ACTIVITY_TIMEOUT
    from yilian.workflows.auto_referral import AutoReferralWorkflow


@workflow.defn(name="AutoReferralSweepWorkflow")
class AutoReferralSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepResult:
        found: list[ArrivedStudy] = await workflow.execute_activity(
            AutoActivity.FIND_UNREFERRED,
            FindUnreferredInput(inp.quiet_seconds, inp.lookback_hours, inp.limit, inp.hospital_id),
            result_type=list[ArrivedStudy],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        started: list[str] = []
        running: list[str] = []
        for study in found:
            wid = workflow_id(study.hospital_id, study.study_instance_uid)
            try:
                child = await workflow.start_child_workflow(
                    AutoReferralWorkflow.run,
                    AutoReferralInput(
                        study.hospital_id, study.study_instance_uid, inp.quiet_seconds, inp.share_link_days, swept=True
                    ),
                    id=wid,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                running.append(wid)  # the archive's signal got through after all, or an earlier sweep started it
                continue
            await child.signal(INSTANCES_STORED)  # as the archive's door does: one stored batch
            started.append(wid)
        return SweepResult(len(found), started, running)
