"""ConsultWorkflow under time skipping: request, schedule, reminders, reschedule, cancel, attendance, and the
conclusion on the referral's own timeline (recorded by the referral's workflow)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from tests.workflows.conftest import LIU, WANG, ZHAO, Harness
from yilian.db.schema import consult_attendance, consult_events, consults
from yilian.domain.consult import Conclusion, ConsultState, ReferralParties, Schedule
from yilian.domain.consult_io import (
    ConcludeInput,
    ConsultActorInput,
    ConsultFacts,
    ConsultInput,
    ConsultResult,
    OpenInput,
    ScheduleInput,
)
from yilian.domain.roles import Actor, Role
from yilian.temporal_client import DATA_CONVERTER
from yilian.workflows.consult import ConsultWorkflow
from yilian.workflows.referral import ReferralWorkflow

HE = Actor("he.surgeon", Role.EXPERT, "h-provincial", "He")
XU = Actor("xu.oncology", Role.EXPERT, "h-provincial", "Xu")
SUN = Actor("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan", "Sun")


async def _now(h: Harness) -> datetime:
    return await h.env.get_current_time()


async def _start_consult(
    h: Harness, referral_id: str, by: Actor, schedule: Schedule | None, *, auto_close_minutes: int = 120
) -> tuple[WorkflowHandle[Any, Any], ConsultResult]:
    cid = f"con-test-{uuid.uuid4().hex[:10]}"
    parties = ReferralParties(referral_id, "h-anping", "h-provincial", submitted_by=ZHAO.user_id)
    facts = ConsultFacts(cid, "肺结节 MDT", [referral_id], ["h-anping", "h-provincial"], parties, by)
    op = WithStartWorkflowOperation(
        ConsultWorkflow.run,
        ConsultInput(facts, OpenInput(by, schedule, "需要胸外科意见"), auto_close_minutes=auto_close_minutes),
        id=cid,
        task_queue=h.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    result = await h.env.client.execute_update_with_start_workflow(ConsultWorkflow.made, start_workflow_operation=op)
    handle = h.env.client.get_workflow_handle(cid)
    h.started.append(handle)
    return handle, result


async def _row(h: Harness, cid: str) -> dict[str, Any]:
    async with h.engine.connect() as conn:
        row = (await conn.execute(select(consults).where(consults.c.id == cid))).mappings().first()
    assert row is not None, cid
    return dict(row)


async def _actions(h: Harness, cid: str) -> list[str]:
    async with h.engine.connect() as conn:
        rows = await conn.execute(
            select(consult_events.c.action).where(consult_events.c.consult_id == cid).order_by(consult_events.c.seq)
        )
    return [r[0] for r in rows]


async def _consult_inbox(h: Harness, user_id: str, cid: str) -> list[str]:
    from yilian.db.schema import notifications

    async with h.engine.connect() as conn:
        rows = await conn.execute(
            select(notifications.c.kind)
            .where(notifications.c.recipient_id == user_id, notifications.c.key.like(f"{cid}/%"))
            .order_by(notifications.c.id)
        )
    return [r[0] for r in rows]


async def test_scheduled_consult_reminds_the_day_before_and_15_minutes_before_then_opens(harness: Harness) -> None:
    ref = await harness.start()
    now = await _now(harness)
    plan = Schedule(now + timedelta(days=2), 30, (WANG.user_id, HE.user_id), "1. 影像 2. 手术指征")
    handle, made = await _start_consult(harness, ref.id, LIU, plan)
    cid = made.consult_id
    assert made.state is ConsultState.SCHEDULED
    row = await _row(harness, cid)
    assert row["host_id"] == "liu.coord" and row["state"] == "scheduled"
    assert await _consult_inbox(harness, "wang.expert", cid) == ["consult_invitation"]
    assert await _consult_inbox(harness, "he.surgeon", cid) == ["consult_invitation"]
    assert await _consult_inbox(harness, "liu.coord", cid) == []  # the scheduler is not invited to their own
    # The case's people see it on the referral's timeline, recorded by the referral's workflow.
    assert (await harness.actions(ref.id))[-1] == "consult_scheduled"

    await harness.sleep(hours=23, minutes=50)
    assert await _consult_inbox(harness, "he.surgeon", cid) == ["consult_invitation"]
    await harness.sleep(minutes=15)  # past "a day before"
    assert await _consult_inbox(harness, "he.surgeon", cid) == ["consult_invitation", "consult_reminder"]
    await harness.sleep(hours=23, minutes=45)  # 10 minutes before the start: the 15-minute reminder went
    assert await _consult_inbox(harness, "wang.expert", cid) == [
        "consult_invitation", "consult_reminder", "consult_reminder"
    ]  # fmt: skip
    assert (await _row(harness, cid))["state"] == "scheduled"
    await harness.sleep(minutes=11)
    assert (await _row(harness, cid))["state"] == "open"
    assert await _actions(harness, cid) == ["schedule", "remind", "remind", "open"]
    assert await handle.query(ConsultWorkflow.progress) is not None


async def test_an_invitee_a_reschedule_leaves_out_is_told_and_hears_nothing_more(harness: Harness) -> None:
    ref = await harness.start()
    now = await _now(harness)
    plan = Schedule(now + timedelta(days=2), 30, (HE.user_id, XU.user_id), "")
    handle, made = await _start_consult(harness, ref.id, LIU, plan)
    cid = made.consult_id
    fewer = Schedule(now + timedelta(days=3), 30, (HE.user_id,), "")
    await handle.execute_update(ConsultWorkflow.reschedule, ScheduleInput(LIU, fewer, now), result_type=ConsultResult)
    assert await _consult_inbox(harness, "xu.oncology", cid) == ["consult_invitation", "consult_uninvited"]
    assert await _consult_inbox(harness, "he.surgeon", cid) == ["consult_invitation", "consult_rescheduled"]
    await handle.execute_update(
        ConsultWorkflow.cancel, ConsultActorInput(LIU, comment="取消"), result_type=ConsultResult
    )
    assert await _consult_inbox(harness, "xu.oncology", cid) == ["consult_invitation", "consult_uninvited"]
    assert (await _consult_inbox(harness, "he.surgeon", cid))[-1:] == ["consult_cancelled"]


async def test_request_then_schedule_reschedule_and_cancel(harness: Harness) -> None:
    ref = await harness.start()
    handle, made = await _start_consult(harness, ref.id, ZHAO, None)
    cid = made.consult_id
    assert made.state is ConsultState.REQUESTED
    assert await _consult_inbox(harness, "liu.coord", cid) == ["consult_requested"]

    now = await _now(harness)
    soon = Schedule(now + timedelta(hours=3), 20, (HE.user_id,), "")
    await handle.execute_update(ConsultWorkflow.schedule, ScheduleInput(WANG, soon, now), result_type=ConsultResult)
    row = await _row(harness, cid)
    assert (row["state"], row["host_id"], row["requested_by"]) == ("scheduled", "wang.expert", "zhao.anping")

    # A start in the past is refused by the domain's rule, and nothing changes.
    past = Schedule(now - timedelta(hours=1), 20, (HE.user_id,), "")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ConsultWorkflow.reschedule, ScheduleInput(WANG, past, now))
    assert "past" in str(refused.value.cause)
    # Someone not invited cannot reschedule it.
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ConsultWorkflow.reschedule, ScheduleInput(SUN, soon, now))

    later = Schedule(now + timedelta(days=3), 45, (HE.user_id, XU.user_id), "新增肿瘤科")
    await handle.execute_update(ConsultWorkflow.reschedule, ScheduleInput(WANG, later, now), result_type=ConsultResult)
    assert await _consult_inbox(harness, "he.surgeon", cid) == ["consult_invitation", "consult_rescheduled"]
    assert await _consult_inbox(harness, "xu.oncology", cid) == ["consult_invitation"]
    # The first schedule's time (3 h) passes without opening the room: the new time rules.
    await harness.sleep(hours=4)
    assert (await _row(harness, cid))["state"] == "scheduled"

    await handle.execute_update(
        ConsultWorkflow.cancel, ConsultActorInput(LIU, comment="患者已转院"), result_type=ConsultResult
    )
    row = await _row(harness, cid)
    assert (row["state"], row["cancel_reason"]) == ("cancelled", "患者已转院")
    assert "consult_cancelled" in await _consult_inbox(harness, "xu.oncology", cid)
    assert "consult_cancelled" in await _consult_inbox(harness, "zhao.anping", cid)  # the requester
    await handle.result()  # the workflow ends with the consult
    assert await _actions(harness, cid) == ["request", "schedule", "reschedule", "cancel"]
    assert [a for a in await harness.actions(ref.id) if a.startswith("consult_")] == [
        "consult_requested",
        "consult_scheduled",
        "consult_cancelled",
    ]


async def test_attendance_and_the_conclusion_on_the_referrals_timeline(harness: Harness) -> None:
    ref = await harness.start()
    now = await _now(harness)
    plan = Schedule(now + timedelta(hours=1), 30, (WANG.user_id, HE.user_id), "")
    handle, made = await _start_consult(harness, ref.id, LIU, plan)
    cid = made.consult_id

    # Nobody joins a room that is not open; the host opens it early.
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ConsultWorkflow.join, ConsultActorInput(WANG))
    await handle.execute_update(ConsultWorkflow.open, ConsultActorInput(LIU), result_type=ConsultResult)
    for who in (LIU, WANG, HE):
        await handle.execute_update(ConsultWorkflow.join, ConsultActorInput(who), result_type=ConsultResult)
    # The referring doctor was not invited: the room refuses them.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ConsultWorkflow.join, ConsultActorInput(ZHAO))
    assert "forbidden" in str(refused.value.cause.type if refused.value.cause else "")  # type: ignore[attr-defined]
    await harness.sleep(minutes=10)
    await handle.execute_update(ConsultWorkflow.leave, ConsultActorInput(HE), result_type=ConsultResult)
    # Only the host concludes, and only with a recommendation.
    words = Conclusion((LIU.user_id, WANG.user_id, HE.user_id), "右上肺结节 2.1 cm，分叶毛刺", "胸腔镜下肺叶切除")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ConsultWorkflow.conclude, ConcludeInput(WANG, words))
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ConsultWorkflow.conclude, ConcludeInput(LIU, Conclusion((), "讨论", " ")))
    await harness.sleep(minutes=5)
    done = await handle.execute_update(ConsultWorkflow.conclude, ConcludeInput(LIU, words), result_type=ConsultResult)
    assert done.state is ConsultState.CONCLUDED
    await handle.result()

    row = await _row(harness, cid)
    assert row["conclusion"]["recommendation"] == "胸腔镜下肺叶切除"
    async with harness.engine.connect() as conn:
        stays = (
            (
                await conn.execute(
                    select(consult_attendance)
                    .where(consult_attendance.c.consult_id == cid)
                    .order_by(consult_attendance.c.id)
                )
            )
            .mappings()
            .all()
        )
    # Whole minutes: the test server's clock also runs in real time between the skips.
    minutes = {s["user_id"]: (s["left_at"] - s["joined_at"]) // timedelta(minutes=1) for s in stays}
    assert minutes["he.surgeon"] == 10  # left by themself
    assert minutes["wang.expert"] == 15  # still there at the conclusion: it ends their stay
    assert all(s["left_at"] is not None for s in stays)
    # The conclusion is on the case's own audit trail, with what the county doctor needs to read.
    concluded = await harness.events(ref.id, "consult_concluded")
    assert len(concluded) == 1
    details = concluded[0]["details"]
    assert details["consult_id"] == cid and details["by"] == "liu.coord"
    assert details["recommendation"] == "胸腔镜下肺叶切除" and details["participants"] == [
        "liu.coord",
        "wang.expert",
        "he.surgeon",
    ]
    assert "consult_concluded" in await _consult_inbox(harness, "zhao.anping", cid)  # the referring doctor is told
    # A consult is an event on the case's timeline, not a transition of the case.
    assert concluded[0]["from_state"] == concluded[0]["to_state"]
    assert await _actions(harness, cid) == ["schedule", "open", "join", "join", "join", "leave", "conclude"]


async def test_an_open_consult_nobody_concludes_is_closed_the_set_time_past_its_end(harness: Harness) -> None:
    ref = await harness.start()
    now = await _now(harness)
    plan = Schedule(now + timedelta(hours=1), 30, (WANG.user_id, HE.user_id), "")
    handle, made = await _start_consult(harness, ref.id, LIU, plan, auto_close_minutes=45)
    cid = made.consult_id
    await harness.sleep(hours=1, minutes=1)
    assert (await _row(harness, cid))["state"] == "open"
    await handle.execute_update(ConsultWorkflow.join, ConsultActorInput(WANG), result_type=ConsultResult)
    # Past the end (1 h 30 min) but not past the end and 45 minutes: a late conclusion is still welcome.
    await harness.sleep(minutes=70)
    assert (await _row(harness, cid))["state"] == "open"
    assert "consult_closed" not in await _consult_inbox(harness, "wang.expert", cid)
    await harness.sleep(minutes=10)  # 2 h 21 min from the start of the test: past 1 h 30 min + 45 min
    row = await _row(harness, cid)
    assert row["state"] == "closed" and row["conclusion"] is None
    assert await _actions(harness, cid) == ["schedule", "remind", "open", "join", "close"]
    for who in ("liu.coord", "wang.expert", "he.surgeon"):  # the host and the invited are told
        assert (await _consult_inbox(harness, who, cid))[-1:] == ["consult_closed"], who
    # Whoever was still in the room left when it closed, and the workflow is over.
    async with harness.engine.connect() as conn:
        stays = (await conn.execute(select(consult_attendance).where(consult_attendance.c.consult_id == cid))).all()
    assert len(stays) == 1 and stays[0].left_at is not None
    await handle.result()
    # The closing timer's history replays (it is behind the auto-close patch).
    history = await handle.fetch_history()
    replayed = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure


async def test_a_retried_step_is_recorded_once_on_the_referral(harness: Harness) -> None:
    """The activity that records a consult step on the referral may run twice: the referral records it once."""
    from yilian.domain.consult_io import ConsultOnReferralInput
    from yilian.workflows.referral import ReferralWorkflow

    ref = await harness.start()
    step = ConsultOnReferralInput(ref.id, "con-x", 3, "consult_concluded", LIU, {"recommendation": "随访"})
    first = await ref.execute_update(ReferralWorkflow.record_consult, step)
    again = await ref.execute_update(ReferralWorkflow.record_consult, step)
    assert first.seq == again.seq
    assert len(await harness.events(ref.id, "consult_concluded")) == 1
    with pytest.raises(WorkflowUpdateFailedError):
        await ref.execute_update(
            ReferralWorkflow.record_consult, ConsultOnReferralInput(ref.id, "con-x", 4, "accept", LIU)
        )


# ---- determinism: saved histories must replay against today's workflows ------------------------------------------
HISTORIES = Path(__file__).parent / "histories"
CONSULT_HISTORIES = HISTORIES / "consult"


def _replayer() -> Replayer:
    return Replayer(workflows=[ConsultWorkflow, ReferralWorkflow], data_converter=DATA_CONVERTER)


async def _consult_walk(harness: Harness) -> tuple[str, str]:
    """A consult's whole life on a case: scheduled, both reminders, opened at its time, joined, concluded."""
    ref = await harness.start()
    now = await _now(harness)
    plan = Schedule(now + timedelta(days=2), 30, (WANG.user_id, HE.user_id), "")
    handle, made = await _start_consult(harness, ref.id, LIU, plan)
    await handle.execute_update(
        ConsultWorkflow.reschedule,
        ScheduleInput(LIU, Schedule(now + timedelta(days=1, hours=1), 30, (WANG.user_id, XU.user_id), ""), now),
    )
    await harness.sleep(days=1, hours=1, minutes=1)
    assert (await _row(harness, made.consult_id))["state"] == "open"
    await handle.execute_update(ConsultWorkflow.join, ConsultActorInput(WANG))
    await handle.execute_update(ConsultWorkflow.hand_over, ConsultActorInput(LIU, target=WANG.user_id))
    await handle.execute_update(ConsultWorkflow.conclude, ConcludeInput(WANG, Conclusion((), "讨论", "随访")))
    await handle.result()
    return ref.id, made.consult_id


SAVED = {p.stem: p.read_text() for p in sorted(CONSULT_HISTORIES.glob("*.json"))}


@pytest.mark.parametrize("name", sorted(SAVED))
async def test_saved_consult_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads(SAVED[name]))
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_fresh_consult_and_referral_histories_replay(harness: Harness) -> None:
    rid, cid = await _consult_walk(harness)
    for wid in (cid, rid):
        history = await harness.env.client.get_workflow_handle(wid).fetch_history()
        result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (wid, result.replay_failure)
        if os.environ.get("YILIAN_SAVE_HISTORIES"):  # how the saved ones below were made
            name = "consult/consult_v1_life" if wid == cid else "referral_v2_consult_steps"
            (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))  # noqa: ASYNC240


def test_saved_consult_histories_exist() -> None:
    assert sorted(p.stem for p in CONSULT_HISTORIES.glob("*.json")) == ["consult_v1_life"]
    assert (HISTORIES / "referral_v2_consult_steps.json").exists()
