"""dicom.json.dicom_json_text (orjson where safe) against json.dumps: the same text for every value, or its error."""

from __future__ import annotations

import io
import json
import random
import struct
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.valuerep import IS, DSfloat

from tests.support import dicom_gen
from yilian.dicom.json import dicom_json_text, spaced_json_text, to_dicom_json
from yilian.imaging.index import SERIES_TAGS, STUDY_TAGS, bulk_data_uri_of


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _floats() -> list[float]:
    rng = random.Random(10)
    out = [0.0, -0.0, 1.0, 0.1, 1e-4, 9.99e-5, 1e-5, 1e15, 1e16, 1.5e16, 2.0**53 + 2, 5e-324, 1.7976931348623157e308]
    for exponent in range(-324, 309):
        out += [float(f"{rng.randint(1, 10 ** rng.randint(1, 17))}e{exponent}") for _ in range(40)]
    out += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(50_000)]  # mostly extreme magnitudes
    out += [round(rng.uniform(-1000, 1000), rng.randint(0, 12)) for _ in range(30_000)]  # as DS values mostly are
    return [v for v in out if v == v and abs(v) != float("inf")]


def test_every_float_magnitude_gives_the_same_text() -> None:
    floats = _floats()
    for value in floats:
        assert dicom_json_text([value, -value]) == _dumps([value, -value])
    # and the check does not send everything to json.dumps: ordinary numbers are orjson's
    assert sum(1 for v in floats if 1e-4 <= abs(v) < 1e16) > 20_000


def test_every_code_point_gives_the_same_text() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert dicom_json_text({"00100010": {"vr": "PN", "Value": [{"Alphabetic": text}]}}) == _dumps(
        {"00100010": {"vr": "PN", "Value": [{"Alphabetic": text}]}}
    )
    for c in range(0x80):  # the escapes one by one
        assert dicom_json_text([chr(c), f'a{chr(c)}"\\']) == _dumps([chr(c), f'a{chr(c)}"\\'])


@pytest.mark.parametrize(
    "value",
    [
        [float("nan"), float("inf"), float("-inf")],  # json.dumps writes NaN/Infinity, orjson null
        [None, True, False, 2**63 - 1, -(2**63), 2**64 - 1],
        [2**64, -(2**63) - 1, 10**40],  # past 64 bits: orjson refuses
        {1: "a", "b": 2},  # a key not a string: json.dumps makes it one
        [DSfloat("1.50"), IS("7"), (1, 2)],  # pydicom's value types and a tuple
        {"x": "null", "y": "1e5", "z": "0.00001"},  # text that only looks like a difference
    ],
)
def test_values_orjson_writes_otherwise_or_refuses(value: Any) -> None:
    assert dicom_json_text(value) == _dumps(value)


def test_what_json_dumps_refuses_is_refused_alike() -> None:
    for value in (["\ud800"], {"a": object()}):
        with pytest.raises((TypeError, ValueError, UnicodeEncodeError)) as expected:
            _dumps(value).encode()
        with pytest.raises(expected.type):
            dicom_json_text(value).encode()


def test_the_dicom_json_of_the_test_files_is_the_same_text() -> None:
    compared = 0
    datasets = []
    for path in dicom_gen.pydicom_test_files():
        try:
            datasets.append(dcmread(io.BytesIO(path.read_bytes()), force=True))
        except Exception:  # a few of pydicom's files are deliberately broken
            continue
    for charset in ("ISO_IR 192", "GB18030", "GBK", ["", "ISO 2022 IR 58"]):
        datasets += dicom_gen.ct_series(2, 16, 16, charset=charset)
    datasets += [dicom_gen.mr_series(1, 16, 16)[0], dicom_gen.dx_image(16, 16)[0]]
    for ds in datasets:
        try:
            full = to_dicom_json(ds, bulk_data_uri=bulk_data_uri_of("1.2", "1.3", "1.4"))
        except Exception:  # pydicom cannot convert some of its odd files: nothing to store, nothing to compare
            continue
        try:
            expected = _dumps(full)
        except TypeError:  # a value json.dumps cannot write (bytes in a few odd files): the same error
            with pytest.raises(TypeError):
                dicom_json_text(full)
            continue
        assert dicom_json_text(full) == expected
        compared += 1
    assert compared > 100


def test_orjson_makes_the_text_where_the_project_is_installed() -> None:
    # The import is guarded only for virtualenvs made before orjson was a dependency; an install from pyproject has it.
    from yilian.dicom import json as dicom_json

    assert dicom_json.orjson is not None


# -- spaced_json_text: json.dumps' default separators --------------------------------------------------------------


def _spaced(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    """JSON-able values whose strings are made of what can confuse the separators: commas, colons, quotes,
    backslashes, brackets, and Chinese and control characters."""
    kind = rng.randrange(7 if depth < 3 else 3)
    if kind == 0:
        return "".join(rng.choice(',:"\\{}[] a1e.-李\n\x00\u2028') for _ in range(rng.randrange(6)))
    if kind == 1:
        return rng.choice([0, -1, 2**64, 1.5, 1e-7, 1e20, float("nan"), True, False, None, "null"])
    if kind == 2:
        return rng.uniform(-1e6, 1e6) if rng.random() < 0.5 else rng.randint(-(10**6), 10**6)
    if kind in (3, 4):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_random_value(rng, 3)): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_spaced_text_of_random_values_is_json_dumps_text() -> None:
    rng = random.Random(8)
    for _ in range(100_000):
        value = _random_value(rng)
        assert spaced_json_text(value) == _spaced(value), value
    for value in (["a", "b,c"], {"a:": 1}, {"k": 'x\\"', "l": ","}, ['\\",'], "a,b", {"": ""}, [], {}):
        assert spaced_json_text(value) == _spaced(value)


def test_spaced_text_of_the_rows_attributes_is_json_dumps_text() -> None:
    """The study and series attributes (and whole data sets) of generated and pydicom's files: Chinese names in
    three character sets, sequences, private tags, bulk data; most of them the compact text with spaces added."""
    datasets = [dcmread(io.BytesIO(path.read_bytes()), force=True) for path in dicom_gen.pydicom_test_files()[:80]]
    for charset in ("ISO_IR 192", "GB18030", "GBK"):
        datasets += dicom_gen.ct_series(2, 16, 16, charset=charset, patient_name="欧阳^娜娜=歐陽^娜娜")
    with_sequences = dicom_gen.with_sequences()
    with_sequences.add_new(0x00090010, "LO", "YILIAN, TEST: 1")  # a private block; commas and colons in text
    with_sequences.add_new(0x00091010, "OB", bytes(range(256)) * 8)  # bulk data
    with_sequences.StudyDescription = "CT: chest, abdomen"
    datasets += [with_sequences, dicom_gen.mr_series(1, 16, 16)[0], dicom_gen.dx_image(16, 16)[0]]
    compared = by_orjson = 0
    for ds in datasets:
        try:
            full = to_dicom_json(ds, bulk_data_uri=bulk_data_uri_of("1.2", "1.3", "1.4"))
            _spaced(full)
        except Exception:  # pydicom cannot convert some of its odd files, or json.dumps write them: not stored
            continue
        picks = [{tag: full[tag] for tag in tags if tag in full} for tags in (STUDY_TAGS, SERIES_TAGS)]
        for value in (full, *picks):
            assert spaced_json_text(value) == _spaced(value)
            compared += 1
            by_orjson += spaced_json_text(value) == dicom_json_text(value).replace(",", ", ").replace(":", ": ")
    assert compared > 150 and by_orjson > compared // 2
