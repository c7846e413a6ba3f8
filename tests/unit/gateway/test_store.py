"""gateway.store: what the gateway answers a C-STORE and what it spools, on a real queue directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom.dsutils import create_file_meta, encode_file_meta

from tests.support import dicom_gen
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.store import store_received

EXPLICIT = "1.2.840.10008.1.2.1"


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
    meta = encode_file_meta(create_file_meta(sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID,
                                             transfer_syntax=EXPLICIT))  # type: ignore[arg-type]  # fmt: skip
    assert item.path.read_bytes() == bytes(128) + b"DICM" + meta + _dataset(ds)
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
    assert _store(queue, ds, min_free_bytes=shutil.disk_usage(tmp_path).free + 1) == (
        0xA700, "the gateway's disk is full")  # fmt: skip

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(queue, "put", broken)
    assert _store(queue, ds) == (0xA700, "the gateway could not store the file: No space left on device")
