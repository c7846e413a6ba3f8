"""AutoReferralWorkflow: one per arrived study of a hospital with a hosting agreement; makes its referral once.

The archive signal-with-starts it (id from the hospital and the Study Instance UID) with every stored batch of the
study; each signal restarts the quiet period, so the referral is made once the rest of the study has arrived. Then
one activity decides (agreement coverage, order attributes, patient, sender) and the referral's own workflow is
started as an abandoned child: it outlives this one, which ends after recording the decision.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    # Pydantic decodes the plan's ReferralInput inside this sandbox, resolving each nested type's annotations in its
    # module: those modules must be in the sandbox's sys.modules, which holds only the modules this block imports
    # from (`from package import module` adds the package alone).
    from yilian.domain.agreement import SlaTargets  # noqa: F401
    from yilian.domain.auto_referral import (
        AutoActivity,
        AutoOutcome,
        AutoReferralInput,
        AutoReferralResult,
        Plan,
        PlanInput,
        RecordAutoInput,
    )
    from yilian.domain.referral import ReferralCase  # noqa: F401
    from yilian.domain.referral_io import CaseFacts  # noqa: F401
    from yilian.domain.report import ReportContent  # noqa: F401
    from yilian.domain.roles import Actor  # noqa: F401
    from yilian.domain.sla import SlaClock  # noqa: F401
    from yilian.workflows.action_table import ACTIVITY_RETRY, ACTIVITY_TIMEOUT
    from yilian.workflows.referral import ReferralWorkflow


@workflow.defn
class AutoReferralWorkflow:
    def __init__(self) -> None:
        self._batches = 0

    @workflow.signal
    def instances_stored(self) -> None:
        """The archive stored (more) instances of this study."""
        self._batches += 1

    @workflow.query
    def batches(self) -> int:
        return self._batches

    @workflow.run
    async def run(self, inp: AutoReferralInput) -> AutoReferralResult:
        quiet = timedelta(seconds=inp.quiet_seconds)
        while True:
            seen = self._batches
            try:
                await workflow.wait_condition(lambda: self._batches != seen, timeout=quiet)
            except TimeoutError:
                break  # quiet for the whole period: the study is complete enough to read
        plan: Plan = await workflow.execute_activity(
            AutoActivity.PLAN,
            PlanInput(inp.hospital_id, inp.study_instance_uid, inp.share_link_days, workflow.now()),
            result_type=Plan,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        outcome, referral_id = plan.outcome, None
        if plan.referral is not None:
            referral_id = plan.referral.facts.referral_id
            try:
                await workflow.start_child_workflow(
                    ReferralWorkflow.run,
                    plan.referral,
                    id=referral_id,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                outcome = AutoOutcome.ALREADY_REFERRED  # a run of this study before a reset started it
        await workflow.execute_activity(
            AutoActivity.RECORD,
            RecordAutoInput(
                inp.hospital_id,
                inp.study_instance_uid,
                outcome,
                self._batches,
                workflow.now(),
                referral_id,
                plan.agreement_id,
                {**(plan.details or {}), "swept": True} if inp.swept else plan.details,
            ),  # fmt: skip
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return AutoReferralResult(outcome, referral_id)
