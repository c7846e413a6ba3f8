"""The Temporal worker process: the referral, consult and teaching-case workflows, their activities, and the webhook
delivery loop."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from yilian.activities.auto_referral import AutoReferralActivities
from yilian.activities.consult import ConsultActivities
from yilian.activities.lectures import LectureActivities
from yilian.activities.referral import ReferralActivities
from yilian.activities.search import SearchActivities
from yilian.activities.teaching import TeachingActivities
from yilian.config import Settings
from yilian.imaging.blob import blob_store
from yilian.metrics.worker import MetricsInterceptor, refresh_forever
from yilian.notify.inbox import InAppNotifier
from yilian.notify.port import Notifier
from yilian.notify.webhook import WebhookNotifier, delivery_loop
from yilian.search.reports import ReportIndex
from yilian.workflows.auto_referral import AutoReferralWorkflow
from yilian.workflows.consult import ConsultWorkflow
from yilian.workflows.lecture import LectureWorkflow
from yilian.workflows.referral import ReferralWorkflow
from yilian.workflows.teaching import TeachingCaseWorkflow


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Worker:
    notifiers: list[Notifier] = [InAppNotifier(), WebhookNotifier()]
    referral = ReferralActivities(engine, settings.share_link_secret, notifiers)
    consult = ConsultActivities(engine, notifiers, client, settings.task_queue)
    teaching = TeachingActivities(engine, blob_store(settings), settings.deid_secret, notifiers)
    index = ReportIndex.from_url(settings.opensearch_url, settings.search_alias) if settings.opensearch_url else None
    search = SearchActivities(engine, index)
    lecture = LectureActivities(engine, notifiers, settings.lecture_media_root(), settings.live_secret)
    auto = AutoReferralActivities(engine)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ReferralWorkflow, ConsultWorkflow, TeachingCaseWorkflow, LectureWorkflow, AutoReferralWorkflow],
        activities=[
            *referral.all(), *consult.all(), *teaching.all(), *search.all(), *lecture.all(), *auto.all()
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
    try:
        async with build_worker(client, engine, settings):
            await asyncio.Event().wait()  # runs until cancelled
    finally:
        for task in (deliveries, gauges):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
