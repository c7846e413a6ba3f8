"""/metrics of the API, the worker and the gateway: scraped over HTTP, values move with the work, no patient data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes
from yilian.config import Settings
from yilian.gateway.queue import InstanceQueue
from yilian.metrics.exposition import MetricsConfigError, MetricsServer, serve_metrics
from yilian.metrics.gateway import GatewayQueueCollector
from yilian.metrics.worker import refresh_queue, refresh_sla

pytestmark = pytest.mark.integration

TOKEN = "metrics-test-token-0123456789abcdef"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def metrics() -> Iterator[MetricsServer]:
    server = serve_metrics("127.0.0.1", 0, TOKEN)
    yield server
    server.stop()


def scrape(url: str, token: str | None = TOKEN) -> tuple[str, Samples]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(url, headers=headers)
    assert r.status_code == 200, r.text
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    return r.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


async def test_a_referral_moves_request_ingest_and_activity_metrics_and_leaks_nothing(
    api: Api, metrics: MetricsServer
) -> None:
    _, before = scrape(metrics.url)
    patient = {"patient_id": "MET-0001", "name": "孟获 Meng Huo", "birth_date": "1969-09-09", "sex": "M"}
    case = await api.submit(patient=patient)
    await api.wait_for("zhao.anping", case["id"], "offered")
    text, after = scrape(metrics.url)

    submitted = dict(method="POST", route="/api/referrals", status="201")
    name = "yilian_http_request_duration_seconds_count"
    assert value(after, name, **submitted) == value(before, name, **submitted) + 1
    # The detail route is labelled by its template, never by the referral's id.
    detail = dict(method="GET", route="/api/referrals/{referral_id}", status="200")
    assert value(after, name, **detail) > value(before, name, **detail)
    stored = dict(origin="stow", outcome="stored")
    assert value(after, "yilian_instances_ingested_total", **stored) == (
        value(before, "yilian_instances_ingested_total", **stored) + 1
    )
    ran = "yilian_temporal_activity_duration_seconds_count"
    assert total(after, ran, result="completed") > total(before, ran, result="completed")
    assert total(after, "yilian_temporal_activity_schedule_to_start_seconds_count") > total(
        before, "yilian_temporal_activity_schedule_to_start_seconds_count"
    )
    for secret in ("MET-0001", "Meng Huo", "孟获", case["id"], case["study_instance_uid"]):
        assert secret not in text


def test_metrics_need_the_token_and_refuse_the_network_without_one(metrics: MetricsServer) -> None:
    assert httpx.get(metrics.url).status_code == 401
    assert httpx.get(metrics.url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    with pytest.raises(MetricsConfigError):
        serve_metrics("0.0.0.0", 0, None)


async def test_sla_and_queue_gauges_count_open_referrals(
    api: Api, engine: AsyncEngine, temporal_client: Client, settings: Settings, metrics: MetricsServer
) -> None:
    await refresh_sla(engine)
    _, before = scrape(metrics.url)
    patient = {"patient_id": "MET-0002", "name": "祝融 Zhu Rong", "birth_date": "1972-02-12", "sex": "F"}
    case = await api.submit(patient=patient, priority="stat")
    await api.wait_for("zhao.anping", case["id"], "offered")
    await refresh_sla(engine)
    backlog = await refresh_queue(temporal_client, settings.temporal_namespace, settings.task_queue)
    _, after = scrape(metrics.url)
    assert (
        total(after, "yilian_referrals_sla", priority="stat")
        == total(before, "yilian_referrals_sla", priority="stat") + 1
    )
    # Every open state has a series per priority, zeros included, so alerts have data to read.
    for state in ("on_track", "at_risk", "breached", "paused"):
        assert ("yilian_referrals_sla", frozenset({("sla", state), ("priority", "routine")})) in after
    assert set(backlog) == {"workflow", "activity"} and all(n >= 0 for n in backlog.values())
    assert value(after, "yilian_temporal_task_queue_backlog", kind="activity") == backlog["activity"]

    # Close it: it leaves the open counts.
    await api.ok("zhao.anping", "POST", f"/api/referrals/{case['id']}/cancel", json={"comment": "metrics test"})
    await api.wait_for("zhao.anping", case["id"], "cancelled")
    await refresh_sla(engine)
    _, closed = scrape(metrics.url)
    assert total(closed, "yilian_referrals_sla", priority="stat") == total(
        before, "yilian_referrals_sla", priority="stat"
    )


def test_gateway_queue_depth_and_forwarded_counts(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path / "spool")
    registry = CollectorRegistry()
    registry.register(GatewayQueueCollector(queue))
    server = serve_metrics("127.0.0.1", 0, None, registry)
    try:
        [ds] = ct_series(n_slices=1, rows=16, cols=16, patient_id="MET-GW")
        data = to_bytes(ds)
        queue.put(data, sop_instance_uid=ds.SOPInstanceUID, sop_class_uid=ds.SOPClassUID,
                  study_instance_uid=ds.StudyInstanceUID)  # fmt: skip
        text, queued = scrape(server.url, None)
        assert value(queued, "yilian_gateway_queue_depth") == 1
        assert value(queued, "yilian_gateway_queue_bytes") == len(data)
        assert "MET-GW" not in text and ds.SOPInstanceUID not in text
        [item] = queue.next_batch(10, 10**9)
        queue.mark_sent([item.id])
        _, sent = scrape(server.url, None)
        assert value(sent, "yilian_gateway_queue_depth") == 0
        assert value(sent, "yilian_gateway_instances_total", state="sent") == 1
    finally:
        server.stop()
        queue.close()
