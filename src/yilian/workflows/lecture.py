"""LectureWorkflow: one durable workflow per lecture, schedule -> reminders -> live -> replay -> credits.

The single writer of a lecture. People act through Updates (reschedule, start, end, cancel) validated by the
domain's action table (workflows/action_table.py); every change goes through `_apply()`, which writes the audit
event, the projection and the notices in one activity before the Update returns. After the lecture ends the live
room is closed, the recording published as the replay and everyone who watched tallied; while the replay is open for
credit, the API signals `watched` with the doctors whose attendance (or quiz) moved, and the workflow tallies them a
few seconds later.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from yilian.domain import lecture as rules
    from yilian.domain.lecture import Given, LectureAction, LectureCase, LectureState, Plan
    from yilian.domain.lecture_io import (
        LectureActivity,
        LectureActorInput,
        LectureInput,
        LectureNote,
        LecturePersonInput,
        LectureProgress,
        LectureRef,
        LectureResult,
        LectureSnapshot,
        PlanInput,
        RecordLectureStepInput,
        ReplayResult,
        TallyInput,
        TallyResult,
        Watched,
    )
    from yilian.domain.notice import NOTICE_PARAMS, NoticeKind, notice_params
    from yilian.domain.roles import SYSTEM_ACTOR, Actor
    from yilian.workflows.action_table import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        ActionTableWorkflow,
        record_step,
        refusing,
    )

S, A = LectureState, LectureAction
TALLY_TIMEOUT = timedelta(minutes=5)  # every viewer of a big lecture
REMINDERS: tuple[tuple[str, timedelta], ...] = (("day_before", timedelta(days=1)), ("soon", timedelta(minutes=15)))
TALLY_DEBOUNCE = timedelta(seconds=5)  # watchers' batches arriving together are tallied together
CREDIT_WINDOW = timedelta(days=90)  # replay watchers earn the credit this long after the replay is out


@workflow.defn(name="LectureWorkflow")
class LectureWorkflow(ActionTableWorkflow[LectureAction, LecturePersonInput]):
    @workflow.init
    def __init__(self, inp: LectureInput) -> None:
        self._inp = inp
        self._p: LectureProgress = inp.progress or LectureProgress(case=LectureCase(inp.lecture_id), plan=inp.plan)
        self._lock = asyncio.Lock()
        self._plan_version = 0  # bumped on reschedule so the reminder timers re-read their deadlines
        self._recorded_seq = self._p.case.seq

    # ---- the main line --------------------------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: LectureInput) -> LectureProgress:
        if self._p.case.state is None:
            await self._schedule()
        while self._p.case.state is not S.CANCELLED:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(inp, progress=self._p))
            state = self._p.case.state
            if state is S.SCHEDULED:
                await self._until_next_reminder()
            elif state is S.LIVE:
                await self._until_ended()
            elif state is S.ENDED:
                if not await self._publish():
                    break  # nothing was recorded: nothing to watch, nothing to credit
            elif not await self._tally_watchers():
                break  # the credit window closed
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._p

    async def _schedule(self) -> None:
        inp = self._inp
        self._validate(A.SCHEDULE, PlanInput(inp.actor, inp.plan, inp.now))
        async with self._lock:
            now = workflow.now()
            self._p = replace(self._p, reminders=self._reminders_for(inp.plan))
            speakers = self._note(NoticeKind.LECTURE_SPEAKER, list(inp.plan.speaker_ids))
            await self._apply(A.SCHEDULE, inp.actor, Given(now=now, plan=inp.plan), self._plan_details(inp.plan),
                              notes=[speakers])  # fmt: skip

    @workflow.update
    async def made(self) -> LectureResult:
        """Used with update-with-start: returns once the schedule is recorded."""
        await workflow.wait_condition(lambda: self._recorded_seq > 0)
        return self._result()

    async def _until_next_reminder(self) -> None:
        plan, version, now = self._p.plan, self._plan_version, workflow.now()
        due = sorted((plan.starts_at - lead, name) for name, lead in REMINDERS if name in self._p.reminders)

        def moved() -> bool:
            return self._plan_version != version or self._p.case.state is not S.SCHEDULED

        if not due:
            await workflow.wait_condition(moved)
            return
        moment, what = due[0]
        if moment > now:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(moved, timeout=moment - now)
                return  # rescheduled, started or cancelled: recompute
        async with self._lock:
            if self._plan_version != version or self._p.case.state is not S.SCHEDULED:
                return
            self._p = replace(self._p, reminders=[r for r in self._p.reminders if r != what])
            note = self._note(NoticeKind.LECTURE_REMINDER, list(plan.speaker_ids), registered=True)
            await self._apply(A.REMIND, SYSTEM_ACTOR, Given(), {"reminder": what}, notes=[note])

    async def _until_ended(self) -> None:
        """A lecture left live long past its planned end is ended by the system (the speaker's tab crashed)."""
        deadline = self._p.plan.ends_at + rules.LATE_END
        left = deadline - workflow.now()
        if left > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._p.case.state is not S.LIVE, timeout=left)
                return
        async with self._lock:
            if self._p.case.state is S.LIVE:
                await self._apply(A.END, SYSTEM_ACTOR, Given(), {"late": True})

    async def _publish(self) -> bool:
        """Close the room, publish the recording as the replay, tally everyone who watched live."""
        ref = LectureRef(self._p.case.lecture_id)
        await workflow.execute_activity(
            LectureActivity.CLOSE_ROOM, ref, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )
        replay: ReplayResult = await workflow.execute_activity(
            LectureActivity.PUBLISH_REPLAY,
            ref,
            result_type=ReplayResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        async with self._lock:
            if replay.recorded_seconds <= 0:
                return False
            until = workflow.now() + CREDIT_WINDOW
            self._p = replace(self._p, recorded_seconds=replay.recorded_seconds, credit_open_until=until)
            told = self._note(NoticeKind.LECTURE_REPLAY, [], registered=True)
            details = {"recorded_seconds": replay.recorded_seconds, "segments": replay.segments,
                       "chapters": replay.chapters}  # fmt: skip
            await self._apply(A.PUBLISH, SYSTEM_ACTOR, Given(), details, notes=[told])
        await self._tally(None)
        return True

    async def _tally_watchers(self) -> bool:
        """Tally the doctors the API said moved; False once the credit window has closed."""
        until = self._p.credit_open_until
        assert until is not None
        left = until - workflow.now()
        if left <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(lambda: bool(self._p.pending), timeout=left)
        except TimeoutError:
            return False
        await workflow.sleep(TALLY_DEBOUNCE)
        who = sorted(set(self._p.pending))
        self._p = replace(self._p, pending=[])
        await self._tally(who)
        return True

    async def _tally(self, user_ids: list[str] | None) -> None:
        plan = self._p.plan
        async with self._lock:
            seq = self._p.case.seq + 1
            result: TallyResult = await workflow.execute_activity(
                LectureActivity.TALLY,
                TallyInput(
                    self._p.case.lecture_id, seq, plan.credit, plan.threshold, self._p.recorded_seconds, user_ids
                ),  # fmt: skip
                result_type=TallyResult,
                start_to_close_timeout=TALLY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            # The first tally is always on the trail; a later one only when it awarded someone (the rest is noise).
            if user_ids is None or result.awarded:
                details = {"counted": result.counted, "awarded": result.awarded, "awarded_to": result.awarded_to,
                           "scope": "all" if user_ids is None else "watchers"}  # fmt: skip
                await self._apply(A.TALLY, SYSTEM_ACTOR, Given(), details)

    # ---- Updates and the signal -----------------------------------------------------------------------------------
    def _check(self, action: LectureAction, inp: LecturePersonInput) -> None:
        rules.validate(self._p.case, action, inp.actor, inp.given(workflow.now()))

    def _action_of(self, update: str, inp: LecturePersonInput) -> LectureAction:
        return LectureAction(update)

    # Temporal wants a validator's parameters to equal its handler's: one thin validator per argument type.
    def _validate_plan(self, inp: PlanInput) -> None:
        self._validate_update(inp)

    def _validate_actor(self, inp: LectureActorInput) -> None:
        self._validate_update(inp)

    @workflow.update
    async def reschedule(self, inp: PlanInput) -> LectureResult:
        async with self._acting(A.RESCHEDULE, inp):
            before = set(self._p.plan.speaker_ids)
            self._p = replace(self._p, plan=inp.plan, reminders=self._reminders_for(inp.plan))
            self._plan_version += 1
            new_speakers = [u for u in inp.plan.speaker_ids if u not in before]
            kept = [u for u in inp.plan.speaker_ids if u in before]
            notes = [
                self._note(NoticeKind.LECTURE_SPEAKER, new_speakers),
                self._note(NoticeKind.LECTURE_RESCHEDULED, kept, registered=True),
            ]
            given = Given(now=workflow.now(), plan=inp.plan)
            await self._apply(A.RESCHEDULE, inp.actor, given, self._plan_details(inp.plan), notes=notes)
        return self._result()

    reschedule.validator(_validate_plan)

    @workflow.update
    async def start(self, inp: LectureActorInput) -> LectureResult:
        async with self._acting(A.START, inp):
            await self._apply(A.START, inp.actor, inp.given(workflow.now()), {})
        return self._result()

    start.validator(_validate_actor)

    @workflow.update
    async def end(self, inp: LectureActorInput) -> LectureResult:
        async with self._acting(A.END, inp):
            await self._apply(A.END, inp.actor, inp.given(workflow.now()), {})
        return self._result()

    end.validator(_validate_actor)

    @workflow.update
    async def cancel(self, inp: LectureActorInput) -> LectureResult:
        async with self._acting(A.CANCEL, inp):
            self._p = replace(self._p, cancel_reason=inp.comment)
            told = self._note(NoticeKind.LECTURE_CANCELLED, list(self._p.plan.speaker_ids), registered=True,
                              reason=inp.comment)  # fmt: skip
            await self._apply(A.CANCEL, inp.actor, inp.given(workflow.now()), {"reason": inp.comment}, notes=[told])
        return self._result()

    cancel.validator(_validate_actor)

    @workflow.signal
    def watched(self, inp: Watched) -> None:
        if self._p.case.state is S.PUBLISHED:
            self._p = replace(self._p, pending=sorted({*self._p.pending, *inp.user_ids}))

    @workflow.query
    def progress(self) -> LectureProgress:
        return self._p

    # ---- internals ------------------------------------------------------------------------------------------------
    def _reminders_for(self, plan: Plan) -> list[str]:
        now = workflow.now()
        return [name for name, lead in REMINDERS if plan.starts_at - lead > now]

    async def _apply(
        self,
        action: LectureAction,
        actor: Actor,
        given: Given,
        details: dict[str, Any],
        *,
        notes: list[LectureNote] | None = None,
    ) -> None:
        with refusing():
            case, event = rules.transition(self._p.case, action, actor, workflow.now(), given)
        self._p = replace(self._p, case=case)
        state = case.state
        assert state is not None
        p = self._p
        snapshot = LectureSnapshot(case.lecture_id, state, case.organiser_id, p.plan, p.cancel_reason,
                                   p.recorded_seconds)  # fmt: skip
        wanted = [n for n in notes or [] if n.user_ids or n.registered]
        await record_step(LectureActivity.RECORD_STEP, RecordLectureStepInput(event, snapshot, details, wanted))
        self._recorded_seq = event.seq

    def _note(self, kind: NoticeKind, user_ids: list[str], *, registered: bool = False, **more: str) -> LectureNote:
        plan = self._p.plan
        facts = {"lecture_id": self._p.case.lecture_id, "title": plan.title, "starts_at": plan.starts_at.isoformat()}
        wanted = {k: v for k, v in {**facts, **more}.items() if k in NOTICE_PARAMS[kind]}
        return LectureNote(kind, notice_params(kind, **wanted), list(user_ids), registered)

    @staticmethod
    def _plan_details(plan: Plan) -> dict[str, Any]:
        return {
            "title": plan.title,
            "starts_at": plan.starts_at.isoformat(),
            "duration_minutes": plan.duration_minutes,
            "speaker_ids": list(plan.speaker_ids),
            "audience_hospital_ids": list(plan.audience_hospital_ids),
            "credit": plan.credit,
        }

    def _result(self) -> LectureResult:
        state = self._p.case.state
        assert state is not None
        return LectureResult(self._p.case.lecture_id, state, self._p.case.seq)
