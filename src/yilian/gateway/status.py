"""`yilian gateway status`: queue counts, ages and the last error in plain words, read from SQLite only."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from yilian.gateway.queue import InstanceQueue, QueueSnapshot
from yilian.gateway.report_queue import ReportQueue, ReportSnapshot
from yilian.gateway.settings import GatewaySettings


def read_status(settings: GatewaySettings) -> QueueSnapshot:
    """A consistent snapshot; safe while the gateway runs (WAL readers do not block the writer)."""
    queue = InstanceQueue(settings.spool_dir, readonly=True)
    try:
        return queue.snapshot()
    finally:
        queue.close()


def read_report_status(settings: GatewaySettings) -> ReportSnapshot:
    """The reports for the hospital's PACS, from the same SQLite file."""
    reports = ReportQueue(settings.spool_dir, readonly=True)
    try:
        return reports.snapshot()
    finally:
        reports.close()


def reports_json(reports: ReportSnapshot) -> dict[str, Any]:
    return {
        "queued": reports.queued,
        "delivered": reports.delivered,
        "failed": reports.failed,
        "last_delivered_at": _iso(reports.last_delivered_at),
        "last_error": reports.last_error,
        "recent_failures": [
            {"sop_instance_uid": f.sop_instance_uid, "study_instance_uid": f.study_instance_uid, "reason": f.reason,
             "at": _iso(f.at)}
            for f in reports.recent_failures
        ],
    }  # fmt: skip


def render_reports(reports: ReportSnapshot, settings: GatewaySettings, now: float | None = None) -> str:
    now = time.time() if now is None else now
    pacs = settings.pacs
    where = f"{pacs.ae_title} at {pacs.host}:{pacs.port}" if pacs else "(no PACS set: YILIAN_GATEWAY_PACS_*)"
    lines = [
        f"reports to the PACS {where}",
        f"  queued {reports.queued}, delivered {reports.delivered}, failed {reports.failed}",
        "  last delivered  "
        + ("never" if reports.last_delivered_at is None else _when(reports.last_delivered_at, now)),
    ]
    if reports.last_error:
        lines.append(f"  waiting because {reports.last_error}")
    if reports.recent_failures:
        lines.append("refused by the PACS:")
        lines += [f"  {f.sop_instance_uid}: {f.reason}" for f in reports.recent_failures]
    return "\n".join(lines)


def status_json(snapshot: QueueSnapshot, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {
        "queued": snapshot.queued,
        "queued_bytes": snapshot.queued_bytes,
        "sent": snapshot.sent,
        "failed": snapshot.failed,
        "oldest_queued_at": _iso(snapshot.oldest_queued_at),
        "oldest_queued_age_seconds": None
        if snapshot.oldest_queued_at is None
        else round(now - snapshot.oldest_queued_at, 1),
        "last_success_at": _iso(snapshot.last_success_at),
        "last_error": snapshot.last_error,
        "last_error_at": _iso(snapshot.last_error_at),
        "last_error_is_current": _error_is_current(snapshot),
        "recent_failures": [
            {
                "sop_instance_uid": failure.sop_instance_uid,
                "study_instance_uid": failure.study_instance_uid,
                "reason": failure.reason,
                "at": _iso(failure.at),
            }
            for failure in snapshot.recent_failures
        ],
    }


def render_status(snapshot: QueueSnapshot, settings: GatewaySettings, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [f"gateway queue {settings.database_path}"]
    queued = f"  queued   {snapshot.queued}"
    if snapshot.queued:
        queued += f" ({_size(snapshot.queued_bytes)}), oldest waiting {_age(now - (snapshot.oldest_queued_at or now))}"
    lines += [queued, f"  sent     {snapshot.sent}", f"  failed   {snapshot.failed}"]
    lines.append(
        "  last success  " + ("never" if snapshot.last_success_at is None else _when(snapshot.last_success_at, now))
    )
    if snapshot.last_error is None:
        lines.append("  last error    none")
    else:
        lines.append(f"  last error    {snapshot.last_error} ({_when(snapshot.last_error_at or now, now)})")
        if not _error_is_current(snapshot):
            lines.append("                deliveries have succeeded since")
    if snapshot.recent_failures:
        lines.append(f"refused by the cloud (kept in {settings.spool_dir / 'instances'}):")
        lines += [f"  {failure.sop_instance_uid}: {failure.reason}" for failure in snapshot.recent_failures]
    return "\n".join(lines)


def render_status_json(snapshot: QueueSnapshot, reports: ReportSnapshot | None = None) -> str:
    facts = status_json(snapshot)
    if reports is not None:
        facts["reports"] = reports_json(reports)
    return json.dumps(facts, ensure_ascii=False, indent=2)


def _error_is_current(snapshot: QueueSnapshot) -> bool:
    if snapshot.last_error is None:
        return False
    return snapshot.last_success_at is None or (snapshot.last_error_at or 0) >= snapshot.last_success_at


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _when(at: float, now: float) -> str:
    local = datetime.fromtimestamp(at).astimezone().isoformat(sep=" ", timespec="seconds")
    return f"{local}, {_age(now - at)} ago"


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"
