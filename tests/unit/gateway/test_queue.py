"""The durable queue on a real directory and SQLite file: acknowledged means on disk, crashes leave nothing lost."""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset

from tests.support import dicom_gen
from yilian.gateway import queue as queue_module
from yilian.gateway.queue import InstanceQueue, QueuedInstance, ReceiveOutcome

ROOT = Path(__file__).resolve().parents[3]


def _put(queue: InstanceQueue, ds: Dataset, data: bytes | None = None) -> tuple[ReceiveOutcome, int]:
    received = queue.put(
        dicom_gen.to_bytes(ds) if data is None else data,
        sop_instance_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        study_instance_uid=str(ds.StudyInstanceUID),
    )
    return received.outcome, received.id


def _series(n: int = 3) -> list[Dataset]:
    return dicom_gen.ct_series(n, rows=32, cols=32)


def written_files(spool: Path) -> list[Path]:
    """The spool's instance files that hold bytes; the empty ones are blanks (spool_blanks.py)."""
    return sorted(path for path in (spool / "instances").glob("*/*.dcm") if path.stat().st_size)


def test_put_makes_the_file_durable_before_the_row(tmp_path: Path) -> None:
    ds = _series(1)[0]
    data = dicom_gen.to_bytes(ds)
    queue = InstanceQueue(tmp_path)
    outcome, _ = _put(queue, ds, data)
    queue.close()

    reopened = InstanceQueue(tmp_path)
    [item] = reopened.next_batch(10, 10**9)
    assert outcome is ReceiveOutcome.QUEUED
    assert item.path.read_bytes() == data
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.path.parent.parent == tmp_path / "instances" and item.path.suffix == ".dcm"
    assert item.sop_instance_uid == ds.SOPInstanceUID and item.study_instance_uid == ds.StudyInstanceUID
    assert list((tmp_path / "incoming").iterdir()) == []


def test_identical_bytes_are_queued_once_and_a_refused_instance_sent_again_is_requeued(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    a, b = _series(2)
    _, a_id = _put(queue, a)
    assert _put(queue, a) == (ReceiveOutcome.ALREADY_QUEUED, a_id)
    queue.mark_sent([a_id])
    assert _put(queue, a) == (ReceiveOutcome.ALREADY_SENT, a_id)

    _, b_id = _put(queue, b)
    queue.mark_failed({b_id: "the cloud refused it"})
    assert _put(queue, b) == (ReceiveOutcome.REQUEUED, b_id)
    assert [item.id for item in queue.next_batch(10, 10**9)] == [b_id]
    snapshot = queue.snapshot()
    assert (snapshot.queued, snapshot.sent, snapshot.failed) == (1, 1, 0)


def test_a_new_version_of_a_uid_is_queued_and_never_shares_a_batch_with_the_old_one(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    first, other = _series(2)
    _, old_id = _put(queue, first)
    changed = first.copy()
    changed.SeriesDescription = "CORRECTED"
    outcome, new_id = _put(queue, changed)
    _, other_id = _put(queue, other)

    assert outcome is ReceiveOutcome.QUEUED and new_id != old_id
    assert [item.id for item in queue.next_batch(10, 10**9)] == [old_id, other_id]
    queue.mark_sent([old_id, other_id])
    assert [item.id for item in queue.next_batch(10, 10**9)] == [new_id]


def test_a_lane_never_takes_what_another_lane_sends_nor_a_later_version_of_it(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    first, second, third = _series(3)
    ids = [_put(queue, ds)[1] for ds in (first, second, third)]
    changed = first.copy()
    changed.SeriesDescription = "CORRECTED"
    _, new_id = _put(queue, changed)
    taken = queue.next_batch(2, 10**9)
    assert [item.id for item in taken] == ids[:2]
    # Another lane, while those two are on the wire: the third, but not the new version of the first.
    busy = {"skip_ids": {item.id for item in taken}, "skip_uids": {item.sop_instance_uid for item in taken}}
    assert [item.id for item in queue.next_batch(10, 10**9, **busy)] == [ids[2]]
    queue.mark_sent(ids)
    assert [item.id for item in queue.next_batch(10, 10**9)] == [new_id]


def test_a_crash_mid_write_leaves_a_partial_file_that_recovery_removes_before_anything_reads_it(
    tmp_path: Path,
) -> None:
    queue = InstanceQueue(tmp_path)
    [ds] = _series(1)
    data = dicom_gen.to_bytes(ds)
    partial = tmp_path / "instances" / "ab" / "0123456789abcdef0123456789abcdef.dcm"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(data[:100])  # written into its file, then the power went: no row names it
    queue.close()

    reopened = InstanceQueue(tmp_path)
    assert reopened.recover().orphan_files_removed == 1
    assert not partial.exists()
    outcome, _ = _put(reopened, ds, data)
    [item] = reopened.next_batch(10, 10**9)
    assert outcome is ReceiveOutcome.QUEUED and item.path.read_bytes() == data


def test_batches_are_oldest_first_within_count_and_bytes_but_never_empty(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    ids = [_put(queue, ds)[1] for ds in _series(5)]
    # Sizes differ by a byte or two (generated UIDs vary in length): the budget is the first two's own sum.
    sizes = [item.size for item in queue.next_batch(10, 10**9)]
    assert [item.id for item in queue.next_batch(3, 10**9)] == ids[:3]
    assert [item.id for item in queue.next_batch(10, sizes[0] + sizes[1])] == ids[:2]
    assert [item.id for item in queue.next_batch(10, sizes[0] + sizes[1] - 1)] == ids[:1]
    assert [item.id for item in queue.next_batch(10, 1)] == ids[:1]


_CRASH = """
import os, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.support import dicom_gen
from yilian.gateway.queue import InstanceQueue
queue = InstanceQueue(Path({spool!r}))
series = dicom_gen.ct_series(4, rows=32, cols=32)
for ds in series[:3]:
    queue.put(dicom_gen.to_bytes(ds), sop_instance_uid=ds.SOPInstanceUID, sop_class_uid=ds.SOPClassUID,
              study_instance_uid=ds.StudyInstanceUID)
data = dicom_gen.to_bytes(series[3])
queue.spool_file(data)  # durable file, row never committed
(Path({spool!r}) / "incoming" / "deadbeef.part").write_bytes(data[:100])  # a write cut short
print(series[3].SOPInstanceUID)
os._exit(9)  # no close, no cleanup: as abrupt as kill -9
"""


def test_a_crash_between_file_and_row_loses_no_committed_row_and_leaves_no_orphan(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    child = subprocess.run(
        [sys.executable, "-c", _CRASH.format(root=str(ROOT), spool=str(spool))], capture_output=True, text=True
    )
    assert child.returncode == 9, child.stderr
    unacknowledged = child.stdout.strip()
    assert len(written_files(spool)) == 4

    queue = InstanceQueue(spool)
    recovery = queue.recover()

    assert (recovery.partial_files_removed, recovery.orphan_files_removed, recovery.missing_files) == (1, 1, 0)
    batch = queue.next_batch(10, 10**9)
    assert len(batch) == 3 and all(item.path.exists() for item in batch)
    assert unacknowledged not in {item.sop_instance_uid for item in batch}
    assert written_files(spool) == sorted(item.path for item in batch)
    assert list((spool / "incoming").iterdir()) == []


def test_a_queued_row_whose_file_vanished_is_failed_with_a_reason_not_retried_forever(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    _put(queue, _series(1)[0])
    [item] = queue.next_batch(10, 10**9)
    item.path.unlink()
    assert queue.recover().missing_files == 1
    snapshot = queue.snapshot()
    assert snapshot.queued == 0 and snapshot.failed == 1
    assert "missing" in snapshot.recent_failures[0].reason


def test_prune_deletes_only_old_sent_files_and_keeps_their_rows(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    sent, queued = (_put(queue, ds)[1] for ds in _series(2))
    queue.mark_sent([sent])
    batch = {item.id: item for item in queue.next_batch(10, 10**9)}
    assert queue.prune_sent(older_than=time.time() - 3600) == 0
    assert queue.prune_sent(older_than=time.time() + 1) == 1
    assert batch[queued].path.exists()
    snapshot = queue.snapshot()
    assert (snapshot.sent, snapshot.queued) == (1, 1)
    assert queue.prune_sent(older_than=time.time() + 1) == 0


def test_status_reads_while_the_gateway_holds_the_queue_open(tmp_path: Path) -> None:
    writer = InstanceQueue(tmp_path)
    ids = [_put(writer, ds)[1] for ds in _series(3)]
    writer.mark_sent(ids[:1])
    writer.mark_failed({ids[1]: "the cloud refused it: the cloud cannot understand the instance (C000)"})
    writer.record_error("cannot reach the cloud at https://cloud.example: connection refused")

    reader = InstanceQueue(tmp_path, readonly=True)
    snapshot = reader.snapshot()
    reader.close()

    assert (snapshot.queued, snapshot.sent, snapshot.failed) == (1, 1, 1)
    assert snapshot.oldest_queued_at is not None and snapshot.last_success_at is not None
    assert snapshot.last_error == "cannot reach the cloud at https://cloud.example: connection refused"
    assert snapshot.recent_failures[0].reason.endswith("(C000)")


def test_rows_arriving_together_share_one_commit_and_each_caller_returns_only_once_its_row_is_committed(
    tmp_path: Path,
) -> None:
    queue = InstanceQueue(tmp_path)
    statements: list[str] = []
    queue._db.set_trace_callback(statements.append)
    first_writing, others_waiting = threading.Event(), threading.Event()
    group = queue._group
    original = group._commit_group

    def first_group_waits_for_the_others(waiting: list[Any]) -> None:
        if not first_writing.is_set():
            first_writing.set()
            assert others_waiting.wait(10)  # the other seven queue up behind this commit
        original(waiting)

    group._commit_group = first_group_waits_for_the_others  # type: ignore[method-assign]
    series = _series(8)
    results: dict[int, tuple[ReceiveOutcome, int]] = {}

    def put(index: int) -> None:
        results[index] = _put(queue, series[index])

    threads = [threading.Thread(target=put, args=(0,))]
    threads[0].start()
    assert first_writing.wait(10)
    threads += [threading.Thread(target=put, args=(i,)) for i in range(1, 8)]
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while len(group._waiting) < 7:
        assert time.monotonic() < deadline, "the other puts never queued for the commit"
        time.sleep(0.01)
    assert results == {}  # nobody is acknowledged before the commit that holds its row
    others_waiting.set()
    for thread in threads:
        thread.join(10)

    assert sorted(outcome for outcome, _ in results.values()) == [ReceiveOutcome.QUEUED] * 8
    assert statements.count("COMMIT") == 2  # the first alone, then the seven that arrived meanwhile
    queue.close()
    reopened = InstanceQueue(tmp_path)
    assert {item.id for item in reopened.next_batch(100, 10**9)} == {row_id for _, row_id in results.values()}


def test_a_write_that_fails_in_a_group_is_undone_and_raised_to_its_caller_alone(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    a, b = _series(2)
    _, a_id = _put(queue, a)

    def failing() -> None:
        queue._db.execute("UPDATE instance SET state = 'broken' WHERE id = ?", (a_id,))
        raise RuntimeError("the disk said no")

    good = queue._group.commit(lambda: queue._db.execute("UPDATE instance SET attempts = 7 WHERE id = ?", (a_id,)))
    assert good is not None
    try:
        queue._group.commit(failing)
    except RuntimeError as exc:
        assert str(exc) == "the disk said no"
    else:
        raise AssertionError("the failing write did not raise")
    _, b_id = _put(queue, b)
    batch = {item.id: item for item in queue.next_batch(10, 10**9)}
    assert set(batch) == {a_id, b_id} and batch[a_id].attempts == 7


def test_free_space_is_measured_afresh_near_the_floor_and_at_most_a_second_old_far_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = InstanceQueue(tmp_path)
    free, clock, measured = [10 * 2**30], [1000.0], []

    def disk_usage(path: Path) -> Any:
        measured.append(path)
        return shutil._ntuple_diskusage(20 * 2**30, 20 * 2**30 - free[0], free[0])  # type: ignore[attr-defined]

    monkeypatch.setattr(queue_module.shutil, "disk_usage", disk_usage)
    monkeypatch.setattr(queue_module.time, "monotonic", lambda: clock[0])
    floor, mib = 100 * 2**20, 2**20

    assert queue.free_bytes(mib, floor) == 10 * 2**30 and len(measured) == 1
    assert queue.free_bytes(mib, floor) == 10 * 2**30 - mib and len(measured) == 1  # far from the floor: kept
    free[0] = 5 * 2**30
    clock[0] += 1.5
    assert queue.free_bytes(mib, floor) == 5 * 2**30 and len(measured) == 2  # a second later: measured again
    # Near the floor every answer is fresh, so a refusal always rests on the disk as it is.
    free[0] = floor + 100 * mib
    clock[0] += 1.5
    assert queue.free_bytes(mib, floor) == floor + 100 * mib and len(measured) == 3
    free[0] = floor
    assert queue.free_bytes(mib, floor) == floor and len(measured) == 4
    assert queue.free_bytes(mib, floor) == floor and len(measured) == 5


def _next_batch_as_it_was(
    queue: InstanceQueue, max_count: int, max_bytes: int, skip_ids: set[int], skip_uids: set[str]
) -> list[QueuedInstance]:
    """`next_batch` before it built only the rows it takes (main 683a00a), over the same table: the reference."""
    with sqlite3.connect(queue.spool_dir / "queue.sqlite3") as db:
        rows = db.execute(
            "SELECT id, sop_instance_uid, sop_class_uid, study_instance_uid, path, sha256, size, attempts"
            " FROM instance WHERE state = 'queued' ORDER BY id"
        ).fetchall()
    batch: list[QueuedInstance] = []
    seen: set[str] = set()
    total = 0
    for row in rows:
        item = QueuedInstance(row[0], row[1], row[2], row[3], queue.spool_dir / row[4], row[5], row[6], row[7])
        if item.sop_instance_uid in seen or item.sop_instance_uid in skip_uids:
            seen.add(item.sop_instance_uid)
            continue
        if item.id in skip_ids:
            continue
        if batch and (len(batch) >= max_count or total + item.size > max_bytes):
            break
        batch.append(item)
        seen.add(item.sop_instance_uid)
        total += item.size
    return batch


def test_batches_match_the_reference_through_versions_lanes_failures_and_retries(tmp_path: Path) -> None:
    """Lanes taking, sending, failing and retrying over a queue with several versions of some UIDs (seeded): every
    batch equals what the reference takes from the same table, and no lane ever takes a row or UID in flight."""
    rng = random.Random(10)
    queue = InstanceQueue(tmp_path / "spool")
    uids = [f"1.2.826.0.1.{n}" for n in range(12)]
    for n in range(60):  # 60 instances over 12 UIDs: up to several versions each, of varied sizes
        queue.put(
            b"DICM" + bytes(rng.randrange(1, 4000)) + n.to_bytes(2, "big"),
            sop_instance_uid=rng.choice(uids),
            sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
            study_instance_uid="1.2.3",
        )
    flying: list[list[QueuedInstance]] = []
    batches = 0
    while True:
        skip_ids = {item.id for batch in flying for item in batch}
        if rng.random() < 0.3:  # now and then ids alone, without their UIDs, among the oldest queued
            oldest = [item.id for item in _next_batch_as_it_was(queue, 10, 1 << 30, set(), set())]
            skip_ids |= set(rng.sample(oldest, min(2, len(oldest))))
        skip_uids = {item.sop_instance_uid for batch in flying for item in batch}
        count, size = rng.randrange(1, 8), rng.choice([1, 5000, 12000, 1 << 30])
        batch = queue.next_batch(count, size, skip_ids=frozenset(skip_ids), skip_uids=frozenset(skip_uids))
        assert batch == _next_batch_as_it_was(queue, count, size, skip_ids, skip_uids)
        assert not {item.id for item in batch} & skip_ids and not {i.sop_instance_uid for i in batch} & skip_uids
        if batch:
            flying.append(batch)
            batches += 1
        if not flying:
            break
        if len(flying) >= 4 or not batch:  # the oldest lane's answer: all sent, some refused, or to be retried
            done = flying.pop(rng.randrange(len(flying)))
            fate = rng.random()
            if fate < 0.6:
                queue.mark_sent([item.id for item in done])
            elif fate < 0.75:
                queue.mark_failed({item.id: "refused" for item in done[:1]})
                queue.mark_sent([item.id for item in done[1:]])
            else:
                queue.mark_retry([item.id for item in done], "the cloud did not answer")
    assert batches > 20 and queue.snapshot().queued == 0
    queue.close()
