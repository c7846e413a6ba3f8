"""Activities of the quality audit workflow: record the sample, record each outcome; each one transaction, idempotent
(a retried activity finds its rows and writes nothing twice)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.queries import quality_audit as q
from yilian.domain.quality_audit import AuditActivity, AuditFacts, RecordOutcomeInput


class QualityAuditActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=AuditActivity.RECORD_SAMPLE)
    async def record_audit_sample(self, facts: AuditFacts) -> None:
        async with self._engine.begin() as conn:
            await q.save_sample(conn, facts)

    @activity.defn(name=AuditActivity.RECORD_OUTCOME)
    async def record_audit_outcome(self, inp: RecordOutcomeInput) -> None:
        async with self._engine.begin() as conn:
            await q.save_outcome(conn, inp)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_audit_sample, self.record_audit_outcome]
