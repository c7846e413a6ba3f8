"""The gateway's metrics, read from its durable queue at each scrape: depth, age of the oldest, and the running
totals whose rate is the ingest rate (sent) and the refusal rate (failed)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from yilian.gateway.queue import InstanceQueue


class GatewayQueueCollector(Collector):
    def __init__(self, queue: InstanceQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snap = self._queue.snapshot(recent_failures=0)
        yield GaugeMetricFamily(
            "yilian_gateway_queue_depth", "Instances received and not yet accepted by the cloud.", value=snap.queued
        )
        yield GaugeMetricFamily(
            "yilian_gateway_queue_bytes", "Bytes of the instances waiting in the queue.", value=snap.queued_bytes
        )
        age = time.time() - snap.oldest_queued_at if snap.oldest_queued_at is not None else 0.0
        yield GaugeMetricFamily(
            "yilian_gateway_oldest_queued_seconds", "Age of the oldest instance still waiting (0: none).", value=age
        )
        forwarded = CounterMetricFamily(
            "yilian_gateway_instances",
            "Instances by their fate: sent (the cloud has them) or failed (refused).",
            labels=["state"],
        )
        forwarded.add_metric(["sent"], snap.sent)
        forwarded.add_metric(["failed"], snap.failed)
        yield forwarded
