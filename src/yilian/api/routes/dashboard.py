"""The coordinator's SLA dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from yilian.api.deps import Engine, require_role
from yilian.api.models.dashboard import AtRiskCase, BreachedCase, Dashboard, StateCount, Turnaround
from yilian.db.engine import reading
from yilian.db.queries import dashboard as d
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])
LISTED = 200  # cases at risk and breaches listed; their totals are counted whole


@router.get("")
async def dashboard(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.COORDINATOR))],
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> Dashboard:
    """Counts by state and hospital, cases at risk, breaches, and turnaround p50/p90 over [from, to)."""
    now = datetime.now(UTC)
    until = until or now + timedelta(seconds=1)
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "from and to need a time zone, e.g. 2026-11-01T00:00:00+08:00")
    if since >= until:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "from must be before to")
    scope = d.scope_of(principal)
    async with reading(engine) as conn:
        at_risk, at_risk_total = await d.at_risk(conn, scope, now, LISTED)
        breaches, breaches_total = await d.breaches(conn, scope, since, until, LISTED)
        return Dashboard(
            since=since,
            until=until,
            counts=[StateCount.model_validate(r) for r in await d.counts(conn, scope, since, until)],
            at_risk=[AtRiskCase.model_validate(r) for r in at_risk],
            at_risk_total=at_risk_total,
            breaches=[BreachedCase.model_validate(r) for r in breaches],
            breaches_total=breaches_total,
            turnaround=[Turnaround.model_validate(r) for r in await d.turnaround(conn, scope, since, until)],
        )
