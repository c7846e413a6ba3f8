"""The worker's metrics: how long activities wait and run, and the gauges a refresh loop keeps current
(open referrals by SLA state and priority, the Temporal task queue's backlog)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from yilian.db.engine import reading
from yilian.db.queries.metrics import open_sla_counts
from yilian.domain.agreement import Priority
from yilian.domain.sla import SlaStatus
from yilian.metrics import catalog

log = logging.getLogger(__name__)

# Every open badge and every priority get a series, zero included, so an alert on "breached > 0" has data to read.
OPEN_SLA_STATES = (SlaStatus.ON_TRACK, SlaStatus.AT_RISK, SlaStatus.BREACHED, SlaStatus.PAUSED)
QUEUE_KINDS = {"workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY}


class _TimedActivities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        waited = (datetime.now(UTC) - info.current_attempt_scheduled_time).total_seconds()
        catalog.activity_schedule_to_start_seconds.labels(info.activity_type).observe(max(waited, 0.0))
        started, result = time.perf_counter(), "failed"
        try:
            value = await self.next.execute_activity(input)
            result = "completed"
            return value
        finally:
            catalog.activity_seconds.labels(info.activity_type, result).observe(time.perf_counter() - started)


class MetricsInterceptor(Interceptor):
    """Times every activity this worker runs (yilian_temporal_activity_*)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimedActivities(next)


async def refresh_sla(engine: AsyncEngine, now: datetime | None = None) -> dict[tuple[str, str], int]:
    async with reading(engine) as conn:
        counts = await open_sla_counts(conn, now or datetime.now(UTC))
    for state in OPEN_SLA_STATES:
        for priority in Priority:
            catalog.referrals_sla.labels(state.value, priority.value).set(counts.get((state.value, priority.value), 0))
    return counts


async def refresh_queue(client: Client, namespace: str, task_queue: str) -> dict[str, int]:
    backlog: dict[str, int] = {}
    for kind, queue_type in QUEUE_KINDS.items():
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=queue_type,
                report_stats=True,
            )
        )
        backlog[kind] = answer.stats.approximate_backlog_count
        catalog.task_queue_backlog.labels(kind).set(backlog[kind])
        age = answer.stats.approximate_backlog_age.ToTimedelta().total_seconds()
        catalog.task_queue_backlog_age_seconds.labels(kind).set(age)
    return backlog


async def refresh_forever(
    engine: AsyncEngine, client: Client, namespace: str, task_queue: str, every: float = 15.0
) -> None:
    """Keep the gauges current until cancelled; a failed round is logged and tried again (PostgreSQL or Temporal
    restarting must not stop the worker)."""
    while True:
        try:
            await refresh_sla(engine)
            await refresh_queue(client, namespace, task_queue)
            catalog.refreshed_at.set(time.time())
        except Exception as exc:  # noqa: BLE001 - a scrape shows the staleness through refreshed_at
            log.warning("metrics refresh failed: %s", exc)
        await asyncio.sleep(every)
