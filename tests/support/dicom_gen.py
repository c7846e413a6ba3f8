"""Realistic synthetic CT, MR and DX instances (UIDs, geometry, windowing, a phantom) built with pydicom."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom.data
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

# A Chinese name with its Alphabetic and Ideographic groups (PS3.5 §6.2.1.2; Chinese example in Annex J).
CHINESE_NAME = "Zhang^San=张^三"
CHINESE_INSTITUTION = "县人民医院"
ISO_2022_IR_58 = "ISO 2022 IR 58"

Charset = str | Sequence[str]


def ct_series(
    n_slices: int = 20,
    rows: int = 512,
    cols: int = 512,
    patient_id: str = "P0001",
    issuer: str = "COUNTY-HOSPITAL",
    patient_name: str = CHINESE_NAME,
    study_uid: str | None = None,
    charset: Charset = "ISO_IR 192",
    slice_thickness: float = 5.0,
    accession_number: str = "A0001",
    body_part: str = "CHEST",
) -> list[Dataset]:
    """An axial CT series: stored values are HU + 1024, feet-first slices 5 mm apart, a body with a bright disc."""
    study = study_uid or generate_uid()
    series = generate_uid()
    spacing = 350.0 / cols  # a 350 mm field of view whatever the matrix
    out = []
    for index in range(n_slices):
        ds = _image(
            modality="CT",
            sop_class=CTImageStorage,
            patient_id=patient_id,
            issuer=issuer,
            patient_name=patient_name,
            study_uid=study,
            series_uid=series,
            charset=charset,
            accession_number=accession_number,
            body_part=body_part,
            instance_number=index + 1,
        )
        z = -index * slice_thickness
        _axial_geometry(ds, rows, cols, spacing, z)
        ds.SliceThickness = slice_thickness
        ds.KVP = 120
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.WindowCenter = [40, -600]
        ds.WindowWidth = [400, 1500]
        ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG"]
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SeriesDescription = f"{body_part} {slice_thickness:g}mm"
        hu = _phantom(rows, cols, background=-1000, body=40, disc=700, phase=index / max(n_slices, 1), seed=index)
        _set_pixels(ds, (hu + 1024).clip(0, 4095).astype(np.uint16), bits_stored=12)
        out.append(ds)
    return out


def mr_series(
    n_slices: int = 12,
    rows: int = 256,
    cols: int = 256,
    patient_id: str = "P0001",
    issuer: str = "COUNTY-HOSPITAL",
    patient_name: str = CHINESE_NAME,
    study_uid: str | None = None,
    charset: Charset = "ISO_IR 192",
    slice_thickness: float = 4.0,
    accession_number: str = "A0002",
    body_part: str = "HEAD",
) -> list[Dataset]:
    """An axial T1-like MR series of a head phantom; no rescale, windowing on raw signal."""
    study = study_uid or generate_uid()
    series = generate_uid()
    spacing = 230.0 / cols
    out = []
    for index in range(n_slices):
        ds = _image(
            modality="MR",
            sop_class=MRImageStorage,
            patient_id=patient_id,
            issuer=issuer,
            patient_name=patient_name,
            study_uid=study,
            series_uid=series,
            charset=charset,
            accession_number=accession_number,
            body_part=body_part,
            instance_number=index + 1,
        )
        _axial_geometry(ds, rows, cols, spacing, 60.0 - index * slice_thickness)
        ds.SliceThickness = slice_thickness
        ds.SpacingBetweenSlices = slice_thickness
        ds.MagneticFieldStrength = 1.5
        ds.RepetitionTime = 500
        ds.EchoTime = 15
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
        ds.SeriesDescription = "T1 SE AX"
        ds.WindowCenter = 600
        ds.WindowWidth = 1200
        signal = _phantom(rows, cols, background=0, body=500, disc=1100, phase=index / max(n_slices, 1), seed=index)
        _set_pixels(ds, signal.clip(0, 4095).astype(np.uint16), bits_stored=12)
        out.append(ds)
    return out


def dx_image(
    rows: int = 1024,
    cols: int = 1024,
    patient_id: str = "P0001",
    issuer: str = "COUNTY-HOSPITAL",
    patient_name: str = CHINESE_NAME,
    study_uid: str | None = None,
    charset: Charset = "ISO_IR 192",
    accession_number: str = "A0003",
    body_part: str = "CHEST",
) -> list[Dataset]:
    """One PA chest radiograph for presentation (a single-instance series)."""
    ds = _image(
        modality="DX",
        sop_class=DigitalXRayImageStorageForPresentation,
        patient_id=patient_id,
        issuer=issuer,
        patient_name=patient_name,
        study_uid=study_uid or generate_uid(),
        series_uid=generate_uid(),
        charset=charset,
        accession_number=accession_number,
        body_part=body_part,
        instance_number=1,
    )
    spacing = 430.0 / cols
    ds.ImagerPixelSpacing = [spacing, spacing]
    ds.PixelSpacing = [spacing, spacing]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.BurnedInAnnotation = "NO"
    ds.KVP = 125
    ds.SeriesDescription = "CHEST PA"
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    # Lungs are dark in transmission, the body and mediastinum bright.
    image = _phantom(rows, cols, background=200, body=2600, disc=3600, phase=0.5, seed=0)
    y, x = np.ogrid[:rows, :cols]
    for side in (-1, 1):
        lung = ((x - cols / 2 - side * cols * 0.18) / (cols * 0.13)) ** 2 + ((y - rows * 0.45) / (rows * 0.28)) ** 2
        image[lung <= 1] = 900
    _set_pixels(ds, image.clip(0, 4095).astype(np.uint16), bits_stored=12)
    return [ds]


def pydicom_test_files(max_bytes: int = 8 * 2**20) -> list[Path]:
    """pydicom's own test files as installed with it (no download), in name order, those of at most `max_bytes`:
    the corpus the differential tests run through both paths."""
    root = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.stat().st_size <= max_bytes)


def with_sequences() -> Dataset:
    """A GB18030 CT slice with sequences as modalities send them: a coded procedure (Chinese meaning), a referenced
    image with a nested code and an empty item, and an empty sequence."""
    ds = ct_series(1, 8, 8, charset="GB18030")[0]
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "CTCHEST", "99YL", "胸部平扫"
    ds.ProcedureCodeSequence = [code]
    reference = Dataset()
    reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = ds.SOPClassUID, generate_uid()
    inner = Dataset()
    inner.CodeValue, inner.CodingSchemeDesignator = "1", "DCM"
    reference.PurposeOfReferenceCodeSequence = [inner]
    ds.ReferencedImageSequence = [reference, Dataset()]
    ds.RequestAttributesSequence = []
    return ds


def to_bytes(ds: Dataset) -> bytes:
    """The dataset as a Part-10 file (preamble, DICM, file meta) in memory."""
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write(ds: Dataset, path: Path | str) -> Path:
    """Write the dataset as a Part-10 file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


def _image(
    *,
    modality: str,
    sop_class: UID,
    patient_id: str,
    issuer: str,
    patient_name: str,
    study_uid: str,
    series_uid: str,
    charset: Charset,
    accession_number: str,
    body_part: str,
    instance_number: int,
) -> Dataset:
    sop_instance = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = charset if isinstance(charset, str) else list(charset)
    now = datetime(2026, 11, 23, 9, 30, 0)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = now.strftime("%H%M%S")
    ds.ContentTime = f"{now:%H%M}{instance_number % 60:02d}"
    ds.AccessionNumber = accession_number
    ds.Modality = modality
    ds.Manufacturer = "Yilian Synthetic"
    ds.InstitutionName = CHINESE_INSTITUTION
    ds.ReferringPhysicianName = "Li^Si=李^四"
    ds.StudyDescription = f"{modality} {body_part}"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.IssuerOfPatientID = issuer
    ds.PatientBirthDate = "19650412"
    ds.PatientSex = "M"
    ds.BodyPartExamined = body_part
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = {"CT": 2, "MR": 3, "DX": 1}.get(modality, 1)
    ds.InstanceNumber = instance_number
    ds.FrameOfReferenceUID = _frame_of_reference(series_uid)
    ds.PositionReferenceIndicator = ""
    if ISO_2022_IR_58 in ([charset] if isinstance(charset, str) else charset):
        for keyword in ("PatientName", "ReferringPhysicianName", "InstitutionName"):
            setattr(ds, keyword, _iso_2022_ir_58(str(ds[keyword].value)))
    return ds


def _iso_2022_ir_58(text: str) -> bytes:
    """GB2312 by ISO 2022 code extension (PS3.5 J.3): each run of Chinese after ESC $ ) A, in its G1 (EUC) form.

    pydicom 3.0 writes this character set without the escape sequences, so the generator encodes it itself.
    """
    out = bytearray()
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        out += run.encode("ascii") if run.isascii() else b"\x1b$)A" + run.encode("gb2312")
    return bytes(out)


def _frame_of_reference(series_uid: str) -> str:
    # One frame of reference per series, derived so every slice of the series shares it.
    return generate_uid(entropy_srcs=[series_uid, "frame-of-reference"])


def _axial_geometry(ds: Dataset, rows: int, cols: int, spacing: float, z: float) -> None:
    ds.PatientPosition = "FFS" if ds.Modality == "CT" else "HFS"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [round(-cols * spacing / 2, 3), round(-rows * spacing / 2, 3), z]
    ds.SliceLocation = z
    ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]


def _phantom(
    rows: int, cols: int, *, background: int, body: int, disc: int, phase: float, seed: int
) -> np.ndarray[tuple[int, int], np.dtype[np.int32]]:
    """An elliptical body with a bright disc drifting across it as the slice changes, plus a little noise."""
    y, x = np.ogrid[:rows, :cols]
    image = np.full((rows, cols), background, dtype=np.int32)
    ellipse = ((x - cols / 2) / (cols * 0.42)) ** 2 + ((y - rows / 2) / (rows * 0.32)) ** 2
    image[ellipse <= 1] = body
    cx, cy, radius = cols * (0.35 + 0.3 * phase), rows * 0.5, min(rows, cols) * 0.07
    image[(x - cx) ** 2 + (y - cy) ** 2 <= radius**2] = disc
    noise = np.random.default_rng(seed).normal(0, 8, size=(rows, cols)).astype(np.int32)
    return image + noise


def _set_pixels(ds: Dataset, pixels: np.ndarray[tuple[int, int], np.dtype[np.uint16]], *, bits_stored: int) -> None:
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()


def garbage_bits_grayscale(
    allocated: int, stored: int, representation: int, syntax: str, *, frames: int = 1, photometric: str = "MONOCHROME2"
) -> Dataset:
    """A small grayscale image of random words, the unused high bits included (as a scanner that leaves garbage there
    writes them), rescaled: for the differential rendering tests (tests/conformance/test_render_*.py)."""
    rng = np.random.default_rng(allocated * 1000 + stored * 10 + representation)
    rows, columns = 7, 5  # odd sizes: an odd-length 8-bit value gets its padding byte
    words = rng.integers(0, 2**allocated, size=frames * rows * columns, dtype=np.uint64)
    data = words.astype(f"<u{allocated // 8}").tobytes()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, stored, stored - 1
    ds.PixelRepresentation, ds.PhotometricInterpretation = representation, photometric
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.RescaleSlope, ds.RescaleIntercept = "1.5", "-100"
    ds.PixelData = data + b"\0" * (len(data) % 2)
    return ds
