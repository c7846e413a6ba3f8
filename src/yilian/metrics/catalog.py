"""Every metric Yilian exports, in one place, so docs/ops.md and the dashboards have one list to follow.

Labels are bounded and carry no patient data: route templates (never a raw path, which holds study UIDs),
status codes, activity names, priorities, SLA states, ingest origins and outcomes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds; finer at the low end where the worklist and the dashboard live, up to the slow STOW of a big series.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

http_request_seconds = Histogram(
    "yilian_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
instances_ingested = Counter(
    "yilian_instances_ingested_total",
    "DICOM instances through the one ingest pipeline, by door and outcome.",
    ["origin", "outcome"],
)
activity_seconds = Histogram(
    "yilian_temporal_activity_duration_seconds",
    "Time an activity ran in this worker, by activity and result.",
    ["activity", "result"],
    buckets=LATENCY_BUCKETS,
)
activity_schedule_to_start_seconds = Histogram(
    "yilian_temporal_activity_schedule_to_start_seconds",
    "Time an activity task waited in the task queue before a worker took it: the first sign of too few workers.",
    ["activity"],
    buckets=LATENCY_BUCKETS,
)
referrals_sla = Gauge(
    "yilian_referrals_sla",
    "Open referrals by SLA state (on_track, at_risk, breached, paused) and priority, as of the last refresh.",
    ["sla", "priority"],
)
task_queue_backlog = Gauge(
    "yilian_temporal_task_queue_backlog",
    "Approximate tasks waiting in the worker's Temporal task queue, by kind (workflow, activity).",
    ["kind"],
)
task_queue_backlog_age_seconds = Gauge(
    "yilian_temporal_task_queue_backlog_age_seconds",
    "Age of the oldest task waiting in the worker's Temporal task queue, by kind.",
    ["kind"],
)
refreshed_at = Gauge(
    "yilian_metrics_refreshed_timestamp_seconds",
    "When the worker last refreshed the SLA and queue gauges (Unix time); stale means the refresh loop is stuck.",
)
dicomweb_door_requests = Counter(
    "yilian_dicomweb_door_requests_total",
    "Frame and rendered GETs the DICOMweb retrieve door, and STOW-RS POSTs the STOW-RS door, answered before "
    "routing, or passed on to the router (HEAD, a GET with a body, a root path), by route template.",
    ["route", "outcome"],
)
