"""DICOM JSON (PS3.18 F.2): tags, VRs, BulkDataURIs, person-name groups and Chinese character sets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pydicom.data
import pytest
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from tests.support import dicom_gen
from yilian.dicom.instance import read_instance
from yilian.dicom.json import raw_json_value, to_dicom_json


def test_ct_slice_tags_and_vrs() -> None:
    ds = read_instance(dicom_gen.to_bytes(dicom_gen.ct_series(n_slices=2, rows=32, cols=32)[1]))
    out = to_dicom_json(ds, lambda path: f"https://pacs/bulk/{ds.SOPInstanceUID}/{path}")
    assert out["0020000D"] == {"vr": "UI", "Value": [ds.StudyInstanceUID]}
    assert out["00080060"] == {"vr": "CS", "Value": ["CT"]}
    assert out["00200013"] == {"vr": "IS", "Value": [2]}
    assert out["00280010"] == {"vr": "US", "Value": [32]}
    assert out["00281050"] == {"vr": "DS", "Value": [40, -600]}
    assert out["00281052"] == {"vr": "DS", "Value": [-1024]}
    assert out["00200032"]["vr"] == "DS" and out["00200032"]["Value"][2] == -5
    assert out["00280030"] == {"vr": "DS", "Value": [pytest.approx(350 / 32)] * 2}
    assert out["7FE00010"] == {"vr": "OW", "BulkDataURI": f"https://pacs/bulk/{ds.SOPInstanceUID}/7FE00010"}
    assert not any(key.startswith("0002") for key in out)  # File Meta Information is not in the model
    json.dumps(out)  # serialisable as is


def test_without_a_callback_pixel_data_is_inline() -> None:
    out = to_dicom_json(dicom_gen.ct_series(n_slices=1, rows=4, cols=4)[0])
    assert set(out["7FE00010"]) == {"vr", "InlineBinary"}


def test_nested_bulk_data_gets_its_path() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=4, cols=4)[0]
    item = dicom_gen.ct_series(n_slices=1, rows=4, cols=4)[0]
    ds.IconImageSequence = [item]
    paths: list[str] = []
    out = to_dicom_json(ds, lambda path: paths.append(path) or path, bulk_data_threshold=8)
    assert "00880200/0/7FE00010" in paths
    assert out["00880200"]["Value"][0]["7FE00010"] == {"vr": "OW", "BulkDataURI": "00880200/0/7FE00010"}


@pytest.mark.parametrize("charset", ["ISO_IR 192", "GB18030", "GBK", ["", "ISO 2022 IR 58"]])
def test_chinese_character_sets_decode_to_unicode(charset: str | list[str]) -> None:
    data = dicom_gen.to_bytes(dicom_gen.ct_series(n_slices=1, rows=4, cols=4, charset=charset)[0])
    out = to_dicom_json(read_instance(data))
    assert out["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Zhang^San", "Ideographic": "张^三"}]}
    assert out["00080090"]["Value"] == [{"Alphabetic": "Li^Si", "Ideographic": "李^四"}]
    assert out["00080080"] == {"vr": "LO", "Value": ["县人民医院"]}
    assert "\x1b" not in json.dumps(out, ensure_ascii=False)


def test_gb18030_bytes_become_the_right_unicode() -> None:
    ds = dicom_gen.ct_series(n_slices=1, rows=4, cols=4, charset="GB18030", patient_name="=欧阳^娜娜")[0]
    data = dicom_gen.to_bytes(ds)
    assert "欧阳^娜娜".encode("gb18030") in data
    out = to_dicom_json(read_instance(data))
    assert out["00100010"]["Value"] == [{"Ideographic": "欧阳^娜娜"}]  # empty Alphabetic group left out
    assert json.loads(json.dumps(out))["00100010"]["Value"][0]["Ideographic"] == "欧阳^娜娜"


def _raw_elements(ds: Dataset) -> Iterator[tuple[Dataset, BaseTag]]:
    for tag in list(ds.keys()):
        element = ds[tag] if ds.get_item(tag).VR == "SQ" else None
        if element is not None and element.value is not None:
            for item in element.value:
                yield from _raw_elements(item)
        else:
            yield ds, tag


def _corpus() -> Iterator[Dataset]:
    for name in sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm")):  # no download
        try:
            yield dcmread(name, force=True)
        except Exception:  # a few of pydicom's files are deliberately broken
            continue
    for charset in ("ISO_IR 192", "GB18030", "GBK", ["", "ISO 2022 IR 58"]):
        yield from (read_instance(dicom_gen.to_bytes(ds)) for ds in dicom_gen.ct_series(2, 16, 16, charset=charset))
    yield read_instance(dicom_gen.to_bytes(dicom_gen.mr_series(1, 16, 16)[0]))
    yield read_instance(dicom_gen.to_bytes(dicom_gen.dx_image(16, 16)[0]))


def test_attributes_made_from_their_bytes_are_what_pydicom_makes_of_them() -> None:
    """Every element the fast path takes, across pydicom's own test files and ours, equals pydicom's JSON."""
    handled = 0
    for ds in _corpus():
        for owner, tag in _raw_elements(ds):
            raw = owner.get_item(tag)
            if not isinstance(raw, RawDataElement):
                continue
            fast = raw_json_value(raw)
            if fast is None:
                continue
            try:
                expected = owner[tag].to_json_dict(None, 1024)
            except Exception:  # pydicom itself cannot convert it; not a value the archive would index
                continue
            assert json.dumps(fast) == json.dumps(expected), (tag, raw)
            handled += 1
    assert handled > 2000  # not vacuous: most attributes of most files take the fast path
