"""The one-pass header path (dicom/header.py) against pydicom's: the same index rows and DICOM JSON, or no answer."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest
from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from tests.support import dicom_gen
from yilian.dicom import header as header_module
from yilian.dicom.header import read_header
from yilian.dicom.instance import UnreadableInstanceError, check_instance, read_instance
from yilian.dicom.value_limits import dataset_value_problems, indexed_value_problems
from yilian.imaging.index import bulk_data_uri_of, index_header, index_instance


def _explicit_without_sequences(ds: Dataset) -> bytes | None:
    """The data set again as Explicit VR Little Endian, its sequences dropped: pydicom's files mostly carry both."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None and syntax.is_compressed:
        return None
    for tag in [tag for tag in ds.keys() if ds[tag].VR == "SQ"]:
        del ds[tag]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = io.BytesIO()
    try:
        ds.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    except Exception:  # a few of pydicom's files cannot be written back; nothing to compare
        return None
    return buf.getvalue()


def _corpus() -> Iterator[tuple[str, bytes]]:
    for path in dicom_gen.pydicom_test_files():
        data = path.read_bytes()
        yield path.name, data
        try:
            ds = dcmread(io.BytesIO(data), force=True)
            again = _explicit_without_sequences(ds)
        except Exception:  # a few of pydicom's files are deliberately broken
            continue
        if again is not None:
            yield f"{path.name} (explicit, no sequences)", again
    for charset in ("ISO_IR 192", "GB18030", "GBK", ["", "ISO 2022 IR 58"]):
        for ds in dicom_gen.ct_series(2, 16, 16, charset=charset):
            yield f"ct {charset}", dicom_gen.to_bytes(ds)
    yield "mr", dicom_gen.to_bytes(dicom_gen.mr_series(1, 16, 16)[0])
    yield "dx", dicom_gen.to_bytes(dicom_gen.dx_image(16, 16)[0])
    yield from _variants()


def _variants() -> Iterator[tuple[str, bytes]]:
    """Values the fast path must read exactly as pydicom does, or leave to it."""

    def ct(charset: str | None = "ISO_IR 192", **changes: object) -> bytes:
        ds = dicom_gen.ct_series(1, 8, 8, charset=charset or "ISO_IR 192", patient_name="Wang^Wu")[0]
        if charset is None:
            del ds.SpecificCharacterSet
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        return dicom_gen.to_bytes(ds)

    yield "multi-valued LO", ct(InstitutionName="A\\B\\")
    yield "GBK backslash byte", ct("GBK", InstitutionName="县人民医院\\乡镇卫生院", StudyDescription="胸部CT")
    yield "GB18030 empty alphabetic", ct("GB18030", PatientName="=欧阳^娜娜")
    yield "PN several names", ct(PatientName="A^B=甲^乙\\C^D", ReferringPhysicianName="")
    yield "PN three groups", ct(PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう")
    yield "empty values", ct(StudyDescription="", AccessionNumber="", StudyID="", PatientBirthDate="")
    yield "text with trailing spaces", ct(StudyComments="first line\\second   ", ImageComments="")
    yield "IS and DS forms", ct(SeriesNumber="+7", SliceThickness=" 5 ", KVP="1.2e2")
    yield "no character set", ct(None, InstitutionName="County", PatientName="Zhou^Yu")
    yield "latin-1", ct("ISO_IR 100", InstitutionName="Hôpital Sainte-Anne")
    yield from _with_sequences()
    # Each of these is refused or read by pydicom: the fast path must not answer.
    yield "over-long PatientID", ct(PatientID="P" * 65)
    yield "lower-case CS", ct(BodyPartExamined="chest")
    yield "control character", ct(StudyDescription="CT\x01CHEST")
    yield "UID with a letter", ct(SeriesInstanceUID="1.2.3.a")
    series_number = b"\x20\x00\x11\x00IS\x02\x00"
    yield "letters in an IS", ct(SeriesNumber=91).replace(series_number + b"91", series_number + b"X1")
    yield "bad UTF-8", ct(InstitutionName="ok").replace(b"ok", b"\xff\xfe")
    yield "short pixel data", ct(PixelData=b"\0" * 10)
    yield "SOP instance is the series", _same_uids()
    yield "cut in an element", ct()[:-50]


def _with_sequences() -> Iterator[tuple[str, bytes]]:
    """Sequences as modalities send them: nested, empty, defined and undefined lengths, bulk data in an item."""
    ds = dicom_gen.with_sequences()
    icon = Dataset()
    icon.SamplesPerPixel, icon.PhotometricInterpretation, icon.Rows, icon.Columns = 1, "MONOCHROME2", 32, 32
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = bytes(range(256)) * 4
    icon["PixelData"].VR = "OB"
    ds.IconImageSequence = [icon]
    defined = dicom_gen.to_bytes(ds)
    yield "sequences, defined lengths", defined
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    for element in ds.iterall():
        if element.VR == "SQ":
            element.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    assert buf.getvalue() != defined
    yield "sequences, undefined lengths", buf.getvalue()
    bad = Dataset()
    bad.CodeMeaning = "x" * 65
    ds.ProcedureCodeSequence = [bad]
    yield "over-long value in an item", dicom_gen.to_bytes(ds)


def _same_uids() -> bytes:
    ds = dicom_gen.ct_series(1, 8, 8)[0]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ds.SeriesInstanceUID
    return dicom_gen.to_bytes(ds)


def _slow(data: bytes) -> tuple[list[str], object]:
    """What the pydicom path makes of the bytes: its problems, and the index rows when there are none."""
    try:
        ds = read_instance(data)
    except UnreadableInstanceError as exc:
        return [str(exc)], None
    problems = check_instance(ds) or indexed_value_problems(ds) or dataset_value_problems(ds)
    if problems:
        return [p.reason for p in problems], None
    return [], index_instance(ds)


def test_the_fast_path_answers_only_what_pydicom_would_and_the_same() -> None:
    fast_hits: list[str] = []
    for name, data in _corpus():
        header = read_header(data, bulk_data_uri_of)
        if header is None:
            continue
        problems, slow = _slow(data)
        assert problems == [], (name, problems)
        assert index_header(header) == slow, name
        fast_hits.append(name)
    # Not vacuous: our generator's files and many of pydicom's (rewritten without sequences) take the fast path.
    assert len(fast_hits) > 60, fast_hits
    assert {"ct ISO_IR 192", "ct GB18030", "ct GBK", "GBK backslash byte", "PN three groups"} <= set(fast_hits)


@pytest.mark.parametrize(
    "name", ["over-long PatientID", "lower-case CS", "control character", "UID with a letter", "letters in an IS",
             "bad UTF-8", "short pixel data", "SOP instance is the series", "cut in an element",
             "over-long value in an item"],
)  # fmt: skip
def test_what_pydicom_refuses_or_repairs_is_left_to_it(name: str) -> None:
    data = dict(_variants())[name]
    assert read_header(data, bulk_data_uri_of) is None
    problems, _ = _slow(data)
    if name == "bad UTF-8":
        assert problems == []  # pydicom decodes it with replacement characters, as the archive always has
    else:
        assert problems, name  # the slow path words the refusal, as before


def test_how_many_take_the_fast_path() -> None:
    """The bench's instance and every generated CT but the ISO 2022 one are read in one pass."""
    names = [name for name, data in _corpus() if read_header(data, bulk_data_uri_of) is not None]
    assert names.count("ct ISO_IR 192") == 2 and names.count("ct GB18030") == 2 and names.count("ct GBK") == 2
    assert "ct ['', 'ISO 2022 IR 58']" not in names  # code extensions: pydicom's fragment decoding
    assert "mr" in names and "dx" in names
    assert "sequences, defined lengths" in names and "sequences, undefined lengths" in names


def test_damaged_files_never_raise_and_never_answer_differently() -> None:
    """Cut and flipped bytes of a file with sequences: the fast path answers None or exactly what pydicom makes."""
    import random

    rng = random.Random(10)
    sources = [data for name, data in _with_sequences() if name.startswith("sequences")]
    answered = 0
    for _ in range(400):
        data = bytearray(rng.choice(sources))
        if rng.random() < 0.3:
            del data[rng.randrange(140, len(data)) :]
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(132, len(data))] = rng.randrange(256)
        header = read_header(bytes(data), bulk_data_uri_of)  # must not raise
        if header is not None:
            problems, slow = _slow(bytes(data))
            assert problems == [] and index_header(header) == slow
            answered += 1
    assert answered > 20  # some damage lands in values the checks accept, and those are compared too


def test_sequences_nested_past_the_stack_are_left_to_pydicom() -> None:
    data = dicom_gen.to_bytes(dicom_gen.ct_series(1, 8, 8)[0])
    undefined = b"\xff\xff\xff\xff"
    opening = b"\x08\x00\x40\x11SQ\x00\x00" + undefined + b"\xfe\xff\x00\xe0" + undefined  # (0008,1140), an item
    closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    nested = opening * 5000 + closing * 5000  # as written by hand: pydicom cannot write it
    at = data.index(b"\x10\x00\x10\x00PN")  # Patient's Name, the first element after (0008,1140)
    assert read_header(data[:at] + nested + data[at:], bulk_data_uri_of) is None


def test_values_kept_from_earlier_instances_give_the_same_answers() -> None:
    # Every value's conversion and checks are kept by VR and bytes (_plain_value, _cached_any_value_problem): read
    # cold, then again with every value kept, the whole corpus answers alike, and no JSON value is shared.
    corpus = list(_corpus())
    header_module._plain_value.cache_clear()
    header_module._cached_any_value_problem.cache_clear()
    header_module._cached_value_problem.cache_clear()
    cold = [read_header(data, bulk_data_uri_of) for _, data in corpus]
    assert header_module._plain_value.cache_info().hits > 0  # later files met values of earlier ones
    warm = [read_header(data, bulk_data_uri_of) for _, data in corpus]
    assert warm == cold
    pairs = [(c, w) for c, w in zip(cold, warm, strict=True) if c is not None and w is not None]
    for c, w in pairs:
        for key, value in c.dicom_json.items():
            assert value is not w.dicom_json[key]
            assert "Value" not in value or value["Value"] is not w.dicom_json[key]["Value"]
    # A refused value stays refused when it comes again (the cache keeps refusals too).
    for name in ("over-long PatientID", "lower-case CS", "control character", "letters in an IS"):
        data = dict(_variants())[name]
        assert read_header(data, bulk_data_uri_of) is None and read_header(data, bulk_data_uri_of) is None


# Good and bad values of the default-repertoire VRs, whose every-attribute check is kept with their conversion
# (_plain_value), and of the indexed ones, whose format check is kept by VR and value (_cached_value_problem).
_VALUES = {
    "CS": ["CHEST", "HEAD NECK", "A_B\\C", "", "chest", "ＡB", "X" * 17, "AB\x01"],
    "DA": ["20240101", "", "2024010", "2024-01-01", "20240101 ", "2024010A"],
    "TM": ["093000", "0930", "09", "093000.123456", "", "09:30", "0930001234567890", "093000.1234567"],
    "DS": ["1.5", "-2.25e-3", " 7 ", "", "1,5", "1" * 17, "1.5\\2.5"],
    "IS": ["7", "+7", " -12 ", "", "7.0", "2147483648", "1" * 13, "7\\8"],
    "AS": ["045Y", "", "45Y", "045y", "04500Y"],
    "DT": ["20240101093000", "", "2024-01-01", "2" * 27],
    "UI": ["1.2.3", "1.2.840.10008.5.1.4.1.1.2", "", "1.2." + "3" * 70],
    "SH": ["CT1", "", "县医院", "X" * 17, "A\x02B"],
    "LO": ["胸部CT", "", "Y" * 65, "a\\b"],
    "PN": ["王^五", "Wang^Wu=王^五", "", "X" * 65],
}
# Where they go: top-level elements (indexed or not), a private block, and an element nested in a sequence item.
_PLACES = [
    ("Modality", "CS"), ("BodyPartExamined", "CS"), ("StudyDate", "DA"), ("PatientBirthDate", "DA"),
    ("StudyTime", "TM"), ("PerformedProcedureStepStartTime", "TM"), ("SliceThickness", "DS"), ("KVP", "DS"),
    ("SeriesNumber", "IS"), ("InstanceNumber", "IS"), ("PatientAge", "AS"), ("AcquisitionDateTime", "DT"),
    ("FrameOfReferenceUID", "UI"), ("AccessionNumber", "SH"), ("StationName", "SH"), ("StudyDescription", "LO"),
    ("InstitutionName", "LO"), ("PatientName", "PN"), ("ReferringPhysicianName", "PN"),
    ("private CS", "CS"), ("private DS", "DS"), ("private DA", "DA"), ("nested CS", "CS"), ("nested DA", "DA"),
]  # fmt: skip


def _generated(rng: random.Random) -> bytes:
    """A CT in a random character set with a private block (bulk data among it) and a sequence, and 1-4 of its
    default-repertoire, text or person-name values set to one of `_VALUES`, good or bad."""
    charset = rng.choice(["ISO_IR 192", "GB18030", "GBK"])
    ds = dicom_gen.ct_series(1, 8, 8, charset=charset, patient_name="张^三=張^三")[0]
    ds.add_new(0x00090010, "LO", "YILIAN TEST")
    ds.add_new(0x00091001, "CS", "PRIVATE")
    ds.add_new(0x00091002, "DS", "2.5")
    ds.add_new(0x00091003, "DA", "20240101")
    ds.add_new(0x00091010, "OB", rng.randbytes(rng.choice([16, 2000])))  # inline, or a BulkDataURI
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D4000", "SRT", "腹部"
    item.add_new(0x00080106, "DA", "20240101")  # Context Group Version
    ds.AnatomicRegionSequence = [item]
    codec = {"ISO_IR 192": "utf-8", "GB18030": "gb18030", "GBK": "gbk"}[charset]
    for place, vr in rng.sample(_PLACES, rng.randint(1, 4)):
        if place.startswith("private"):
            target, tag = ds, {"CS": 0x00091001, "DS": 0x00091002, "DA": 0x00091003}[vr]
        elif place.startswith("nested"):
            target, tag = item, {"CS": 0x00080102, "DA": 0x00080106}[vr]
        else:
            target, tag = ds, tag_for_keyword(place)
        raw = rng.choice(_VALUES[vr]).encode(codec)  # as sent: pydicom would convert (or refuse) a value set by name
        raw += (b"\0" if vr == "UI" else b" ") * (len(raw) % 2)
        target[tag] = RawDataElement(Tag(tag), vr, len(raw), raw, 0, False, True)
    return dicom_gen.to_bytes(ds)


def test_generated_values_good_and_bad_are_answered_as_pydicom_answers() -> None:
    """Each check still runs where it moved: the fast path answers an instance only when pydicom's path finds no
    problem, and then the same rows and JSON; with the caches cold and then warm."""
    header_module._plain_value.cache_clear()
    rng = random.Random(20261208)
    datas = [_generated(rng) for _ in range(600)]
    refused = answered = 0
    for data in datas + datas:  # the second round meets every value kept
        header = read_header(data, bulk_data_uri_of)
        problems, slow = _slow(data)
        if header is None:
            refused += bool(problems)
            continue
        assert problems == [] and index_header(header) == slow
        answered += 1
    assert answered > 300 and refused > 300  # both kinds, many times
