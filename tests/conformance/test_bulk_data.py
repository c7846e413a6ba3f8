"""Bulk data (PS3.18 §10.4.1.1.2, F.2.6): every bulk element in metadata carries a BulkDataURI, and dicomweb-client
resolves every one of them to the element's value (pixel data native by default, as in the frames rule)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body

pytestmark = pytest.mark.integration

DOCTOR = "zhao.anping"
BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
# By reference whatever their size: Pixel Data, Float and Double Float Pixel Data, Waveform Data, Encapsulated Document.
ALWAYS = {"7FE00010", "7FE00008", "7FE00009", "54001010", "00420011"}
INLINE_LIMIT = 768  # bytes: 1024 characters of base64, the archive's threshold for other binary values


def _with_new_uids(ds: Dataset, study: str) -> Dataset:
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return ds


def _small_ct(study: str) -> Dataset:
    """A 4x4 CT (32 bytes of pixels, small enough to be inlined if size decided), a private OB and UN of 2-3 KB, and
    an icon image whose pixel data is nested in a sequence."""
    [ds] = ct_series(n_slices=1, rows=4, cols=4, study_uid=study)
    block = ds.private_block(0x0011, "YILIAN CONFORMANCE", create=True)
    block.add_new(0x01, "OB", bytes(range(256)) * 12)
    block.add_new(0x02, "UN", b"\x5a\xa5" * 1024)
    [icon] = ct_series(n_slices=1, rows=2, cols=2)
    icon_item = Dataset()
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored",
                    "HighBit", "PixelRepresentation", "PixelData"):  # fmt: skip
        setattr(icon_item, keyword, icon[keyword].value)
    ds.IconImageSequence = [icon_item]
    return ds


def _document(study: str, sop_class: str, **values: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.Modality = "Bulk^Data=块^数据", "BULK-1", "20261207", "OT"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return _with_new_uids(ds, study)


@pytest.fixture(scope="module")
async def study(api: Api) -> dict[str, Dataset]:
    uid = generate_uid()
    instances = {"ct": _small_ct(uid)}
    for name, file in (("rle", "MR_small_RLE.dcm"), ("jpeg2000", "MR_small_jp2klossless.dcm"),
                       ("ecg", "waveform_ecg.dcm")):  # fmt: skip
        path = get_testdata_file(file)
        assert path is not None, file
        instances[name] = _with_new_uids(dcmread(path), uid)
    pdf = b"%PDF-1.4\n% Yilian bulk data conformance\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    instances["pdf"] = _document(
        uid, "1.2.840.10008.5.1.4.1.1.104.1", MIMETypeOfEncapsulatedDocument="application/pdf",
        EncapsulatedDocument=pdf + b"\0" * (len(pdf) % 2),
    )  # fmt: skip
    floats = np.linspace(-1.5, 2.5, 16, dtype="<f4")
    instances["float"] = _document(
        uid, "1.2.840.10008.5.1.4.1.1.30", Rows=4, Columns=4, SamplesPerPixel=1, BitsAllocated=32,
        PhotometricInterpretation="MONOCHROME2", FloatPixelData=floats.tobytes(),
    )  # fmt: skip
    body = stow_body([to_bytes(ds) for ds in instances.values()])
    r = await api.call(DOCTOR, "POST", "/dicomweb/studies", content=body, headers={"Content-Type": CONTENT_TYPE})
    assert r.status_code == 200, r.text
    return instances


def _binary_elements(item: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path as in a BulkDataURI, element) for every binary element of a DICOM JSON object, nested ones included."""
    for tag, element in item.items():
        if element["vr"] == "SQ":
            for index, child in enumerate(element.get("Value", [])):
                yield from _binary_elements(child, f"{prefix}{tag}/{index}/")
        elif element["vr"] in BINARY_VRS:
            yield prefix + tag, element


def _value_at(ds: Dataset, path: str) -> bytes:
    pieces = path.split("/")
    for i in range(0, len(pieces) - 1, 2):
        ds = ds[int(pieces[i], 16)].value[int(pieces[i + 1])]
    value: bytes = ds[int(pieces[-1], 16)].value
    return value


def _expected(ds: Dataset, path: str) -> bytes:
    """What the URI must give with dicomweb-client's default Accept (octet-stream, no transfer syntax): a value as
    stored, and top-level Pixel Data as native little endian frames, decoded when stored compressed."""
    if path == "7FE00010":
        return bytes(np.ascontiguousarray(ds.pixel_array).astype(ds.pixel_array.dtype.newbyteorder("<")).tobytes())
    return _value_at(ds, path)


async def test_every_bulk_element_has_a_bulk_data_uri_and_every_uri_resolves(
    api: Api, study: dict[str, Dataset], dicomweb: Callable[[str], DICOMwebClient]
) -> None:
    client = dicomweb(await api.token(DOCTOR))
    study_uid = next(iter(study.values())).StudyInstanceUID
    # Through our own HTTP client: dicomweb-client sends `Host` without the port, and the URIs name the host asked.
    metadata = await api.ok(DOCTOR, "GET", f"/dicomweb/studies/{study_uid}/metadata")
    by_sop = {str(ds.SOPInstanceUID): (name, ds) for name, ds in study.items()}
    resolved: dict[str, set[str]] = {name: set() for name in study}
    for instance in metadata:
        name, original = by_sop[instance["00080018"]["Value"][0]]
        for path, element in _binary_elements(instance):
            tag = path.rsplit("/", 1)[-1]
            size = len(_value_at(original, path))
            if tag not in ALWAYS and size <= INLINE_LIMIT:
                continue  # a small value may be inline (InlineBinary), which is a value, not a reference
            assert "InlineBinary" not in element, (name, path)
            uri = element.get("BulkDataURI")
            assert uri and uri.endswith(f"/instances/{original.SOPInstanceUID}/bulk/{path}"), (name, path, element)
            parts = await asyncio.to_thread(lambda u=uri: list(client.iter_bulkdata(u)))
            assert b"".join(parts) == _expected(original, path), (name, path)
            resolved[name].add(path)

    assert resolved["ct"] == {"7FE00010", "00111001", "00111002", "00880200/0/7FE00010"}
    assert resolved["rle"] == resolved["jpeg2000"] == {"7FE00010"}
    assert resolved["pdf"] == {"00420011"} and resolved["float"] == {"7FE00008"}
    assert "54000100/0/54001010" in resolved["ecg"]


async def test_compressed_pixel_data_comes_as_stored_when_its_media_type_is_asked(
    api: Api, study: dict[str, Dataset], dicomweb: Callable[[str], DICOMwebClient]
) -> None:
    client = dicomweb(await api.token(DOCTOR))
    rle = study["rle"]
    [instance] = await api.ok(DOCTOR, "GET", f"/dicomweb/studies/{rle.StudyInstanceUID}/series/"
                              f"{rle.SeriesInstanceUID}/instances/{rle.SOPInstanceUID}/metadata")  # fmt: skip
    uri = instance["7FE00010"]["BulkDataURI"]
    parts = await asyncio.to_thread(
        lambda: list(client.iter_bulkdata(uri, media_types=(("image/x-dicom-rle", "1.2.840.10008.1.2.5"),)))
    )
    r = await api.call(DOCTOR, "GET", uri, headers={"Accept": "multipart/related; type=image/dicom-rle"})
    assert r.status_code == 200 and parts and parts[0] in r.content
    assert parts[0][:4] != b"\0\0\0\0" and len(parts[0]) < len(rle.PixelData)  # an RLE segment, not native pixels
