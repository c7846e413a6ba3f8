"""Determinism guard: saved referral histories must replay against today's ReferralWorkflow.

A change to the workflow's control flow that is not guarded by `workflow.patched(...)` makes these
histories fail to replay, which is exactly what would break referrals still open in production.
When a new path through the workflow matters, save its history by calling `record(harness, name)`
below from a throwaway test, and commit the JSON beside the others. Never edit or delete a saved one
while referrals started before it may still be open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.api import REPORT
from tests.workflows.conftest import CHEN, WANG, ZHAO, Harness
from yilian.domain.referral_io import ActorInput, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.temporal_client import DATA_CONVERTER
from yilian.workflows.referral import ReferralWorkflow

HISTORIES = Path(__file__).parent / "histories"


def _replayer() -> Replayer:
    return Replayer(workflows=[ReferralWorkflow], data_converter=DATA_CONVERTER)


SAVED = {p.stem: p.read_text() for p in sorted(HISTORIES.glob("*.json"))}


@pytest.mark.parametrize("name", sorted(SAVED))
async def test_saved_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads(SAVED[name]))
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_saved_histories_exist() -> None:
    assert len(SAVED) >= 1


async def _walk(harness: Harness) -> str:
    """A loop with most paths: needs_info, changes requested, critical finding, approval, receipt."""
    content = ReportContent(REPORT["findings"], REPORT["impression"], {}, True, "tension pneumothorax")
    h = await harness.start()
    await harness.accept(h, WANG)
    await harness.update(h, ReferralWorkflow.request_info, ActorInput(WANG, "prior CT please"))
    await harness.sleep(hours=2)
    await harness.update(h, ReferralWorkflow.provide_info, ActorInput(ZHAO, "uploaded"))
    await harness.update(h, ReferralWorkflow.save_draft, ReportInput(WANG, content))
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, content))
    await harness.update(h, ReferralWorkflow.request_changes, ReviewInput(CHEN, Discrepancy.MINOR, "size?"))
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, content))
    await harness.update(h, ReferralWorkflow.acknowledge_critical, ActorInput(ZHAO, "called"))
    await harness.update(h, ReferralWorkflow.approve, ReviewInput(CHEN, Discrepancy.AGREE))
    await harness.wait_state(h.id, "returned")
    await harness.update(h, ReferralWorkflow.acknowledge_receipt, ActorInput(ZHAO))
    return h.id


async def test_fresh_history_replays(harness: Harness) -> None:
    rid = await _walk(harness)
    history = await harness.env.client.get_workflow_handle(rid).fetch_history()
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def record(harness: Harness, name: str) -> Path:
    """Save the history of a fresh walk as HISTORIES/<name>.json."""
    rid = await _walk(harness)
    history = await harness.env.client.get_workflow_handle(rid).fetch_history()
    path = HISTORIES / f"{name}.json"
    path.write_text(json.dumps(json.loads(history.to_json()), indent=1))
    return path
