"""The gateway's report queue on a real SQLite file: a failure the cloud acknowledged is queued again only when the
cloud lists the delivery as open again (a person sent it again), never before the cloud knows of it."""

from __future__ import annotations

from pathlib import Path

from yilian.gateway.report_queue import ReportQueue, ReportState


def _queued(reports: ReportQueue, delivery_id: int = 1) -> None:
    reports.put(delivery_id, b"DICM report", sop_instance_uid="1.2.3.4", sop_class_uid="1.2.840.10008.5.1.4.1.1.104.1",
                study="1.2.3")  # fmt: skip


def test_a_failure_the_cloud_knows_is_queued_again_once_and_keeps_its_attempts(tmp_path: Path) -> None:
    reports = ReportQueue(tmp_path)
    _queued(reports)
    reports.told(1, ReportState.QUEUED)
    reports.settle(1, ReportState.FAILED, 0xC000, "the PACS cannot understand the instance (C000)")
    # Not yet told: the cloud still lists it as queued because it has not heard of the failure; nothing changes.
    assert reports.requeue_retried(1) is False
    assert reports.due() == []
    reports.told(1, ReportState.FAILED)
    assert reports.requeue_retried(1) is True
    [again] = reports.due()
    assert (again.delivery_id, again.attempts) == (1, 1) and again.path.is_file()
    assert reports.requeue_retried(1) is False  # queued already: a second listing changes nothing
    # The cloud is told it is queued again (a repeat there); the next answer is a new attempt.
    assert [(u.delivery_id, u.state) for u in reports.untold()] == [(1, ReportState.QUEUED)]
    reports.settle(1, ReportState.DELIVERED, 0, "")
    assert reports.snapshot().delivered == 1 and reports.due() == []
    reports.close()


def test_a_delivered_or_unknown_instance_is_never_queued_again(tmp_path: Path) -> None:
    reports = ReportQueue(tmp_path)
    _queued(reports)
    reports.settle(1, ReportState.DELIVERED, 0, "")
    reports.told(1, ReportState.DELIVERED)
    assert reports.requeue_retried(1) is False and reports.requeue_retried(2) is False
    assert reports.due() == []
    reports.close()
