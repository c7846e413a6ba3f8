"""STOW-RS stores a request's parts in batches (one transaction each): outcomes and counters as if one by one."""

from __future__ import annotations

import asyncio
import copy
import uuid

import pytest

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, mr_series, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body

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
    """Batches of 16: the second is filled while the first is stored, and stored after it, so a UID repeated
    there is a success (same bytes) or a conflict (other bytes) against a committed first copy, in the parts' order."""
    patient = f"BATCH-{uuid.uuid4().hex[:6]}"
    ct = ct_series(n_slices=20, rows=16, cols=16, patient_id=patient)
    edited = copy.deepcopy(ct[1])
    edited.SeriesDescription = "EDITED"
    sent = [*ct[:16], ct[0], ct[16], edited, *ct[17:20]]
    parts = [to_bytes(ds) for ds in sent]

    status, body = await _stow(api, parts + [to_bytes(ds) for ds in ct[:4]] * 4)  # 38 parts: 3 batches

    assert status == 202, body
    stored = [item["00081155"]["Value"][0] for item in body[STORED]["Value"]]
    expected = [ds for ds in sent if ds is not edited] + list(ct[:4]) * 4
    assert stored == [str(ds.SOPInstanceUID) for ds in expected]
    [failed] = body[FAILED]["Value"]
    assert failed["00081155"]["Value"] == [str(edited.SOPInstanceUID)]
    assert failed["00081197"]["Value"] == [0xA9F1]
    study = await _study(api, patient)
    assert study["00201208"]["Value"] == [20] and study["00201206"]["Value"] == [1]
