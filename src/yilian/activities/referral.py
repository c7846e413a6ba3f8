"""Activities of the referral workflow: projection + audit, report versions, routing, share links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.queries import referral as q
from yilian.db.schema import reader_licences, reader_subspecialties, referrals, share_links, users
from yilian.domain.messages import (
    ActivityName,
    FindCandidatesInput,
    FindCandidatesResult,
    ReaderProfile,
    RecordEventInput,
    ReportVersionInput,
    ShareLinkInput,
    ShareLinkResult,
)
from yilian.domain.routing import ExpertCandidate, rank_candidates
from yilian.domain.share_link import return_link_id


class ReferralActivities:
    """Bound to one engine; every method is idempotent because Temporal may run it more than once."""

    def __init__(self, engine: AsyncEngine, share_secret: str) -> None:
        self._engine = engine
        self._share_secret = share_secret

    @activity.defn(name=ActivityName.RECORD_EVENT)
    async def record_event(self, inp: RecordEventInput) -> bool:
        async with self._engine.begin() as conn:
            return await q.record_event(conn, inp)

    @activity.defn(name=ActivityName.SAVE_REPORT_VERSION)
    async def save_report_version(self, inp: ReportVersionInput) -> None:
        async with self._engine.begin() as conn:
            await q.save_report_version(conn, inp)

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
            specificity.label("specificity"),
            licensed.label("licensed"),
            match.label("match"),
            load.label("load"),
            read_before.label("read_before"),
        ).where(u.hospital_id == inp.reading_hospital_id, u.role.in_(["expert", "senior"]), u.active == literal(True))
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
                is_senior=row["role"] == "senior",
            )
            for row in rows
        ]
        return FindCandidatesResult(ranked=rank_candidates(candidates, frozenset(inp.exclude)))

    @activity.defn(name=ActivityName.GET_READER)
    async def get_reader(self, user_id: str) -> ReaderProfile:
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(users.c.id, users.c.display_name, users.c.is_junior).where(users.c.id == user_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return ReaderProfile(user_id=user_id, name=user_id, is_junior=True)  # unknown: be careful
        return ReaderProfile(user_id=row["id"], name=row["display_name"], is_junior=row["is_junior"])

    @activity.defn(name=ActivityName.CREATE_SHARE_LINK)
    async def create_share_link(self, inp: ShareLinkInput) -> ShareLinkResult:
        link_id = return_link_id(self._share_secret, inp.referral_id)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(share_links)
                .values(
                    id=link_id,
                    referral_id=inp.referral_id,
                    patient_ref=inp.patient_ref,
                    created_at=inp.created_at,
                    expires_at=inp.expires_at,
                )
                .on_conflict_do_nothing()
            )
        return ShareLinkResult(link_id=link_id)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_event,
            self.save_report_version,
            self.find_candidates,
            self.get_reader,
            self.create_share_link,
        ]
