"""gateway.store: what the gateway answers a C-STORE and what it spools, on a real queue directory."""

from __future__ import annotations

import contextlib
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom.dsutils import create_file_meta, encode_file_meta

from tests.support import dicom_gen
from yilian.gateway import store
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.store import store_received

EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"


def _meta(ds: Dataset, syntax: str) -> bytes:
    """The File Meta Information pynetdicom writes for a received C-STORE (Event.encoded_dataset)."""
    return encode_file_meta(
        create_file_meta(sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID, transfer_syntax=syntax)  # type: ignore[arg-type]
    )


def _dataset(ds: Dataset, *, implicit: bool = False) -> bytes:
    """The data set alone, as a modality sends it inside P-DATA (no preamble, no File Meta Information)."""
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, implicit
    write_dataset(buf, ds)
    return buf.getvalue()


def _store(queue: InstanceQueue, ds: Dataset, dataset: bytes | None = None, **overrides: Any) -> tuple[int, str | None]:
    arguments: dict[str, Any] = {
        "transfer_syntax": EXPLICIT,
        "sop_class_uid": str(ds.SOPClassUID),
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "calling_ae": "CT1",
        "queue": queue,
        "min_free_bytes": 0,
        "on_queued": lambda: None,
    }
    arguments.update(overrides)
    return store_received(_dataset(ds) if dataset is None else dataset, **arguments)


def test_an_instance_is_spooled_as_its_part10_file_and_acknowledged_once_queued(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    ds = dicom_gen.ct_series(1, 16, 16)[0]
    queued: list[bool] = []

    assert _store(queue, ds, on_queued=lambda: queued.append(True)) == (0x0000, None)

    [item] = queue.next_batch(10, 10**9)
    assert item.path.read_bytes() == bytes(128) + b"DICM" + _meta(ds, EXPLICIT) + _dataset(ds)
    assert (item.sop_instance_uid, item.sop_class_uid, item.study_instance_uid) == (
        ds.SOPInstanceUID, ds.SOPClassUID, ds.StudyInstanceUID)  # fmt: skip
    assert queued == [True]


def test_refusals_keep_their_status_and_words_and_queue_nothing(tmp_path: Path) -> None:
    queue = InstanceQueue(tmp_path)
    ds = dicom_gen.ct_series(1, 16, 16)[0]
    no_pixels = dicom_gen.ct_series(1, 16, 16)[0]
    del no_pixels.PixelData
    whole = _dataset(ds)

    assert _store(queue, no_pixels) == (0xA900, "PixelData is missing from an image")
    status, comment = _store(queue, ds, whole[:-10])
    assert status == 0xC000 and comment is not None and comment.startswith("unreadable: element (7FE0,0010) declares")
    assert _store(queue, ds, sop_instance_uid="1.2.3") == (
        0xA900, "File Meta MediaStorageSOPInstanceUID 1.2.3 differs from SOPInsta")  # fmt: skip
    status, comment = _store(queue, ds, sop_instance_uid="")
    assert status == 0x0110 and comment is not None and comment.startswith("the gateway failed: ")
    assert len(comment) == 64
    assert queue.next_batch(10, 10**9) == []


def test_a_full_disk_answers_a700_and_a_failing_queue_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = InstanceQueue(tmp_path)
    ds = dicom_gen.ct_series(1, 16, 16)[0]
    # More than the disk holds: no other process freeing space in the meantime can make this pass.
    assert _store(queue, ds, min_free_bytes=shutil.disk_usage(tmp_path).total + 1) == (
        0xA700, "the gateway's disk is full")  # fmt: skip

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(queue, "put", broken)
    assert _store(queue, ds) == (0xA700, "the gateway could not store the file: No space left on device")


def _received() -> Iterator[tuple[str, str, Dataset, bytes]]:
    """(name, transfer syntax, data set, its bytes as a modality sends them): both encodings, sequences, refusals,
    and damaged bytes."""
    rng = random.Random(16)
    sources: list[tuple[str, Dataset]] = [("ct", dicom_gen.ct_series(1, 16, 16)[0]),
                                          ("mr", dicom_gen.mr_series(1, 16, 16)[0]),
                                          ("dx", dicom_gen.dx_image(16, 16)[0])]  # fmt: skip
    no_pixels = dicom_gen.ct_series(1, 16, 16)[0]
    del no_pixels.PixelData
    sources.append(("no pixel data", no_pixels))
    for name, ds in sources:
        for syntax, implicit in ((EXPLICIT, False), (IMPLICIT, True)):
            whole = _dataset(ds, implicit=implicit)
            yield f"{name} {syntax}", syntax, ds, whole
            for n in range(40):
                data = bytearray(whole)
                if rng.random() < 0.3:
                    del data[rng.randrange(len(data)) :]
                for _ in range(rng.randint(1, 3)):
                    data[rng.randrange(min(len(data), len(whole) - 512))] = rng.randrange(256)
                yield f"{name} {syntax} damaged {n}", syntax, ds, bytes(data)


def test_the_one_walk_and_pydicom_give_the_same_answers_and_spool_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every received data set through store_received twice: as it runs, and with the one-pass walk switched off
    (pydicom reads every file, as before); the same status, Error Comment and queue, byte for byte."""
    fast, slow = InstanceQueue(tmp_path / "fast"), InstanceQueue(tmp_path / "slow")
    walked = []
    for name, syntax, ds, data in _received():
        answer = _store(fast, ds, data, transfer_syntax=syntax)
        walked.append(store.read_identity(bytes(128) + b"DICM" + _meta(ds, syntax) + data) is not None)
        with monkeypatch.context() as patch:
            patch.setattr(store, "read_identity", lambda data: None)
            assert _store(slow, ds, data, transfer_syntax=syntax) == answer, name
    assert sum(walked) > 30  # not vacuous: every undamaged good one and some damaged ones took the walk
    fast.close()
    slow.close()
    rows = []
    for side in ("fast", "slow"):
        with contextlib.closing(sqlite3.connect(tmp_path / side / "queue.sqlite3")) as db:
            found = db.execute(
                "SELECT sop_instance_uid, sop_class_uid, study_instance_uid, sha256, size, state, path FROM instance"
                " ORDER BY id"
            ).fetchall()
        # Each file's bytes, not its name: names are blanks', random on each side.
        rows.append([(*row[:6], (tmp_path / side / row[6]).read_bytes()) for row in found])
    assert rows[0] == rows[1]
    assert len(rows[0]) > 10
