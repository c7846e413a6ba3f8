"""TeachingCaseWorkflow: one durable workflow per teaching case, nominate -> de-identify -> review -> publish -> index.

The single writer of a teaching case. People act through Updates validated by the domain's action table
(workflows/action_table.py); every change goes through `_apply_locked()`, which records the audit event, the
projection row, a curation version and any notices in one activity (one transaction) before the Update returns.
Publishing runs the leak scan first: when it finds anything the publish is refused (and audited with what it found),
and the case stays where it was. A published case is indexed for the library; unpublishing takes it out of the index
(and so out of the viewer).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from yilian.domain import teaching as rules
    from yilian.domain.notice import NOTICE_PARAMS, NoticeKind, notice_params
    from yilian.domain.referral_io import Audience, NotifyInput
    from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role
    from yilian.domain.teaching import TeachingAction, TeachingCase, TeachingState
    from yilian.domain.teaching_io import (
        CaseRef,
        CurationInput,
        DeidentifyInput,
        DeidentifyResult,
        EducatorInput,
        LeakFinding,
        RecordTeachingStepInput,
        TeachingActivity,
        TeachingInput,
        TeachingResult,
        TeachingSnapshot,
    )
    from yilian.workflows.action_table import ACTIVITY_RETRY, ActionTableWorkflow, record_step, refusing

A, T = TeachingAction, TeachingState
_Note = tuple[NoticeKind, Audience, dict[str, str]]  # a kind, who is told, its parameters
_Person = EducatorInput | CurationInput
DEID_TIMEOUT = timedelta(minutes=10)  # a whole study is copied through the profile


@workflow.defn(name="TeachingCaseWorkflow")
class TeachingCaseWorkflow(ActionTableWorkflow[TeachingAction, _Person]):
    @workflow.init
    def __init__(self, inp: TeachingInput) -> None:
        self._facts = inp.facts
        self._case: TeachingCase = inp.case or TeachingCase(
            inp.facts.case_id, nominated_by=inp.facts.nominated_by.user_id
        )
        self._recorded = inp.case is not None
        self._deidentified = inp.deidentified
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: TeachingInput) -> TeachingState:
        if not self._recorded:
            await self._record_nomination()
        while self._case.state not in rules.TERMINAL_STATES:
            if self._case.state is T.DEIDENTIFYING and not self._deidentified:
                await self._deidentify()
                continue
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(TeachingInput(self._facts, self._case, self._deidentified))
            seq = self._case.seq
            await workflow.wait_condition(lambda: self._case.seq != seq)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._case.state

    async def _record_nomination(self) -> None:
        """The flag is the first event; an educator's own flag (or an accepted proposal) is accepted at once."""
        async with self._lock:
            f = self._facts
            event = rules.TeachingEvent(f.case_id, 1, A.NOMINATE, None, T.NOMINATED, f.nominated_by, workflow.now())
            self._case = replace(self._case, seq=1)
            educators = Audience(role=Role.EDUCATOR)
            flagged = self._note(NoticeKind.TEACHING_NOMINATED, educators)
            by_educator = f.nominated_by.role is Role.EDUCATOR
            await self._record(event, {"reason": f.reason}, notes=[] if by_educator else [flagged])
            self._recorded = True
            if by_educator:
                await self._apply_locked(A.ACCEPT, f.nominated_by, details={"reason": f.reason})

    async def _deidentify(self) -> None:
        f = self._facts
        result: DeidentifyResult = await workflow.execute_activity(
            TeachingActivity.DEIDENTIFY,
            DeidentifyInput(f.case_id, f.referral_id, f.study_instance_uid, f.requesting_hospital_id, f.patient_ref),
            result_type=DeidentifyResult,
            start_to_close_timeout=DEID_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        async with self._lock:
            self._deidentified = True
            curator = self._case.curator_id
            ready = self._note(NoticeKind.TEACHING_READY, Audience(user_ids=[curator] if curator else []))
            # The first curation is what the referral says; the educator edits from there.
            first = replace(
                self._case.curation, modality=f.modality, body_part=f.body_part, history=result.history,
                findings=result.findings, impression=result.impression,
            )  # fmt: skip
            details = {
                "study_instance_uid": result.study_instance_uid,
                "instances": result.instances,
                "flagged": result.flagged,
                "redactions": result.redactions,
            }
            await self._apply_locked(A.DEIDENTIFIED, SYSTEM_ACTOR, details=details, curation=first, notify=[ready])

    # ---- Updates --------------------------------------------------------------------------------
    def _check(self, action: TeachingAction, inp: _Person) -> None:
        rules.validate(self._case, action, inp.actor, inp.given())

    def _action_of(self, update: str, inp: _Person) -> TeachingAction:
        return TeachingAction(update)

    # Temporal wants a validator's parameters to equal its handler's: one thin validator per argument type.
    def _validate_educator(self, inp: EducatorInput) -> None:
        self._validate_update(inp)

    def _validate_curation(self, inp: CurationInput) -> None:
        self._validate_update(inp)

    @workflow.update
    async def nominated(self) -> TeachingResult:
        """Used with update-with-start: returns once the nomination (and an educator's own accept) is recorded."""
        await workflow.wait_condition(lambda: self._recorded)
        return self._result()

    @workflow.update
    async def accept(self, inp: EducatorInput) -> TeachingResult:
        async with self._acting(A.ACCEPT, inp):
            await self._apply_locked(A.ACCEPT, inp.actor, details={"comment": inp.comment})
        return self._result()

    accept.validator(_validate_educator)

    @workflow.update
    async def dismiss(self, inp: EducatorInput) -> TeachingResult:
        async with self._acting(A.DISMISS, inp):
            await self._apply_locked(A.DISMISS, inp.actor, details={"reason": inp.comment})
        return self._result()

    dismiss.validator(_validate_educator)

    @workflow.update
    async def edit(self, inp: CurationInput) -> TeachingResult:
        async with self._acting(A.EDIT, inp):
            await self._apply_locked(
                A.EDIT, inp.actor, details={"comment": inp.comment, "version": self._case.version + 1},
                curation=inp.curation,
            )  # fmt: skip
        return self._result()

    edit.validator(_validate_curation)

    @workflow.update
    async def publish(self, inp: EducatorInput) -> TeachingResult:
        async with self._acting(A.PUBLISH, inp):
            leaks: list[LeakFinding] = await workflow.execute_activity(
                TeachingActivity.LEAK_SCAN,
                CaseRef(self._facts.case_id),
                result_type=list[LeakFinding],
                start_to_close_timeout=DEID_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            if leaks:
                found = [{"where": x.where, "kind": x.kind, "excerpt": x.excerpt} for x in leaks]
                await self._apply_locked(A.PUBLISH_BLOCKED, inp.actor, details={"leaks": found})
                return self._result(leaks)
            nominator = self._facts.nominated_by.user_id
            told = self._note(NoticeKind.TEACHING_PUBLISHED, Audience(user_ids=[nominator]))
            await self._apply_locked(
                A.PUBLISH, inp.actor, details={"version": self._case.version, "scan": "clean"},
                notify=[] if nominator == inp.actor.user_id else [told],
            )  # fmt: skip
        return self._result()

    publish.validator(_validate_educator)

    @workflow.update
    async def unpublish(self, inp: EducatorInput) -> TeachingResult:
        async with self._acting(A.UNPUBLISH, inp):
            await self._apply_locked(A.UNPUBLISH, inp.actor, details={"reason": inp.comment})
        return self._result()

    unpublish.validator(_validate_educator)

    @workflow.query
    def case(self) -> TeachingCase:
        return self._case

    # ---- internals ------------------------------------------------------------------------------
    async def _apply_locked(
        self,
        action: TeachingAction,
        actor: Actor,
        *,
        details: dict[str, Any] | None = None,
        curation: rules.Curation | None = None,
        notify: list[_Note] | None = None,
    ) -> None:
        with refusing():
            case, event = rules.transition(self._case, action, actor, workflow.now(), curation=curation)
        self._case = case
        await self._record(event, details or {}, curation_version=curation is not None, notes=notify)

    async def _record(
        self,
        event: rules.TeachingEvent,
        details: dict[str, Any],
        *,
        curation_version: bool = False,
        notes: list[_Note] | None = None,
    ) -> None:
        f = self._facts
        notifications = [
            NotifyInput(f"{f.case_id}/{event.seq}/{kind}", f.referral_id, kind, audience, event.at, params)
            for kind, audience, params in notes or []
            if audience.user_ids or audience.role is not None
        ]  # fmt: skip
        snapshot = TeachingSnapshot(f, self._case.state, self._case.curator_id, self._case.curation, self._case.version)
        step = RecordTeachingStepInput(event, snapshot, details, curation_version, notifications)
        await record_step(TeachingActivity.RECORD_STEP, step)

    def _note(self, kind: NoticeKind, audience: Audience) -> _Note:
        """A notice about this case (its key comes from the step that sends it)."""
        f = self._facts
        facts = {
            "case_id": f.case_id,
            "modality": f.modality,
            "body_part": f.body_part,
            "title": self._case.curation.title,
        }
        return kind, audience, notice_params(kind, **{k: v for k, v in facts.items() if k in NOTICE_PARAMS[kind]})

    def _result(self, leaks: list[LeakFinding] | None = None) -> TeachingResult:
        c = self._case
        return TeachingResult(c.case_id, c.state, c.seq, c.version, leaks or [])
