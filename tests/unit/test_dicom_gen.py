"""The synthetic series generator: valid, re-readable, consistent identity and geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, DigitalXRayImageStorageForPresentation, MRImageStorage

from tests.support import dicom_gen
from yilian.dicom.instance import check_instance, read_instance


def small_series() -> list[tuple[str, list[Dataset]]]:
    return [
        ("CT", dicom_gen.ct_series(n_slices=3, rows=16, cols=16)),
        ("MR", dicom_gen.mr_series(n_slices=2, rows=16, cols=16)),
        ("DX", dicom_gen.dx_image(rows=16, cols=16)),
    ]


@pytest.mark.parametrize(("modality", "series"), small_series())
def test_each_generated_instance_is_valid_and_rereadable(modality: str, series: list[Dataset]) -> None:
    for ds in series:
        again = read_instance(dicom_gen.to_bytes(ds))
        assert check_instance(again) == []
        assert again.Modality == modality
        assert again.SOPInstanceUID == ds.SOPInstanceUID
        assert again.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert np.array_equal(again.pixel_array, ds.pixel_array)


def test_sop_classes() -> None:
    assert {ds.SOPClassUID for _, series in small_series() for ds in series} == {
        CTImageStorage,
        MRImageStorage,
        DigitalXRayImageStorageForPresentation,
    }


def test_study_is_shared_series_and_instances_are_not() -> None:
    ct = dicom_gen.ct_series(n_slices=4, rows=8, cols=8)
    mr = dicom_gen.mr_series(n_slices=2, rows=8, cols=8, study_uid=ct[0].StudyInstanceUID)
    assert {ds.StudyInstanceUID for ds in ct + mr} == {ct[0].StudyInstanceUID}
    assert len({ds.SeriesInstanceUID for ds in ct}) == 1
    assert ct[0].SeriesInstanceUID != mr[0].SeriesInstanceUID
    assert len({ds.SOPInstanceUID for ds in ct + mr}) == 6
    assert [ds.InstanceNumber for ds in ct] == [1, 2, 3, 4]


def test_ct_geometry_windowing_and_phantom() -> None:
    ct = dicom_gen.ct_series(n_slices=3, rows=64, cols=64, slice_thickness=2.5)
    z = [float(ds.ImagePositionPatient[2]) for ds in ct]
    assert z == [0.0, -2.5, -5.0]
    assert list(ct[0].ImageOrientationPatient) == [1, 0, 0, 0, 1, 0]
    assert ct[0].PixelSpacing[0] == pytest.approx(350 / 64)
    assert ct[0].RescaleIntercept == -1024 and ct[0].WindowCenter[0] == 40
    hu = ct[0].pixel_array.astype(int) - 1024
    assert hu[0, 0] < -900  # air outside the body
    assert -100 < hu[32, 32] < 200 or hu[32, 32] > 500  # soft tissue or the bright disc at the centre
    assert hu.max() > 500  # the disc is there


def test_chinese_name_and_gb18030_bytes(tmp_path: Path) -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=8, cols=8, charset="GB18030")[0]
    path = dicom_gen.write(ds, tmp_path / "a" / "ct.dcm")
    raw = path.read_bytes()
    assert "张".encode("gb18030") in raw and "张".encode() not in raw
    again = dcmread(path)
    assert again.PatientName.ideographic == "张^三"
    assert again.IssuerOfPatientID == "COUNTY-HOSPITAL"
