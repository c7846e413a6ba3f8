"""What the archive indexes from one instance: the study, series and instance rows and its DICOM JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

from yilian.dicom.header import Header
from yilian.dicom.json import dicom_json_text, spaced_json_text, to_dicom_json

# BulkDataURIs are stored with this in place of "<request base URL>/dicomweb" and filled in when served,
# so one precomputed metadata text answers every host name the archive is reached by (PS3.18 F.2.6).
BASE_PLACEHOLDER = "@@YILIAN_DICOMWEB@@"

# Patient (PS3.3 C.7.1.1) and General Study (C.7.2.1) / Patient Study (C.7.2.2) attributes: study-level QIDO.
STUDY_TAGS = (
    "00080020", "00080030", "00080050", "00080090", "00080201", "00081030", "00081032",
    "00100010", "00100020", "00100021", "00100030", "00100040", "00101010", "00101020", "00101030",
    "0020000D", "00200010", "00321032", "00321060",
)  # fmt: skip
# General Series (C.7.3.1) and related: series-level QIDO.
SERIES_TAGS = (
    "00080021", "00080031", "00080060", "00080070", "0008103E", "00081090", "00180015", "00185100",
    "0020000E", "00200011", "00200060", "00400244", "00400245", "00400275",
)  # fmt: skip


@dataclass(frozen=True)
class IndexedInstance:
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    study: dict[str, Any]  # dicom_studies columns (without owner and counts)
    series: dict[str, Any]  # dicom_series columns (without counts)
    instance: dict[str, Any]  # dicom_instances columns (without origin and digest)
    modality: str


def index_instance(ds: Dataset) -> IndexedInstance:
    """The index rows of a checked instance (identity UIDs present and valid: dicom.instance.check_instance)."""
    study_uid, series_uid, sop_uid = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
    full = to_dicom_json(ds, bulk_data_uri=bulk_data_uri_of(study_uid, series_uid, sop_uid))
    return index_rows(full, study_uid, series_uid, sop_uid, str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID))


def index_header(header: Header) -> IndexedInstance:
    """The index rows of a header read and checked by dicom.header.read_header (its JSON made with
    `bulk_data_uri_of`)."""
    return index_rows(
        header.dicom_json,
        header.study_instance_uid,
        header.series_instance_uid,
        header.sop_instance_uid,
        header.sop_class_uid,
        header.transfer_syntax_uid,
    )


def bulk_data_uri_of(study_uid: str, series_uid: str, sop_uid: str) -> Callable[[str], str]:
    """The stored BulkDataURI of an attribute path of this instance (the placeholder is filled in when served)."""
    bulk_base = f"{BASE_PLACEHOLDER}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/bulk/"
    return lambda path: bulk_base + path


def index_rows(
    full: dict[str, Any], study_uid: str, series_uid: str, sop_uid: str, sop_class_uid: str, transfer_syntax_uid: str
) -> IndexedInstance:
    """The study, series and instance rows from an instance's DICOM JSON and identity."""
    modality = _text(full, "00080060")
    study = {
        "study_instance_uid": study_uid,
        "patient_id": _text(full, "00100020"),
        "issuer_of_patient_id": _text(full, "00100021"),
        "patient_name_search": person_name_search(full.get("00100010")),
        "patient_birth_date": _text(full, "00100030"),
        "study_date": _text(full, "00080020"),
        "study_time": _text(full, "00080030"),
        "accession_number": _text(full, "00080050"),
        "study_id": _text(full, "00200010"),
        "referring_physician_search": person_name_search(full.get("00080090")),
        "study_description": _text(full, "00081030"),
        "attributes": spaced_json_text(_pick(full, STUDY_TAGS)),
    }
    series = {
        "series_instance_uid": series_uid,
        "study_instance_uid": study_uid,
        "modality": modality,
        "series_number": _int(full, "00200011"),
        "series_description": _text(full, "0008103E"),
        "performed_start_date": _text(full, "00400244"),
        "performed_start_time": _text(full, "00400245"),
        "attributes": spaced_json_text(_pick(full, SERIES_TAGS)),
    }
    instance = {
        "sop_instance_uid": sop_uid,
        "series_instance_uid": series_uid,
        "study_instance_uid": study_uid,
        "sop_class_uid": sop_class_uid,
        "instance_number": _int(full, "00200013"),
        "rows": _int(full, "00280010"),
        "columns": _int(full, "00280011"),
        "bits_allocated": _int(full, "00280100"),
        "number_of_frames": _int(full, "00280008"),
        "transfer_syntax_uid": transfer_syntax_uid,
        "metadata": dicom_json_text(full),
    }
    return IndexedInstance(study_uid, series_uid, sop_uid, study, series, instance, modality)


def person_name_search(value: dict[str, Any] | None) -> str:
    """The PN groups (Alphabetic, Ideographic, Phonetic) of the first name, upper-cased and joined by '='."""
    if not value or not value.get("Value"):
        return ""
    name = value["Value"][0]
    if not isinstance(name, dict):
        return str(name).upper()
    return "=".join(name.get(group, "") for group in ("Alphabetic", "Ideographic", "Phonetic")).upper().rstrip("=")


def _pick(full: dict[str, Any], tags: tuple[str, ...]) -> dict[str, Any]:
    return {tag: full[tag] for tag in tags if tag in full}


def _text(full: dict[str, Any], tag: str) -> str:
    values = full.get(tag, {}).get("Value")
    if not values or values[0] is None:
        return ""
    value = values[0]
    return (value.get("Alphabetic", "") if isinstance(value, dict) else str(value)).strip()


def _int(full: dict[str, Any], tag: str) -> int | None:
    values = full.get(tag, {}).get("Value")
    if not values:
        return None
    try:
        return int(values[0])
    except (TypeError, ValueError):
        return None
