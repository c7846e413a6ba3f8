"""Reading received instances and the problems that stop them being stored, each with its FailureReason."""

from __future__ import annotations

import warnings

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from tests.support import dicom_gen
from yilian.dicom.instance import (
    FailureReason,
    NotDicomError,
    Problem,
    TruncatedInstanceError,
    UnreadableInstanceError,
    check_instance,
    read_instance,
    uid_problem,
    uid_value,
)


def ct() -> Dataset:
    return dicom_gen.ct_series(n_slices=1, rows=8, cols=8)[0]


@pytest.mark.parametrize("body", [b"", b"hello", b"%PDF-1.7\n" + b"x" * 400, bytes(132)])
def test_non_dicom_is_refused(body: bytes) -> None:
    with pytest.raises(NotDicomError) as caught:
        read_instance(body)
    assert caught.value.failure_reason == FailureReason.CANNOT_UNDERSTAND


def test_cut_inside_pixel_data_is_truncated() -> None:
    data = dicom_gen.to_bytes(ct())
    with pytest.raises(TruncatedInstanceError, match="7FE0"):
        read_instance(data[:-10])


def test_an_undefined_length_item_without_its_tags_is_unreadable_not_an_exception() -> None:
    """Found by the gateway's fuzz test: pydicom raises OSError ("No tag to read") for this, which read_instance
    let through, so the gateway answered 0110 (processing failure) instead of C000."""
    import struct

    data = dicom_gen.to_bytes(ct())
    meta_end = data.index(b"\x08\x00")  # the first group 0008 element: where the data set starts
    body = struct.pack("<HH2sHI", 0x0008, 0x0018, b"UN", 0, 0xFFFFFFFF) + b"\x01" * 8
    with pytest.raises(UnreadableInstanceError) as caught:
        read_instance(data[:meta_end] + body)
    assert caught.value.failure_reason == FailureReason.CANNOT_UNDERSTAND


def test_every_cut_is_refused_or_reported() -> None:
    """pydicom reads a cut file without complaint; each cut must be refused or leave a problem."""
    data = dicom_gen.to_bytes(ct())
    missed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cut Specific Character Set warns about an unknown encoding
        for cut in range(0, len(data), 3):
            try:
                ds = read_instance(data[:cut])
            except UnreadableInstanceError:
                continue
            if not check_instance(ds):
                missed.append(cut)
    assert missed == []


def codes(problems: list[Problem]) -> set[tuple[str | None, FailureReason]]:
    return {(p.keyword, p.failure_reason) for p in problems}


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"])
def test_missing_identity_uid(keyword: str) -> None:
    ds = ct()
    delattr(ds, keyword)
    assert (keyword, FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS) in codes(check_instance(ds))


@pytest.mark.filterwarnings("ignore:.*VR UI:UserWarning")  # pydicom warns as the bad value is set
@pytest.mark.parametrize(
    "bad",
    ["1." + "2" * 63, "1.2.3a.4", "1.2..3", "1.2.3.", "1.2.3 4"],
)
def test_malformed_uid_cannot_be_understood(bad: str) -> None:
    ds = ct()
    ds.SeriesInstanceUID = bad
    assert codes(check_instance(ds)) == {("SeriesInstanceUID", FailureReason.CANNOT_UNDERSTAND)}


def test_uid_rules() -> None:
    assert uid_problem("1." + "2" * 62) is None  # exactly 64
    assert uid_problem("1.2.840.10008.01") is None  # leading zero tolerated on receipt
    assert uid_problem("1." + "2" * 63) is not None


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID"])
def test_sop_instance_uid_equal_to_series_or_study(keyword: str) -> None:
    ds = ct()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = getattr(ds, keyword)
    problems = check_instance(ds)
    assert codes(problems) == {("SOPInstanceUID", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS)}
    assert keyword in problems[0].reason


def test_file_meta_naming_another_instance() -> None:
    ds = ct()
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    assert codes(check_instance(ds)) == {("SOPInstanceUID", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS)}


def test_image_without_pixels_or_with_too_few() -> None:
    ds = ct()
    del ds.PixelData
    assert codes(check_instance(ds)) == {("PixelData", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS)}
    ds = ct()
    ds.PixelData = ds.PixelData[:-2]
    assert codes(check_instance(ds)) == {("PixelData", FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS)}


def test_failure_reasons_are_the_standard_codes() -> None:
    assert FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS == 43264
    assert FailureReason.CANNOT_UNDERSTAND == 49152
    assert FailureReason.TRANSFER_SYNTAX_NOT_SUPPORTED == 49442
    assert FailureReason.SOP_CLASS_NOT_SUPPORTED == 290


def test_a_part_without_its_preamble_is_completed_and_anything_else_left_alone() -> None:
    import io

    from pydicom import dcmwrite

    from tests.support.dicom_gen import dx_image
    from yilian.dicom.instance import as_part10

    [ds] = dx_image(rows=4, cols=4)
    buffer = io.BytesIO()
    dcmwrite(buffer, ds)  # what dicomweb-client sends for a data set made in memory: no preamble, no DICM
    bare = buffer.getvalue()
    assert bare[:2] == b"\x02\x00" and read_instance(as_part10(bare)).SOPInstanceUID == ds.SOPInstanceUID
    whole = as_part10(bare)
    assert as_part10(whole) == whole and as_part10(b"not dicom at all") == b"not dicom at all"


@pytest.mark.filterwarnings("ignore:.*VR UI:UserWarning")
@pytest.mark.parametrize("bad", ["1." + "2" * 63, "1.2.3a.4", "1.2..3", "1.2.3.", "1.2.3 4", ""])
def test_received_bytes_are_checked_as_the_decoded_dataset_is(bad: str) -> None:
    """check_instance reads identity UIDs from the raw elements of received bytes (uid_value, no conversion):
    the problems must be the ones the same dataset gives once its values are decoded."""
    ds = ct()
    ds.SeriesInstanceUID = bad
    received = read_instance(dicom_gen.to_bytes(ds))
    assert isinstance(received.get_item(0x0020000E), RawDataElement)  # still raw: the fast path is what runs
    assert codes(check_instance(received)) == codes(check_instance(ds))
    assert codes(check_instance(received)) == {
        (
            "SeriesInstanceUID",
            FailureReason.CANNOT_UNDERSTAND if bad else FailureReason.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
        )
    }


def test_uid_value_is_the_same_for_raw_and_decoded_elements() -> None:
    ds = ct()
    received = read_instance(dicom_gen.to_bytes(ds))
    for keyword in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"):
        assert uid_value(received, keyword) == str(getattr(ds, keyword)) != ""
    assert uid_value(received.file_meta, "MediaStorageSOPInstanceUID") == str(ds.SOPInstanceUID)
    delattr(received, "SeriesInstanceUID")
    assert uid_value(received, "SeriesInstanceUID") == ""
    assert uid_value(received, "NoSuchKeyword") == ""
