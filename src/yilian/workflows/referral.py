"""ReferralWorkflow: one durable workflow per referral, from submission to the closed case.

The workflow is the referral's single writer. People act through Updates whose validators call the
domain's `check()`; machine steps (routing, SLA timers, critical-result follow-up) run inside the
workflow. Every change goes through `_apply()`, which records the audit event, the worklist projection,
any report version, share link and notifications in one activity (one transaction) before the Update
returns, so the API reads its own writes and a step is never half-recorded.

Versioning: referrals live for days or weeks, so a change to this file's control flow must keep old
histories replayable. Guard new behaviour with `if workflow.patched("<change-id>"):`, keep the old branch
until no open referral started before the change, then `workflow.deprecate_patch("<change-id>")`.
tests/workflows/test_replay.py replays saved histories to catch a non-deterministic edit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from yilian.domain import referral as rules
    from yilian.domain.agreement import needs_second_reading
    from yilian.domain.consult_io import ConsultOnReferralInput
    from yilian.domain.notice import NOTICE_PARAMS, NoticeKind, notice_params
    from yilian.domain.quality import grade_of, retake_reasons
    from yilian.domain.referral import Action, ReferralCase, ReferralState
    from yilian.domain.referral_io import (
        ActionResult,
        ActivityName,
        ActorInput,
        Audience,
        CaseFacts,
        CaseProgress,
        FindCandidatesInput,
        FindCandidatesResult,
        IndexReportInput,
        IndexReportResult,
        NotifyInput,
        PacsReportInput,
        PacsReportResult,
        PersonInput,
        ProjectionSnapshot,
        QualityInput,
        QualityRecordInput,
        ReassignInput,
        RecordedRow,
        RecordStepInput,
        RecordStepResult,
        ReferralInput,
        ReferralPolicy,
        ReportInput,
        ReportVersionInput,
        RetakeInput,
        ReviewInput,
        ShareLinkInput,
        StudyArrivedInput,
    )
    from yilian.domain.report import ReportContent, ReportKind
    from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role
    from yilian.domain.sla import WARN_FRACTION, SlaClock
    from yilian.workflows.action_table import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, ActionTableWorkflow, refusing

S = ReferralState
# A case submitted before its images waits; the archive signals their arrival, and this timer re-checks in
# case a signal was lost (sent between the check and the wait).
IMAGES_RECHECK = timedelta(minutes=10)
PATCH_AWAIT_IMAGES = "await-images-before-routing"
PATCH_CONSULT_STEPS = "consult-steps-on-the-timeline"
# With no reader available the coordinator is told once; routing is retried in case someone comes on duty.
ROUTING_RETRY = timedelta(minutes=30)
# Signed reports (final, addenda) are indexed for search; histories from before this change replay without it.
PATCH_INDEX_REPORTS = "index-signed-reports"
# Signed reports (final, addenda) also go to the sending hospital's PACS through its gateway (docs/gateway.md): the
# activity renders the PDF in Chromium, hence its own timeout; it gives up after about an hour of failures (logged)
# rather than hold the case open forever.
PATCH_REPORT_TO_PACS = "report-to-county-pacs"
PACS_ACTIVITY_TIMEOUT = timedelta(minutes=2)
PACS_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=30), maximum_attempts=120, non_retryable_error_types=["YilianError"]
)


@dataclass(frozen=True)
class _Note:
    """A notice to send with a step (a kind and its parameters; the words are notify's and the web app's); its
    idempotency key comes from the step's sequence number."""

    kind: NoticeKind
    audience: Audience
    params: dict[str, str]


@workflow.defn
class ReferralWorkflow(ActionTableWorkflow[Action, PersonInput]):
    @workflow.init
    def __init__(self, inp: ReferralInput) -> None:
        self._facts: CaseFacts = inp.facts
        self._policy: ReferralPolicy = inp.policy
        progress = inp.progress or CaseProgress(
            case=ReferralCase(
                referral_id=inp.facts.referral_id,
                requesting_hospital_id=inp.facts.requesting_hospital_id,
                reading_hospital_id=inp.facts.reading_hospital_id,
            ),
            clock=SlaClock(target=inp.policy.sla.target(inp.facts.priority), started_at=workflow.now()),
        )
        self._p: CaseProgress = progress
        self._recorded = inp.progress is not None
        self._lock = asyncio.Lock()
        self._clock_version = 0  # bumped on pause/resume so the SLA watcher re-reads its deadline
        self._timeline: list[dict[str, Any]] = []
        self._written: RecordedRow | None = None  # the projection row the last recorded step wrote
        self._critical_task: asyncio.Task[None] | None = None
        self._images_signalled = False
        # Indexing runs beside the case (the node may be down for a while) and is awaited before the run ends.
        self._indexing: list[workflow.ActivityHandle[IndexReportResult]] = []
        self._to_pacs: list[workflow.ActivityHandle[PacsReportResult]] = []

    # ---- the main line ------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: ReferralInput) -> ReferralInput:
        if not self._recorded:
            await self._record_submission()
        sla_task = asyncio.create_task(self._watch_sla())
        if self._p.critical_open:
            self._start_critical_follow_up()
        while True:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._indexed()
                sla_task.cancel()
                workflow.continue_as_new(ReferralInput(self._facts, self._policy, self._p))
            state = self._p.case.state
            if state is S.SUBMITTED and self._must_check_images():
                await self._check_images()
            elif state is S.SUBMITTED:
                await self._route()
            elif state is S.AWAITING_IMAGES:
                await self._await_images()
            elif state is S.OFFERED:
                await self._await_offer()
            elif state is S.PRELIMINARY and self._p.needs_second_reading is False:
                await self._finalize_without_second_reading()
            elif state is S.FINAL:
                await self._return_to_county()
            elif state is S.CLOSED:
                if await self._amendment_window_passed():
                    break
            elif state is S.CANCELLED:
                break
            else:
                seq = self._p.case.seq
                await workflow.wait_condition(lambda: self._p.case.seq != seq)
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._p.critical_open)
        await self._indexed()
        sla_task.cancel()
        # The result carries the whole case so an addendum after the window can restart from it.
        return ReferralInput(self._facts, self._policy, self._p)

    async def _record_submission(self) -> None:
        async with self._lock:
            case = replace(self._p.case, seq=1)
            self._p = replace(self._p, case=case)
            # An auto-referral is the archive's doing: the system submits it, on behalf of the sender it names.
            auto = self._facts.auto
            actor = SYSTEM_ACTOR if auto else self._facts.submitted_by
            event = rules.AuditEvent(case.referral_id, 1, Action.SUBMIT, None, S.SUBMITTED, actor, workflow.now())
            details: dict[str, Any] = {
                "clinical_question": self._facts.clinical_question,
                "overflow": self._facts.overflow,
            }
            notes: list[_Note] = []
            if auto:
                details |= {"auto": True, "on_behalf_of": self._facts.submitted_by.user_id}
                notes.append(self._note(NoticeKind.AUTO_REFERRED, self._sender()))
            await self._record(event, details, notes=notes)
            self._recorded = True

    # ---- images ------------------------------------------------------------------------------
    def _must_check_images(self) -> bool:
        # Only right after submission (seq 1), so cases that began before the archive existed route as before.
        if self._p.images_checked or self._p.case.seq != 1:
            return False
        return workflow.patched(PATCH_AWAIT_IMAGES)

    async def _study_arrived(self) -> bool:
        arrived: bool = await workflow.execute_activity(
            ActivityName.STUDY_ARRIVED,
            StudyArrivedInput(self._facts.study_instance_uid, self._facts.requesting_hospital_id),
            result_type=bool,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return arrived

    async def _check_images(self) -> None:
        if await self._study_arrived():
            self._p = replace(self._p, images_checked=True)
            return
        # The reading SLA cannot run before there is anything to read.
        self._set_clock(self._p.clock.pause(workflow.now()))
        wait = self._note(NoticeKind.AWAITING_IMAGES, self._sender())
        await self._apply(
            Action.AWAIT_IMAGES, SYSTEM_ACTOR, details={"study_instance_uid": self._facts.study_instance_uid},
            notify=[wait],
        )  # fmt: skip

    async def _await_images(self) -> None:
        try:
            await workflow.wait_condition(
                lambda: self._images_signalled or self._p.case.state is not S.AWAITING_IMAGES, timeout=IMAGES_RECHECK
            )
        except TimeoutError:
            pass
        self._images_signalled = False
        if self._p.case.state is not S.AWAITING_IMAGES or not await self._study_arrived():
            return
        async with self._lock:
            if self._p.case.state is not S.AWAITING_IMAGES:
                return
            self._set_clock(self._p.clock.resume(workflow.now()))
            self._p = replace(self._p, images_checked=True)
            await self._apply_locked(
                Action.IMAGES_ARRIVED, SYSTEM_ACTOR, details={"study_instance_uid": self._facts.study_instance_uid}
            )

    @workflow.signal
    def images_arrived(self) -> None:
        """The archive stored images of this case's study (api/workflow_client.studies_received)."""
        self._images_signalled = True

    async def _route(self) -> None:
        found = await workflow.execute_activity(
            ActivityName.FIND_CANDIDATES,
            FindCandidatesInput(
                referral_id=self._facts.referral_id,
                reading_hospital_id=self._facts.reading_hospital_id,
                requesting_hospital_id=self._facts.requesting_hospital_id,
                modality=self._facts.modality,
                body_part=self._facts.body_part,
                patient_ref=self._facts.patient_ref,
                exclude=list(self._p.excluded_readers),
            ),
            result_type=FindCandidatesResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if self._p.case.state is not S.SUBMITTED:
            return  # a coordinator acted while we were looking
        if found.ranked:
            best = found.ranked[0]
            if best.is_junior:
                self._mark_junior(best.user_id)
            await self._apply(
                Action.OFFER,
                SYSTEM_ACTOR,
                target=best.user_id,
                details={
                    "candidates": [c.user_id for c in found.ranked[:5]],
                    "same_patient_reader": best.read_patient_before,
                },
                notify=[self._note(NoticeKind.OFFER, Audience(user_ids=[best.user_id]))],
            )
            return
        if not self._p.escalated:
            self._p = replace(self._p, escalated=True)
            await self._apply(
                Action.ESCALATE,
                SYSTEM_ACTOR,
                details={"candidates": []},  # nobody eligible (the words are the timeline's)
                notify=[
                    self._note(
                        NoticeKind.ESCALATION,
                        Audience(role=Role.COORDINATOR, hospital_id=self._facts.reading_hospital_id),
                    )
                ],
            )
        seq = self._p.case.seq
        try:
            await workflow.wait_condition(lambda: self._p.case.seq != seq, timeout=ROUTING_RETRY)
        except TimeoutError:
            pass

    async def _await_offer(self) -> None:
        seq, offered_to = self._p.case.seq, self._p.case.offered_to
        timeout = timedelta(minutes=self._policy.offer_timeout_minutes)
        try:
            await workflow.wait_condition(lambda: self._p.case.seq != seq, timeout=timeout)
        except TimeoutError:
            async with self._lock:
                if self._p.case.seq == seq and offered_to:
                    self._exclude(offered_to)
                    await self._apply_locked(Action.OFFER_EXPIRE, SYSTEM_ACTOR, details={"expert": offered_to})

    async def _finalize_without_second_reading(self) -> None:
        async with self._lock:
            if self._p.case.state is not S.PRELIMINARY:
                return
            reader = self._p.case.reader_id or ""
            final = self._final_version(Actor(reader, Role.EXPERT, self._facts.reading_hospital_id))
            await self._apply_locked(Action.FINALIZE, SYSTEM_ACTOR, details={"signer": reader}, report=final)

    async def _return_to_county(self) -> None:
        now = workflow.now()
        link = ShareLinkInput(
            referral_id=self._facts.referral_id,
            patient_ref=self._facts.patient_ref,
            created_at=now,
            expires_at=now + timedelta(days=self._policy.share_link_days),
        )
        ready = self._note(NoticeKind.REPORT_READY, self._sender())
        await self._apply(Action.RETURN, SYSTEM_ACTOR, share_link=link, notify=[ready])

    async def _amendment_window_passed(self) -> bool:
        seq = self._p.case.seq
        try:
            await workflow.wait_condition(
                lambda: self._p.case.seq != seq,
                timeout=timedelta(days=self._policy.amendment_window_days),
            )
            return False
        except TimeoutError:
            return not self._p.critical_open

    # ---- SLA ----------------------------------------------------------------------------------
    def _open(self) -> bool:
        return self._p.case.state in rules.OPEN_STATES

    async def _watch_sla(self) -> None:
        grace = timedelta(minutes=self._policy.grace_minutes)
        while self._open():
            clock = self._p.clock
            if clock.paused_since is not None:
                version = self._clock_version
                await workflow.wait_condition(lambda: self._clock_version != version or not self._open())
                continue
            if not self._p.warned:
                fraction, extra, milestone = WARN_FRACTION, timedelta(0), "warn"
            elif not self._p.breached:
                fraction, extra, milestone = 1.0, timedelta(0), "breach"
            elif self._policy.auto_reassign and self._p.auto_reassigns < self._policy.max_auto_reassigns:
                fraction, extra, milestone = 1.0, grace * (self._p.auto_reassigns + 1), "reassign"
            else:
                await workflow.wait_condition(lambda: not self._open())
                return
            remaining = clock.remaining_until(fraction, workflow.now(), extra)
            if remaining > timedelta(0):
                version = self._clock_version
                try:
                    await workflow.wait_condition(
                        lambda: self._clock_version != version or not self._open(), timeout=remaining
                    )
                    continue  # paused, resumed or finished: recompute
                except TimeoutError:
                    pass
            async with self._lock:
                if not self._open():
                    return
                await self._fire_sla(milestone)

    async def _fire_sla(self, milestone: str) -> None:
        f = self._facts
        if milestone == "warn":
            self._p = replace(self._p, warned=True)
            holder = self._p.case.reader_id or self._p.case.offered_to
            audience = (
                Audience(user_ids=[holder])
                if holder
                else Audience(role=Role.SENIOR, hospital_id=f.reading_hospital_id)
                if self._p.case.state is S.PRELIMINARY
                else Audience(role=Role.COORDINATOR, hospital_id=f.reading_hospital_id)
            )
            warning = self._note(NoticeKind.SLA_WARNING, audience)
            await self._apply_locked(Action.SLA_WARN, SYSTEM_ACTOR, notify=[warning])
        elif milestone == "breach":
            self._p = replace(self._p, breached=True)
            breach = self._note(
                NoticeKind.SLA_BREACH, Audience(role=Role.COORDINATOR, hospital_id=f.reading_hospital_id)
            )
            await self._apply_locked(Action.SLA_BREACH, SYSTEM_ACTOR, notify=[breach])
        else:
            self._p = replace(self._p, auto_reassigns=self._p.auto_reassigns + 1)
            if self._p.case.state not in rules.READER_STATES:
                return  # with the second reader or the county: nothing to reassign
            previous = self._p.case.reader_id or self._p.case.offered_to
            if previous:
                self._exclude(previous)
            told = self._note(NoticeKind.REASSIGNED, Audience(user_ids=[previous] if previous else []))
            await self._apply_locked(Action.SLA_REASSIGN, SYSTEM_ACTOR, details={"previous": previous}, notify=[told])

    # ---- critical findings --------------------------------------------------------------------
    def _start_critical_follow_up(self) -> None:
        if self._critical_task is None:
            self._critical_task = asyncio.create_task(self._follow_up_critical())

    async def _follow_up_critical(self) -> None:
        f = self._facts
        referring = Audience(
            user_ids=[f.submitted_by.user_id], role=Role.COUNTY_DOCTOR, hospital_id=f.requesting_hospital_id
        )
        note = self._p.report.critical_note if self._p.report else ""
        attempt = 0
        while self._p.critical_open:
            if attempt <= self._policy.critical_renotify_max:
                async with self._lock:
                    if self._p.critical_notified_at is None:
                        self._p = replace(self._p, critical_notified_at=workflow.now())
                    # Who was told, when and how: the activity records recipients and channels in the event.
                    told = self._note(NoticeKind.CRITICAL_FINDING, referring, note=note)
                    await self._apply_locked(
                        Action.NOTIFY_CRITICAL, SYSTEM_ACTOR, details={"attempt": attempt}, notify=[told]
                    )
            elif attempt == self._policy.critical_renotify_max + 1:
                async with self._lock:
                    audience = Audience(role=Role.COORDINATOR, hospital_id=f.reading_hospital_id)
                    told = self._note(NoticeKind.CRITICAL_ESCALATION, audience, note=note)
                    await self._apply_locked(Action.ESCALATE_CRITICAL, SYSTEM_ACTOR, notify=[told])
            else:
                await workflow.wait_condition(lambda: not self._p.critical_open)
                return
            attempt += 1
            try:
                await workflow.wait_condition(
                    lambda: not self._p.critical_open,
                    timeout=timedelta(minutes=self._policy.critical_ack_minutes),
                )
            except TimeoutError:
                pass

    # ---- Updates: what people do --------------------------------------------------------------
    # Every person's Update is validated by `_validate_update` (workflows/action_table.py): the domain's rule for the
    # action the Update is named after. Temporal wants a validator's parameters to equal its handler's, so there is
    # one thin validator per argument type, registered under each handler. A handler re-checks under the lock
    # (`_acting`), then does the effect.
    def _check(self, action: Action, inp: PersonInput) -> None:
        holding = rules.conditions(critical_open=self._p.critical_open)
        rules.validate(self._p.case, action, inp.actor, inp.given(), holding=holding)

    def _action_of(self, update: str, inp: PersonInput) -> Action:
        return rules.person_action(update, inp.given())

    def _validate_actor_input(self, inp: ActorInput) -> None:
        self._validate_update(inp)

    def _validate_report_input(self, inp: ReportInput) -> None:
        self._validate_update(inp)

    def _validate_review_input(self, inp: ReviewInput) -> None:
        self._validate_update(inp)

    def _validate_reassign_input(self, inp: ReassignInput) -> None:
        self._validate_update(inp)

    def _validate_retake_input(self, inp: RetakeInput) -> None:
        self._validate_update(inp)
        with refusing():
            retake_reasons(inp.reasons)

    def _validate_quality_input(self, inp: QualityInput) -> None:
        self._validate_update(inp)
        with refusing():
            grade_of(self._facts.modality, inp.grade, inp.reasons)

    @workflow.update
    async def submitted(self) -> ActionResult:
        """Used with update-with-start: returns once the submission is recorded."""
        await workflow.wait_condition(lambda: self._recorded)
        return self._result()

    @workflow.update
    async def accept(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.ACCEPT, inp):
            await self._apply_locked(Action.ACCEPT, inp.actor, details={"comment": inp.comment})
        return self._result()

    accept.validator(_validate_actor_input)

    @workflow.update
    async def decline(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.DECLINE, inp):
            self._exclude(inp.actor.user_id)
            await self._apply_locked(Action.DECLINE, inp.actor, details={"reason": inp.comment})
        return self._result()

    decline.validator(_validate_actor_input)

    @workflow.update
    async def save_draft(self, inp: ReportInput) -> ActionResult:
        async with self._acting(Action.SAVE_DRAFT, inp):
            draft = self._version(ReportKind.DRAFT, inp.actor, inp.content)
            self._p = replace(self._p, report=inp.content)
            await self._apply_locked(Action.SAVE_DRAFT, inp.actor, details={"version": draft.version}, report=draft)
        return self._result()

    save_draft.validator(_validate_report_input)

    @workflow.update
    async def submit_preliminary(self, inp: ReportInput) -> ActionResult:
        async with self._acting(Action.SUBMIT_PRELIMINARY, inp):
            prelim = self._version(ReportKind.PRELIMINARY, inp.actor, inp.content)
            second = needs_second_reading(
                self._policy.second_reading,
                self._policy.second_reading_share,
                difficult=self._facts.difficult,
                reader_is_junior=inp.actor.user_id in self._p.junior_readers,
                random_draw=workflow.random().random(),
            )
            critical_now = inp.content.critical and not self._p.critical_open
            self._p = replace(
                self._p,
                report=inp.content,
                needs_second_reading=second,
                preliminary_at=workflow.now(),
                critical_open=self._p.critical_open or inp.content.critical,
            )
            review = self._note(
                NoticeKind.SECOND_READING, Audience(role=Role.SENIOR, hospital_id=self._facts.reading_hospital_id)
            )
            await self._apply_locked(
                Action.SUBMIT_PRELIMINARY,
                inp.actor,
                details={"version": prelim.version, "second_reading": second, "critical": inp.content.critical},
                report=prelim,
                notify=[review] if second else [],
            )
        if critical_now:
            self._start_critical_follow_up()
        return self._result()

    submit_preliminary.validator(_validate_report_input)

    @workflow.update
    async def approve(self, inp: ReviewInput) -> ActionResult:
        async with self._acting(Action.APPROVE, inp):
            self._p = replace(self._p, discrepancy=inp.discrepancy)
            final = self._final_version(inp.actor)
            await self._apply_locked(
                Action.APPROVE,
                inp.actor,
                details={"discrepancy": inp.discrepancy, "comments": inp.comments},
                report=final,
            )
        return self._result()

    approve.validator(_validate_review_input)

    @workflow.update
    async def request_changes(self, inp: ReviewInput) -> ActionResult:
        async with self._acting(Action.REQUEST_CHANGES, inp):
            self._p = replace(self._p, discrepancy=inp.discrepancy)
            reader = self._p.case.reader_id
            back = self._note(
                NoticeKind.CHANGES_REQUESTED, Audience(user_ids=[reader] if reader else []), comments=inp.comments
            )
            await self._apply_locked(
                Action.REQUEST_CHANGES,
                inp.actor,
                details={"discrepancy": inp.discrepancy, "comments": inp.comments},
                notify=[back],
            )
        return self._result()

    request_changes.validator(_validate_review_input)

    @workflow.update
    async def request_info(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.REQUEST_INFO, inp):
            if self._policy.pause_sla_in_needs_info:
                self._set_clock(self._p.clock.pause(workflow.now()))
            self._p = replace(self._p, info_request=inp.comment)
            ask = self._note(NoticeKind.NEEDS_INFO, self._sender(), request=inp.comment)
            await self._apply_locked(Action.REQUEST_INFO, inp.actor, details={"request": inp.comment}, notify=[ask])
        return self._result()

    request_info.validator(_validate_actor_input)

    @workflow.update
    async def request_retake(self, inp: RetakeInput) -> ActionResult:
        """Send the study back to be shot again (影像质控): like a request for information, the SLA pauses until the
        county answers; the new images join the same study, so the referral reads them where it is."""
        async with self._acting(Action.REQUEST_RETAKE, inp):
            if self._policy.pause_sla_in_needs_info:
                self._set_clock(self._p.clock.pause(workflow.now()))
            reasons = [str(r) for r in retake_reasons(inp.reasons)]
            self._p = replace(self._p, info_request=inp.comment)
            ask = self._note(
                NoticeKind.RETAKE_REQUESTED, self._sender(), reasons=",".join(reasons), request=inp.comment
            )
            await self._apply_locked(
                Action.REQUEST_RETAKE, inp.actor, details={"reasons": reasons, "request": inp.comment}, notify=[ask]
            )
        return self._result()

    request_retake.validator(_validate_retake_input)

    @workflow.update
    async def provide_info(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.PROVIDE_INFO, inp):
            self._set_clock(self._p.clock.resume(workflow.now()))
            self._p = replace(self._p, info_request="")
            reader = self._p.case.reader_id
            answer = self._note(
                NoticeKind.INFO_PROVIDED, Audience(user_ids=[reader] if reader else []), answer=inp.comment
            )
            await self._apply_locked(Action.PROVIDE_INFO, inp.actor, details={"answer": inp.comment}, notify=[answer])
        return self._result()

    provide_info.validator(_validate_actor_input)

    @workflow.update
    async def cancel(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.CANCEL, inp):
            await self._apply_locked(Action.CANCEL, inp.actor, details={"reason": inp.comment})
        return self._result()

    cancel.validator(_validate_actor_input)

    @workflow.update
    async def reassign(self, inp: ReassignInput) -> ActionResult:
        action = rules.person_action(Action.REASSIGN, inp.given())
        async with self._acting(action, inp):
            previous = self._p.case.reader_id or self._p.case.offered_to
            if previous and previous != inp.expert_id:
                self._exclude(previous)
            if self._p.case.state is S.NEEDS_INFO:
                self._set_clock(self._p.clock.resume(workflow.now()))
            if inp.expert_id and inp.expert_is_junior:
                self._mark_junior(inp.expert_id)
            assigned = self._note(NoticeKind.ASSIGNED, Audience(user_ids=[inp.expert_id] if inp.expert_id else []))
            await self._apply_locked(
                action,
                inp.actor,
                target=inp.expert_id,
                details={"previous": previous, "reason": inp.reason},
                notify=[assigned] if inp.expert_id else [],
            )
        return self._result()

    reassign.validator(_validate_reassign_input)

    @workflow.update
    async def acknowledge_receipt(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.ACKNOWLEDGE_RECEIPT, inp):
            self._p = replace(self._p, closed_at=workflow.now())
            await self._apply_locked(Action.ACKNOWLEDGE_RECEIPT, inp.actor, details={"comment": inp.comment})
        return self._result()

    acknowledge_receipt.validator(_validate_actor_input)

    @workflow.update
    async def acknowledge_critical(self, inp: ActorInput) -> ActionResult:
        async with self._acting(Action.ACKNOWLEDGE_CRITICAL, inp):
            self._p = replace(self._p, critical_open=False)
            await self._apply_locked(Action.ACKNOWLEDGE_CRITICAL, inp.actor, details={"comment": inp.comment})
        return self._result()

    acknowledge_critical.validator(_validate_actor_input)

    @workflow.update
    async def grade_quality(self, inp: QualityInput) -> ActionResult:
        """The reader grades the images' technical quality (影像质控) while reading; a later grade replaces it."""
        async with self._acting(Action.GRADE_QUALITY, inp):
            f = self._facts
            q = grade_of(f.modality, inp.grade, inp.reasons)
            reasons = [str(r) for r in q.reasons]
            record = QualityRecordInput(
                f.referral_id, f.requesting_hospital_id, f.study_instance_uid, f.modality, str(q.scale), q.grade,
                q.good, reasons, inp.actor.user_id, workflow.now(),
            )  # fmt: skip
            details = {"scale": str(q.scale), "grade": q.grade, "good": q.good, "reasons": reasons}
            await self._apply_locked(Action.GRADE_QUALITY, inp.actor, details=details, quality=record)
        return self._result()

    grade_quality.validator(_validate_quality_input)

    @workflow.update
    async def correct_question(self, inp: ActorInput) -> ActionResult:
        """The county adds to or corrects the clinical question (an auto-referral's comes from the order) before
        anyone reads the case."""
        async with self._acting(Action.CORRECT_QUESTION, inp):
            previous = self._facts.clinical_question
            self._facts = replace(self._facts, clinical_question=inp.comment)
            await self._apply_locked(
                Action.CORRECT_QUESTION, inp.actor, details={"previous": previous, "question": inp.comment}
            )
        return self._result()

    correct_question.validator(_validate_actor_input)

    @workflow.update
    async def add_addendum(self, inp: ReportInput) -> ActionResult:
        async with self._acting(Action.ADD_ADDENDUM, inp):
            addendum = self._version(ReportKind.ADDENDUM, inp.actor, inp.content)
            told = self._note(NoticeKind.ADDENDUM, self._sender())
            await self._apply_locked(
                Action.ADD_ADDENDUM, inp.actor, details={"version": addendum.version}, report=addendum, notify=[told]
            )
        return self._result()

    add_addendum.validator(_validate_report_input)

    # ---- MDT consults ---------------------------------------------------------------------------
    @workflow.update
    async def record_consult(self, inp: ConsultOnReferralInput) -> ActionResult:
        """A consult's step (requested, scheduled, cancelled, concluded) on this case's timeline and audit trail.

        Sent by the consult workflow's activity, which retries: a step already recorded is not recorded again.
        A new Update handler changes nothing in histories that never received it, so no patch is needed for them;
        the patch marks the histories that did, should this handler's commands ever change.
        """
        key = f"{inp.consult_id}/{inp.consult_seq}"
        async with self._lock:
            if key in self._p.consult_steps or not workflow.patched(PATCH_CONSULT_STEPS):
                return self._result()
            self._p = replace(self._p, consult_steps=[*self._p.consult_steps, key])
            details = {"consult_id": inp.consult_id, "by": inp.actor.user_id, "by_name": inp.actor.name, **inp.details}
            await self._apply_locked(rules.consult_step(inp.action), SYSTEM_ACTOR, details=details)
        return self._result()

    @record_consult.validator
    def _validate_consult_step(self, inp: ConsultOnReferralInput) -> None:
        with refusing():
            rules.consult_step(inp.action)

    # ---- queries ------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> ProjectionSnapshot:
        return self._snapshot()

    @workflow.query
    def timeline(self) -> list[dict[str, Any]]:
        """Events of this run (the full history is in the audit log)."""
        return list(self._timeline)

    # ---- internals ----------------------------------------------------------------------------
    async def _apply(self, action: Action, actor: Actor, **step: Any) -> RecordStepResult:
        async with self._lock:
            return await self._apply_locked(action, actor, **step)

    async def _apply_locked(
        self,
        action: Action,
        actor: Actor,
        *,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        report: ReportVersionInput | None = None,
        share_link: ShareLinkInput | None = None,
        notify: list[_Note] | None = None,
        quality: QualityRecordInput | None = None,
    ) -> RecordStepResult:
        with refusing():
            case, event = rules.transition(self._p.case, action, actor, workflow.now(), target=target)
        self._p = replace(self._p, case=case)
        if report is not None and report.kind is ReportKind.FINAL:
            self._p = replace(self._p, final_at=event.at, signer_id=report.author.user_id)
        recorded = await self._record(
            event, details or {}, report=report, share_link=share_link, notes=notify or [], quality=quality
        )
        if report is not None and report.kind in (ReportKind.FINAL, ReportKind.ADDENDUM):
            self._index_report(report.version)
            self._report_to_pacs(report.version)
        return recorded

    def _index_report(self, version: int) -> None:
        """Put the signed report into the search index, without holding up the step (or the person) while the
        search node is down: the activity retries until it succeeds."""
        if not workflow.patched(PATCH_INDEX_REPORTS):
            return
        self._indexing.append(
            workflow.start_activity(
                ActivityName.INDEX_REPORT,
                IndexReportInput(self._facts.referral_id, version),
                result_type=IndexReportResult,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        )

    def _report_to_pacs(self, version: int) -> None:
        """Make the signed version into DICOM for the sending hospital's PACS, beside the case as indexing is; the
        gateway's durable queue does the rest."""
        if not workflow.patched(PATCH_REPORT_TO_PACS):
            return
        self._to_pacs.append(
            workflow.start_activity(
                ActivityName.QUEUE_REPORT_FOR_PACS,
                PacsReportInput(self._facts.referral_id, version),
                result_type=PacsReportResult,
                start_to_close_timeout=PACS_ACTIVITY_TIMEOUT,
                retry_policy=PACS_RETRY,
            )
        )

    async def _indexed(self) -> None:
        """Wait for the indexing and PACS steps started in this run (a continued run would lose them)."""
        pending, self._indexing = self._indexing, []
        for handle in pending:
            try:
                await handle
            except ActivityError as err:  # only a non-retryable failure gets here; the reindex repairs the index
                workflow.logger.warning("indexing %s failed: %s", self._facts.referral_id, err)
        to_pacs, self._to_pacs = self._to_pacs, []
        for sent in to_pacs:
            try:
                await sent
            except ActivityError as err:
                workflow.logger.warning("pacs_report %s failed: %s", self._facts.referral_id, err)

    async def _record(
        self,
        event: rules.AuditEvent,
        details: dict[str, Any],
        *,
        report: ReportVersionInput | None = None,
        share_link: ShareLinkInput | None = None,
        notes: list[_Note] | None = None,
        quality: QualityRecordInput | None = None,
    ) -> RecordStepResult:
        self._timeline.append(
            {
                "seq": event.seq,
                "action": event.action,
                "from": event.from_state,
                "to": event.to_state,
                "by": event.actor.user_id,
                "role": event.actor.role,
                "at": event.at.isoformat(),
            }
        )
        rid = self._facts.referral_id
        notifications = [
            NotifyInput(f"{rid}/{event.seq}/{n.kind}", rid, n.kind, n.audience, event.at, n.params)
            for n in notes or []
            if n.audience.user_ids or n.audience.role is not None
        ]
        snapshot = self._snapshot()
        result: RecordStepResult = await workflow.execute_activity(
            ActivityName.RECORD_STEP,
            RecordStepInput(
                event=event,
                snapshot=snapshot,
                details=details,
                report=report,
                share_link=share_link,
                notifications=notifications,
                quality=quality,
            ),
            result_type=RecordStepResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if result.submitted_at is not None:
            self._written = RecordedRow(snapshot, event.seq, event.at, result.submitted_at)
        return result

    def _note(self, kind: NoticeKind, audience: Audience, **written: str) -> _Note:
        """A notice about this case: the case facts its kind carries, plus what a person wrote (a comment, a note)."""
        f = self._facts
        facts = {
            "referral_id": f.referral_id,
            "study_instance_uid": f.study_instance_uid,
            "priority": str(f.priority),
            "modality": f.modality,
            "body_part": f.body_part,
            "clinical_question": f.clinical_question,
        }
        carried = {k: v for k, v in facts.items() if k in NOTICE_PARAMS[kind]}
        return _Note(kind, audience, notice_params(kind, **carried, **written))

    def _sender(self) -> Audience:
        """Who hears what concerns the sender: the doctor who sent the case, and for an auto-referral (which nobody
        sent by hand) every doctor of the sending hospital."""
        f = self._facts
        if f.auto:
            return Audience(
                user_ids=[f.submitted_by.user_id], role=Role.COUNTY_DOCTOR, hospital_id=f.requesting_hospital_id
            )
        return Audience(user_ids=[f.submitted_by.user_id])

    def _version(self, kind: ReportKind, author: Actor, content: ReportContent) -> ReportVersionInput:
        """The next report version; recorded with the step that makes it, never overwritten."""
        version = self._p.report_version + 1
        self._p = replace(self._p, report_version=version)
        return ReportVersionInput(self._facts.referral_id, version, kind, author, content, workflow.now())

    def _final_version(self, signer: Actor) -> ReportVersionInput:
        """The final report: a new, immutable version signed by name and time."""
        content = self._p.report or ReportContent(findings="", impression="")
        return self._version(ReportKind.FINAL, signer, content)

    def _mark_junior(self, user_id: str) -> None:
        if user_id not in self._p.junior_readers:
            self._p = replace(self._p, junior_readers=[*self._p.junior_readers, user_id])

    def _exclude(self, user_id: str) -> None:
        if user_id not in self._p.excluded_readers:
            self._p = replace(self._p, excluded_readers=[*self._p.excluded_readers, user_id])

    def _set_clock(self, clock: SlaClock) -> None:
        self._p = replace(self._p, clock=clock)
        self._clock_version += 1

    def _result(self) -> ActionResult:
        """The case after an Update, with the row its step wrote (when that is still the latest step)."""
        written = self._written if self._written is not None and self._written.seq == self._p.case.seq else None
        return ActionResult(self._facts.referral_id, self._p.case.state, self._p.case.seq, written)

    def _snapshot(self) -> ProjectionSnapshot:
        p, clock = self._p, self._p.clock
        return ProjectionSnapshot(
            facts=self._facts,
            agreement_id=self._policy.agreement_id,
            state=p.case.state,
            offered_to=p.case.offered_to,
            reader_id=p.case.reader_id,
            second_reader_id=p.case.second_reader_id,
            sla_target_minutes=int(clock.target.total_seconds() // 60),
            sla_due_at=clock.due_at(1.0),
            sla_warn_at=clock.due_at(WARN_FRACTION),
            sla_paused=clock.paused_since is not None,
            warned=p.warned,
            breached=p.breached,
            escalated=p.escalated,
            critical_open=p.critical_open,
            critical=bool(p.report and p.report.critical),
            report_version=p.report_version,
            preliminary_at=p.preliminary_at,
            final_at=p.final_at,
            closed_at=p.closed_at,
            signer_id=p.signer_id,
            discrepancy=p.discrepancy,
        )
