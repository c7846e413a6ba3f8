"""LectureWorkflow under time skipping: schedule, reminders to the registered, reschedule, cancel, start, end, the
replay published from the live playlist, the tally and credits (live and replay watchers), and the late end."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from tests.support.wait import wait_until
from tests.workflows.conftest import LIU, WANG, ZHAO, Harness
from yilian.config import Settings
from yilian.db.queries import lectures as q
from yilian.db.schema import lecture_credits, lecture_events, lectures, notifications
from yilian.domain.lecture import LectureState, Plan, Quiz, QuizQuestion
from yilian.domain.lecture_io import LectureActorInput, LectureInput, LectureResult, PlanInput, Watched
from yilian.domain.roles import Actor, Role
from yilian.temporal_client import DATA_CONVERTER
from yilian.workflows.lecture import LectureWorkflow

HE = Actor("he.educator", Role.EDUCATOR, "h-provincial", "He")
SUN = Actor("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan", "Sun")
QUIZ = Quiz((QuizQuestion("肺结节多大需要随访？", ("≥6 mm", "≥30 mm"), 0),))
SEGMENTS = 10  # of 2 s: a 20 s recording


async def _start(h: Harness, plan: Plan, by: Actor = HE) -> tuple[WorkflowHandle[Any, Any], LectureResult]:
    lid = f"lec-test-{uuid.uuid4().hex[:10]}"
    now = await h.env.get_current_time()
    op = WithStartWorkflowOperation(
        LectureWorkflow.run, LectureInput(lid, by, plan, now), id=lid, task_queue=h.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    made = await h.env.client.execute_update_with_start_workflow(LectureWorkflow.made, start_workflow_operation=op)
    handle = h.env.client.get_workflow_handle(lid)
    h.started.append(handle)
    return handle, made


async def _plan(h: Harness, *, days: float = 2, quiz: Quiz = QUIZ, minutes: int = 60) -> Plan:
    now = await h.env.get_current_time()
    return Plan("肺结节的规范化随访", now + timedelta(days=days), minutes, ("wang.expert",), quiz=quiz)


async def _actions(h: Harness, lid: str) -> list[str]:
    async with h.engine.connect() as conn:
        rows = await conn.scalars(
            select(lecture_events.c.action).where(lecture_events.c.lecture_id == lid).order_by(lecture_events.c.seq)
        )
    return list(rows)


async def _row(h: Harness, lid: str) -> dict[str, Any]:
    async with h.engine.connect() as conn:
        row = (await conn.execute(select(lectures).where(lectures.c.id == lid))).mappings().first()
    assert row is not None
    return dict(row)


async def _inbox(h: Harness, user: str, lid: str) -> list[str]:
    async with h.engine.connect() as conn:
        rows = await conn.scalars(
            select(notifications.c.kind)
            .where(notifications.c.recipient_id == user, notifications.c.key.like(f"{lid}/%"))
            .order_by(notifications.c.id)
        )
    return list(rows)


async def _register(h: Harness, lid: str, *users: str) -> None:
    async with h.engine.begin() as conn:
        for u in users:
            await q.register(conn, lid, u, datetime.now(UTC))


async def _watch(h: Harness, lid: str, user: str, segments: range, mode: str = "live") -> None:
    rows = [{"lecture_id": lid, "user_id": user, "segment": f"seg_{n:06d}.ts", "seconds": 2.0, "mode": mode,
             "at": datetime.now(UTC)} for n in segments]  # fmt: skip
    async with h.engine.begin() as conn:
        await q.add_views(conn, rows)


async def _pass_quiz(h: Harness, lid: str, user: str) -> None:
    async with h.engine.begin() as conn:
        await q.add_attempt(conn, lid, user, [0], 1, True, datetime.now(UTC))


def _recording(settings: Settings, lid: str) -> None:
    """What the live room leaves when it dies without finalising: a live EVENT playlist and its segments' names."""
    folder = settings.lecture_media_root() / lid
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(f"#EXTINF:2.000,\nseg_{n:06d}.ts\n" for n in range(1, SEGMENTS + 1))
    (folder / "live.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        + body
    )
    (folder / "chapters.json").write_text('[{"title": "开场", "start_s": 0}, {"title": "病例", "start_s": 8}]')


async def _credits(h: Harness, lid: str) -> dict[str, float]:
    async with h.engine.connect() as conn:
        rows = await conn.execute(
            select(lecture_credits.c.user_id, lecture_credits.c.credit).where(lecture_credits.c.lecture_id == lid)
        )
    return {r[0]: r[1] for r in rows}


async def test_reminders_go_to_the_registered_and_the_speakers(harness: Harness) -> None:
    handle, made = await _start(harness, await _plan(harness))
    lid = made.lecture_id
    assert made.state is LectureState.SCHEDULED
    assert (await _row(harness, lid))["state"] == "scheduled"
    assert await _inbox(harness, "wang.expert", lid) == ["lecture_speaker"]
    await _register(harness, lid, "zhao.anping")

    await harness.sleep(hours=23, minutes=50)
    assert await _inbox(harness, "zhao.anping", lid) == []
    await harness.sleep(minutes=15)  # past "the day before"
    assert await _inbox(harness, "zhao.anping", lid) == ["lecture_reminder"]
    await harness.sleep(hours=23, minutes=40)  # 15 minutes before
    assert await _inbox(harness, "zhao.anping", lid) == ["lecture_reminder", "lecture_reminder"]
    assert await _inbox(harness, "wang.expert", lid) == ["lecture_speaker", "lecture_reminder", "lecture_reminder"]
    assert await _inbox(harness, "sun.qingshan", lid) == []  # not registered
    assert await _actions(harness, lid) == ["schedule", "remind", "remind"]


async def test_reschedule_and_cancel_through_updates(harness: Harness) -> None:
    plan = await _plan(harness, days=3)
    handle, made = await _start(harness, plan, by=LIU)
    lid = made.lecture_id
    await _register(harness, lid, "zhao.anping")
    now = await harness.env.get_current_time()
    with pytest.raises(WorkflowUpdateFailedError):  # another coordinator did not schedule it
        await handle.execute_update(LectureWorkflow.reschedule,
                                    PlanInput(Actor("x.coord", Role.COORDINATOR, "h-anping"), plan, now))  # fmt: skip
    with pytest.raises(WorkflowUpdateFailedError):  # in the past
        await handle.execute_update(LectureWorkflow.reschedule,
                                    PlanInput(LIU, replace(plan, starts_at=now - timedelta(days=1)), now))  # fmt: skip
    later = replace(plan, starts_at=plan.starts_at + timedelta(days=1), speaker_ids=("wang.expert", "li.expert"))
    await handle.execute_update(LectureWorkflow.reschedule, PlanInput(LIU, later, now), result_type=LectureResult)
    row = await _row(harness, lid)
    assert row["starts_at"] == later.starts_at and row["speaker_ids"] == ["wang.expert", "li.expert"]
    assert await _inbox(harness, "zhao.anping", lid) == ["lecture_rescheduled"]
    assert await _inbox(harness, "li.expert", lid) == ["lecture_speaker"]  # newly speaking
    with pytest.raises(WorkflowUpdateFailedError):  # no reason
        await handle.execute_update(LectureWorkflow.cancel, LectureActorInput(HE))
    await handle.execute_update(LectureWorkflow.cancel, LectureActorInput(HE, "讲者出差 / speaker travelling"))
    await handle.result()
    row = await _row(harness, lid)
    assert row["state"] == "cancelled" and row["cancel_reason"] == "讲者出差 / speaker travelling"
    assert (await _inbox(harness, "zhao.anping", lid))[-1] == "lecture_cancelled"
    assert await _actions(harness, lid) == ["schedule", "reschedule", "cancel"]


async def test_live_then_replay_tally_and_credits(harness: Harness, settings: Settings) -> None:
    handle, made = await _start(harness, await _plan(harness, days=0.5))
    lid = made.lecture_id
    await _register(harness, lid, "zhao.anping", "sun.qingshan")
    with pytest.raises(WorkflowUpdateFailedError):  # a doctor does not start it
        await handle.execute_update(LectureWorkflow.start, LectureActorInput(ZHAO))
    await handle.execute_update(LectureWorkflow.start, LectureActorInput(WANG), result_type=LectureResult)
    assert (await _row(harness, lid))["state"] == "live"
    _recording(settings, lid)
    await _watch(harness, lid, "zhao.anping", range(1, 9))  # 16 of 20 s: 80 %
    await _pass_quiz(harness, lid, "zhao.anping")
    await _watch(harness, lid, "sun.qingshan", range(1, 10))  # 18 s, but no quiz yet
    await _watch(harness, lid, "li.expert", range(1, 4))  # 6 s

    await handle.execute_update(LectureWorkflow.end, LectureActorInput(WANG), result_type=LectureResult)

    async def published() -> dict[str, Any]:
        return await _row(harness, lid)

    row = await wait_until(published, f"{lid} published", ok=lambda r: r["state"] == "published", within=30)
    assert row["recorded_seconds"] == pytest.approx(20.0)
    replay = (settings.lecture_media_root() / lid / "replay.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay and replay.rstrip().endswith("#EXT-X-ENDLIST")
    await wait_until(lambda: _actions(harness, lid), f"{lid} tallied", ok=lambda a: "tally" in a, within=30)
    assert await _actions(harness, lid) == ["schedule", "start", "end", "publish", "tally"]
    assert await _credits(harness, lid) == {"zhao.anping": 1.0}
    assert "lecture_credit" in await _inbox(harness, "zhao.anping", lid)
    assert "lecture_replay" in await _inbox(harness, "sun.qingshan", lid)

    # Sun passes the quiz while the replay is out: the API signals, the workflow tallies them a moment later.
    await _pass_quiz(harness, lid, "sun.qingshan")
    await handle.signal(LectureWorkflow.watched, Watched(["sun.qingshan"]))
    await harness.sleep(seconds=10)
    await wait_until(lambda: _credits(harness, lid), "sun's credit", ok=lambda c: "sun.qingshan" in c, within=30)
    assert set(await _credits(harness, lid)) == {"zhao.anping", "sun.qingshan"}
    trail = await _actions(harness, lid)
    assert trail[-1] == "tally" and trail.count("tally") == 2
    progress = await handle.query(LectureWorkflow.progress)
    assert progress.pending == [] and progress.recorded_seconds == pytest.approx(20.0)


async def test_a_lecture_left_live_is_ended_by_the_system(harness: Harness) -> None:
    handle, made = await _start(harness, await _plan(harness, days=0.01, minutes=30))  # starts in 14.4 minutes
    lid = made.lecture_id
    await handle.execute_update(LectureWorkflow.start, LectureActorInput(HE), result_type=LectureResult)
    await harness.sleep(hours=1, minutes=30)  # the planned end and 45 minutes of the hour's grace
    assert (await _row(harness, lid))["state"] == "live"
    await harness.sleep(minutes=30)
    await handle.result()  # nothing was recorded: ended, no replay, the workflow is done
    assert (await _row(harness, lid))["state"] == "ended"
    assert await _actions(harness, lid) == ["schedule", "start", "end"]
    async with harness.engine.connect() as conn:
        ended = (
            await conn.execute(select(lecture_events.c.actor_id, lecture_events.c.details)
                               .where(lecture_events.c.lecture_id == lid, lecture_events.c.action == "end"))
        ).one()  # fmt: skip
    assert ended[0] == "system" and ended[1]["late"] is True


# ---- determinism: saved histories must replay against today's workflow --------------------------------------------
LECTURE_HISTORIES = Path(__file__).parent / "histories" / "lecture"
SAVED = {p.stem: p.read_text() for p in sorted(LECTURE_HISTORIES.glob("*.json"))}


def _replayer() -> Replayer:
    return Replayer(workflows=[LectureWorkflow], data_converter=DATA_CONVERTER)


async def _lecture_walk(h: Harness, settings: Settings) -> list[str]:
    """Two lives: one rescheduled, reminded, started, ended, published, tallied twice and closed after the credit
    window; one scheduled and cancelled."""
    handle, made = await _start(h, await _plan(h, days=2), by=LIU)
    lid = made.lecture_id
    await _register(h, lid, "zhao.anping")
    now = await h.env.get_current_time()
    later = Plan("肺结节的规范化随访", now + timedelta(days=1, hours=1), 60, ("wang.expert", "li.expert"), quiz=QUIZ)
    await handle.execute_update(LectureWorkflow.reschedule, PlanInput(LIU, later, now))
    await h.sleep(hours=2)  # past "the day before"
    await handle.execute_update(LectureWorkflow.start, LectureActorInput(WANG))
    _recording(settings, lid)
    await _watch(h, lid, "zhao.anping", range(1, 9))
    await _pass_quiz(h, lid, "zhao.anping")
    await handle.execute_update(LectureWorkflow.end, LectureActorInput(WANG))
    await wait_until(lambda: _actions(h, lid), f"{lid} tallied", ok=lambda a: "tally" in a, within=30)
    await _watch(h, lid, "sun.qingshan", range(1, 10))
    await _pass_quiz(h, lid, "sun.qingshan")
    await handle.signal(LectureWorkflow.watched, Watched(["sun.qingshan"]))
    await h.sleep(seconds=10)
    await wait_until(lambda: _credits(h, lid), "sun's credit", ok=lambda c: "sun.qingshan" in c, within=30)
    await h.sleep(days=91)  # the credit window closes: the workflow is done
    await handle.result()
    assert await _actions(h, lid) == ["schedule", "reschedule", "remind", "start", "end", "publish", "tally", "tally"]

    cancelled, made = await _start(h, await _plan(h, days=3), by=HE)
    await cancelled.execute_update(LectureWorkflow.cancel, LectureActorInput(HE, "讲者出差 / speaker travelling"))
    await cancelled.result()
    return [lid, made.lecture_id]


@pytest.mark.parametrize("name", sorted(SAVED))
async def test_saved_lecture_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads(SAVED[name]))
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_fresh_lecture_histories_replay(harness: Harness, settings: Settings) -> None:
    for lid, name in zip(await _lecture_walk(harness, settings), ("lecture_v1_life", "lecture_v1_cancelled"),
                         strict=True):  # fmt: skip
        history = await harness.env.client.get_workflow_handle(lid).fetch_history()
        result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (lid, result.replay_failure)
        if os.environ.get("YILIAN_SAVE_HISTORIES"):  # how the saved ones were made
            LECTURE_HISTORIES.mkdir(exist_ok=True)
            (LECTURE_HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))  # noqa: ASYNC240


def test_saved_lecture_histories_exist() -> None:
    assert sorted(SAVED) == ["lecture_v1_cancelled", "lecture_v1_life"]
