"""Activities of the referral workflow: recording a step (one transaction), and finding readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from yilian.db.engine import reading, single_statement
from yilian.db.queries import imaging as imaging_queries
from yilian.db.queries import in_house as in_house_queries
from yilian.db.queries import quality as quality_queries
from yilian.db.queries import reader as reader_queries
from yilian.db.queries import referral as q
from yilian.db.queries import teaching as teaching_queries
from yilian.domain.in_house import is_in_house, routed_readers
from yilian.domain.notice import NoticeKind, notice_params
from yilian.domain.referral import ReferralState
from yilian.domain.referral_io import (
    ActivityName,
    Audience,
    FindCandidatesInput,
    FindCandidatesResult,
    NotifyInput,
    RecordStepInput,
    RecordStepResult,
    StudyArrivedInput,
)
from yilian.domain.routing import CaseToRoute, route
from yilian.domain.share_link import return_link_id
from yilian.notify import dispatch
from yilian.notify.port import Notifier


class ReferralActivities:
    """Bound to one engine; every method is idempotent because Temporal may run it more than once."""

    def __init__(self, engine: AsyncEngine, share_secret: str, notifiers: list[Notifier]) -> None:
        self._engine = engine
        self._share_secret = share_secret
        self._notifiers = notifiers

    @activity.defn(name=ActivityName.RECORD_STEP)
    async def record_step(self, inp: RecordStepInput) -> RecordStepResult:
        """Audit event, report version, share link, projection and notifications: all or nothing.

        Every write is idempotent (keys on the referral and step number), so a retried activity adds
        nothing; notifications go first so the audit event can say who was told and by which channel. A step
        that writes only its audit event and projection row (accept, acknowledge, ...) is one statement.
        """
        alone = not (inp.notifications or inp.report or inp.share_link or inp.quality)
        async with single_statement(self._engine) if alone else self._engine.begin() as conn:
            sent = [await dispatch.notify(conn, self._notifiers, n) for n in inp.notifications]
            details = dict(inp.details)
            if sent:
                details["notified"] = [{"kind": x.kind, "to": x.recipients, "method": x.channels} for x in sent]
            link_id = return_link_id(self._share_secret, inp.share_link.referral_id) if inp.share_link else None
            if link_id:
                details["share_link_id"] = link_id
            recorded = await q.record_event(conn, inp.event, inp.snapshot, details)
            if recorded is None:
                return RecordStepResult(recorded=False, notified=sent)
            if inp.report is not None:
                await q.save_report_version(conn, inp.report)
            if inp.quality is not None:
                await quality_queries.save_grade(conn, inp.quality)
            if inp.share_link is not None and link_id:
                await q.create_return_link(conn, link_id, inp.share_link)
            if inp.event.to_state is ReferralState.FINAL and inp.event.from_state is not ReferralState.FINAL:
                await self._tell_teaching_curators(conn, inp)
        return RecordStepResult(recorded=True, notified=sent, submitted_at=recorded.submitted_at)

    async def _tell_teaching_curators(self, conn: AsyncConnection, inp: RecordStepInput) -> None:
        """Follow-up truth: a teaching case of this patient, made from an earlier referral, may gain its outcome from
        this signed report, so its curator is told (once per case and referral)."""
        f = inp.snapshot.facts
        for case in await teaching_queries.follow_ups_for(conn, f.patient_ref, f.referral_id, inp.event.at):
            if not case["curator_id"]:
                continue
            params = notice_params(
                NoticeKind.TEACHING_FOLLOW_UP, case_id=case["id"], title=case["title"], referral_id=f.referral_id
            )
            notice = NotifyInput(
                f"{case['id']}/follow-up/{f.referral_id}", f.referral_id, NoticeKind.TEACHING_FOLLOW_UP,
                Audience(user_ids=[case["curator_id"]]), inp.event.at, params,
            )  # fmt: skip
            await dispatch.notify(conn, self._notifiers, notice)

    @activity.defn(name=ActivityName.FIND_CANDIDATES)
    async def find_candidates(self, inp: FindCandidatesInput) -> FindCandidatesResult:
        """The reading hospital's people ranked for the case by the domain's routing rule; for an in-house case,
        only the readers its hospital's policy names (if it names any)."""
        async with reading(self._engine) as conn:
            people = await reader_queries.people_of(conn, inp.reading_hospital_id)
            if is_in_house(inp.requesting_hospital_id, inp.reading_hospital_id):
                people = routed_readers(people, await in_house_queries.policy_of(conn, inp.reading_hospital_id))
            read_before = await reader_queries.read_patient_before(conn, inp.patient_ref, inp.referral_id)
        case = CaseToRoute(inp.reading_hospital_id, inp.requesting_hospital_id, inp.modality, inp.body_part)
        return FindCandidatesResult(
            ranked=route(people, case, read_patient_before=read_before, exclude=frozenset(inp.exclude))
        )

    @activity.defn(name=ActivityName.STUDY_ARRIVED)
    async def study_arrived(self, inp: StudyArrivedInput) -> bool:
        """Whether the archive holds images of the study, sent by the referring hospital."""
        async with reading(self._engine) as conn:
            owner = await imaging_queries.study_owner(conn, inp.study_instance_uid)
        return owner == inp.requesting_hospital_id

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_step, self.find_candidates, self.study_arrived]
