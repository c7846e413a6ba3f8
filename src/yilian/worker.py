"""The Temporal worker process: the referral and consult workflows, their activities, and the webhook delivery loop."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from yilian.activities.consult import ConsultActivities
from yilian.activities.referral import ReferralActivities
from yilian.config import Settings
from yilian.notify.inbox import InAppNotifier
from yilian.notify.port import Notifier
from yilian.notify.webhook import WebhookNotifier, delivery_loop
from yilian.workflows.consult import ConsultWorkflow
from yilian.workflows.referral import ReferralWorkflow


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Worker:
    notifiers: list[Notifier] = [InAppNotifier(), WebhookNotifier()]
    referral = ReferralActivities(engine, settings.share_link_secret, notifiers)
    consult = ConsultActivities(engine, notifiers, client, settings.task_queue)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ReferralWorkflow, ConsultWorkflow],
        activities=[*referral.all(), *consult.all()],
        max_cached_workflows=2000,
    )


async def run_worker(client: Client, engine: AsyncEngine, settings: Settings) -> None:
    deliveries = asyncio.create_task(delivery_loop(engine))
    try:
        async with build_worker(client, engine, settings):
            await asyncio.Event().wait()  # runs until cancelled
    finally:
        deliveries.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await deliveries
