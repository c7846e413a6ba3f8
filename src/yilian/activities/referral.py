"""Activities of the referral workflow: recording a step (one transaction), and finding readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.queries import imaging as imaging_queries
from yilian.db.queries import referral as q
from yilian.db.schema import reader_licences, reader_subspecialties, referrals, users
from yilian.domain.referral_io import (
    ActivityName,
    FindCandidatesInput,
    FindCandidatesResult,
    RecordStepInput,
    RecordStepResult,
    StudyArrivedInput,
)
from yilian.domain.roles import READER_ROLES, Role
from yilian.domain.routing import ExpertCandidate, rank_candidates
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
        nothing; notifications go first so the audit event can say who was told and by which channel.
        """
        async with self._engine.begin() as conn:
            sent = [
                await dispatch.deliver(conn, self._notifiers, n, await dispatch.recipients(conn, n))
                for n in inp.notifications
            ]
            details = dict(inp.details)
            if sent:
                details["notified"] = [{"kind": x.kind, "to": x.recipients, "method": x.channels} for x in sent]
            link_id = return_link_id(self._share_secret, inp.share_link.referral_id) if inp.share_link else None
            if link_id:
                details["share_link_id"] = link_id
            if not await q.record_event(conn, inp.event, inp.snapshot, details):
                return RecordStepResult(recorded=False, notified=sent)
            if inp.report is not None:
                await q.save_report_version(conn, inp.report)
            if inp.share_link is not None and link_id:
                await q.create_return_link(conn, link_id, inp.share_link)
        return RecordStepResult(recorded=True, notified=sent)

    @activity.defn(name=ActivityName.FIND_CANDIDATES)
    async def find_candidates(self, inp: FindCandidatesInput) -> FindCandidatesResult:
        u, r = users.c, referrals.c
        licensed = exists().where(
            and_(reader_licences.c.user_id == u.id, reader_licences.c.hospital_id == inp.requesting_hospital_id)
        )
        match = exists().where(
            and_(
                reader_subspecialties.c.user_id == u.id,
                reader_subspecialties.c.modality.in_([inp.modality, "*"]),
                reader_subspecialties.c.body_part.in_([inp.body_part, "*"]),
            )
        )
        load = (
            select(func.count())
            .select_from(referrals)
            .where(or_(r.reader_id == u.id, r.offered_to == u.id), r.state.in_(q.OPEN_STATE_VALUES))
            .scalar_subquery()
        )
        rs = reader_subspecialties.c
        specificity = (
            select(
                func.max(
                    case(
                        (and_(rs.modality == inp.modality, rs.body_part == inp.body_part), 2),
                        (rs.modality == inp.modality, 1),
                        else_=0,
                    )
                )
            )
            .where(rs.user_id == u.id)
            .scalar_subquery()
        )
        read_before = exists().where(
            and_(r.patient_ref == inp.patient_ref, r.id != inp.referral_id, r.reader_id == u.id)
        )
        stmt = select(
            u.id,
            u.display_name,
            u.on_duty,
            u.role,
            u.is_junior,
            specificity.label("specificity"),
            licensed.label("licensed"),
            match.label("match"),
            load.label("load"),
            read_before.label("read_before"),
        ).where(u.hospital_id == inp.reading_hospital_id, u.role.in_(READER_ROLES), u.active == literal(True))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        candidates = [
            ExpertCandidate(
                user_id=row["id"],
                name=row["display_name"],
                on_duty=row["on_duty"],
                licensed=row["licensed"],
                subspecialty_match=row["match"],
                open_load=int(row["load"]),
                read_patient_before=row["read_before"],
                specificity=int(row["specificity"] or 0),
                is_senior=row["role"] == Role.SENIOR,
                is_junior=row["is_junior"],
            )
            for row in rows
        ]
        return FindCandidatesResult(ranked=rank_candidates(candidates, frozenset(inp.exclude)))

    @activity.defn(name=ActivityName.STUDY_ARRIVED)
    async def study_arrived(self, inp: StudyArrivedInput) -> bool:
        """Whether the archive holds images of the study, sent by the referring hospital."""
        async with self._engine.connect() as conn:
            owner = await imaging_queries.study_owner(conn, inp.study_instance_uid)
        return owner == inp.requesting_hospital_id

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_step, self.find_candidates, self.study_arrived]
