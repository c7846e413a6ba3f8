"""Chinese character sets (PS3.5 §6.1, Annex J; PS3.18 §8.3.4.1, F.2.2): patient names in GB18030, GBK, ISO 2022
IR 58 and ISO_IR 192 are stored as sent, found by Chinese text in QIDO-RS (UTF-8 in the URL, with wild cards) and
returned as Unicode in DICOM JSON's Ideographic group. Sent by dicomweb-client's STOW-RS, and by DCMTK storescu through
the real gateway (C-STORE, then its own STOW-RS)."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.integration.test_gateway import Gateway, gateway_for  # noqa: F401 - fixture
from tests.support.api import Api
from tests.support.dicom_gen import dx_image, write
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

DOCTOR = "zhao.anping"
CHARSETS: dict[str, str | list[str]] = {
    "GB18030": "GB18030",
    "GBK": "GBK",
    "ISO 2022 IR 58": ["", "ISO 2022 IR 58"],  # ASCII, then GB2312 by code extension (PS3.5 J.3)
    "ISO_IR 192": "ISO_IR 192",
}
# Given names from GB2312 (so every character set here can carry them), a fresh pick per session: no other stored
# name can match the wild card searches below.
_POOL = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
_FIRSTS = random.sample(_POOL, 2 * len(CHARSETS))


def _names(offset: int) -> dict[str, tuple[str, str]]:
    """Per character set: (Alphabetic, Ideographic) of a patient 欧阳 with a given name of its own."""
    return {
        charset: (f"OuYang^Conf{offset + i}", f"欧阳^{_FIRSTS[offset + i]}{random.choice(_POOL)}")
        for i, charset in enumerate(CHARSETS)
    }


def _instance(charset: str, alphabetic: str, ideographic: str) -> Dataset:
    [ds] = dx_image(
        rows=16, cols=16, patient_id=f"CN-{generate_uid()[-10:]}", patient_name=f"{alphabetic}={ideographic}",
        charset=CHARSETS[charset], study_uid=generate_uid(),
    )  # fmt: skip
    return ds


def _raw_name(data: bytes) -> bytes:
    """The Patient Name's bytes as stored in the file, before any decoding."""
    value: bytes = dcmread(io.BytesIO(data), stop_before_pixels=True, force=True).get_item(0x00100010).value
    return value


async def _searched(client: DICOMwebClient, pattern: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await asyncio.to_thread(
        client.search_for_studies, search_filters={"PatientName": pattern}
    )
    return found


async def _check_stored_and_found(
    api: Api, client: DICOMwebClient, names: dict[str, tuple[str, str]], sent: dict[str, bytes], studies: dict[str, str]
) -> None:
    for charset, (alphabetic, ideographic) in names.items():
        given = ideographic.split("^")[1]
        for pattern in (f"欧阳^{given[0]}*", f"*{given}", f"欧阳^{given[0]}?", ideographic):
            found = await _searched(client, pattern)
            assert [s["0020000D"]["Value"][0] for s in found] == [studies[charset]], (charset, pattern)
            assert found[0]["00100010"]["Value"] == [{"Alphabetic": alphabetic, "Ideographic": ideographic}], charset
        # Stored as sent: the Patient Name's bytes in the retrieved file are the sender's, in its character set.
        r = await api.call(
            DOCTOR, "GET", f"/dicomweb/studies/{studies[charset]}",
            headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        start = r.content.index(b"\r\n\r\n") + 4
        body = r.content[start : r.content.rindex(b"\r\n--")]
        assert _raw_name(body) == _raw_name(sent[charset]), charset
        back = dcmread(io.BytesIO(body), stop_before_pixels=True)
        expected_charset = CHARSETS[charset]
        assert back.SpecificCharacterSet == expected_charset, charset


async def test_dicomweb_client_stores_and_finds_chinese_names_in_four_character_sets(
    api: Api, dicomweb: Callable[[str], DICOMwebClient]
) -> None:
    client = dicomweb(await api.token(DOCTOR))
    names = _names(0)
    instances = {charset: _instance(charset, *name) for charset, name in names.items()}
    response = await asyncio.to_thread(client.store_instances, list(instances.values()))
    assert len(response.ReferencedSOPSequence) == len(CHARSETS) and "FailedSOPSequence" not in response
    buffers = {}
    for charset, ds in instances.items():
        out = io.BytesIO()
        ds.save_as(out)  # as dicomweb-client wrote it
        buffers[charset] = out.getvalue()
    studies = {charset: str(ds.StudyInstanceUID) for charset, ds in instances.items()}
    await _check_stored_and_found(api, client, names, buffers, studies)


async def test_c_store_through_the_gateway_keeps_chinese_names_intact(
    api: Api,
    live_url: str,
    dicomweb: Callable[[str], DICOMwebClient],
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
) -> None:
    client = dicomweb(await api.token(DOCTOR))
    names = _names(len(CHARSETS))
    instances = {charset: _instance(charset, *name) for charset, name in names.items()}
    files = {charset: write(ds, tmp_path / f"{i}.dcm") for i, (charset, ds) in enumerate(instances.items())}
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "charset gateway"})
    gateway = gateway_for(live_url, api_key=key["api_key"])
    await asyncio.to_thread(gateway.start)
    try:
        sent = await asyncio.to_thread(gateway.storescu, list(files.values()))
        assert sent.returncode == 0, sent.stderr
        studies = {charset: str(ds.StudyInstanceUID) for charset, ds in instances.items()}
        await wait_until(
            lambda: _searched(client, "欧阳^*"),
            "all four gateway studies searchable by 欧阳^*",
            ok=lambda found: set(studies.values()) <= {s["0020000D"]["Value"][0] for s in found},
            within=60,
        )
        await _check_stored_and_found(api, client, names, {c: p.read_bytes() for c, p in files.items()}, studies)
    finally:
        await asyncio.to_thread(gateway.kill)
