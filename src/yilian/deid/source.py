"""The identifiers a source study itself carries, gathered from its instances for the leak scan.

Entry point (stable): `known_from_instances(datasets) -> KnownIdentifiers`. What the referral knows (the patient
row, the clinical question's author) is added by the caller with `identifiers.merge_known`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from yilian.deid.identifiers import KnownIdentifiers

_STANDARD_UID_ROOT = "1.2.840.10008."  # SOP classes, transfer syntaxes: the same for everyone
_ID_KEYWORDS = frozenset(
    """
    PatientID OtherPatientIDs AccessionNumber StudyID AdmissionID RequestedProcedureID PerformedProcedureStepID
    ScheduledProcedureStepID FillerOrderNumberImagingServiceRequest PlacerOrderNumberImagingServiceRequest
    MedicalRecordLocator ServiceEpisodeID DeviceSerialNumber StationName DetectorID PlateID CassetteID
    GantryID GeneratorID InsurancePlanIdentification
    """.split()
)
_PHONE_KEYWORDS = frozenset(
    "PatientTelephoneNumbers ReferringPhysicianTelephoneNumbers PersonTelephoneNumbers OrderCallbackPhoneNumber".split()
)
_ADDRESS_KEYWORDS = frozenset("PatientAddress InstitutionAddress ReferringPhysicianAddress PersonAddress".split())
_HOSPITAL_KEYWORDS = frozenset("InstitutionName IssuerOfPatientID".split())
_BIRTH_KEYWORDS = frozenset({"PatientBirthDate"})
_EXAM_DATE_KEYWORDS = frozenset("StudyDate SeriesDate AcquisitionDate ContentDate".split())
_PATIENT_NAME_KEYWORDS = frozenset("PatientName OtherPatientNames PatientBirthName".split())


def known_from_instances(datasets: Iterable[Dataset]) -> KnownIdentifiers:
    """Every name (any PN), ID, phone, address, institution, birth and exam date and instance UID in the
    instances, nested sequences included; what the scan must not find in the copy."""
    found: dict[str, dict[object, None]] = {name: {} for name in KnownIdentifiers.__dataclass_fields__}
    for ds in datasets:
        for element in _walk(ds):
            _collect(element, found)
    return KnownIdentifiers(**{name: tuple(values) for name, values in found.items()})  # type: ignore[arg-type]


def _walk(ds: Dataset) -> Iterator[DataElement]:
    for element in ds:
        if element.VR == "SQ":
            for item in element.value or []:
                yield from _walk(item)
        else:
            yield element


def _collect(element: DataElement, found: dict[str, dict[object, None]]) -> None:
    keyword, vr = element.keyword, element.VR
    values = [str(v).strip() for v in _values(element.value) if str(v).strip()]
    if not values or (element.tag.is_private and vr != "PN"):
        return
    if vr == "PN":
        field = "patient_names" if keyword in _PATIENT_NAME_KEYWORDS else "other_names"
    elif vr == "UI":
        values = [v for v in values if not v.startswith(_STANDARD_UID_ROOT)]
        field = "uids"
    elif keyword in _ID_KEYWORDS:
        field = "ids"
    elif keyword in _PHONE_KEYWORDS:
        field = "phones"
    elif keyword in _ADDRESS_KEYWORDS:
        field = "addresses"
    elif keyword in _HOSPITAL_KEYWORDS:
        field = "hospitals"
    elif keyword in _BIRTH_KEYWORDS or keyword in _EXAM_DATE_KEYWORDS:
        days = [d for d in (_date(v) for v in values) if d is not None]
        for day in days:
            found["birth_dates" if keyword in _BIRTH_KEYWORDS else "exact_dates"][day] = None
        return
    else:
        return
    for value in values:
        found[field][value] = None


def _values(value: object) -> list[object]:
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    if isinstance(value, bytes):
        return []  # undecodable; the scan decodes raw bytes itself
    return [value] if value is not None else []


def _date(value: str) -> date | None:
    digits = value[:8]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
