"""The demo's synthetic studies: what the ingest pipeline checks passes, the patient is the one named, and a viewer
would show something (the rendered image is not flat)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest

from yilian.dicom.instance import check_instance, read_instance
from yilian.dicom.render import to_display_pixels
from yilian.dicom.synthetic import SOP_CLASSES, StudyRequest, synthetic_study
from yilian.imaging.index import index_instance


def request(modality: str, body_part: str) -> StudyRequest:
    return StudyRequest(
        modality=modality,
        body_part=body_part,
        patient_id="AP5001",
        issuer="ANPING",
        patient_name="Wang^Jianguo=王^建国",
        birth_date=date(1958, 5, 12),
        sex="M",
        accession_number="LIVE0001",
        acquired_at=datetime(2026, 12, 2, 9, 30),
        images=3,
    )


@pytest.mark.parametrize(
    ("modality", "body_part"), [("CT", "CHEST"), ("MR", "HEAD"), ("DX", "CHEST"), ("MG", "BREAST")]
)
def test_a_study_passes_the_ingest_checks_and_names_its_patient(modality: str, body_part: str) -> None:
    files = synthetic_study(request(modality, body_part))
    assert len(files) == (3 if modality in ("CT", "MR") else 1)
    datasets = [read_instance(f) for f in files]
    assert all(check_instance(ds) == [] for ds in datasets)
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(files)
    for ds in datasets:
        assert ds.SOPClassUID == SOP_CLASSES[modality] and ds.Modality == modality
        patient = (ds.PatientID, ds.IssuerOfPatientID, ds.PatientBirthDate, ds.PatientSex)
        assert patient == ("AP5001", "ANPING", "19580512", "M")
        assert str(ds.PatientName) == "Wang^Jianguo=王^建国" and ds.BodyPartExamined == body_part
        indexed = index_instance(ds)
        assert indexed.study_instance_uid == ds.StudyInstanceUID and indexed.modality == modality
        shown = to_display_pixels(ds)
        assert np.ptp(shown) > 100  # a body and a disc, not a blank frame


def test_a_named_study_uid_is_kept_and_an_unknown_modality_refused() -> None:
    uid = "1.2.826.0.1.3680043.8.498.55"
    files = synthetic_study(replace(request("CT", "HEAD"), study_instance_uid=uid))
    assert {read_instance(f).StudyInstanceUID for f in files} == {uid}
    with pytest.raises(ValueError, match="no synthetic US"):
        synthetic_study(request("US", "ABDOMEN"))
