"""WADO-RS transfer syntaxes through dicomweb-client (PS3.18 §8.7.3): no parameter gives Explicit VR Little Endian,
decoded on the fly; `*` gives what is stored; an explicit syntax is made where a codec exists, else 406 naming the
syntaxes on offer. Frames and Pixel Data as bulk data follow the same rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from tests.support.api import Api
from tests.support.dicom_gen import to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body

pytestmark = pytest.mark.integration

# pydicom's bundled files, one per kind of stored syntax: lossless and lossy compressed, one no decoder here reads
# (12-bit JPEG), and the two native syntaxes the web never uses (PS3.18 §8.7.3.4).
FILES = {
    "rle": "MR_small_RLE.dcm",
    "jpeg2000_lossless": "MR_small_jp2klossless.dcm",
    "jpeg_baseline": "SC_rgb_jpeg_dcmtk.dcm",
    "jpeg_12_bit": "JPGExtended.dcm",
    "implicit": "MR_small_implicit.dcm",
    "big_endian": "MR_small_bigendian.dcm",
}
DECODABLE = ("rle", "jpeg2000_lossless", "jpeg_baseline", "implicit", "big_endian")
DOCTOR = "zhao.anping"


@pytest.fixture(scope="module")
async def stored(api: Api) -> dict[str, Dataset]:
    """The files stored by STOW-RS in one study, each with UIDs of its own (the session's database is shared)."""
    study = generate_uid()
    out: dict[str, Dataset] = {}
    for name, file in FILES.items():
        path = get_testdata_file(file)
        assert path is not None, file
        ds = dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        out[name] = ds
    r = await api.call(
        DOCTOR, "POST", "/dicomweb/studies", content=stow_body([to_bytes(ds) for ds in out.values()]),
        headers={"Content-Type": CONTENT_TYPE},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return out


@pytest.fixture
async def client(api: Api, dicomweb: Callable[[str], DICOMwebClient]) -> DICOMwebClient:
    return dicomweb(await api.token(DOCTOR))


def _ids(ds: Dataset) -> tuple[str, str, str]:
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _path(ds: Dataset) -> str:
    study, series, sop = _ids(ds)
    return f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"


async def _instance(client: DICOMwebClient, ds: Dataset, *media_types: Any) -> Dataset:
    got: Dataset = await asyncio.to_thread(client.retrieve_instance, *_ids(ds), media_types=media_types or None)
    return got


def _native(array: np.ndarray[Any, Any]) -> bytes:
    return bytes(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


@pytest.mark.parametrize("name", DECODABLE)
async def test_without_a_transfer_syntax_an_instance_is_explicit_vr_little_endian(
    name: str, stored: dict[str, Dataset], client: DICOMwebClient
) -> None:
    original = stored[name]
    got = await _instance(client, original, "application/dicom")
    assert got.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert got.SOPInstanceUID == original.SOPInstanceUID and got.PatientName == original.PatientName
    # Lossless: the same pixels. Lossy JPEG: the same decoding the stored copy gets here, not a second loss.
    assert np.array_equal(got.pixel_array, original.pixel_array)


async def test_any_transfer_syntax_is_as_stored_except_the_two_the_web_never_uses(
    stored: dict[str, Dataset], client: DICOMwebClient
) -> None:
    for name, original in stored.items():
        got = await _instance(client, original)  # dicomweb-client's own default: ("application/dicom", "*")
        if name in ("implicit", "big_endian"):
            assert got.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian, name
            assert np.array_equal(got.pixel_array, original.pixel_array), name
        else:
            assert got.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID, name
            assert got.PixelData == original.PixelData, name  # the compressed bytes as they arrived


async def test_pixels_no_decoder_reads_go_as_stored_by_default_and_406_when_decoding_is_demanded(
    api: Api, stored: dict[str, Dataset], client: DICOMwebClient
) -> None:
    twelve_bit = stored["jpeg_12_bit"]
    got = await _instance(client, twelve_bit, "application/dicom")
    assert got.file_meta.TransferSyntaxUID == twelve_bit.file_meta.TransferSyntaxUID
    r = await api.call(
        DOCTOR, "GET", _path(twelve_bit),
        headers={"Accept": f'multipart/related; type="application/dicom"; transfer-syntax={ExplicitVRLittleEndian}'},
    )  # fmt: skip
    assert r.status_code == 406, r.text
    stored_syntax = str(twelve_bit.file_meta.TransferSyntaxUID)
    assert r.json()["details"]["transfer_syntaxes_on_offer"] == {stored_syntax: [stored_syntax]}


@pytest.mark.parametrize(
    ("name", "target"),
    [("rle", JPEGLSLossless), ("jpeg2000_lossless", RLELossless), ("big_endian", JPEG2000Lossless)],
)
async def test_an_explicit_transfer_syntax_is_made_where_a_codec_exists(
    name: str, target: str, stored: dict[str, Dataset], client: DICOMwebClient
) -> None:
    original = stored[name]
    got = await _instance(client, original, ("application/dicom", target))
    assert got.file_meta.TransferSyntaxUID == target
    assert np.array_equal(got.pixel_array, original.pixel_array)


async def test_a_syntax_not_on_offer_is_406_with_the_syntaxes_on_offer(api: Api, stored: dict[str, Dataset]) -> None:
    rle = stored["rle"]
    # Lossy JPEG is never made here; a study-level request names every stored syntax's offer.
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={JPEGBaseline8Bit}'
    r = await api.call(DOCTOR, "GET", _path(rle), headers={"Accept": accept})
    assert r.status_code == 406, r.text
    body = r.json()
    assert body["error"] == "not_acceptable"
    assert body["details"]["transfer_syntaxes_on_offer"] == {
        RLELossless: [RLELossless, ExplicitVRLittleEndian, JPEGLSLossless, JPEG2000Lossless]
    }
    r = await api.call(DOCTOR, "GET", f"/dicomweb/studies/{rle.StudyInstanceUID}", headers={"Accept": accept})
    assert r.status_code == 406
    offer = r.json()["details"]["transfer_syntaxes_on_offer"]
    assert set(offer) == {str(ds.file_meta.TransferSyntaxUID) for ds in stored.values()}
    # The same request with a second, weaker choice that can be met is answered.
    r = await api.call(DOCTOR, "GET", _path(rle), headers={"Accept": f"{accept}, {accept.split(';')[0]}; q=0.5"})
    assert r.status_code == 200 and f"transfer-syntax={ExplicitVRLittleEndian}".encode() in r.content[:300]


async def test_frames_and_pixel_bulk_data_follow_the_same_rule(
    api: Api, stored: dict[str, Dataset], client: DICOMwebClient
) -> None:
    rle = stored["rle"]
    [decoded] = await asyncio.to_thread(
        client.retrieve_instance_frames, *_ids(rle), [1], media_types=("application/octet-stream",)
    )
    assert decoded == _native(rle.pixel_array)
    [as_stored] = await asyncio.to_thread(
        client.retrieve_instance_frames, *_ids(rle), [1], media_types=(("application/octet-stream", "*"),)
    )
    assert as_stored == next(generate_frames(rle.PixelData, number_of_frames=1))

    frames = f"{_path(rle)}/frames/1"
    r = await api.call(DOCTOR, "GET", frames, headers={"Accept": "multipart/related; type=image/dicom-rle"})
    assert r.status_code == 200 and as_stored in r.content
    assert f"Content-Type: image/dicom-rle; transfer-syntax={RLELossless}".encode() in r.content[:300]
    r = await api.call(DOCTOR, "GET", frames, headers={"Accept": "multipart/related; type=image/jp2"})
    assert r.status_code == 406 and r.json()["details"]["transfer_syntaxes_on_offer"] == {
        RLELossless: [RLELossless, ExplicitVRLittleEndian]
    }

    # Pixel Data's BulkDataURI answers like the frames: decoded by default, as stored with `*`.
    uri = f"{client.base_url}{_path(rle).removeprefix('/dicomweb')}/bulk/7FE00010"
    [bulk] = await asyncio.to_thread(client.retrieve_bulkdata, uri)
    assert bulk == _native(rle.pixel_array)
    r = await api.call(
        DOCTOR, "GET", f"{_path(rle)}/bulk/7FE00010",
        headers={"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"},
    )  # fmt: skip
    assert r.status_code == 200 and as_stored in r.content
