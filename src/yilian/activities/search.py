"""The search activity: a signed report (or its addendum) goes into the report index.

Retried by the workflow's policy while the node is down (no limit, backing off to every 30 s), idempotent: the
document is keyed by referral id, read afresh from PostgreSQL and versioned by the report's newest version, so a
retry, a late run or a run after a newer addendum never puts back an older text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import search as q
from yilian.domain.referral_io import ActivityName, IndexReportInput, IndexReportResult
from yilian.search.reports import ReportIndex

_log = logging.getLogger(__name__)


class SearchActivities:
    """`index` None: this deployment has no search configured; signing still works and `yilian search reindex`
    fills the index once one is."""

    def __init__(self, engine: AsyncEngine, index: ReportIndex | None) -> None:
        self._engine = engine
        self._index = index

    @activity.defn(name=ActivityName.INDEX_REPORT)
    async def index_report(self, inp: IndexReportInput) -> IndexReportResult:
        if self._index is None:
            _log.warning("report %s v%d not indexed: no search configured", inp.referral_id, inp.report_version)
            return IndexReportResult(indexed=False)
        async with reading(self._engine) as conn:
            report = await q.signed_report(conn, inp.referral_id)
        if report is None:  # cannot happen after a signing step; nothing to index rather than a retry loop
            _log.warning("referral %s has no signed report to index", inp.referral_id)
            return IndexReportResult(indexed=False)
        fresh = await self._index.index(report)
        return IndexReportResult(indexed=fresh, report_version=report.report_version)

    def all(self) -> list[Callable[..., Any]]:
        return [self.index_report]
