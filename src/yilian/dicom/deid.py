"""De-identification by the Basic Application Level Confidentiality Profile and its options (PS3.15 Annex E)."""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    VLPhotographicImageStorage,
)
from pydicom.valuerep import STR_VR


class Action(StrEnum):
    """Action codes of PS3.15 Table E.1-1 (§E.3.1); combinations are resolved by `_resolve`."""

    D = "D"  # replace with a non-zero-length dummy value
    Z = "Z"  # replace with a zero-length value
    X = "X"  # remove
    K = "K"  # keep (a sequence's items are still cleaned)
    C = "C"  # clean: replace with values of similar meaning that identify no one
    U = "U"  # replace with a new UID, consistently within the set
    Z_D = "Z/D"
    X_Z = "X/Z"
    X_D = "X/D"
    X_Z_D = "X/Z/D"
    X_Z_U = "X/Z/U*"  # for sequences of references: keep the items, their UIDs replaced


class BurnedInAnnotationError(ValueError):
    """The pixels may hold identifying text (PS3.15 E.3.1 Clean Pixel Data); a person must review them first."""


class DeidentificationMethod(StrEnum):
    """CID 7050 codes for DeidentificationMethodCodeSequence (0012,0064), scheme DCM (PS3.16)."""

    BASIC_PROFILE = "113100"
    RETAIN_SAFE_PRIVATE = "113111"
    RETAIN_FULL_DATES = "113106"
    RETAIN_MODIFIED_DATES = "113107"
    RETAIN_PATIENT_CHARACTERISTICS = "113108"
    CLEAN_DESCRIPTORS = "113105"


_METHOD_MEANINGS = {
    DeidentificationMethod.BASIC_PROFILE: "Basic Application Confidentiality Profile",
    DeidentificationMethod.RETAIN_SAFE_PRIVATE: "Retain Safe Private Option",
    DeidentificationMethod.RETAIN_FULL_DATES: "Retain Longitudinal Temporal Information Full Dates Option",
    DeidentificationMethod.RETAIN_MODIFIED_DATES: "Retain Longitudinal Temporal Information Modified Dates Option",
    DeidentificationMethod.RETAIN_PATIENT_CHARACTERISTICS: "Retain Patient Characteristics Option",
    DeidentificationMethod.CLEAN_DESCRIPTORS: "Clean Descriptors Option",
}

# PS3.15 Table E.1-1, Basic Profile column, as data. Keywords grouped by action; attributes not listed are kept
# (Modality, geometry, pixel description), as the profile prescribes.
_TABLE_BY_ACTION: dict[Action, str] = {
    Action.U: """
        StudyInstanceUID SeriesInstanceUID SOPInstanceUID MediaStorageSOPInstanceUID FrameOfReferenceUID
        ReferencedSOPInstanceUID ReferencedFrameOfReferenceUID RelatedFrameOfReferenceUID
        SynchronizationFrameOfReferenceUID ConcatenationUID DimensionOrganizationUID IrradiationEventUID
        InstanceCreatorUID StorageMediaFileSetUID TransactionUID FiducialUID UID TargetUID DeviceUID DoseReferenceUID
        CreatorVersionUID ContextGroupExtensionCreatorUID TemplateExtensionCreatorUID
        TemplateExtensionOrganizationUID LargePaletteColorLookupTableUID FailedSOPInstanceUIDList
        ReferencedSOPInstanceUIDInFile RequestedSOPInstanceUID
        ReferencedGeneralPurposeScheduledProcedureStepTransactionUID
    """,
    Action.Z: """
        PatientName PatientID PatientBirthDate PatientSex AccessionNumber StudyID StudyDate StudyTime
        ReferringPhysicianName ContentCreatorName FillerOrderNumberImagingServiceRequest
        PlacerOrderNumberImagingServiceRequest VerifyingObserverIdentificationCodeSequence
    """,
    Action.D: """
        PersonName VerifyingObserverName VerifyingObserverSequence PersonIdentificationCodeSequence
        GraphicAnnotationSequence
    """,
    Action.Z_D: "ContentDate ContentTime ContrastBolusAgent",
    Action.X_Z: """
        AcquisitionDate AcquisitionTime ReferencedStudySequence RequestedProcedureDescription ReviewerName
        PatientSexNeutered
    """,
    Action.X_D: "AcquisitionDeviceProcessingDescription DetectorID ProtocolName InstanceCreationDate",
    Action.X_Z_D: """
        AcquisitionDateTime InstitutionName InstitutionCodeSequence DeviceSerialNumber StationName OperatorsName
        ReferencedPerformedProcedureStepSequence
    """,
    Action.X_Z_U: "ReferencedImageSequence SourceImageSequence",
    Action.X: """
        AcquisitionComments AcquisitionContextSequence AcquisitionProtocolDescription ActualHumanPerformersSequence
        AdditionalPatientHistory AdmissionID AdmittingDate AdmittingDiagnosesCodeSequence
        AdmittingDiagnosesDescription AdmittingTime AffectedSOPInstanceUID Allergies AuthorObserverSequence
        BranchOfService CassetteID CommentsOnThePerformedProcedureStep
        ConfidentialityConstraintOnPatientDataDescription ConsultingPhysicianName
        ContentCreatorIdentificationCodeSequence ContentSequence ContributionDescription CountryOfResidence
        CurrentPatientLocation CustodialOrganizationSequence DataSetTrailingPadding DateOfLastCalibration
        DateOfLastDetectorCalibration DerivationDescription DeviceDescription DigitalSignaturesSequence
        DischargeDiagnosisDescription DistributionAddress DistributionName EthnicGroup FrameComments GantryID
        GeneratorID HumanPerformerName HumanPerformerOrganization IconImageSequence IdentifyingComments
        ImageComments ImagePresentationComments ImagingServiceRequestComments Impressions InstanceCreationTime
        InstitutionAddress InstitutionalDepartmentName InsurancePlanIdentification
        IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence InterpretationAuthor
        InterpretationDiagnosisDescription InterpretationIDIssuer InterpretationRecorder InterpretationText
        InterpretationTranscriber IssueDateOfImagingServiceRequest IssuerOfAdmissionID IssuerOfPatientID
        IssuerOfServiceEpisodeID MAC MedicalAlerts MedicalRecordLocator MilitaryRank ModifiedAttributesSequence
        ModifiedImageDescription ModifyingDeviceID ModifyingDeviceManufacturer NameOfPhysiciansReadingStudy
        NamesOfIntendedRecipientsOfResults Occupation OperatorIdentificationSequence OrderCallbackPhoneNumber
        OrderEnteredBy OrderEntererLocation OriginalAttributesSequence OtherPatientIDs OtherPatientIDsSequence
        OtherPatientNames ParticipantSequence PatientAddress PatientAge PatientBirthName PatientBirthTime
        PatientComments PatientInstitutionResidence PatientInsurancePlanCodeSequence PatientMotherBirthName
        PatientPrimaryLanguageCodeSequence PatientReligiousPreference PatientSize PatientState
        PatientTelecomInformation PatientTelephoneNumbers PatientTransportArrangements PatientWeight
        PerformedLocation PerformedProcedureStepDescription PerformedProcedureStepEndDate
        PerformedProcedureStepEndTime PerformedProcedureStepID PerformedProcedureStepStartDate
        PerformedProcedureStepStartTime PerformedStationAETitle PerformedStationName
        PerformingPhysicianIdentificationSequence PerformingPhysicianName PersonAddress PersonTelephoneNumbers
        PhysicianApprovingInterpretation PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence
        PhysiciansReadingStudyIdentificationSequence PlateID PreMedication PregnancyStatus
        ReasonForStudy ReasonForTheImagingServiceRequest ReferencedDigitalSignatureSequence
        ReferencedPatientAliasSequence ReferencedPatientPhotoSequence ReferencedPatientSequence
        ReferencedSOPInstanceMACSequence ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
        ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence RequestedContrastAgent
        RequestedProcedureComments RequestedProcedureID RequestedProcedureLocation RequestingPhysician
        RequestingService ResponsibleOrganization ResponsiblePerson ResultsComments
        ResultsDistributionListSequence ResultsIDIssuer ScheduledHumanPerformersSequence
        ScheduledPatientInstitutionResidence ScheduledPerformingPhysicianIdentificationSequence
        ScheduledPerformingPhysicianName ScheduledProcedureStepDescription ScheduledProcedureStepEndDate
        ScheduledProcedureStepLocation ScheduledProcedureStepStartDate ScheduledProcedureStepStartTime
        ScheduledStationAETitle ScheduledStationName ScheduledStudyLocation ScheduledStudyLocationAETitle
        SeriesDate SeriesDescription SeriesTime ServiceEpisodeDescription ServiceEpisodeID SmokingStatus
        SourceSerialNumber SpecialNeeds SpecimenAccessionNumber StudyComments StudyDescription StudyIDIssuer
        TextComments TextString TimeOfLastCalibration TimezoneOffsetFromUTC TopicAuthor TopicKeywords
        TopicSubject TopicTitle UDISequence VisitComments
    """,
}


def _build_table() -> dict[int, Action]:
    table: dict[int, Action] = {}
    for action, keywords in _TABLE_BY_ACTION.items():
        for keyword in keywords.split():
            tag = tag_for_keyword(keyword)
            if tag is None:
                raise KeyError(f"{keyword} is not a DICOM keyword pydicom knows")
            table[tag] = action
    return table


BASIC_PROFILE: Mapping[int, Action] = _build_table()
"""Tag -> Basic Profile action (PS3.15 Table E.1-1)."""

# Retain Patient Characteristics Option (PS3.15 E.3.7): these are kept rather than removed.
PATIENT_CHARACTERISTICS = frozenset(
    tag_for_keyword(k) or 0
    for k in (
        "PatientAge PatientSex PatientSize PatientWeight EthnicGroup SmokingStatus PregnancyStatus PatientSexNeutered"
    ).split()
)
# Clean Descriptors Option (PS3.15 E.3.5): descriptions a modality or RIS writes, cleaned instead of removed. Only
# the descriptions; comments and histories stay removed (they are free text about the patient).
CLEAN_DESCRIPTORS = frozenset(
    tag_for_keyword(k) or 0
    for k in (
        "StudyDescription SeriesDescription ProtocolName PerformedProcedureStepDescription "
        "RequestedProcedureDescription ScheduledProcedureStepDescription AcquisitionDeviceProcessingDescription "
        "DerivationDescription"
    ).split()
)
# Birth date and time identify the person; the date options never keep them (PS3.15 E.3.6).
_BIRTH = frozenset({0x00100030, 0x00100032})
_DATE_VRS = frozenset({"DA", "DT", "TM"})

# SOP classes whose pixels commonly carry burned-in text even when no flag says so (PS3.15 E.3.1 notes).
BURNED_IN_PRONE_SOP_CLASSES = frozenset(
    {
        SecondaryCaptureImageStorage,
        "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
        UltrasoundImageStorage,
        UltrasoundMultiFrameImageStorage,
        VLPhotographicImageStorage,
    }
)

_DUMMY_BY_VR = {
    "PN": "ANONYMOUS",
    "LO": "ANONYMOUS",
    "SH": "ANONYMOUS",
    "LT": "ANONYMOUS",
    "ST": "ANONYMOUS",
    "UT": "ANONYMOUS",
    "UC": "ANONYMOUS",
    "CS": "ANONYMOUS",
    "AE": "ANONYMOUS",
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
}


class UidMap:
    """Original UID -> replacement `2.25.<n>` (PS3.5 B.2), the same for the same UID and salt in every run.

    The number is an HMAC-SHA-256 of the UID under a secret salt cut to 128 bits, so instances de-identified
    separately (today's series, next week's prior) still link, while without the salt the mapping cannot be
    reversed or recomputed. Every mapping made is remembered in `mapping` for audit.
    """

    def __init__(self, salt: bytes | str) -> None:
        key = salt.encode() if isinstance(salt, str) else salt
        if not key:
            raise ValueError("the UID map needs a non-empty secret salt")
        self._key = key
        self._mapping: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip("\0 ")
        if not uid:
            return uid
        if uid not in self._mapping:
            digest = hmac.new(self._key, uid.encode("ascii", errors="replace"), hashlib.sha256).digest()
            self._mapping[uid] = f"2.25.{int.from_bytes(digest[:16], 'big')}"
        return self._mapping[uid]

    @property
    def mapping(self) -> Mapping[str, str]:
        return dict(self._mapping)

    def date_shift_days(self, key: str, *, max_days: int = 3650) -> int:
        """A per-patient shift for the Modified Dates option: the same key always gives the same -max..-1 days."""
        digest = hmac.new(self._key, b"date-shift\0" + key.encode(), hashlib.sha256).digest()
        return -(1 + int.from_bytes(digest[:8], "big") % max_days)


@dataclass(frozen=True)
class DeidOptions:
    """Which PS3.15 E.3 options apply on top of the Basic Profile, and the pseudonyms to write.

    - `retain_dates`: Retain Longitudinal Temporal Information with Full Dates (113106).
    - `date_shift_days`: Modified Dates (113107): every date moves by the same number of days. Give the same
      value for all of a patient's instances (see `UidMap.date_shift_days`).
    - `retain_patient_characteristics` (113108): age, sex, size, weight, smoking and pregnancy status.
    - `patient_name` / `patient_id`: pseudonyms written instead of the empty values of the Basic Profile.
    - `safe_private`: private creator -> element bytes (the low byte, 0x00-0xFF) known to hold nothing
      identifying; these are kept (Retain Safe Private, 113111). All other private elements are removed.
    - `allow_burned_in`: de-identify even when the pixels may carry burned-in text. The caller then owns a
      human review of the pixels (or a Clean Pixel Data step) before anything is shared.
    - `clean_descriptor`: Clean Descriptors (113105): each description in CLEAN_DESCRIPTORS is passed to this
      function, which returns the cleaned text to keep or None to remove it (the Basic Profile's action).
    """

    retain_dates: bool = False
    date_shift_days: int | None = None
    retain_patient_characteristics: bool = False
    patient_name: str | None = None
    patient_id: str | None = None
    safe_private: Mapping[str, frozenset[int]] = field(default_factory=dict)
    allow_burned_in: bool = False
    clean_descriptor: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        if self.retain_dates and self.date_shift_days is not None:
            raise ValueError("choose either full dates or modified (shifted) dates, not both")


def deidentify(ds: Dataset, *, uid_map: UidMap, options: DeidOptions | None = None) -> Dataset:
    """A de-identified copy of the data set by the Basic Profile (PS3.15 E.1-1) and the options chosen.

    The input is never changed. UIDs are replaced through `uid_map` (references in sequences included),
    private elements, curves and overlay data are removed, sequences are cleaned item by item, and the
    result records what was done: PatientIdentityRemoved = YES, DeidentificationMethod and its code sequence
    (E.1.1), LongitudinalTemporalInformationModified. File Meta is rebuilt for the new SOP Instance UID and
    the 128-byte preamble dropped (E.1.1 requirement 6). Pixel Data is kept as it is.

    Raises BurnedInAnnotationError when BurnedInAnnotation (0028,0301) is YES, or when the SOP class often
    carries burned-in text (secondary capture, ultrasound, VL photographs) and the flag is not NO, unless
    `options.allow_burned_in` is set.
    """
    options = options or DeidOptions()
    _check_burned_in(ds, options)
    out = _clean(ds, uid_map, options)

    out.PatientIdentityRemoved = "YES"
    if options.patient_name is not None:
        out.PatientName = options.patient_name
    if options.patient_id is not None:
        out.PatientID = options.patient_id
    methods = [DeidentificationMethod.BASIC_PROFILE]
    if options.retain_dates:
        methods.append(DeidentificationMethod.RETAIN_FULL_DATES)
        out.LongitudinalTemporalInformationModified = "UNMODIFIED"
    elif options.date_shift_days is not None:
        methods.append(DeidentificationMethod.RETAIN_MODIFIED_DATES)
        out.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        out.LongitudinalTemporalInformationModified = "REMOVED"
    if options.retain_patient_characteristics:
        methods.append(DeidentificationMethod.RETAIN_PATIENT_CHARACTERISTICS)
    if options.safe_private:
        methods.append(DeidentificationMethod.RETAIN_SAFE_PRIVATE)
    if options.clean_descriptor is not None:
        methods.append(DeidentificationMethod.CLEAN_DESCRIPTORS)
    out.DeidentificationMethod = [_METHOD_MEANINGS[m] for m in methods]  # LO, 1-n: one value per method
    out.DeidentificationMethodCodeSequence = Sequence([_code(method) for method in methods])

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        new_meta = FileMetaDataset()
        new_meta.MediaStorageSOPClassUID = out.get("SOPClassUID", meta.get("MediaStorageSOPClassUID"))
        new_meta.MediaStorageSOPInstanceUID = out.get("SOPInstanceUID", "")
        if "TransferSyntaxUID" in meta:
            new_meta.TransferSyntaxUID = meta.TransferSyntaxUID
        new_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        out.file_meta = new_meta
    return out


def _check_burned_in(ds: Dataset, options: DeidOptions) -> None:
    if options.allow_burned_in or "PixelData" not in ds:
        return
    flag = str(ds.get("BurnedInAnnotation", "")).strip().upper()
    if flag == "YES":
        raise BurnedInAnnotationError(
            "BurnedInAnnotation is YES: the image has text in its pixels that may name the patient; "
            "have a person review or clean the pixels, then de-identify with allow_burned_in"
        )
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in BURNED_IN_PRONE_SOP_CLASSES and flag != "NO":
        raise BurnedInAnnotationError(
            f"images of SOP class {sop_class} often have text burned into their pixels and this one does not "
            "say BurnedInAnnotation NO; have a person review the pixels, then de-identify with allow_burned_in"
        )


def _clean(ds: Dataset, uid_map: UidMap, options: DeidOptions) -> Dataset:
    out = Dataset()
    kept_private = _kept_private_blocks(ds, options.safe_private)
    for element in ds:
        tag = int(element.tag)
        group = tag >> 16
        if group == 0x0002 or (tag & 0xFFFF) == 0:
            continue  # File Meta is rebuilt; group lengths are recomputed on writing
        if group % 2:
            if _private_kept(tag, kept_private):
                out.add(_copied(element))
            continue
        if 0x5000 <= group <= 0x50FF or (0x6000 <= group <= 0x60FF and (tag & 0xFFFF) in (0x3000, 0x4000)):
            continue  # curve data, overlay data and overlay comments: X (PS3.15 Table E.1-1)
        new = _apply(element, _action_for(tag, element.VR, options), uid_map, options)
        if new is not None:
            out.add(new)
    return out


def _action_for(tag: int, vr: str, options: DeidOptions) -> Action:
    action = BASIC_PROFILE.get(tag, Action.K)
    if options.retain_patient_characteristics and tag in PATIENT_CHARACTERISTICS:
        return Action.K
    if options.clean_descriptor is not None and tag in CLEAN_DESCRIPTORS:
        return Action.C
    if vr in _DATE_VRS and tag not in _BIRTH and (options.retain_dates or options.date_shift_days is not None):
        return Action.K  # an option overrides the Basic Profile (E.3); shifting happens in _apply
    return action


def _resolve(action: Action, vr: str) -> Action:
    """Pick one action of a combination. Without the IOD at hand the Type is unknown, so the choice keeps a
    Type 2 attribute present (Z) and only writes a dummy where the profile names D without Z."""
    if action in (Action.Z_D, Action.X_Z, Action.X_Z_D):
        return Action.Z
    if action is Action.X_D:
        return Action.D
    if action is Action.X_Z_U:
        return Action.K if vr == "SQ" else Action.U
    return action


def _apply(element: DataElement, action: Action, uid_map: UidMap, options: DeidOptions) -> DataElement | None:
    action = _resolve(action, element.VR)
    tag, vr = element.tag, element.VR
    if action is Action.X:
        return None
    if vr == "SQ":
        if action is Action.Z:
            return DataElement(tag, vr, Sequence())
        # K, D and U on a sequence: keep its items, each cleaned by the same rules (E.1.1, "sequences are cleaned").
        items = element.value or []
        return DataElement(tag, vr, Sequence([_clean(item, uid_map, options) for item in items]))
    if action is Action.Z:
        return DataElement(tag, vr, "" if vr in STR_VR else None)
    if action is Action.D:
        return DataElement(tag, vr, _DUMMY_BY_VR.get(vr, ""))
    if action is Action.U:
        value = element.value
        if isinstance(value, str | bytes):
            return DataElement(tag, vr, uid_map(_text(value)) if _text(value) else value)
        return DataElement(tag, vr, [uid_map(str(uid)) for uid in (value or [])])
    if action is Action.C:
        if options.clean_descriptor is not None and tag in CLEAN_DESCRIPTORS:
            # Undecoded bytes cannot be read, so they cannot be cleaned: removed, as the Basic Profile does.
            value = element.value if isinstance(element.value, str) else ""
            cleaned = options.clean_descriptor(value) if value.strip() else None
            return DataElement(tag, vr, cleaned) if cleaned else None
        return DataElement(tag, vr, _DUMMY_BY_VR.get(vr, ""))
    copied = _copied(element)
    if options.date_shift_days is not None and vr in ("DA", "DT") and copied.value:
        copied.value = _shift(copied.value, vr, options.date_shift_days)
    return copied


def _text(value: str | bytes) -> str:
    return (value.decode("ascii", errors="replace") if isinstance(value, bytes) else value).strip("\0 ")


def _shift(value: object, vr: str, days: int) -> str | list[str]:
    if isinstance(value, MultiValue | list | tuple):
        return [_shift_one(str(v), vr, days) for v in value]
    return _shift_one(str(value), vr, days)


def _shift_one(value: str, vr: str, days: int) -> str:
    """Move a DA (or a DT's date part) by `days`; a value that is not a full date is blanked, not leaked."""
    value = value.strip()
    if len(value) < 8 or (vr == "DA" and len(value) != 8):
        return ""
    try:
        day = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return ""
    return (day + timedelta(days=days)).strftime("%Y%m%d") + (value[8:] if vr == "DT" else "")


def _copied(element: DataElement) -> DataElement:
    value = element.value
    if not isinstance(value, bytes | str | int | float | type(None)):
        value = copy.deepcopy(value)
    return DataElement(element.tag, element.VR, value, is_undefined_length=element.is_undefined_length)


def _kept_private_blocks(ds: Dataset, safe_private: Mapping[str, frozenset[int]]) -> dict[int, frozenset[int]]:
    """Private block (group << 8 | block byte) -> safe element bytes, for the creators named safe."""
    if not safe_private:
        return {}
    blocks: dict[int, frozenset[int]] = {}
    for element in _private_creators(ds):
        creator = str(element.value).strip()
        if creator in safe_private:
            tag = int(element.tag)
            blocks[(tag >> 16) << 8 | (tag & 0xFF)] = safe_private[creator]
    return blocks


def _private_creators(ds: Dataset) -> Iterator[DataElement]:
    for element in ds:
        tag = int(element.tag)
        if (tag >> 16) % 2 and 0x0010 <= (tag & 0xFFFF) <= 0x00FF:
            yield element


def _private_kept(tag: int, blocks: Mapping[int, frozenset[int]]) -> bool:
    group, element = tag >> 16, tag & 0xFFFF
    if 0x0010 <= element <= 0x00FF:
        return (group << 8 | element) in blocks  # the creator of a kept block
    allowed = blocks.get(group << 8 | (element >> 8))
    return allowed is not None and (element & 0xFF) in allowed


def _code(method: DeidentificationMethod) -> Dataset:
    item = Dataset()
    item.CodeValue = method.value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = _METHOD_MEANINGS[method]
    return item
