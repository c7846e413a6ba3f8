"""Real STOW-RS senders (PS3.18 §10.5): Orthanc's DICOMweb plugin (Debian orthanc + orthanc-dicomweb, configured with
DicomWeb.Servers and HttpHeaders for the hospital's key), dcm4che-style framing, and the dicomweb-client command line.
Lenient on their multipart framing, strict on what is stored: every instance arrives whole and queryable."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.api import Api
from tests.support.dicom_gen import ct_series, to_bytes, write
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

DOCTOR = "zhao.anping"
ORTHANC_PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc/plugins")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _instances_of(api: Api, study: str) -> int:
    r = await api.call(DOCTOR, "GET", "/dicomweb/studies", params={"StudyInstanceUID": study})
    return int(r.json()[0]["00201208"]["Value"][0]) if r.status_code == 200 else 0


async def _stored_whole(api: Api, series: list[Dataset]) -> None:
    """Every instance is in the archive with the bytes of its pixel data unchanged."""
    study = str(series[0].StudyInstanceUID)
    assert await _instances_of(api, study) == len(series)
    for ds in series:
        path = f"/dicomweb/studies/{study}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/frames/1"
        r = await api.call(DOCTOR, "GET", path, headers={"Accept": "multipart/related; type=application/octet-stream"})
        assert r.status_code == 200 and ds.PixelData in r.content


@pytest.fixture
async def gateway_key(api: Api) -> str:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "real senders"})
    return str(key["api_key"])


@pytest.fixture
async def orthanc(live_url: str, gateway_key: str, tmp_path: Path) -> AsyncIterator[str]:
    """Orthanc 1.10 with its DICOMweb plugin, our /dicomweb configured as its server "yilian" with the key."""
    binary = shutil.which("Orthanc")
    plugin = next((Path(d) / "libOrthancDicomWeb.so" for d in ORTHANC_PLUGIN_DIRS
                   if (Path(d) / "libOrthancDicomWeb.so").exists()), None)  # fmt: skip
    if binary is None or plugin is None:
        pytest.fail("Orthanc and its DICOMweb plugin are needed: apt-get install orthanc orthanc-dicomweb")
    port = _free_port()
    config = {
        "Name": "county-pacs",
        "StorageDirectory": str(tmp_path / "storage"),
        "IndexDirectory": str(tmp_path / "index"),
        "Plugins": [str(plugin)],
        "HttpPort": port,
        "RemoteAccessAllowed": False,  # it listens on every interface: answer this machine only
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "DicomPort": _free_port(),
        "SaveJobs": False,
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "Servers": {
                "yilian": {"Url": f"{live_url}/dicomweb/", "HttpHeaders": {"Authorization": f"Bearer {gateway_key}"}}
            },
        },
    }
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    process = await asyncio.to_thread(_spawn, [binary, str(tmp_path / "orthanc.json")], tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:

            async def up() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"Orthanc exited: {(tmp_path / 'orthanc.log').read_text()[-2000:]}")
                try:
                    return (await http.get("/system")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(up, "Orthanc answering /system", within=60, every=0.2)
        yield url
    finally:
        await asyncio.to_thread(_stop, process)


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    with (cwd / "orthanc.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


async def test_orthancs_dicomweb_plugin_stores_a_study_into_yilian(api: Api, orthanc: str) -> None:
    series = ct_series(n_slices=3, rows=32, cols=32, patient_id=f"ORTHANC-{generate_uid()[-8:]}")
    async with httpx.AsyncClient(base_url=orthanc, timeout=120) as http:
        ids = set()
        for ds in series:
            r = await http.post("/instances", content=to_bytes(ds))
            assert r.status_code == 200, r.text
            ids.add(r.json()["ParentStudy"])
        [orthanc_study] = ids
        # Orthanc sends the study as one chunked STOW-RS request, its boundary two UUIDs long (73 characters).
        r = await http.post("/dicom-web/servers/yilian/stow", json={"Resources": [orthanc_study], "Synchronous": True})
        assert r.status_code == 200, r.text
    await _stored_whole(api, series)


async def test_dcm4che_style_framing_is_stored(api: Api, gateway_key: str, live_url: str) -> None:
    """The framing dcm4che's stowrs writes: parameters without spaces, a CRLF before the first delimiter, each part's
    media type with its transfer syntax; plus extra part headers other senders add."""
    series = ct_series(n_slices=2, rows=32, cols=32, patient_id=f"DCM4CHE-{generate_uid()[-8:]}")
    boundary = "myboundary"
    body = bytearray()
    for ds in series:
        body += (
            f"\r\n--{boundary}\r\nContent-Type: application/dicom;transfer-syntax=1.2.840.10008.1.2.1\r\n"
            f"Content-ID: <{ds.SOPInstanceUID}@dcm4che>\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        ).encode()
        body += to_bytes(ds)
    body += f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f'multipart/related;type="application/dicom";boundary={boundary}',
        "Accept": "application/dicom+json",
        "Authorization": f"Bearer {gateway_key}",
    }
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as http:
        r = await http.post("/dicomweb/studies", content=bytes(body), headers=headers)
    assert r.status_code == 200, r.text
    await _stored_whole(api, series)


async def test_the_dicomweb_client_command_line_stores_files(
    api: Api, gateway_key: str, live_url: str, tmp_path: Path
) -> None:
    series = ct_series(n_slices=2, rows=32, cols=32, patient_id=f"DWCLI-{generate_uid()[-8:]}")
    files = [write(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate(series)]
    cli = Path(sys.executable).parent / "dicomweb_client"
    done = await asyncio.to_thread(
        subprocess.run,
        [str(cli), "--url", f"{live_url}/dicomweb", "--bearer-token", gateway_key, "store", "instances",
         *map(str, files)],  # fmt: skip
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    await _stored_whole(api, series)
