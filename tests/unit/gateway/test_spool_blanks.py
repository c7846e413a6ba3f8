"""Blank spool files (gateway/spool_blanks.py) with a real queue on real files: an instance goes into a blank whose
name is already durable, so its acknowledgement waits for no directory flush; recovery tells blanks from instances
written but never committed; a kill -9 mid-stream loses nothing acknowledged."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import dicom_gen
from yilian.gateway.queue import InstanceQueue, Received, ReceiveOutcome
from yilian.gateway.spool_blanks import POOL_SIZE

ROOT = Path(__file__).resolve().parents[3]
NEEDS_STRACE = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def _put(queue: InstanceQueue, data: bytes, uid: str) -> ReceiveOutcome:
    return queue.put(data, sop_instance_uid=uid, sop_class_uid="1.2", study_instance_uid="1.2").outcome


def _files(spool: Path) -> tuple[set[str], set[str]]:
    """(blanks, files holding bytes) under `instances/`, relative to the spool."""
    blanks, written = set(), set()
    for path in (spool / "instances").glob("*/*.dcm"):
        (written if path.stat().st_size else blanks).add(str(path.relative_to(spool)))
    return blanks, written


def _rows(spool: Path) -> dict[str, tuple[str, str]]:
    """sop_instance_uid -> (path, sha256) of every row."""
    with sqlite3.connect(spool / "queue.sqlite3") as db:
        return {
            uid: (path, sha) for uid, path, sha in db.execute("SELECT sop_instance_uid, path, sha256 FROM instance")
        }


def _wait_for_blanks(queue: InstanceQueue, count: int) -> None:
    deadline = time.monotonic() + 30
    while queue.blanks_ready() < count:
        assert time.monotonic() < deadline, f"the pool never reached {count} blanks"
        time.sleep(0.01)


_TRACED = """
import json, os, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.support import dicom_gen
from yilian.gateway.queue import InstanceQueue
spool = Path({spool!r})
queue = InstanceQueue(spool, blanks={blanks})
queue.recover()
deadline = time.monotonic() + 30
while queue.blanks_ready() < {blanks} and time.monotonic() < deadline:
    time.sleep(0.01)
ready = sorted(str(p.relative_to(spool)) for p in (spool / "instances").glob("*/*.dcm"))
os.write(1, b"PUTS\\n")  # marks the puts' start in the trace
for ds in dicom_gen.ct_series(8, rows=32, cols=32):
    queue.put(dicom_gen.to_bytes(ds), sop_instance_uid=ds.SOPInstanceUID, sop_class_uid=ds.SOPClassUID,
              study_instance_uid=ds.StudyInstanceUID)
os.write(1, b"DONE\\n")
print(json.dumps(ready))
queue.close()
"""
_FSYNC = re.compile(r"\b(?:fsync|fdatasync)\(\d+<([^>]*)>")


def _puts_traced(spool: Path, blanks: int) -> tuple[list[str], list[str]]:
    """Eight puts in a child under strace: (the files the pool held before them, every path fsynced during them)."""
    trace = spool.parent / f"trace-{blanks}.txt"
    script = _TRACED.format(root=str(ROOT), spool=str(spool), blanks=blanks)
    child = subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=fsync,fdatasync,write", "-o", str(trace), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    ready = json.loads(child.stdout.splitlines()[-1])
    lines = trace.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "write(1<" in line and '"PUTS\\n"' in line)
    end = next(i for i, line in enumerate(lines) if "write(1<" in line and '"DONE\\n"' in line)
    return ready, [m.group(1) for line in lines[start:end] if (m := _FSYNC.search(line))]


def _directories(spool: Path, fsynced: list[str]) -> list[str]:
    return [path for path in fsynced if path.startswith(str(spool / "instances")) and not path.endswith(".dcm")]


@NEEDS_STRACE
def test_a_put_writes_into_a_blank_and_waits_for_no_directory_flush(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    ready, fsynced = _puts_traced(spool, POOL_SIZE)

    rows = _rows(spool)
    assert len(rows) == 8 and len(ready) == POOL_SIZE
    assert {path for path, _ in rows.values()} <= set(ready)  # each instance went into a blank made beforehand
    for path, sha in rows.values():
        assert hashlib.sha256((spool / path).read_bytes()).hexdigest() == sha
    files = [path for path in fsynced if path.endswith(".dcm")]
    directories = _directories(spool, fsynced)
    assert sorted(files) == sorted(str(spool / path) for path, _ in rows.values())  # each file once, before its row
    assert directories == []  # 8 below the refill mark of 32: no batch either


@NEEDS_STRACE
def test_with_no_blank_ready_a_put_makes_its_own_file_and_flushes_its_directory(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    ready, fsynced = _puts_traced(spool, 0)

    rows = _rows(spool)
    assert ready == [] and len(rows) == 8
    for path, sha in rows.values():
        assert hashlib.sha256((spool / path).read_bytes()).hexdigest() == sha
    directories = _directories(spool, fsynced)
    # Each file's own directory after it; a new prefix directory also flushes instances/ (random: 1-8 of them).
    own = [str((spool / path).parent) for path, _ in rows.values()]
    assert sorted(path for path in directories if path != str(spool / "instances")) == sorted(own)


def test_a_burst_beyond_a_small_pool_stores_everything(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path, blanks=4)  # 40 puts in a row, some into blanks, some into files of their own
    series = [dicom_gen.to_bytes(ds) for ds in dicom_gen.ct_series(40, rows=32, cols=32)]
    outcomes = [_put(queue, data, f"1.2.3.{n}") for n, data in enumerate(series)]
    queue.close()

    assert outcomes == [ReceiveOutcome.QUEUED] * 40
    rows = _rows(tmp_path)
    assert sorted((tmp_path / path).read_bytes() for path, _ in rows.values()) == sorted(series)
    _, written = _files(tmp_path)
    assert written == {path for path, _ in rows.values()}  # no file left that no row names


def test_recover_keeps_blanks_and_removes_what_was_written_and_never_committed(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    queue.recover()
    _wait_for_blanks(queue, POOL_SIZE)
    first, second, third = (dicom_gen.to_bytes(ds) for ds in dicom_gen.ct_series(3, rows=32, cols=32))
    _put(queue, first, "1.2.3.1")
    unacknowledged = queue.spool_file(second)  # written and fsynced into a blank, then the crash: no row
    cut_short = queue._blanks.take()  # a write cut short by the crash
    assert cut_short is not None
    (tmp_path / cut_short).write_bytes(third[:100])
    queue.close()
    blanks_before, _ = _files(tmp_path)

    reopened = InstanceQueue(tmp_path)
    recovery = reopened.recover()

    assert (recovery.orphan_files_removed, recovery.blanks_kept) == (2, POOL_SIZE - 3)
    assert len(blanks_before) == POOL_SIZE - 3
    assert not (tmp_path / unacknowledged).exists() and not (tmp_path / cut_short).exists()
    blanks, written = _files(tmp_path)
    assert written == {path for path, _ in _rows(tmp_path).values()}
    assert blanks >= blanks_before
    # The next instance goes into a blank the last run made: adopted, not made anew.
    assert _put(reopened, second, "1.2.3.2") is ReceiveOutcome.QUEUED
    assert _rows(tmp_path)["1.2.3.2"][0] in blanks_before
    reopened.close()


class _MeetAfterTheFile(InstanceQueue):
    """Two puts that both wrote their file before either commits its row: two associations, the same bytes."""

    barrier = threading.Barrier(2)

    def spool_file(self, data: bytes) -> str:
        relative = super().spool_file(data)
        self.barrier.wait(10)
        return relative


def test_the_same_bytes_from_two_associations_at_once_leave_one_row_and_one_file(tmp_path: Path) -> None:
    queue = _MeetAfterTheFile(tmp_path)
    data = dicom_gen.to_bytes(dicom_gen.ct_series(1, rows=32, cols=32)[0])
    received: list[Received] = []
    threads = [
        threading.Thread(
            target=lambda: received.append(
                queue.put(data, sop_instance_uid="1.2.3", sop_class_uid="1.2", study_instance_uid="1.2")
            )
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    queue.close()

    assert [r.outcome for r in received] == [ReceiveOutcome.QUEUED] * 2 and received[0] == received[1]
    [(path, _)] = _rows(tmp_path).values()
    assert received[0].path == tmp_path / path and received[0].path.read_bytes() == data
    assert _files(tmp_path)[1] == {path}  # the later one's copy is gone


def test_a_refused_instance_sent_again_is_written_again_into_the_file_its_row_names(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    data = dicom_gen.to_bytes(dicom_gen.ct_series(1, rows=32, cols=32)[0])
    _put(queue, data, "1.2.3")
    [item] = queue.next_batch(10, 10**9)
    queue.mark_failed({item.id: "the cloud refused it"})
    item.path.write_bytes(data[:10])  # whatever became of the file meanwhile, the bytes sent now are the ones kept

    again = queue.put(data, sop_instance_uid="1.2.3", sop_class_uid="1.2", study_instance_uid="1.2")
    queue.close()

    assert (again.outcome, again.id, again.path) == (ReceiveOutcome.REQUEUED, item.id, item.path)
    assert item.path.read_bytes() == data and _files(tmp_path)[1] == {str(item.path.relative_to(tmp_path))}


_STREAM = """
import os, sys, threading
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.support import dicom_gen
from yilian.gateway.queue import InstanceQueue
queue = InstanceQueue(Path({spool!r}))
queue.recover()
lock = threading.Lock()
def associate(lane):
    for n, ds in enumerate(dicom_gen.ct_series(400, rows=64, cols=64)):
        uid = f"1.2.3.{{lane}}.{{n}}"
        queue.put(dicom_gen.to_bytes(ds), sop_instance_uid=uid, sop_class_uid="1.2", study_instance_uid="1.2")
        with lock:
            os.write(1, (uid + "\\n").encode())  # acknowledged: the modality would now be told Success
threads = [threading.Thread(target=associate, args=(lane,)) for lane in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_kill_9_mid_stream_loses_nothing_acknowledged_and_leaves_nothing_unnamed(tmp_path: Path) -> None:
    """Four threads put instances as four associations would; the process is killed (SIGKILL) while they do. Every
    instance acknowledged before the kill is queued with its bytes; after recovery every file holding bytes is one
    a row names, and the blanks left are kept."""
    spool = tmp_path / "spool"
    child = subprocess.Popen(
        [sys.executable, "-c", _STREAM.format(root=str(ROOT), spool=str(spool))], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acknowledged = []
    while len(acknowledged) < 150:  # well into the stream, several refills of the pool behind it
        line = child.stdout.readline()
        assert line, "the child ended before the kill"
        acknowledged.append(line.strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    acknowledged += child.stdout.read().split()  # anything written before the kill landed
    assert child.returncode == -signal.SIGKILL

    blanks_left, _ = _files(spool)
    queue = InstanceQueue(spool)
    recovery = queue.recover()
    rows = _rows(spool)
    assert set(acknowledged) <= set(rows)
    for path, sha in rows.values():
        assert hashlib.sha256((spool / path).read_bytes()).hexdigest() == sha
    blanks, written = _files(spool)
    assert written == {path for path, _ in rows.values()}  # what no row named is gone
    assert recovery.missing_files == 0 and recovery.blanks_kept == len(blanks_left) > 0
    assert blanks >= blanks_left  # kept, and the refill may have added more since
    queue.close()
