"""Scheduling a lecture: its plan checked against the alliance (speakers who may speak, hospitals that exist), then
its workflow started (scheduled when this returns)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.workflow_client import LectureCommands
from yilian.db.engine import reading
from yilian.db.queries import lectures as q
from yilian.domain import lecture as rules
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import Given, LectureAction, LectureCase, Plan
from yilian.domain.lecture_io import LectureInput


def new_lecture_id(now: datetime) -> str:
    return f"lec-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"


async def check_plan(engine: AsyncEngine, plan: Plan) -> None:
    """Speakers are experts or seniors of the alliance; audience hospitals exist (422 naming what is wrong)."""
    async with reading(engine) as conn:
        people = {p["id"]: p for p in await q.people(conn, list(plan.speaker_ids))}
        known = set(await q.known_hospitals(conn, list(plan.audience_hospital_ids)))
    problems = [
        f"{s} is not an expert or senior of the alliance"
        for s in plan.speaker_ids
        if s not in people or people[s]["role"] not in {str(r) for r in rules.SPEAKER_ROLES}
    ]
    problems += [f"no hospital {h}" for h in plan.audience_hospital_ids if h not in known]
    if problems:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "; ".join(problems), {"problems": problems})


async def schedule(
    engine: AsyncEngine, commands: LectureCommands, principal: Principal, plan: Plan, now: datetime
) -> str:
    lecture_id = new_lecture_id(now)
    # The workflow checks it again; checking here first answers 403/422 without starting anything.
    rules.validate(LectureCase(lecture_id), LectureAction.SCHEDULE, principal.actor, Given(now=now, plan=plan))
    await check_plan(engine, plan)
    await commands.start(LectureInput(lecture_id, principal.actor, plan, now))
    return lecture_id
