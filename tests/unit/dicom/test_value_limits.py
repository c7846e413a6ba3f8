"""Indexed attributes checked against their VR limits (PS3.5 §6.2) before an instance is stored."""

from __future__ import annotations

import warnings

import pytest
from pydicom.valuerep import PersonName
from tests.support.dicom_gen import dx_image, to_bytes

from yilian.dicom.instance import FailureReason, read_instance
from yilian.dicom.value_limits import indexed_value_problems, value_problem


@pytest.mark.parametrize(
    ("vr", "value", "fragment"),
    [
        ("SH", "A" * 17, "17 characters long, over the 16 allowed for SH"),
        ("LO", "P" * 5000, "5000 characters long, over the 64 allowed for LO"),
        ("CS", "C" * 17, "over the 16 allowed for CS"),
        ("DA", "2024-01-01", "over the 8 allowed for DA"),
        ("DA", "2024011x", "is not a DA value"),
        ("TM", "12:30", "is not a TM value"),
        ("IS", "2147483648", "outside the range of IS"),
        ("LO", "a\x00b", "control character"),
        ("PN", PersonName("A" * 65), "component group of 65 characters"),
    ],
)
def test_a_value_over_its_vr_limit_is_a_problem(vr: str, value: object, fragment: str) -> None:
    reason = value_problem(vr, value)
    assert reason is not None and fragment in reason


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("SH", "A" * 16),
        ("LO", "P" * 64 + " "),  # trailing padding is not part of the value
        ("DA", "20240101"),
        ("TM", "123045.123456"),
        ("TM", "12"),
        ("IS", " -2147483648 "),
        ("PN", PersonName("A" * 64 + "=" + "张" * 64)),  # 64 per component group, not per name
        ("LO", "\x1b$A中文"),  # ESC begins an ISO 2022 code extension
    ],
)
def test_a_value_within_its_vr_limit_passes(vr: str, value: object) -> None:
    assert value_problem(vr, value) is None


def test_an_instance_with_oversized_indexed_values_is_refused_with_c000() -> None:
    [image] = dx_image(rows=16, cols=16, patient_id="P" * 5000, accession_number="A" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the over-long values it is asked to write
        ds = read_instance(to_bytes(image))
    problems = indexed_value_problems(ds)
    assert [p.keyword for p in problems] == ["PatientID", "AccessionNumber"]
    assert {p.failure_reason for p in problems} == {FailureReason.CANNOT_UNDERSTAND}
    [good] = dx_image(rows=16, cols=16)
    assert indexed_value_problems(read_instance(to_bytes(good))) == []


@pytest.mark.parametrize(
    ("keyword", "value", "fragment"),
    [
        ("OperatorsName", "A" * 65, "component group of 65 characters"),
        ("PatientSex", "male", "characters CS does not allow"),
        ("SliceThickness", "1.23456789012345678", "over the 16 allowed for DS"),
        ("InstitutionName", "县医院\x07", "control character"),
        ("ImageComments", "x" * 10241, "over the 10240 allowed for LT"),
    ],
)
def test_any_attribute_breaking_its_vr_is_a_problem(keyword: str, value: str, fragment: str) -> None:
    from yilian.dicom.value_limits import dataset_value_problems

    [ds] = dx_image(rows=4, cols=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setattr(ds, keyword, value)
        [problem] = dataset_value_problems(read_instance(to_bytes(ds)))
    assert problem.failure_reason is FailureReason.CANNOT_UNDERSTAND and keyword in problem.reason
    assert fragment in problem.reason


def test_text_vrs_keep_their_line_breaks_and_generated_instances_have_no_problems() -> None:
    from yilian.dicom.value_limits import dataset_value_problems

    [ds] = dx_image(rows=4, cols=4)
    ds.ImageComments = "第一行\r\n第二行\tTAB"
    assert dataset_value_problems(read_instance(to_bytes(ds))) == []


def test_checked_from_the_bytes_or_after_pydicom_converts_them_the_problems_are_the_same() -> None:
    """dataset_value_problems reads the default-repertoire VRs straight from their bytes; converted first (as
    pydicom does for anything else) the same problems come out, for good and bad instances, nested ones too."""
    from pydicom.dataset import Dataset

    from yilian.dicom.value_limits import dataset_value_problems

    bad = {"PatientSex": "male", "SliceThickness": "1.23456789012345678", "Modality": "ct", "StudyDate": "2024-01-01",
           "PatientAge": "045Q", "ImageType": ["ORIGINAL", "primary"]}  # fmt: skip
    datasets: list[bytes] = []
    for keyword, value in bad.items():
        [ds] = dx_image(rows=4, cols=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            setattr(ds, keyword, value)
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator = "bad value", "DCM"  # SH: fine; nested CS below is not
            item.CodeMeaning = "x"
            item.ContextIdentifier = "x" * 17  # CS over 16
            ds.ProcedureCodeSequence = [item]
            datasets.append(to_bytes(ds))
    datasets += [to_bytes(dx_image(rows=4, cols=4)[0])]
    checked = 0
    for data in datasets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_bytes = dataset_value_problems(read_instance(data))
            converted = read_instance(data)
            for _ in converted.iterall():  # every element converted: no raw element left
                pass
            assert dataset_value_problems(converted) == from_bytes
            checked += len(from_bytes)
    assert checked >= len(bad) * 2  # each bad value, and the nested CS, found both ways
