"""De-identification (PS3.15 Annex E): no identifying value survives, UIDs stay consistent, options, round trip."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from pydicom import dcmread, dcmwrite
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import SecondaryCaptureImageStorage
from tests.support import dicom_gen

from yilian.dicom.deid import (
    BASIC_PROFILE,
    Action,
    BurnedInAnnotationError,
    DeidOptions,
    UidMap,
    deidentify,
)

SALT = "test-salt-not-secret"


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _identified_series(n: int = 3) -> list[Dataset]:
    """Generator CT slices plus the identifying attributes real modalities and RIS add."""
    series = dicom_gen.ct_series(n_slices=n, rows=16, cols=16)
    for index, ds in enumerate(series):
        ds.OtherPatientIDs = "ALT-778899"
        ds.OtherPatientIDsSequence = Sequence([_item(PatientID="MRN-445566", IssuerOfPatientID="CITY-HOSP")])
        ds.PatientAddress = "人民路 88 号"
        ds.PatientTelephoneNumbers = "13800138000"
        ds.PatientAge = "061Y"
        ds.PatientWeight = 72.5
        ds.PatientSize = 1.75
        ds.InstitutionAddress = "县城东大街 1 号"
        ds.InstitutionalDepartmentName = "放射科"
        ds.StationName = "CT-STATION-7"
        ds.DeviceSerialNumber = "SN-99887766"
        ds.OperatorsName = "Wang^Wu=王^五"
        ds.PerformingPhysicianName = "Zhao^Liu=赵^六"
        ds.NameOfPhysiciansReadingStudy = "Qian^Qi=钱^七"
        ds.ImageComments = "patient Zhang San, bed 12"
        ds.AcquisitionDateTime = "20261123093000"
        ds.RequestAttributesSequence = Sequence(
            [_item(RequestedProcedureID="RP-5566", ScheduledProcedureStepID="SPS-7788", AccessionNumber="A0001")]
        )
        ds.ReferencedStudySequence = Sequence(
            [_item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1", ReferencedSOPInstanceUID=ds.StudyInstanceUID)]
        )
        previous = series[index - 1]
        ds.ReferencedImageSequence = Sequence(
            [_item(ReferencedSOPClassUID=previous.SOPClassUID, ReferencedSOPInstanceUID=previous.SOPInstanceUID)]
        )
        ds.add_new(0x00090010, "LO", "PRIVATE VENDOR")
        ds.add_new(0x00091011, "LO", "Zhang San private copy")
        ds.add_new(0x60003000, "OW", b"\x00\x01" * 8)
        ds.BurnedInAnnotation = "NO"
    return series


def _identifying_values(ds: Dataset) -> set[str]:
    values = {
        "Zhang",
        "张",
        "Li^Si",
        "李",
        "王",
        "赵",
        "钱",
        "P0001",
        "A0001",
        "COUNTY-HOSPITAL",
        dicom_gen.CHINESE_INSTITUTION,
        "ALT-778899",
        "MRN-445566",
        "CITY-HOSP",
        "人民路",
        "13800138000",
        "县城东大街",
        "放射科",
        "CT-STATION-7",
        "SN-99887766",
        "RP-5566",
        "SPS-7788",
        "19650412",
        "20261123",
    }
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        values.add(str(ds[keyword].value))
    return values


def _all_text(ds: Dataset) -> Iterator[str]:
    """Every value in the data set and its sequences, as text, plus private and file meta values."""
    for element in ds.iterall():
        if element.VR == "SQ" or element.tag == 0x7FE00010:
            continue
        value = element.value
        yield value.decode("latin-1") if isinstance(value, bytes) else str(value)
    if hasattr(ds, "file_meta"):
        yield from (str(e.value) for e in ds.file_meta)


def test_the_table_covers_the_identifying_attributes() -> None:
    for keyword, action in [
        ("PatientName", Action.Z),
        ("PatientID", Action.Z),
        ("OtherPatientIDsSequence", Action.X),
        ("RequestAttributesSequence", Action.X),
        ("ReferencedStudySequence", Action.X_Z),
        ("StudyInstanceUID", Action.U),
        ("ReferencedSOPInstanceUID", Action.U),
        ("InstitutionName", Action.X_Z_D),
        ("DeviceSerialNumber", Action.X_Z_D),
        ("PatientAddress", Action.X),
        ("AccessionNumber", Action.Z),
    ]:
        assert BASIC_PROFILE[tag_for_keyword(keyword) or 0] is action, keyword


def test_no_identifying_value_survives_anywhere() -> None:
    series = _identified_series()
    uid_map = UidMap(SALT)
    for ds in series:
        secrets = _identifying_values(ds)
        out = deidentify(ds, uid_map=uid_map, options=DeidOptions())
        for text in _all_text(out):
            leaks = [secret for secret in secrets if secret in text]
            assert not leaks, f"{leaks} found in {text!r}"
        written = _round_trip_bytes(out)
        for secret in secrets:
            assert secret.encode("utf-8") not in written, secret
        assert not any(element.tag.is_private for element in out.iterall())
        assert 0x60003000 not in out
        assert out.PatientIdentityRemoved == "YES"
        assert out.LongitudinalTemporalInformationModified == "REMOVED"
        assert [item.CodeValue for item in out.DeidentificationMethodCodeSequence] == ["113100"]
        assert out.PatientName == "" and out.PatientID == ""
        assert "StudyDate" in out and out.StudyDate == ""  # Z: present, empty
        assert "OtherPatientIDsSequence" not in out and "PatientAddress" not in out
        assert len(out.ReferencedStudySequence) == 0  # X/Z resolved to an empty sequence


def test_the_input_is_not_changed() -> None:
    ds = _identified_series(1)[0]
    before = dicom_gen.to_bytes(ds)
    deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions())
    assert dicom_gen.to_bytes(ds) == before


def test_uids_are_consistent_across_a_series_and_its_references() -> None:
    series = _identified_series(3)
    uid_map = UidMap(SALT)
    outs = [deidentify(ds, uid_map=uid_map, options=DeidOptions()) for ds in series]
    assert len({out.StudyInstanceUID for out in outs}) == 1
    assert len({out.SeriesInstanceUID for out in outs}) == 1
    assert len({out.FrameOfReferenceUID for out in outs}) == 1
    assert len({out.SOPInstanceUID for out in outs}) == 3
    for index, out in enumerate(outs):
        assert out.StudyInstanceUID != series[index].StudyInstanceUID
        assert out.StudyInstanceUID.startswith("2.25.") and len(out.StudyInstanceUID) <= 64
        # A reference to another instance points at that instance's new UID.
        assert out.ReferencedImageSequence[0].ReferencedSOPInstanceUID == outs[index - 1].SOPInstanceUID
        assert out.ReferencedImageSequence[0].ReferencedSOPClassUID == series[index].SOPClassUID  # class kept
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        assert out.SOPClassUID == series[index].SOPClassUID


def test_the_mapping_is_the_same_in_another_run_and_differs_by_salt() -> None:
    ds = _identified_series(1)[0]
    first = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions())
    again = deidentify(ds, uid_map=UidMap(SALT.encode()), options=DeidOptions())
    other = deidentify(ds, uid_map=UidMap("another-salt"), options=DeidOptions())
    assert first.StudyInstanceUID == again.StudyInstanceUID and first.SOPInstanceUID == again.SOPInstanceUID
    assert first.StudyInstanceUID != other.StudyInstanceUID
    uid_map = UidMap(SALT)
    uid_map(ds.StudyInstanceUID)
    assert uid_map.mapping == {ds.StudyInstanceUID: first.StudyInstanceUID}
    with pytest.raises(ValueError):
        UidMap("")


def test_date_shift_is_consistent() -> None:
    series = _identified_series(2)
    uid_map = UidMap(SALT)
    shift = uid_map.date_shift_days("P0001")
    assert shift == UidMap(SALT).date_shift_days("P0001") and -3650 <= shift <= -1
    options = DeidOptions(date_shift_days=-30)
    outs = [deidentify(ds, uid_map=uid_map, options=options) for ds in series]
    for out in outs:
        assert out.StudyDate == out.SeriesDate == out.ContentDate == "20261024"
        assert out.AcquisitionDateTime == "20261024093000"
        assert out.StudyTime == "093000"  # times are kept
        assert out.PatientBirthDate == ""  # never kept by the date options
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        assert "113107" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]


def test_full_dates_and_patient_characteristics_options() -> None:
    ds = _identified_series(1)[0]
    options = DeidOptions(retain_dates=True, retain_patient_characteristics=True)
    out = deidentify(ds, uid_map=UidMap(SALT), options=options)
    assert out.StudyDate == "20261123" and out.SeriesDate == "20261123"
    assert (out.PatientAge, out.PatientSex, float(out.PatientWeight), float(out.PatientSize)) == (
        "061Y",
        "M",
        72.5,
        1.75,
    )
    assert out.PatientBirthDate == ""
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113106", "113108"]
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"
    basic = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions())
    assert "PatientAge" not in basic and "PatientWeight" not in basic and basic.PatientSex == ""
    with pytest.raises(ValueError):
        DeidOptions(retain_dates=True, date_shift_days=-5)


def test_pseudonyms_replace_name_and_id() -> None:
    ds = _identified_series(1)[0]
    out = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions(patient_name="TEACHING^0042", patient_id="T0042"))
    assert (str(out.PatientName), out.PatientID) == ("TEACHING^0042", "T0042")


def test_clean_descriptors_keep_what_the_cleaner_returns_and_remove_the_rest() -> None:
    ds = _identified_series(1)[0]
    ds.SeriesDescription = "CHEST 5mm"
    ds.StudyDescription = "Zhang San chest"
    ds.ProtocolName = "ROUTINE CHEST"
    ds.ImageComments = "CHEST 5mm"  # a comment, not a descriptor: removed whatever the cleaner says

    def cleaner(text: str) -> str | None:
        return None if "Zhang" in text else text.lower()

    out = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions(clean_descriptor=cleaner))
    assert (out.SeriesDescription, out.ProtocolName) == ("chest 5mm", "routine chest")
    assert "StudyDescription" not in out and "ImageComments" not in out
    assert "113105" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    basic = deidentify(ds, uid_map=UidMap(SALT))
    assert "SeriesDescription" not in basic and basic.ProtocolName == "ANONYMOUS"


def test_safe_private_elements_can_be_kept() -> None:
    ds = _identified_series(1)[0]
    ds.add_new(0x00091012, "DS", "2.5")
    out = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions(safe_private={"PRIVATE VENDOR": frozenset({0x12})}))
    assert out[0x00090010].value == "PRIVATE VENDOR" and float(out[0x00091012].value) == 2.5
    assert 0x00091011 not in out  # not listed as safe


def test_burned_in_annotation_needs_review() -> None:
    ds = _identified_series(1)[0]
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInAnnotationError, match="review"):
        deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions())
    assert deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions(allow_burned_in=True)).BurnedInAnnotation == "YES"

    capture = _identified_series(1)[0]
    capture.SOPClassUID = SecondaryCaptureImageStorage
    del capture.BurnedInAnnotation  # a screenshot that says nothing about its pixels
    with pytest.raises(BurnedInAnnotationError):
        deidentify(capture, uid_map=UidMap(SALT), options=DeidOptions())
    capture.BurnedInAnnotation = "NO"
    assert deidentify(capture, uid_map=UidMap(SALT), options=DeidOptions()).SOPClassUID == SecondaryCaptureImageStorage


def _round_trip_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("make", [dicom_gen.ct_series, dicom_gen.mr_series, dicom_gen.dx_image])
def test_output_round_trips_through_a_file_with_pixels_intact(make: object) -> None:
    assert callable(make)
    ds = make(rows=32, cols=32)[0]
    out = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions(date_shift_days=-7))
    data = _round_trip_bytes(out)
    assert data[:128] == b"\0" * 128 and data[128:132] == b"DICM"  # preamble replaced
    back = dcmread(io.BytesIO(data))
    assert back.SOPInstanceUID == out.SOPInstanceUID == back.file_meta.MediaStorageSOPInstanceUID
    assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert np.array_equal(back.pixel_array, ds.pixel_array)
    assert back.PatientIdentityRemoved == "YES"


def test_iso_2022_ir_58_names_are_removed() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=16, cols=16, charset=["", dicom_gen.ISO_2022_IR_58])[0]
    out = deidentify(ds, uid_map=UidMap(SALT), options=DeidOptions())
    data = _round_trip_bytes(out)
    assert "张".encode("gb2312") not in data and b"Zhang" not in data
