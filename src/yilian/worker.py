"""The Temporal worker process: the referral, consult and teaching-case workflows, their activities, and the webhook
delivery loop."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.worker import Worker

from yilian.activities.auto_referral import AutoReferralActivities
from yilian.activities.consult import ConsultActivities
from yilian.activities.fixity import FixityActivities
from yilian.activities.lectures import LectureActivities
from yilian.activities.pacs_delivery import PacsDeliveryActivities
from yilian.activities.quality_audit import QualityAuditActivities
from yilian.activities.referral import ReferralActivities
from yilian.activities.search import SearchActivities
from yilian.activities.teaching import TeachingActivities
from yilian.config import Settings
from yilian.domain.auto_referral import AUTO_REFERRAL_SWEEP_SCHEDULE_ID, SweepInput
from yilian.domain.fixity import FIXITY_SCHEDULE_ID, FixityInput
from yilian.imaging.blob import blob_store
from yilian.metrics.worker import MetricsInterceptor, refresh_forever
from yilian.notify.inbox import InAppNotifier
from yilian.notify.port import Notifier
from yilian.notify.webhook import WebhookNotifier, delivery_loop
from yilian.search.reports import ReportIndex
from yilian.workflows.auto_referral import AutoReferralWorkflow
from yilian.workflows.auto_referral_sweep import AutoReferralSweepWorkflow
from yilian.workflows.consult import ConsultWorkflow
from yilian.workflows.fixity import FixityWorkflow
from yilian.workflows.lecture import LectureWorkflow
from yilian.workflows.quality_audit import QualityAuditWorkflow
from yilian.workflows.referral import ReferralWorkflow
from yilian.workflows.teaching import TeachingCaseWorkflow


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Worker:
    notifiers: list[Notifier] = [InAppNotifier(), WebhookNotifier()]
    referral = ReferralActivities(engine, settings.share_link_secret, notifiers)
    consult = ConsultActivities(engine, notifiers, client, settings.task_queue)
    blobs = blob_store(settings)
    teaching = TeachingActivities(engine, blobs, settings.deid_secret, notifiers)
    fixity = FixityActivities(engine, blobs, notifiers)
    index = ReportIndex.from_url(settings.opensearch_url, settings.search_alias) if settings.opensearch_url else None
    search = SearchActivities(engine, index)
    lecture = LectureActivities(engine, notifiers, settings.lecture_media_root(), settings.live_secret)
    auto = AutoReferralActivities(engine)
    audits = QualityAuditActivities(engine)
    pacs = PacsDeliveryActivities(engine, settings.chromium)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            ReferralWorkflow,
            ConsultWorkflow,
            TeachingCaseWorkflow,
            LectureWorkflow,
            AutoReferralWorkflow,
            FixityWorkflow,
            QualityAuditWorkflow,
            AutoReferralSweepWorkflow,
        ],
        activities=[
            *referral.all(),
            *consult.all(),
            *teaching.all(),
            *search.all(),
            *lecture.all(),
            *auto.all(),
            *fixity.all(),
            *audits.all(),
            *pacs.all(),
        ],  # fmt: skip
        max_cached_workflows=2000,
        interceptors=[MetricsInterceptor()],
    )


async def run_worker(client: Client, engine: AsyncEngine, settings: Settings) -> None:
    deliveries = asyncio.create_task(delivery_loop(engine))
    gauges = asyncio.create_task(
        refresh_forever(
            engine, client, settings.temporal_namespace, settings.task_queue, settings.metrics_refresh_seconds
        )
    )
    await ensure_fixity_schedule(client, settings)
    await ensure_auto_referral_sweep_schedule(client, settings)
    try:
        async with build_worker(client, engine, settings):
            await asyncio.Event().wait()  # runs until cancelled
    finally:
        for task in (deliveries, gauges):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def ensure_fixity_schedule(client: Client, settings: Settings) -> ScheduleHandle | None:
    """The daily fixity check (docs/storage.md): a Temporal schedule, made once per task queue; every worker
    asks at start and leaves an existing one as it is. YILIAN_FIXITY_SAMPLE_SIZE=0 makes none."""
    if settings.fixity_sample_size <= 0:
        return None
    schedule_id = f"{FIXITY_SCHEDULE_ID}-{settings.task_queue}"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            FixityWorkflow.run,
            FixityInput(settings.fixity_sample_size),
            id=schedule_id,  # Temporal appends each run's start time
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1), offset=timedelta(hours=18))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule)
    return client.get_schedule_handle(schedule_id)


async def ensure_auto_referral_sweep_schedule(client: Client, settings: Settings) -> ScheduleHandle | None:
    """The auto-referral sweep (docs/reading-service.md §1): a Temporal schedule per task queue, made once, every
    `auto_referral_sweep_minutes`; none while auto-referral is off or the interval is 0."""
    if not settings.auto_referral or settings.auto_referral_sweep_minutes <= 0:
        return None
    schedule_id = f"{AUTO_REFERRAL_SWEEP_SCHEDULE_ID}-{settings.task_queue}"
    sweep = SweepInput(
        quiet_seconds=settings.auto_referral_quiet_seconds,
        lookback_hours=settings.auto_referral_sweep_hours,
        share_link_days=settings.share_link_days,
    )
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AutoReferralSweepWorkflow.run, sweep, id=schedule_id, task_queue=settings.task_queue
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(minutes=settings.auto_referral_sweep_minutes))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule)
    return client.get_schedule_handle(schedule_id)
