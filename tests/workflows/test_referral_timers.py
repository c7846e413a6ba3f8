"""ReferralWorkflow under time skipping: SLA milestones, offer timeouts, the needs_info pause, critical results."""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.support.api import REPORT
from tests.workflows.conftest import CHEN, LIU, WANG, ZHANG, ZHAO, Harness, policy
from yilian.domain.agreement import SecondReadingPolicy
from yilian.domain.errors import YilianError
from yilian.domain.referral_io import ActorInput, ReassignInput, ReportInput, ReviewInput
from yilian.domain.report import Discrepancy, ReportContent
from yilian.workflows.referral import ReferralWorkflow

CONTENT = ReportContent(REPORT["findings"], REPORT["impression"], dict(REPORT["structured"]))


async def test_routine_sla_warns_breaches_escalates_and_reassigns(harness: Harness) -> None:
    h = await harness.start()
    rid = h.id
    assert (await harness.row(rid))["offered_to"] == "wang.expert"
    await harness.accept(h, WANG)
    started = time.monotonic()

    await harness.sleep(hours=17, minutes=59)
    assert not (await harness.row(rid))["warned"]
    await harness.sleep(minutes=2)  # 18:01 = past 75 % of 24 h
    row = await harness.row(rid)
    assert row["warned"] and not row["breached"]
    assert "sla_warning" in await harness.inbox(rid, "wang.expert")

    await harness.sleep(hours=6)  # 24:01
    row = await harness.row(rid)
    assert row["breached"] and row["reader_id"] == "wang.expert"
    assert "sla_breach" in await harness.inbox(rid, "liu.coord")

    await harness.sleep(minutes=30)  # 24:31: grace of 30 min over -> reassigned away from wang
    row = await harness.wait_row(rid, lambda r: r["offered_to"] is not None, "to be offered again")
    assert row["reader_id"] is None and row["offered_to"] == "zhang.expert"
    wall = time.monotonic() - started
    print(f"24.5 h of SLA timers took {wall:.2f} s of wall time")
    assert (await harness.actions(rid)) == [
        "submit",
        "offer",
        "accept",
        "sla_warn",
        "sla_breach",
        "sla_reassign",
        "offer",
    ]
    assert "reassigned" in await harness.inbox(rid, "wang.expert")
    # The reassigned case keeps its original deadline: the breach is not forgiven.
    assert row["breached"]


async def test_offer_timeout_decline_then_escalation(harness: Harness) -> None:
    h = await harness.start()
    rid = h.id
    assert (await harness.row(rid))["offered_to"] == "wang.expert"
    await harness.sleep(minutes=10, seconds=5)
    assert await harness.offered(rid) == "zhang.expert"
    await harness.update(h, ReferralWorkflow.decline, ActorInput(ZHANG, "on leave"))
    assert await harness.offered(rid) == "chen.senior"  # seniors read only when no expert can
    await harness.update(h, ReferralWorkflow.decline, ActorInput(CHEN, "reviewing"))
    row = await harness.wait_row(rid, lambda r: r["escalated"], "to be escalated")
    assert row["state"] == "submitted" and row["escalated"] and row["offered_to"] is None
    assert "escalation" in await harness.inbox(rid, "liu.coord")
    assert await harness.actions(rid) == [
        "submit",
        "offer",
        "offer_expire",
        "offer",
        "decline",
        "offer",
        "decline",
        "escalate",
    ]
    expired = (await harness.events(rid, "offer_expire"))[0]
    assert expired["details"] == {"expert": "wang.expert"}

    # The coordinator names a reader; the case moves on.
    await harness.update(h, ReferralWorkflow.reassign, ReassignInput(LIU, "wang.expert", "back from clinic"))
    await harness.accept(h, WANG)
    assert (await harness.row(rid))["state"] == "in_reading"


async def test_changes_requested_loop_then_final_and_return(harness: Harness) -> None:
    h = await harness.start()
    rid = h.id
    await harness.accept(h, WANG)
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    await harness.update(h, ReferralWorkflow.request_changes, ReviewInput(CHEN, Discrepancy.MAJOR, "missed nodule"))
    assert (await harness.row(rid))["state"] == "changes_requested"
    assert "changes_requested" in await harness.inbox(rid, "wang.expert")
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    await harness.update(h, ReferralWorkflow.approve, ReviewInput(CHEN, Discrepancy.MINOR))
    row = await harness.wait_state(rid, "returned")
    assert row["state"] == "returned" and row["discrepancy"] == "minor" and row["signer_id"] == "chen.senior"
    await harness.update(h, ReferralWorkflow.acknowledge_receipt, ActorInput(ZHAO))
    assert (await harness.row(rid))["state"] == "closed"


async def test_needs_info_pauses_the_clock(harness: Harness) -> None:
    h = await harness.start()
    rid = h.id
    await harness.accept(h, WANG)
    await harness.sleep(hours=12)
    await harness.update(h, ReferralWorkflow.request_info, ActorInput(WANG, "please send the prior CT"))
    row = await harness.row(rid)
    assert row["state"] == "needs_info" and row["sla_paused"] and row["sla_due_at"] is None
    await harness.sleep(hours=48)  # the county takes two days: no warning while paused
    assert not (await harness.row(rid))["warned"]
    await harness.update(h, ReferralWorkflow.provide_info, ActorInput(ZHAO, "prior CT uploaded"))
    row = await harness.row(rid)
    assert row["state"] == "in_reading" and not row["sla_paused"]
    await harness.sleep(hours=5, minutes=58)  # 17:58 of running time
    assert not (await harness.row(rid))["warned"]
    await harness.sleep(minutes=3)  # 18:01
    assert (await harness.row(rid))["warned"]


async def test_critical_finding_renotifies_then_escalates_until_acknowledged(harness: Harness) -> None:
    h = await harness.start()
    rid = h.id
    await harness.accept(h, WANG)
    critical = ReportContent("large pneumothorax", "tension pneumothorax", {}, True, "张力性气胸 tension pneumothorax")
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, critical))
    await harness.sleep(seconds=1)
    assert (await harness.inbox(rid, "zhao.anping")).count("critical_finding") == 1  # before any sign-off
    assert (await harness.row(rid))["state"] == "preliminary"
    await harness.sleep(minutes=31)  # two re-notifications at 15 and 30 minutes
    assert (await harness.inbox(rid, "zhao.anping")).count("critical_finding") == 3
    await harness.sleep(minutes=15)
    assert "critical_escalation" in await harness.inbox(rid, "liu.coord")
    notified = await harness.events(rid, "notify_critical")
    assert [e["details"]["attempt"] for e in notified] == [0, 1, 2]
    told = notified[0]["details"]["notified"][0]
    assert "zhao.anping" in told["to"] and told["method"] == ["in_app"] and told["kind"] == "critical_finding"
    await harness.update(h, ReferralWorkflow.acknowledge_critical, ActorInput(ZHAO, "patient called in"))
    assert not (await harness.row(rid))["critical_open"]
    # A second acknowledgement is refused: nothing is open.
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await harness.update(h, ReferralWorkflow.acknowledge_critical, ActorInput(ZHAO))
    assert "no critical finding" in str(rejected.value.cause)


async def test_second_reading_skipped_when_policy_says_never(harness: Harness) -> None:
    h = await harness.start(policy(second_reading=SecondReadingPolicy.NEVER))
    await harness.accept(h, WANG)
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    row = await harness.wait_state(h.id, "returned")
    assert row["state"] == "returned" and row["signer_id"] == "wang.expert"
    assert await harness.actions(h.id) == ["submit", "offer", "accept", "submit_preliminary", "finalize", "return"]


async def test_addendum_after_the_amendment_window_reopens_the_case(harness: Harness) -> None:
    from yilian.api.workflow_client import send_update

    h = await harness.start(policy(second_reading=SecondReadingPolicy.NEVER))
    await harness.accept(h, WANG)
    await harness.update(h, ReferralWorkflow.submit_preliminary, ReportInput(WANG, CONTENT))
    await harness.wait_state(h.id, "returned")
    await harness.update(h, ReferralWorkflow.acknowledge_receipt, ActorInput(ZHAO))
    # Awaiting the result lets the test server skip straight to the end of the 30-day amendment window
    # (one explicit 31-day sleep RPC once outran its deadline on a loaded run).
    # Bounded: once in a full CI run this await never returned (the test server did not skip to the end of the
    # window); a stuck run should fail here, by name, not hold CI until its own limit.
    finished = await asyncio.wait_for(h.result(), timeout=120)
    assert finished.progress is not None and finished.progress.case.state == "closed"

    addendum = ReportContent("Addendum: 4 mm nodule LLL.", "Additional 4 mm LLL nodule.")
    with pytest.raises(YilianError) as refused:  # not the reader: refused without starting a new run
        await send_update(
            harness.env.client,
            h.id,
            ReferralWorkflow.add_addendum,
            ReportInput(ZHANG, addendum),
            reopen_on=harness.task_queue,
        )
    assert refused.value.code == "forbidden"
    assert (await h.describe()).run_id == h.result_run_id
    result = await send_update(
        harness.env.client,
        h.id,
        ReferralWorkflow.add_addendum,
        ReportInput(WANG, addendum),
        reopen_on=harness.task_queue,
    )
    assert result.state == "amended" and result.seq == finished.progress.case.seq + 1
    row = await harness.row(h.id)
    assert row["state"] == "amended" and row["report_version"] == 3  # preliminary, final, addendum
    assert (await harness.actions(h.id))[-2:] == ["acknowledge_receipt", "add_addendum"]
