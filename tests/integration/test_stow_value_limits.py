"""One instance whose indexed values break their VR limits is refused alone; the rest of the request is stored."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, dx_image
from tests.support.stow import CONTENT_TYPE, stow_body

pytestmark = pytest.mark.integration

STORED, FAILED = "00081199", "00081198"


def _bad(patient_id: str, accession_number: str) -> Dataset:
    [image] = dx_image(rows=16, cols=16, patient_id=patient_id, accession_number=accession_number)
    return image


@pytest.mark.parametrize(
    ("label", "patient_id", "accession_number", "keyword"),
    [
        ("accession", "LIMIT-ACC", "A" * 100, "AccessionNumber"),
        ("patient-id", "P" * 5000, "LIMIT-PID", "PatientID"),
    ],
    ids=["accession-100", "patient-id-5000"],
)
async def test_good_bad_good_stores_both_good_and_refuses_the_bad_one_alone(
    api: Api, label: str, patient_id: str, accession_number: str, keyword: str
) -> None:
    study_uid = generate_uid()
    good = ct_series(n_slices=2, rows=32, cols=32, patient_id=f"LIMIT-GOOD-{label}", study_uid=study_uid)
    bad = _bad(patient_id, accession_number)
    body = stow_body([good[0], bad, good[1]])

    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=body, headers={"Content-Type": CONTENT_TYPE})

    assert r.status_code == 202, r.text  # PS3.18 §10.5.3: some stored, some failed
    result = r.json()
    stored = [item["00081155"]["Value"][0] for item in result[STORED]["Value"]]
    assert stored == [str(good[0].SOPInstanceUID), str(good[1].SOPInstanceUID)]
    [failed] = result[FAILED]["Value"]
    assert failed["00081155"]["Value"] == [str(bad.SOPInstanceUID)]
    assert failed["00081197"]["Value"] == [0xC000]
    assert keyword in failed["00000902"]["Value"][0]

    # The good ones are indexed; nothing of the bad one was written (its study is unknown to the archive).
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{study_uid}/instances")
    assert r.status_code == 200, r.text
    assert len(r.json()) == 2
    r = await api.call(
        "zhao.anping", "GET", "/dicomweb/studies", params={"StudyInstanceUID": str(bad.StudyInstanceUID)}
    )
    assert r.status_code == 204, r.text

    # The same request again (a gateway retry): the good ones are idempotent duplicates, the bad one still refused.
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=body, headers={"Content-Type": CONTENT_TYPE})
    assert r.status_code == 202, r.text
    assert len(r.json()[STORED]["Value"]) == 2
