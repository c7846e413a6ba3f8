"""WADO-RS through a real DICOMweb client (dicomweb-client over HTTP): instances, metadata, frames, renderings."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.support.api import Api
from tests.support.blobs import STORAGES
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.stow import CONTENT_TYPE, stow_body
from yilian.dicom.multipart import iter_parts, multipart_boundary, multipart_stream

pytestmark = pytest.mark.integration


# Every retrieval here runs twice: archive on local disk, and in S3 (s3proxy), through the same routes.
@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def api(storage: str, api: Api, request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue("s3_api") if storage == "s3" else api  # type: ignore[no-any-return]


@pytest.fixture
def live_url(storage: str, live_url: str, request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("s3_live_url") if storage == "s3" else live_url  # type: ignore[no-any-return]


def client(live_url: str, token: str) -> DICOMwebClient:
    return DICOMwebClient(f"{live_url}/dicomweb", headers={"Authorization": f"Bearer {token}"})


async def stored_ct(api: Api, patient_id: str, n: int = 3) -> list:
    series = ct_series(n_slices=n, rows=64, cols=64, patient_id=patient_id)
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body(series),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    return series


async def test_dicomweb_client_searches_and_retrieves_the_exact_bytes(api: Api, live_url: str, storage: str) -> None:
    patient_id = f"WADO-1-{storage}"
    series = await stored_ct(api, patient_id)
    study, se = series[0].StudyInstanceUID, series[0].SeriesInstanceUID
    dw = client(live_url, await api.token("zhao.anping"))

    found = await asyncio.to_thread(dw.search_for_studies, search_filters={"PatientID": patient_id})
    assert [s["0020000D"]["Value"][0] for s in found] == [study]
    instances = await asyncio.to_thread(dw.retrieve_series, study, se)
    assert sorted(i.SOPInstanceUID for i in instances) == sorted(s.SOPInstanceUID for s in series)
    one = await asyncio.to_thread(dw.retrieve_instance, study, se, series[1].SOPInstanceUID)
    assert one.PixelData == series[1].PixelData and one.PatientName == series[1].PatientName


async def test_a_study_as_stored_is_its_files_framed_as_multipart_stream_frames_them(
    api: Api, live_url: str, storage: str
) -> None:
    """Over real HTTP (uvicorn checks the Content-Length): the as-stored body, one buffer per part with a
    Content-Length, is byte for byte what `multipart_stream` makes of the stored files, which are the bytes sent."""
    series = await stored_ct(api, f"WADO-WHOLE-{storage}", n=6)
    token = await api.token("zhao.anping")
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.get(
            f"/dicomweb/studies/{series[0].StudyInstanceUID}",
            headers={"Authorization": f"Bearer {token}", "Accept": 'multipart/related; type="application/dicom"'},
        )
    assert r.status_code == 200, r.text
    assert r.headers["content-length"] == str(len(r.content)) and "transfer-encoding" not in r.headers
    b = multipart_boundary(r.headers["content-type"])

    async def once() -> AsyncIterator[bytes]:
        yield r.content

    parts = [part async for part in iter_parts(once(), b)]
    assert sorted(part.body for part in parts) == sorted(to_bytes(ds) for ds in series)
    specs = [(str(part.content_type), [part.body], part.content_location) for part in parts]  # streamed, as stored
    assert r.content == b"".join([chunk async for chunk in multipart_stream(specs, b)])


async def test_series_metadata_has_bulk_data_uris_on_the_request_base(api: Api, live_url: str) -> None:
    series = await stored_ct(api, "WADO-2")
    study, se = series[0].StudyInstanceUID, series[0].SeriesInstanceUID
    dw = client(live_url, await api.token("zhao.anping"))
    metadata = await asyncio.to_thread(dw.retrieve_series_metadata, study, se)
    assert len(metadata) == 3
    pixel = metadata[0]["7FE00010"]
    # dicomweb-client sends `Host` without the port (its own workaround for a requests bug), so the URI
    # names the host it was asked by: that is the point, the archive never invents a host name.
    assert pixel["BulkDataURI"].startswith("http://127.0.0.1")
    assert f"/dicomweb/studies/{study}/series/{se}/instances/" in pixel["BulkDataURI"]
    assert "InlineBinary" not in pixel and metadata[0]["00100010"]["Value"][0]["Ideographic"] == "张^三"
    # The same metadata through another host name carries that host name.
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{study}/series/{se}/metadata")
    assert "http://yilian.test/dicomweb/studies/" in r.text and live_url not in r.text


async def test_frames_carry_their_transfer_syntax_and_match_the_pixels(api: Api, live_url: str) -> None:
    series = await stored_ct(api, "WADO-3", n=1)
    ds = series[0]
    dw = client(live_url, await api.token("zhao.anping"))
    [frame] = await asyncio.to_thread(
        dw.retrieve_instance_frames, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, [1],
        media_types=(("application/octet-stream", "*"),),
    )  # fmt: skip
    assert frame == ds.PixelData
    r = await api.call(
        "zhao.anping", "GET",
        f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/frames/1",
        headers={"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"},
    )  # fmt: skip
    assert r.status_code == 200
    assert "transfer-syntax=1.2.840.10008.1.2.1" in r.content.split(b"\r\n\r\n")[0].decode()
    assert "content-encoding" not in r.headers
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{ds.StudyInstanceUID}/series/"
                       f"{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/frames/2")  # fmt: skip
    assert r.status_code == 404


async def test_compressed_instance_is_stored_as_sent_and_rendered(api: Api) -> None:
    path = get_testdata_file("JPEG2000.dcm")
    assert path is not None
    ds = dcmread(path)
    # UIDs of its own: the file and S3 runs share one database, where a second copy would be a duplicate.
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    original = to_bytes(ds)  # the compressed Pixel Data as it was: only the UIDs changed
    r = await api.call("zhao.anping", "POST", "/dicomweb/studies", content=stow_body([original]),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    base = f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    as_stored = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    r = await api.call("zhao.anping", "GET", base, headers={"Accept": as_stored})
    assert r.status_code == 200 and original in r.content  # the original bytes, not re-encoded
    jp2 = {"Accept": "multipart/related; type=image/jp2"}
    r = await api.call("zhao.anping", "GET", f"{base}/frames/1", headers=jp2)
    assert f"image/jp2; transfer-syntax={ds.file_meta.TransferSyntaxUID}".encode() in r.content[:400]
    r = await api.call("zhao.anping", "GET", f"{base}/rendered", headers={"Accept": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (ds.Columns, ds.Rows) and len(set(image.getdata())) > 10


async def test_rendered_windows_thumbnails_and_bad_parameters(api: Api) -> None:
    series = await stored_ct(api, "WADO-4", n=3)
    ds = series[1]
    base = f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    soft = await api.call("zhao.anping", "GET", f"{base}/rendered")
    lung = await api.call("zhao.anping", "GET", f"{base}/rendered", params={"window": "-600,1500,linear"})
    assert soft.headers["content-type"] == "image/jpeg" and soft.content != lung.content
    r = await api.call("zhao.anping", "GET", f"{base}/rendered", params={"window": "40,400"})
    assert r.status_code == 400 and r.json()["error"] == "malformed_request"
    r = await api.call("zhao.anping", "GET", f"{base}/rendered", params={"quality": "101"})
    assert r.status_code == 400
    r = await api.call("zhao.anping", "GET", f"{base}/rendered", headers={"Accept": "application/pdf"})
    assert r.status_code == 406
    r = await api.call("zhao.anping", "GET", f"/dicomweb/studies/{ds.StudyInstanceUID}/thumbnail")
    thumb = Image.open(io.BytesIO(r.content))
    assert r.status_code == 200 and max(thumb.size) <= 128


async def test_unknown_and_foreign_studies_read_alike(api: Api) -> None:
    series = await stored_ct(api, "WADO-5", n=1)
    study = series[0].StudyInstanceUID
    foreign = await api.call("sun.qingshan", "GET", f"/dicomweb/studies/{study}/metadata")
    unknown = await api.call("sun.qingshan", "GET", "/dicomweb/studies/1.2.3.4.5.6.7/metadata")
    assert foreign.status_code == unknown.status_code == 404
    assert json.loads(foreign.text.replace(study, "X"))["error"] == json.loads(unknown.text)["error"]
    r = await api.call(None, "GET", f"/dicomweb/studies/{study}/metadata")
    assert r.status_code == 401
    assert (await api.call("zhao.anping", "GET", f"/dicomweb/studies/{study}")).status_code == 200
    assert to_bytes(series[0])  # the generator's bytes are what was sent
