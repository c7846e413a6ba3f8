"""The API's only door to referral workflows: start one, send an Update, map rejections to catalogue errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from yilian.config import Settings
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import in_house as in_house_queries
from yilian.db.queries import referral as referral_queries
from yilian.domain.auto_referral import (
    AUTO_REFERRAL_WORKFLOW,
    INSTANCES_STORED,
    AutoReferralInput,
    refers_automatically,
)
from yilian.domain.auto_referral import workflow_id as auto_workflow_id
from yilian.domain.consult import DEFAULT_AUTO_CLOSE_MINUTES, ConsultAction
from yilian.domain.consult_io import ConsultInput, ConsultPersonInput, ConsultResult
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import LectureAction
from yilian.domain.lecture_io import LECTURE_WORKFLOW, LectureInput, LecturePersonInput, LectureResult, Watched
from yilian.domain.quality_audit import QUALITY_AUDIT_WORKFLOW, AuditFacts, AuditResult, OutcomeInput
from yilian.domain.referral import Action, conditions, person_action, validate
from yilian.domain.referral_io import ActionResult, PersonInput, ReferralInput
from yilian.domain.teaching import TeachingAction
from yilian.domain.teaching_io import TEACHING_WORKFLOW, CurationInput, EducatorInput, TeachingInput, TeachingResult
from yilian.workflows.referral import ReferralWorkflow

log = logging.getLogger(__name__)

R = TypeVar("R")
InT = TypeVar("InT")
ActionT = TypeVar("ActionT", bound=str)  # a domain action (a StrEnum): the Update of the same name
ArgT = TypeVar("ArgT")


def _from_update_failure(exc: WorkflowUpdateFailedError) -> YilianError:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        payload = cause.details[0] if cause.details else {}
        code = payload.get("code") if isinstance(payload, dict) else None
        try:
            error_code = ErrorCode(code or cause.type or "")
        except ValueError:
            error_code = ErrorCode.INVALID_TRANSITION
        details = payload.get("details") if isinstance(payload, dict) else None
        return YilianError(error_code, cause.message, details)
    return YilianError(ErrorCode.INVALID_TRANSITION, str(cause or exc))


async def start_referral(
    client: Client, task_queue: str, inp: ReferralInput, *, existing_ok: bool = False
) -> ActionResult:
    """Start the workflow and return once the submission is recorded (update-with-start). `existing_ok`: the id
    came from the client's idempotency key, so a running workflow of that id is this same submission retried."""
    op = WithStartWorkflowOperation(
        ReferralWorkflow.run,
        inp,
        id=inp.facts.referral_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING if existing_ok else WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        return await client.execute_update_with_start_workflow(ReferralWorkflow.submitted, start_workflow_operation=op)
    except WorkflowUpdateFailedError as exc:
        raise _from_update_failure(exc) from exc
    except RPCError as exc:
        raise YilianError(
            ErrorCode.SERVICE_UNAVAILABLE, f"the workflow service refused the case: {exc.message}"
        ) from exc


async def send_update(
    client: Client,
    referral_id: str,
    update: str | Callable[..., Any],
    arg: PersonInput,
    *,
    reopen_on: str | None = None,
) -> ActionResult:
    """Send an Update. With `reopen_on` (the task queue), a referral whose workflow has finished (its
    amendment window passed) is restarted from its own final result so it can take an addendum."""
    update = update if isinstance(update, str) else update.__name__  # an Update is named after its method
    handle = client.get_workflow_handle(referral_id)
    try:
        result: ActionResult = await handle.execute_update(update, arg, result_type=ActionResult)
        return result
    except WorkflowUpdateFailedError as exc:
        raise _from_update_failure(exc) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND and reopen_on:
            return await _reopen(client, referral_id, reopen_on, update, arg)
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _finished(referral_id) from exc
        raise _unavailable(exc) from exc


def _unavailable(exc: RPCError) -> YilianError:
    return YilianError(ErrorCode.SERVICE_UNAVAILABLE, f"the workflow service did not answer: {exc.message}")


def _finished(referral_id: str) -> YilianError:
    """A referral with no workflow to act on: it finished, and its history is gone or never existed (the demo's
    ninety days are projection rows only). A 409 the caller can read, never a 500."""
    return YilianError(
        ErrorCode.INVALID_TRANSITION,
        "this referral is finished and takes no more actions",
        {"referral_id": referral_id},
    )


async def _reopen(client: Client, referral_id: str, task_queue: str, update: str, arg: PersonInput) -> ActionResult:
    """A finished referral's workflow returns its whole case; a new run starts from it (same id).

    The action's rule is checked here against the finished case by the same `validate` the workflow's
    validators use, before restarting, so a refused action does not leave a new run behind.
    """
    try:
        previous = await client.get_workflow_handle(referral_id, result_type=ReferralInput).result()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _finished(referral_id) from exc
        raise _unavailable(exc) from exc
    progress = previous.progress
    if progress is None:
        raise _finished(referral_id)
    given = arg.given()
    holding = conditions(critical_open=progress.critical_open)
    validate(progress.case, person_action(update, given), arg.actor, given, holding=holding)
    op = WithStartWorkflowOperation(
        ReferralWorkflow.run,
        previous,
        id=referral_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    try:
        result: ActionResult = await client.execute_update_with_start_workflow(
            update, arg, start_workflow_operation=op, result_type=ActionResult
        )
        return result
    except WorkflowUpdateFailedError as exc:
        raise _from_update_failure(exc) from exc


StudiesReceived = Callable[[str, set[str]], Awaitable[None]]


def studies_received(engine: AsyncEngine, client: Client, settings: Settings | None = None) -> StudiesReceived:
    """What the archive calls after storing a hospital's images: wake the referrals that wait for those studies,
    and (with `settings.auto_referral`) tell each study's auto-referral workflow, starting it if need be.

    A referral submitted before its images arrive waits in `awaiting_images`; this signal is its fast path
    (the workflow also re-checks the archive on a timer, so a lost signal only delays it).
    """

    async def notify(hospital_id: str, study_instance_uids: set[str]) -> None:
        if not study_instance_uids:
            return
        if settings is not None and settings.auto_referral:
            await refer_arrived(engine, client, settings, hospital_id, study_instance_uids)
        async with reading(engine) as conn:
            waiting = await referral_queries.awaiting_images(conn, study_instance_uids)
        for referral_id in waiting:
            try:
                await client.get_workflow_handle(referral_id).signal(ReferralWorkflow.images_arrived)
            except RPCError:
                log.warning("could not wake referral %s after its images arrived; its timer will", referral_id)

    return notify


async def refer_arrived(
    engine: AsyncEngine, client: Client, settings: Settings, hospital_id: str, study_instance_uids: set[str]
) -> None:
    """Signal-with-start each study's auto-referral workflow (one per hospital and study), when the hospital has a
    hosting agreement or reads in-house with auto_read. A study whose workflow already decided is refused by
    Temporal: never referred twice."""
    async with reading(engine) as conn:
        agreements = await alliance.agreements_for(conn, hospital_id)
        hosted = refers_automatically(agreements, await in_house_queries.policy_of(conn, hospital_id))
    if not hosted:
        return
    for uid in sorted(study_instance_uids):
        inp = AutoReferralInput(hospital_id, uid, settings.auto_referral_quiet_seconds, settings.share_link_days)
        try:
            await client.start_workflow(
                AUTO_REFERRAL_WORKFLOW,
                inp,
                id=auto_workflow_id(hospital_id, uid),
                task_queue=settings.task_queue,
                start_signal=INSTANCES_STORED,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # decided already: later images join the study the referral names
        except RPCError:
            log.warning("could not tell the auto-referral of study %s of %s", uid, hospital_id, exc_info=True)


@dataclass(frozen=True)
class ReferralCommands:
    """What a route may do to referral workflows: start one, or act on one by its domain `Action`.

    An action's Update is named after it (`Action.ACCEPT` is the `accept` Update), so routes need no
    reference to the workflow class.
    """

    client: Client
    task_queue: str

    async def start(self, inp: ReferralInput, *, existing_ok: bool = False) -> ActionResult:
        return await start_referral(self.client, self.task_queue, inp, existing_ok=existing_ok)

    async def act(self, referral_id: str, action: Action, arg: PersonInput, *, reopen: bool = False) -> ActionResult:
        reopen_on = self.task_queue if reopen else None
        return await send_update(self.client, referral_id, str(action), arg, reopen_on=reopen_on)


@dataclass(frozen=True)
class WorkflowKind(Generic[InT, R]):
    """A workflow the API starts by its type name and acts on by Updates, with no reference to its class."""

    name: str
    made_by: str  # the Update the start records: the step that made it
    workflow_id: Callable[[InT], str]
    result_type: type[R]
    over: str  # the refusal once it has finished and takes no more Updates
    id_key: str  # the name of its id in that refusal's details


@dataclass(frozen=True)
class WorkflowCommands(Generic[InT, ActionT, ArgT, R]):
    """What a route may do to the workflows of one kind: start one (its first step recorded when this returns), or
    act on one by a domain action. Each capability's subclass names its kind and its types."""

    client: Client
    task_queue: str
    kind: WorkflowKind[InT, R] = field(kw_only=True, repr=False)

    async def start(self, inp: InT) -> R:
        """Start one by its type name and return once its first Update is recorded; a duplicate id is refused
        rather than joined."""
        kind = self.kind
        op: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            kind.name,
            inp,
            id=kind.workflow_id(inp),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        try:
            result: R = await self.client.execute_update_with_start_workflow(
                kind.made_by, start_workflow_operation=op, result_type=kind.result_type
            )
            return result
        except WorkflowUpdateFailedError as exc:
            raise _from_update_failure(exc) from exc
        except RPCError as exc:
            raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, f"the workflow service refused: {exc.message}") from exc

    async def act(self, workflow_id: str, action: ActionT, arg: ArgT) -> R:
        """Send the Update named after `action` (a StrEnum's value); a finished workflow answers the kind's `over`."""
        kind = self.kind
        try:
            result: R = await self.client.get_workflow_handle(workflow_id).execute_update(
                str(action), arg, result_type=kind.result_type
            )
            return result
        except WorkflowUpdateFailedError as exc:
            raise _from_update_failure(exc) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                over = YilianError(ErrorCode.INVALID_TRANSITION, kind.over, {kind.id_key: workflow_id})
                raise over from exc
            raise _unavailable(exc) from exc


CONSULT_WORKFLOW = "ConsultWorkflow"  # by name: the API imports no workflow but the referral's

CONSULTS = WorkflowKind[ConsultInput, ConsultResult](
    CONSULT_WORKFLOW, "made", lambda inp: inp.facts.consult_id, ConsultResult,
    "this consult is over and takes no more actions", "consult_id",
)  # fmt: skip
TEACHING_CASES = WorkflowKind[TeachingInput, TeachingResult](
    TEACHING_WORKFLOW, "nominated", lambda inp: inp.facts.case_id, TeachingResult,
    "this teaching case takes no more actions", "case_id",
)  # fmt: skip
LECTURES = WorkflowKind[LectureInput, LectureResult](
    LECTURE_WORKFLOW, "made", lambda inp: inp.lecture_id, LectureResult,
    "this lecture takes no more actions", "lecture_id",
)  # fmt: skip
QUALITY_AUDITS = WorkflowKind[AuditFacts, AuditResult](
    QUALITY_AUDIT_WORKFLOW, "made", lambda facts: facts.audit_id, AuditResult,
    "this audit is completed and takes no more outcomes", "audit_id",
)  # fmt: skip


@dataclass(frozen=True)
class ConsultCommands(WorkflowCommands[ConsultInput, ConsultAction, ConsultPersonInput, ConsultResult]):
    """Consult workflows: start one, or act on one by its domain `ConsultAction`."""

    auto_close_minutes: int = DEFAULT_AUTO_CLOSE_MINUTES  # Settings.consult_auto_close_minutes
    kind: WorkflowKind[ConsultInput, ConsultResult] = field(default=CONSULTS, kw_only=True, repr=False)

    async def start(self, inp: ConsultInput) -> ConsultResult:
        return await super().start(replace(inp, auto_close_minutes=self.auto_close_minutes))


@dataclass(frozen=True)
class TeachingCommands(WorkflowCommands[TeachingInput, TeachingAction, EducatorInput | CurationInput, TeachingResult]):
    """Teaching-case workflows: start one, or act on one by its domain `TeachingAction`."""

    kind: WorkflowKind[TeachingInput, TeachingResult] = field(default=TEACHING_CASES, kw_only=True, repr=False)


@dataclass(frozen=True)
class LectureCommands(WorkflowCommands[LectureInput, LectureAction, LecturePersonInput, LectureResult]):
    """Lecture workflows: start one (scheduled when this returns), act on one by its domain `LectureAction`, or tell
    it whose replay attendance moved (a signal)."""

    kind: WorkflowKind[LectureInput, LectureResult] = field(default=LECTURES, kw_only=True, repr=False)

    async def watched(self, lecture_id: str, user_ids: list[str]) -> None:
        """Best effort: a lecture whose credit window closed has no workflow to tell (its tally is final)."""
        try:
            await self.client.get_workflow_handle(lecture_id).signal("watched", Watched(user_ids))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise


@dataclass(frozen=True)
class QualityAuditCommands(WorkflowCommands[AuditFacts, str, OutcomeInput, AuditResult]):
    """Quality audit workflows: start one (its sample recorded when this returns), or record an auditor's outcome
    (the `record_outcome` Update)."""

    kind: WorkflowKind[AuditFacts, AuditResult] = field(default=QUALITY_AUDITS, kw_only=True, repr=False)

    async def record(self, audit_id: str, outcome: OutcomeInput) -> AuditResult:
        return await self.act(audit_id, "record_outcome", outcome)
