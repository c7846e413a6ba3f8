"""Reading a received Part-10 instance and checking the identity a store needs (PS3.10, PS3.4 B.2.3, PS3.18 I)."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalMammographyXRayImageStorageForProcessing,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    MRImageStorage,
    MultiFrameSingleBitSecondaryCaptureImageStorage,
    NuclearMedicineImageStorage,
    PositronEmissionTomographyImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    XRayAngiographicImageStorage,
    XRayRadiofluoroscopicImageStorage,
)

_UNDEFINED_LENGTH = 0xFFFFFFFF
_UID_MAX_LENGTH = 64
_UID_CHARACTERS = re.compile(r"[0-9.]+")


class FailureReason(IntEnum):
    """Store failure reasons as sent in FailureReason (0008,1197), a US value: PS3.18 Table I.2-1, PS3.4 B.2.3.

    An IntEnum rather than a StrEnum because the wire value is an unsigned short, not a string.
    """

    PROCESSING_FAILURE = 0x0110
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    OUT_OF_RESOURCES = 0xA700
    DATA_SET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122
    # Implementation-specific codes (PS3.18 I.2 allows them; listed in docs/dicomweb.md):
    STUDY_INSTANCE_UID_MISMATCH = 0xA901  # POST /studies/{study} with an instance of another study (as Microsoft)
    SOP_INSTANCE_CONFLICT = 0xA9F1  # this SOP Instance UID is already stored with different content
    STUDY_OF_ANOTHER_HOSPITAL = 0xA9F2  # this Study Instance UID was already sent by another hospital


@dataclass(frozen=True)
class Problem:
    """One reason an instance cannot be stored: a plain-words reason, the FailureReason code, the attribute."""

    reason: str
    failure_reason: FailureReason
    keyword: str | None = None


class UnreadableInstanceError(ValueError):
    """The bytes are not a readable Part-10 instance (PS3.10 §7); a store reports FailureReason C000."""

    failure_reason = FailureReason.CANNOT_UNDERSTAND


class NotDicomError(UnreadableInstanceError):
    """No DICM prefix and no File Meta Information: not a Part-10 file at all (PS3.10 §7.1)."""


class TruncatedInstanceError(UnreadableInstanceError):
    """The file ends inside an element: some value is shorter than its declared length (PS3.5 §7.1)."""


# Image Storage SOP classes whose IODs make the Image Pixel module (Rows, Columns, Pixel Data…) Type 1
# (PS3.3 C.7.6.3). A file cut cleanly between two elements reads as well-formed; this is what catches it.
IMAGE_STORAGE_SOP_CLASSES = frozenset(
    {
        ComputedRadiographyImageStorage,
        CTImageStorage,
        EnhancedCTImageStorage,
        MRImageStorage,
        EnhancedMRImageStorage,
        DigitalXRayImageStorageForPresentation,
        DigitalXRayImageStorageForProcessing,
        DigitalMammographyXRayImageStorageForPresentation,
        DigitalMammographyXRayImageStorageForProcessing,
        UltrasoundImageStorage,
        UltrasoundMultiFrameImageStorage,
        SecondaryCaptureImageStorage,
        MultiFrameSingleBitSecondaryCaptureImageStorage,
        XRayAngiographicImageStorage,
        XRayRadiofluoroscopicImageStorage,
        NuclearMedicineImageStorage,
        PositronEmissionTomographyImageStorage,
    }
)
_IMAGE_PIXEL_TYPE_1 = ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "PixelData")
_IDENTITY_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


_PREAMBLE = bytes(128) + b"DICM"


def as_part10(data: bytes) -> bytes:
    """The bytes as a Part-10 file: a body that opens straight on its File Meta Information (group 0002, always
    Explicit VR Little Endian) gets the 128-byte preamble and DICM prefix (PS3.10 §7.1) it lacks.

    dicomweb-client's STOW-RS writes instances made in memory that way (pydicom writes no preamble it was not
    given). Lenient on what we receive, strict on what we store: the archive keeps the completed file.
    """
    if data[128:132] != b"DICM" and data[:2] == b"\x02\x00" and data[4:6].isalpha():
        return _PREAMBLE + data
    return data


def read_instance(data: bytes) -> Dataset:
    """Parse a Part-10 file (PS3.10 §7) from bytes; refuse non-DICOM and truncated input.

    Raises NotDicomError when there is no DICM prefix or File Meta Information, TruncatedInstanceError when
    an element's value is cut short, UnreadableInstanceError for any other parse failure. pydicom reads a
    short value without complaint, so every element's length is compared with the length it declared.
    """
    try:
        ds = dcmread(io.BytesIO(data))
    except InvalidDicomError as exc:
        raise NotDicomError(str(exc)) from exc
    except (EOFError, struct.error) as exc:
        raise TruncatedInstanceError(f"the file ends early: {exc}") from exc
    except (BytesLengthException, ValueError, KeyError, TypeError, NotImplementedError, OSError) as exc:
        # OSError: pydicom's "No tag to read" inside a malformed undefined-length item (found by the gateway fuzz).
        raise UnreadableInstanceError(f"cannot parse the file: {exc}") from exc
    if "TransferSyntaxUID" not in ds.file_meta:
        raise NotDicomError("the File Meta Information has no Transfer Syntax UID (PS3.10 §7.1)")
    for tag, declared, actual in _short_values(ds):
        raise TruncatedInstanceError(f"element {tag} declares {declared} bytes but only {actual} remain")
    return ds


def check_instance(ds: Dataset) -> list[Problem]:
    """Problems that stop an instance being stored, each with its FailureReason (PS3.18 I.2, PS3.4 B.2.3).

    - A missing or empty Type 1 identity UID (SOP Class, SOP Instance, Study, Series: PS3.3 C.12.1, C.7.2.1,
      C.7.3.1) or, for an image SOP class, a missing Image Pixel attribute (PS3.3 C.7.6.3): A900.
    - A UID that breaks PS3.5 §9.1 (over 64 characters, characters other than digits and dots, an empty
      component): C000. Leading zeros in a component are tolerated; modalities send them.
    - A SOP Instance UID equal to the Series or Study Instance UID, or File Meta Information naming a
      different SOP class or instance than the data set (PS3.10 §7.1): A900.
    - Native Pixel Data shorter than Rows x Columns x Samples x Bits Allocated x Frames (PS3.5 §8.1.1): A900.
    """
    problems: list[Problem] = []
    for keyword in _IDENTITY_UIDS:
        value = uid_value(ds, keyword)
        if not value:
            problems.append(Problem(f"{keyword} is missing", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS, keyword))
        elif reason := uid_problem(value):
            problems.append(Problem(f"{keyword} {reason}", FailureReason.CANNOT_UNDERSTAND, keyword))

    sop_instance = uid_value(ds, "SOPInstanceUID")
    for keyword in ("SeriesInstanceUID", "StudyInstanceUID"):
        if sop_instance and sop_instance == uid_value(ds, keyword):
            problems.append(
                Problem(
                    f"SOPInstanceUID equals the {keyword}",
                    FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                    "SOPInstanceUID",
                )
            )

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for meta_keyword, keyword in (
            ("MediaStorageSOPClassUID", "SOPClassUID"),
            ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
        ):
            declared, actual = uid_value(meta, meta_keyword), uid_value(ds, keyword)
            if declared and actual and declared != actual:
                problems.append(
                    Problem(
                        f"File Meta {meta_keyword} {declared} differs from {keyword} {actual}",
                        FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                        keyword,
                    )
                )

    if uid_value(ds, "SOPClassUID") in IMAGE_STORAGE_SOP_CLASSES:
        problems.extend(_image_pixel_problems(ds))
    return problems


def uid_problem(value: str) -> str | None:
    """Why a UID breaks PS3.5 §9.1 (as words after the attribute name), or None when it is acceptable."""
    if len(value) > _UID_MAX_LENGTH:
        return f"is {len(value)} characters long, over the {_UID_MAX_LENGTH} allowed"
    if not _UID_CHARACTERS.fullmatch(value):
        return "holds characters other than digits and dots"
    if "" in value.split("."):
        return "has an empty component"
    return None


def _image_pixel_problems(ds: Dataset) -> list[Problem]:
    missing = [keyword for keyword in _IMAGE_PIXEL_TYPE_1 if keyword not in ds]
    if missing:
        return [
            Problem(f"{keyword} is missing from an image", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS, keyword)
            for keyword in missing
        ]
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = getattr(meta, "TransferSyntaxUID", None)
    if transfer_syntax is None or transfer_syntax.is_compressed:
        return []  # encapsulated frames have no fixed length to check
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    expected_bits = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * int(ds.BitsAllocated) * frames
    actual = len(ds.PixelData)
    if actual * 8 < expected_bits:
        return [
            Problem(
                f"PixelData holds {actual} bytes, fewer than the {(expected_bits + 7) // 8} its image attributes need",
                FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                "PixelData",
            )
        ]
    return []


def uid_value(ds: Dataset, keyword: str) -> str:
    """A UID attribute's value as text ("" when absent or empty), without pydicom's conversion of the element.

    Converting a UI element validates it against a regular expression and builds a `UID` (a tenth of the gateway's
    CPU per C-STORE for the handful read here); the identity checks only need the text, and `uid_problem` checks it.
    """
    tag = tag_for_keyword(keyword)
    element = None if tag is None else ds.get_item(tag)
    if element is None:
        return ""
    if isinstance(element, RawDataElement):
        raw = element.value
        return "" if raw is None else raw.decode("ascii", "replace").strip("\0 ")
    value = element.value
    return "" if value is None else str(value).strip("\0 ")


def _short_values(ds: Dataset) -> Iterator[tuple[BaseTag, int, int]]:
    """Elements, nested ones included, whose value is shorter than the length in their header."""
    for dataset in (ds.file_meta, ds) if hasattr(ds, "file_meta") else (ds,):
        yield from _short_values_in(dataset)


def _short_values_in(ds: Dataset) -> Iterator[tuple[BaseTag, int, int]]:
    for tag in list(ds.keys()):
        element = ds.get_item(tag)  # the raw element: converting every value here would cost a full decode
        if isinstance(element, RawDataElement):
            if element.length != _UNDEFINED_LENGTH and element.value is not None:
                if len(element.value) < element.length:
                    yield BaseTag(tag), element.length, len(element.value)
        elif element is not None and isinstance(element.value, Sequence):
            for item in element.value:
                yield from _short_values_in(item)
