"""Putting a study into the real archive for tests that need one (through the one ingest pipeline)."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.dicom_gen import dx_image, to_bytes
from yilian.imaging.blob import FilesystemBlobStore
from yilian.imaging.ingest import IncomingInstance, Origin, store_instance


async def store_study(
    engine: AsyncEngine, blob_root: Path, hospital_id: str, study_uid: str | None = None, patient_id: str = "P0001"
) -> str:
    """A one-image DX study of `hospital_id` (16x16: enough to be a real, readable image); its UID."""
    uid = study_uid or generate_uid()
    [image] = dx_image(rows=16, cols=16, patient_id=patient_id, study_uid=uid)
    incoming = IncomingInstance(to_bytes(image), Origin.UPLOAD, hospital_id, "test-setup")
    result = await store_instance(engine, FilesystemBlobStore(blob_root), incoming)
    assert result.accepted, result
    return uid


def with_order(ds: Dataset, **order: str) -> Dataset:
    """The instance with the order attributes a RIS puts on it (keywords as in pydicom: RequestedProcedureDescription,
    ReasonForTheRequestedProcedure, AdmittingDiagnosesDescription, RequestingPhysician, RequestedProcedurePriority,
    PatientAge, ...); an empty value removes the attribute."""
    for keyword, value in order.items():
        if value:
            setattr(ds, keyword, value)
        elif keyword in ds:
            delattr(ds, keyword)
    return ds


async def store_ordered_study(
    engine: AsyncEngine,
    blob_root: Path,
    hospital_id: str,
    study_uid: str | None = None,
    *,
    patient_id: str = "P0001",
    images: int = 1,
    **order: str,
) -> str:
    """A DX study of `images` one-image series carrying the order attributes `order`; its UID."""
    uid = study_uid or generate_uid()
    for _ in range(images):
        [image] = dx_image(rows=16, cols=16, patient_id=patient_id, study_uid=uid)
        incoming = IncomingInstance(to_bytes(with_order(image, **order)), Origin.UPLOAD, hospital_id, "test-setup")
        result = await store_instance(engine, FilesystemBlobStore(blob_root), incoming)
        assert result.accepted, result
    return uid
