"""`yilian gateway run`: the SCP and the uploader together until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry, ProcessCollector

from yilian.gateway.admission import AssociationSlots
from yilian.gateway.pacs import deliver_reports_forever
from yilian.gateway.quarantine import report_forever
from yilian.gateway.query_retrieve import CloudArchive
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.report_queue import ReportQueue
from yilian.gateway.scp import start_scp
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.uploader import Arrivals, upload_forever, wake_from_threads
from yilian.metrics.exposition import MetricsServer, serve_metrics
from yilian.metrics.gateway import GatewayQueueCollector

log = logging.getLogger(__name__)


def run_gateway(settings: GatewaySettings) -> None:
    """Run until SIGTERM/SIGINT; queued instances survive any stop, `kill -9` included."""
    asyncio.run(serve_gateway(settings))


async def serve_gateway(settings: GatewaySettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if urlsplit(settings.cloud_url).scheme != "https" and urlsplit(settings.cloud_url).hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        log.warning(
            "YILIAN_GATEWAY_CLOUD_URL %s is not HTTPS: images would cross the network unencrypted", settings.cloud_url
        )

    queue = InstanceQueue(settings.spool_dir)
    queue.recover()
    reports = ReportQueue(settings.spool_dir)
    reports.recover()
    metrics = _serve_metrics(settings, queue)
    wake = asyncio.Event()

    storing_ended = asyncio.Event()

    def on_storing_ended() -> None:  # called from the SCP's association threads
        loop.call_soon_threadsafe(storing_ended.set)

    slots = AssociationSlots(settings.max_associations, settings.allowed_calling_aes, on_storing_ended)
    arrivals = Arrivals(lambda: slots.storing, storing_ended, loop)
    wake_soon = wake_from_threads(loop, wake)

    def on_queued() -> None:  # called from the SCP's association threads
        arrivals.queued()
        wake_soon()

    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(settings.ca_bundle)) if settings.ca_bundle else True
    )
    archive = CloudArchive(settings, verify)
    server = start_scp(settings, queue, on_queued, archive, slots)
    host, port = server.server_address[:2]
    print(
        f"gateway {settings.ae_title} listening on {host}:{port}, forwarding to {settings.stow_url}",
        flush=True,
    )
    pacs = settings.pacs
    if pacs is not None:
        print(f"storing signed reports into the PACS {pacs.ae_title} at {pacs.host}:{pacs.port}", flush=True)
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(settings.request_timeout_seconds, connect=10.0), verify=verify
        ) as client:
            loops = [upload_forever(settings, queue, client, wake, stop, verify=verify, arrivals=arrivals)]
            if pacs is not None:
                loops.append(deliver_reports_forever(settings, reports, client, stop))
            loops.append(report_forever(settings, queue, client, stop))  # what it quarantined, to the cloud
            await asyncio.gather(*loops)
    finally:
        # New associations stop first; an instance mid-transfer is not acknowledged, so the modality resends it.
        server.shutdown()
        archive.close()
        if metrics is not None:
            metrics.stop()
        reports.close()
        queue.close()
        log.info("gateway stopped")


def _serve_metrics(settings: GatewaySettings, queue: InstanceQueue) -> MetricsServer | None:
    """The queue's /metrics on its own registry (a gateway restarted in one process registers afresh)."""
    if settings.metrics_port is None:
        return None
    registry = CollectorRegistry()
    registry.register(GatewayQueueCollector(queue))
    ProcessCollector(registry=registry)
    server = serve_metrics(settings.metrics_host, settings.metrics_port, settings.metrics_token, registry)
    print(f"gateway metrics at {server.url}", flush=True)
    return server
