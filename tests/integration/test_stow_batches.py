"""STOW-RS stores a request's parts in batches (one transaction each): outcomes and counters as if one by one."""

from __future__ import annotations

import asyncio
import copy
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, mr_series, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.db.schema import dicom_instances

pytestmark = pytest.mark.integration

STORED, FAILED = "00081199", "00081198"


async def _stow(api: Api, parts: list[bytes]) -> tuple[int, dict]:
    r = await api.call(
        "zhao.anping", "POST", "/dicomweb/studies", content=stow_body(parts), headers={"Content-Type": CONTENT_TYPE}
    )
    return r.status_code, r.json()


async def _study(api: Api, patient_id: str) -> dict:
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"PatientID": patient_id})
    assert r.status_code == 200, r.text
    [study] = r.json()
    return dict(study)


async def test_one_request_of_two_studies_repeats_and_a_conflict_counts_like_one_by_one(api: Api) -> None:
    patient, other = f"BATCH-{uuid.uuid4().hex[:6]}", f"BATCH-{uuid.uuid4().hex[:6]}"
    ct = ct_series(n_slices=3, rows=32, cols=32, patient_id=patient)
    mr = mr_series(n_slices=2, rows=32, cols=32, patient_id=patient, study_uid=ct[0].StudyInstanceUID)
    [lone] = ct_series(n_slices=1, rows=32, cols=32, patient_id=other)
    edited = copy.deepcopy(ct[1])
    edited.SeriesDescription = "EDITED"
    parts = [to_bytes(ds) for ds in (ct[0], mr[0], ct[1], lone, ct[0], mr[1], ct[2])] + [to_bytes(edited)]

    status, body = await _stow(api, parts)

    assert status == 202, body
    # The repeated ct[0] (same bytes) is a success; the edited ct[1] (same UID, other bytes) a conflict.
    stored = [item["00081155"]["Value"][0] for item in body[STORED]["Value"]]
    assert stored == [str(ds.SOPInstanceUID) for ds in (ct[0], mr[0], ct[1], lone, ct[0], mr[1], ct[2])]
    [failed] = body[FAILED]["Value"]
    assert failed["00081155"]["Value"] == [str(edited.SOPInstanceUID)]
    assert failed["00081197"]["Value"] == [0xA9F1]
    study = await _study(api, patient)
    assert study["00201208"]["Value"] == [5] and study["00201206"]["Value"] == [2]
    assert study["00080061"]["Value"] == ["CT", "MR"]  # in the order they arrived
    single = await _study(api, other)
    assert single["00201208"]["Value"] == [1] and single["00201206"]["Value"] == [1]

    # Sent again with one more MR slice: only that one is new, and it is counted once.
    [extra] = mr_series(n_slices=1, rows=32, cols=32, patient_id=patient, study_uid=ct[0].StudyInstanceUID)
    extra.SeriesInstanceUID = mr[0].SeriesInstanceUID
    status, body = await _stow(api, [*parts[:7], to_bytes(extra)])
    assert status == 200 and len(body[STORED]["Value"]) == 8
    study = await _study(api, patient)
    assert study["00201208"]["Value"] == [6] and study["00201206"]["Value"] == [2]
    assert study["00080061"]["Value"] == ["CT", "MR"]


async def test_concurrent_requests_into_the_same_series_count_every_instance_once(api: Api) -> None:
    patient = f"BATCH-{uuid.uuid4().hex[:6]}"
    ct = ct_series(n_slices=24, rows=16, cols=16, patient_id=patient)
    mr = mr_series(n_slices=24, rows=16, cols=16, patient_id=patient, study_uid=ct[0].StudyInstanceUID)
    # Four requests, each with slices of both series in a different order, and overlapping: a deadlock or a
    # double count would show here.
    requests = [
        [to_bytes(ds) for ds in (ct[i * 6 : i * 6 + 8] + mr[i * 6 : i * 6 + 8])[:: 1 if i % 2 else -1]]
        for i in range(4)
    ]
    answers = await asyncio.gather(*(_stow(api, parts) for parts in requests))
    assert all(status == 200 for status, _ in answers), answers
    study = await _study(api, patient)
    assert study["00201208"]["Value"] == [48] and study["00201206"]["Value"] == [2]
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{ct[0].StudyInstanceUID}/series")
    assert sorted(row["00201209"]["Value"][0] for row in r.json()) == [24, 24]


async def test_a_later_batch_of_one_request_meets_the_earlier_batch_committed(api: Api) -> None:
    """Small parts go 64 to a batch: the second is filled while the first is stored, and stored after it, so a UID
    repeated there is a success (same bytes) or a conflict (other bytes) against a committed first copy, in the
    parts' order."""
    patient = f"BATCH-{uuid.uuid4().hex[:6]}"
    ct = ct_series(n_slices=70, rows=16, cols=16, patient_id=patient)
    edited = copy.deepcopy(ct[1])
    edited.SeriesDescription = "EDITED"
    sent = [*ct[:64], ct[0], ct[64], edited, *ct[65:70]]
    parts = [to_bytes(ds) for ds in sent]

    status, body = await _stow(api, parts + [to_bytes(ds) for ds in ct[:4]] * 4)  # 88 parts: 2 batches

    assert status == 202, body
    stored = [item["00081155"]["Value"][0] for item in body[STORED]["Value"]]
    expected = [ds for ds in sent if ds is not edited] + list(ct[:4]) * 4
    assert stored == [str(ds.SOPInstanceUID) for ds in expected]
    [failed] = body[FAILED]["Value"]
    assert failed["00081155"]["Value"] == [str(edited.SOPInstanceUID)]
    assert failed["00081197"]["Value"] == [0xA9F1]
    study = await _study(api, patient)
    assert study["00201208"]["Value"] == [70] and study["00201206"]["Value"] == [1]


async def _batch_sizes(engine: AsyncEngine, series_uid: str) -> list[int]:
    """The instances of a series committed together: one batch's rows share its created_at."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(sa.func.count())
            .where(dicom_instances.c.series_instance_uid == series_uid)
            .group_by(dicom_instances.c.created_at)
            .order_by(dicom_instances.c.created_at)
        )
        return [n for (n,) in rows]


async def test_small_parts_go_64_to_a_batch_and_slices_16(api: Api, engine: AsyncEngine) -> None:
    small = ct_series(n_slices=70, rows=16, cols=16, patient_id=f"BATCH-{uuid.uuid4().hex[:6]}")
    # 256x256 slices of 16 bits: 128 KiB each, 16 of them 2 MiB (a batch goes on to 64); 512x512: 512 KiB each.
    medium = ct_series(n_slices=20, rows=256, cols=256, patient_id=f"BATCH-{uuid.uuid4().hex[:6]}")
    large = ct_series(n_slices=17, rows=512, cols=512, patient_id=f"BATCH-{uuid.uuid4().hex[:6]}")
    for series, sizes in ((small, [64, 6]), (medium, [20]), (large, [16, 1])):
        status, body = await _stow(api, [to_bytes(ds) for ds in series])
        assert status == 200, body
        assert await _batch_sizes(engine, str(series[0].SeriesInstanceUID)) == sizes
