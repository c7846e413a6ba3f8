"""An Update's result carries the projection row its step wrote, so the API answers without reading it back."""

from __future__ import annotations

from typing import Any

from tests.support.api import REPORT
from tests.workflows.conftest import CHEN, WANG, Harness
from yilian.db.queries.referral import projection_row
from yilian.domain.referral_io import ActionResult, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.workflows.referral import ReferralWorkflow

CONTENT = ReportContent(REPORT["findings"], REPORT["impression"], dict(REPORT["structured"]))


def carried(result: ActionResult) -> dict[str, Any]:
    assert result.row is not None, f"{result.referral_id} seq {result.seq}: the Update carried no row"
    row = projection_row(result.row.snapshot, result.row.seq, result.row.at)
    row["submitted_at"] = result.row.submitted_at
    return row


async def test_each_update_carries_the_row_it_wrote(harness: Harness) -> None:
    h = await harness.start()
    accepted = await harness.accept(h, WANG)
    assert carried(accepted) == await harness.row(h.id)  # every column, as the database holds it
    draft = await harness.update(h, ReferralWorkflow.save_draft, ReportInput(WANG, CONTENT))
    assert carried(draft) == await harness.row(h.id)
    assert carried(draft)["last_seq"] == carried(accepted)["last_seq"] + 1
    prelim = await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    assert carried(prelim)["state"] == "preliminary" and carried(prelim)["report_version"] == 2


async def test_the_row_is_the_one_of_the_action_even_when_the_workflow_moves_on(harness: Harness) -> None:
    h = await harness.start()
    await harness.accept(h, WANG)
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    approved = await harness.update(h, ReferralWorkflow.approve, ReviewInput(CHEN, Discrepancy.AGREE))
    row = carried(approved)
    assert row["state"] == "final" and row["signer_id"] == "chen.senior" and row["last_seq"] == approved.seq
    returned = await harness.wait_state(h.id, "returned")  # the workflow's own next step
    assert returned["last_seq"] == approved.seq + 1 and returned["submitted_at"] == row["submitted_at"]
