"""ConsultWorkflow: one durable workflow per MDT consult, from the request to its conclusion.

Standalone, not a child of the referral's workflow: a tumour board discusses several cases and has no parent; a
referral's workflow continues-as-new, finishes after its amendment window and restarts for addenda, none of which
may end or orphan a consult that is still to be held; and a child would put the consult's whole life (reminders,
attendance) into the referral's history. The link is data: its id is the consult's, `facts.case_ids` name the
referrals, and the steps a case's people must see (requested, scheduled, cancelled, concluded) are recorded on
each case by the referral's own workflow (its `record_consult` Update, sent by an activity that retries), so the
referral stays the single writer of its timeline.

Every change goes through `_apply()`: the domain's `transition()`, then one activity that writes the audit event,
the projection, attendance and notices in one transaction, before the Update returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from yilian.domain import consult as rules
    from yilian.domain.consult import ConsultAction, ConsultCase, ConsultState, Given, Schedule
    from yilian.domain.consult_io import (
        AttendanceInput,
        ConcludeInput,
        ConsentInput,
        ConsultActivityName,
        ConsultActorInput,
        ConsultInput,
        ConsultOnReferralInput,
        ConsultPersonInput,
        ConsultProgress,
        ConsultResult,
        ConsultSnapshot,
        OpenInput,
        Presence,
        RecordConsultStepInput,
        ScheduleInput,
    )
    from yilian.domain.notice import NoticeKind, notice_params
    from yilian.domain.referral import Action
    from yilian.domain.referral_io import Audience, NotifyInput
    from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role
    from yilian.workflows.action_table import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        ActionTableWorkflow,
        record_step,
        refusing,
    )

S = ConsultState
A = ConsultAction
# Reminders before the start: (name, lead). One whose moment has passed when the consult is (re)scheduled is skipped.
REMINDERS: tuple[tuple[str, timedelta], ...] = (("day_before", timedelta(days=1)), ("soon", timedelta(minutes=15)))
# Open consults nobody concluded are closed by a timer from this patch on; histories from before it have no timer.
AUTO_CLOSE_PATCH = "consult-auto-close"
# The consult steps the case's people see on its timeline.
ON_REFERRAL = {
    A.REQUEST: Action.CONSULT_REQUESTED,
    A.SCHEDULE: Action.CONSULT_SCHEDULED,
    A.CANCEL: Action.CONSULT_CANCELLED,
    A.CONCLUDE: Action.CONSULT_CONCLUDED,
}


@dataclass(frozen=True)
class _Note:
    kind: NoticeKind
    audience: Audience
    params: dict[str, str]


@workflow.defn
class ConsultWorkflow(ActionTableWorkflow[ConsultAction, ConsultPersonInput]):
    @workflow.init
    def __init__(self, inp: ConsultInput) -> None:
        self._facts = inp.facts
        self._p: ConsultProgress = inp.progress or ConsultProgress(
            case=ConsultCase(
                consult_id=inp.facts.consult_id,
                hospital_ids=tuple(inp.facts.hospital_ids),
                referral=inp.facts.referral,
            )
        )
        self._lock = asyncio.Lock()
        self._auto_close_minutes = inp.auto_close_minutes
        self._schedule_version = 0  # bumped on (re)schedule so the timer loop re-reads its deadlines
        self._recorded_seq = self._p.case.seq  # the latest step whose activity has written it

    # ---- the main line ------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: ConsultInput) -> ConsultProgress:
        if inp.opening is not None and self._p.case.state is None:
            await self._open_with(inp.opening)
        while self._p.case.state not in rules.FINISHED_STATES:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(ConsultInput(self._facts, None, self._p, self._auto_close_minutes))
            if self._p.case.state is S.SCHEDULED:
                await self._until_next_moment()
            elif self._p.case.state is S.OPEN and workflow.patched(AUTO_CLOSE_PATCH):
                await self._until_closing()
            else:
                seq = self._p.case.seq
                await workflow.wait_condition(lambda: self._p.case.seq != seq)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._p

    async def _open_with(self, opening: OpenInput) -> None:
        action = A.REQUEST if opening.schedule is None else A.SCHEDULE
        with refusing():
            rules.validate(self._p.case, action, opening.actor, opening.given(workflow.now()))
        async with self._lock:
            if opening.schedule is None:
                notes = [self._requested_note()]
                await self._apply(action, opening.actor, Given(comment=opening.comment), {"comment": opening.comment},
                                  notes=notes)  # fmt: skip
            else:
                await self._schedule(action, opening.actor, opening.schedule)

    @workflow.update
    async def made(self) -> ConsultResult:
        """Used with update-with-start: returns once the first step is recorded."""
        await workflow.wait_condition(lambda: self._recorded_seq > 0)
        return self._result()

    # ---- timers: reminders, and the room opening at its time ----------------------------------
    async def _until_next_moment(self) -> None:
        schedule = self._p.schedule
        assert schedule is not None
        version, now = self._schedule_version, workflow.now()
        due = [(schedule.starts_at - lead, name) for name, lead in REMINDERS if name in self._p.reminders]
        moment, what = min([*due, (schedule.starts_at, "open")])
        if moment > now:
            try:
                await workflow.wait_condition(
                    lambda: self._schedule_version != version or self._p.case.state is not S.SCHEDULED,
                    timeout=moment - now,
                )
                return  # rescheduled, opened early or cancelled: recompute
            except TimeoutError:
                pass
        async with self._lock:
            if self._schedule_version != version or self._p.case.state is not S.SCHEDULED:
                return
            if what == "open":
                await self._apply(A.OPEN, SYSTEM_ACTOR, Given(), {})
            else:
                self._p = replace(self._p, reminders=[r for r in self._p.reminders if r != what])
                note = self._note(
                    NoticeKind.CONSULT_REMINDER, self._everyone(), starts_at=schedule.starts_at.isoformat()
                )
                await self._apply(A.REMIND, SYSTEM_ACTOR, Given(), {"reminder": what}, notes=[note])

    async def _until_closing(self) -> None:
        """Wait for the next step of the open consult; past its end by `auto_close` with no conclusion, close it."""
        schedule = self._p.schedule
        assert schedule is not None
        seq, deadline = self._p.case.seq, schedule.ends_at + timedelta(minutes=self._auto_close_minutes)
        left = deadline - workflow.now()
        if left > timedelta(0):
            try:
                await workflow.wait_condition(lambda: self._p.case.seq != seq, timeout=left)
                return  # a join, a leave, a conclusion ...: wait again (or end) from the new state
            except TimeoutError:
                pass
        async with self._lock:
            if self._p.case.state is not S.OPEN or self._p.case.seq != seq:
                return  # an Update took the lock first: look again
            note = self._note(NoticeKind.CONSULT_CLOSED, self._everyone())
            details = {"ended_at": schedule.ends_at.isoformat(), "after_minutes": self._auto_close_minutes}
            await self._apply(A.CLOSE, SYSTEM_ACTOR, Given(), details, notes=[note], attendance=self._everyone_leaves())

    # ---- Updates: what people do --------------------------------------------------------------
    def _check(self, action: ConsultAction, inp: ConsultPersonInput) -> None:
        rules.validate(self._p.case, action, inp.actor, inp.given(workflow.now()))

    def _action_of(self, update: str, inp: ConsultPersonInput) -> ConsultAction:
        return ConsultAction(update)

    # Temporal wants a validator's parameters to equal its handler's: one thin validator per argument type.
    def _validate_schedule_input(self, inp: ScheduleInput) -> None:
        self._validate_update(inp)

    def _validate_actor_input(self, inp: ConsultActorInput) -> None:
        self._validate_update(inp)

    def _validate_conclude_input(self, inp: ConcludeInput) -> None:
        self._validate_update(inp)

    def _validate_consent_input(self, inp: ConsentInput) -> None:
        self._validate_update(inp)

    @workflow.update
    async def schedule(self, inp: ScheduleInput) -> ConsultResult:
        async with self._acting(A.SCHEDULE, inp):
            await self._schedule(A.SCHEDULE, inp.actor, inp.schedule)
        return self._result()

    schedule.validator(_validate_schedule_input)

    @workflow.update
    async def reschedule(self, inp: ScheduleInput) -> ConsultResult:
        async with self._acting(A.RESCHEDULE, inp):
            await self._schedule(A.RESCHEDULE, inp.actor, inp.schedule)
        return self._result()

    reschedule.validator(_validate_schedule_input)

    @workflow.update
    async def open(self, inp: ConsultActorInput) -> ConsultResult:
        async with self._acting(A.OPEN, inp):
            await self._apply(A.OPEN, inp.actor, inp.given(workflow.now()), {"early": True})
        return self._result()

    open.validator(_validate_actor_input)

    @workflow.update
    async def join(self, inp: ConsultActorInput) -> ConsultResult:
        async with self._acting(A.JOIN, inp):
            now = workflow.now()
            present = [x for x in self._p.present if x.user_id != inp.actor.user_id]
            self._p = replace(self._p, present=[*present, Presence(inp.actor.user_id, now)])
            attendance = [AttendanceInput(inp.actor.user_id, joined=True, at=now)]
            await self._apply(A.JOIN, inp.actor, inp.given(now), {}, attendance=attendance)
        return self._result()

    join.validator(_validate_actor_input)

    @workflow.update
    async def leave(self, inp: ConsultActorInput) -> ConsultResult:
        async with self._acting(A.LEAVE, inp):
            now = workflow.now()
            self._p = replace(self._p, present=[x for x in self._p.present if x.user_id != inp.actor.user_id])
            attendance = [AttendanceInput(inp.actor.user_id, joined=False, at=now)]
            await self._apply(A.LEAVE, inp.actor, inp.given(now), {}, attendance=attendance)
        return self._result()

    leave.validator(_validate_actor_input)

    @workflow.update
    async def hand_over(self, inp: ConsultActorInput) -> ConsultResult:
        async with self._acting(A.HAND_OVER, inp):
            details = {"from": self._p.case.host_id, "to": inp.target}
            await self._apply(A.HAND_OVER, inp.actor, inp.given(workflow.now()), details)
        return self._result()

    hand_over.validator(_validate_actor_input)

    @workflow.update
    async def conclude(self, inp: ConcludeInput) -> ConsultResult:
        async with self._acting(A.CONCLUDE, inp):
            c = inp.conclusion
            self._p = replace(self._p, conclusion=c)
            told = self._note(
                NoticeKind.CONSULT_CONCLUDED,
                Audience(user_ids=[*self._p.case.participants(), *self._referring()]),
                recommendation=c.recommendation,
            )
            details = {
                "participants": list(c.participants),
                "discussion": c.discussion,
                "recommendation": c.recommendation,
            }
            await self._apply(
                A.CONCLUDE,
                inp.actor,
                inp.given(workflow.now()),
                details,
                notes=[told],
                attendance=self._everyone_leaves(),
            )
        return self._result()

    conclude.validator(_validate_conclude_input)

    @workflow.update
    async def cancel(self, inp: ConsultActorInput) -> ConsultResult:
        async with self._acting(A.CANCEL, inp):
            self._p = replace(self._p, cancel_reason=inp.comment)
            audience = [
                *self._p.case.participants(),
                *([self._p.case.requested_by] if self._p.case.requested_by else []),
            ]
            told = self._note(NoticeKind.CONSULT_CANCELLED, Audience(user_ids=audience), reason=inp.comment)
            await self._apply(
                A.CANCEL, inp.actor, inp.given(workflow.now()), {"reason": inp.comment}, notes=[told],
                attendance=self._everyone_leaves(),
            )  # fmt: skip
        return self._result()

    cancel.validator(_validate_actor_input)

    @workflow.update
    async def consent(self, inp: ConsentInput) -> ConsultResult:
        """Durable and audited; the API hands the consenting set to the room, which records only while everyone in it
        consented."""
        async with self._acting(A.CONSENT, inp):
            others = [u for u in self._p.consented if u != inp.actor.user_id]
            self._p = replace(self._p, consented=[*others, *([inp.actor.user_id] if inp.consent else [])])
            await self._apply(A.CONSENT, inp.actor, inp.given(workflow.now()), {"consent": inp.consent})
        return self._result()

    consent.validator(_validate_consent_input)

    @workflow.query
    def progress(self) -> ConsultProgress:
        return self._p

    # ---- internals ----------------------------------------------------------------------------
    async def _schedule(self, action: ConsultAction, actor: Actor, schedule: Schedule) -> None:
        """Schedule or reschedule (under the lock): the newly invited get an invitation, the others the new time."""
        before = set(self._p.case.participants())
        now = workflow.now()
        reminders = [name for name, lead in REMINDERS if schedule.starts_at - lead > now]
        self._p = replace(self._p, schedule=schedule, reminders=reminders)
        self._schedule_version += 1
        starts_at = schedule.starts_at.isoformat()
        # The notices go to who is invited after the step: computed from the case the step makes.
        after, _ = rules.transition(self._p.case, action, actor, now, Given(now=now, schedule=schedule))
        invited = [u for u in after.participants() if u not in before and u != actor.user_id]
        kept = [u for u in after.participants() if u in before and u != actor.user_id]
        notes = [
            self._note(
                NoticeKind.CONSULT_INVITATION, Audience(user_ids=invited), starts_at=starts_at,
                duration_minutes=str(schedule.duration_minutes),
            ),
        ]  # fmt: skip
        if action is A.RESCHEDULE:
            notes.append(self._note(NoticeKind.CONSULT_RESCHEDULED, Audience(user_ids=kept), starts_at=starts_at))
            # Whoever the new list leaves out would otherwise still expect the consult at the old time.
            dropped = [u for u in before if u not in after.participants() and u != actor.user_id]
            notes.append(self._note(NoticeKind.CONSULT_UNINVITED, Audience(user_ids=dropped)))
        details = {
            "starts_at": starts_at,
            "duration_minutes": schedule.duration_minutes,
            "invitee_ids": list(schedule.invitee_ids),
            "agenda": schedule.agenda,
        }
        await self._apply(action, actor, Given(now=now, schedule=schedule), details, notes=notes)

    async def _apply(
        self,
        action: ConsultAction,
        actor: Actor,
        given: Given,
        details: dict[str, Any],
        *,
        notes: list[_Note] | None = None,
        attendance: list[AttendanceInput] | None = None,
    ) -> None:
        with refusing():
            case, event = rules.transition(self._p.case, action, actor, workflow.now(), given)
        self._p = replace(self._p, case=case)
        cid = self._facts.consult_id
        notifications = [
            NotifyInput(
                f"{cid}/{event.seq}/{n.kind}", self._referral_id() or "", n.kind, n.audience, event.at, n.params
            )
            for n in notes or []
            if n.audience.user_ids or n.audience.role is not None
        ]
        step_input = RecordConsultStepInput(event, self._snapshot(), details, attendance or [], notifications)
        await record_step(ConsultActivityName.RECORD_STEP, step_input)
        step = ON_REFERRAL.get(action)
        if step is None:
            self._recorded_seq = event.seq
            return
        on_case = {"title": self._facts.title, **{k: v for k, v in details.items() if k != "agenda"}}
        for referral_id in self._facts.case_ids:
            # Each case's own workflow records it; the activity retries until that workflow has it.
            await workflow.execute_activity(
                ConsultActivityName.RECORD_ON_REFERRAL,
                ConsultOnReferralInput(referral_id, cid, event.seq, str(step), actor, on_case),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        self._recorded_seq = event.seq

    def _everyone_leaves(self) -> list[AttendanceInput]:
        """When the consult ends, whoever is still in the room leaves it then."""
        now = workflow.now()
        gone = [AttendanceInput(x.user_id, joined=False, at=now) for x in self._p.present]
        self._p = replace(self._p, present=[])
        return gone

    def _referral_id(self) -> str | None:
        return self._facts.referral.referral_id if self._facts.referral else None

    def _referring(self) -> list[str]:
        """The referring doctor of the consult's case, who must see the recommendation."""
        r = self._facts.referral
        return [r.submitted_by] if r and r.submitted_by else []

    def _everyone(self) -> Audience:
        return Audience(user_ids=list(self._p.case.participants()))

    def _requested_note(self) -> _Note:
        r = self._facts.referral
        hospital = r.reading_hospital_id if r else None
        return self._note(NoticeKind.CONSULT_REQUESTED, Audience(role=Role.COORDINATOR, hospital_id=hospital))

    def _note(self, kind: NoticeKind, audience: Audience, **written: str) -> _Note:
        facts = {"consult_id": self._facts.consult_id, "title": self._facts.title}
        if kind is NoticeKind.CONSULT_REQUESTED:
            facts["referral_id"] = self._referral_id() or ""
        return _Note(kind, audience, notice_params(kind, **facts, **written))

    def _result(self) -> ConsultResult:
        state = self._p.case.state
        assert state is not None
        return ConsultResult(self._facts.consult_id, state, self._p.case.seq)

    def _snapshot(self) -> ConsultSnapshot:
        p, state = self._p, self._p.case.state
        assert state is not None
        return ConsultSnapshot(
            facts=self._facts,
            state=state,
            requested_by=p.case.requested_by,
            host_id=p.case.host_id,
            invitee_ids=list(p.case.invitee_ids),
            schedule=p.schedule,
            conclusion=p.conclusion,
            cancel_reason=p.cancel_reason,
        )
