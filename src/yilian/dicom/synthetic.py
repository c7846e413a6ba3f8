"""Small synthetic studies (CT, MR, DX, MG) as Part-10 bytes: a phantom a viewer can show, for demos.

Valid as a modality would send them (identity UIDs, Image Pixel module, plane geometry for the cross-sectional
modalities, a window), but tiny: a few 128 x 128 slices or one 256-pixel radiograph, so a demo stores a study in
milliseconds. No real person is in them; the patient is whoever the caller names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

SOP_CLASSES: dict[str, UID] = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "DX": DigitalXRayImageStorageForPresentation,
    "MG": DigitalMammographyXRayImageStorageForPresentation,
}
CROSS_SECTIONAL = ("CT", "MR")


@dataclass(frozen=True)
class StudyRequest:
    """Who and what the study is of; `patient_name` is a DICOM PN ("Liu^Bei=刘^备", PS3.5 §6.2.1.2)."""

    modality: str  # one of SOP_CLASSES
    body_part: str
    patient_id: str
    issuer: str
    patient_name: str
    birth_date: date
    sex: str
    accession_number: str
    acquired_at: datetime
    institution: str = ""
    study_instance_uid: str = ""  # empty: a new UID
    images: int = 4  # slices of a CT or MR; DX and MG have one image


def synthetic_study(req: StudyRequest) -> list[bytes]:
    """The study's instances (one series), each a Part-10 file in memory."""
    if req.modality not in SOP_CLASSES:
        raise ValueError(f"no synthetic {req.modality}: one of {', '.join(SOP_CLASSES)}")
    study = req.study_instance_uid or generate_uid()
    series = generate_uid()
    count = max(1, req.images) if req.modality in CROSS_SECTIONAL else 1
    return [_to_bytes(_instance(req, study, series, index)) for index in range(count)]


def _instance(req: StudyRequest, study: str, series: str, index: int) -> Dataset:
    sop_class = SOP_CLASSES[req.modality]
    sop_instance = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = req.acquired_at.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = req.acquired_at.strftime("%H%M%S")
    ds.ContentTime = f"{req.acquired_at:%H%M}{index % 60:02d}"
    ds.AccessionNumber = req.accession_number
    ds.Modality = req.modality
    ds.Manufacturer = "Yilian Synthetic"
    ds.InstitutionName = req.institution
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"{req.modality} {req.body_part}"
    ds.SeriesDescription = f"{req.body_part} synthetic"
    ds.PatientName = req.patient_name
    ds.PatientID = req.patient_id
    ds.IssuerOfPatientID = req.issuer
    ds.PatientBirthDate = req.birth_date.strftime("%Y%m%d")
    ds.PatientSex = req.sex
    ds.BodyPartExamined = req.body_part
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if req.modality in CROSS_SECTIONAL else ["ORIGINAL", "PRIMARY"]
    if req.modality in CROSS_SECTIONAL:
        _slice(ds, req.modality, index, req.images)
    else:
        _projection(ds, req.modality)
    return ds


def _slice(ds: Dataset, modality: str, index: int, count: int) -> None:
    """An axial slice (PS3.3 C.7.6.2): 128 x 128 over a 350 mm (CT) or 230 mm (MR) field of view, 5 mm apart."""
    size, fov, thickness = 128, 350.0 if modality == "CT" else 230.0, 5.0
    spacing = fov / size
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[str(ds.SeriesInstanceUID), "frame-of-reference"])
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    z = -index * thickness
    ds.ImagePositionPatient = [round(-fov / 2, 3), round(-fov / 2, 3), z]
    ds.SliceLocation = z
    ds.SliceThickness = thickness
    ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
    phase = index / max(count, 1)
    if modality == "CT":
        hu = _phantom(size, size, background=-1000, body=40, disc=700, phase=phase, seed=index)
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.KVP = 120
        _set_pixels(ds, hu + 1024)
    else:
        ds.ScanningSequence, ds.SequenceVariant = "SE", "NONE"
        ds.MagneticFieldStrength = 1.5
        ds.WindowCenter, ds.WindowWidth = 600, 1200
        _set_pixels(ds, _phantom(size, size, background=0, body=500, disc=1100, phase=phase, seed=index))


def _projection(ds: Dataset, modality: str) -> None:
    """One radiograph for presentation: lungs dark in a bright body (DX), or a breast with a dense spot (MG)."""
    rows, cols = (256, 256) if modality == "DX" else (256, 192)
    spacing = (430.0 if modality == "DX" else 240.0) / rows
    ds.ImagerPixelSpacing = [round(spacing, 6), round(spacing, 6)]
    ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BurnedInAnnotation = "NO"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    image = _phantom(rows, cols, background=200, body=2600, disc=3600, phase=0.5, seed=0)
    y, x = np.ogrid[:rows, :cols]
    if modality == "DX":
        ds.ViewPosition = "PA"
        ds.PatientOrientation = ["L", "F"]
        for side in (-1, 1):
            lung = ((x - cols / 2 - side * cols * 0.18) / (cols * 0.13)) ** 2 + ((y - rows * 0.45) / (rows * 0.28)) ** 2
            image[lung <= 1] = 900
    else:
        ds.ViewPosition = "CC"
        ds.ImageLaterality = "L"
        ds.PatientOrientation = ["A", "R"]
    _set_pixels(ds, image)


def _phantom(
    rows: int, cols: int, *, background: int, body: int, disc: int, phase: float, seed: int
) -> np.ndarray[tuple[int, int], np.dtype[np.int32]]:
    """An elliptical body with a bright disc drifting across it from slice to slice, plus a little noise."""
    y, x = np.ogrid[:rows, :cols]
    image = np.full((rows, cols), background, dtype=np.int32)
    image[((x - cols / 2) / (cols * 0.42)) ** 2 + ((y - rows / 2) / (rows * 0.32)) ** 2 <= 1] = body
    cx, cy, radius = cols * (0.35 + 0.3 * phase), rows * 0.5, min(rows, cols) * 0.07
    image[(x - cx) ** 2 + (y - cy) ** 2 <= radius**2] = disc
    noise = np.random.default_rng(seed).normal(0, 8, size=(rows, cols)).astype(np.int32)
    return image + noise


def _set_pixels(ds: Dataset, values: np.ndarray[tuple[int, int], np.dtype[np.int32]]) -> None:
    """12 bits stored in 16 allocated, unsigned, monochrome (PS3.3 C.7.6.3)."""
    pixels = values.clip(0, 4095).astype("<u2")
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()


def _to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()
