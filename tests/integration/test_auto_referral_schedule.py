"""The worker's auto-referral sweep schedule on the real dev server: made once per task queue at the configured
interval, left alone by a second worker, none while auto-referral is off."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client

from yilian.config import Settings
from yilian.domain.auto_referral import SweepInput
from yilian.worker import ensure_auto_referral_sweep_schedule

pytestmark = pytest.mark.integration


async def test_the_sweep_is_scheduled_once_per_task_queue(temporal_client: Client, settings: Settings) -> None:
    # A task queue no worker polls: the schedule's runs must never sweep the shared test archive.
    on = settings.model_copy(
        update={"task_queue": f"sweep-{uuid.uuid4().hex[:8]}", "auto_referral": True, "auto_referral_sweep_minutes": 10}
    )
    assert await ensure_auto_referral_sweep_schedule(temporal_client, settings) is None  # the tests' default: off
    assert await ensure_auto_referral_sweep_schedule(
        temporal_client, on.model_copy(update={"auto_referral_sweep_minutes": 0})
    ) is None  # fmt: skip
    handle = await ensure_auto_referral_sweep_schedule(temporal_client, on)
    assert handle is not None
    try:
        assert await ensure_auto_referral_sweep_schedule(temporal_client, on) is not None  # a second worker: no error
        described = await handle.describe()
        [interval] = described.schedule.spec.intervals
        assert interval.every == timedelta(minutes=10)
        action = described.schedule.action
        assert action.task_queue == on.task_queue  # type: ignore[attr-defined]
        [sweep] = await temporal_client.data_converter.decode(action.args, [SweepInput])  # type: ignore[attr-defined]
        assert sweep == SweepInput(on.auto_referral_quiet_seconds, on.auto_referral_sweep_hours, 200,
                                   on.share_link_days)  # fmt: skip
    finally:
        await handle.delete()
