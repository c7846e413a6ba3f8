"""Uploading a study as files and zips: each file gets its outcome, a broken zip is one rejected file, and a zip of
a gigabyte is stored one instance at a time (the API process stays small)."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from pydicom.uid import generate_uid
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.api_process import api_env, start_api
from tests.support.dicom_gen import ct_series, to_bytes
from tests.support.wait import wait_until
from yilian.config import Settings
from yilian.db.demo import DEMO_PASSWORD
from yilian.db.schema import dicom_instances as instances
from yilian.runtime.process import free_port

pytestmark = pytest.mark.integration

UPLOAD = "/api/studies/upload"
RSS_LIMIT = 500 * 1024**2


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return packed.getvalue()


def _central_header(data: bytes, member: str) -> int:
    """Where `member`'s central directory header starts (PKWARE APPNOTE 4.3.12)."""
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length].decode() == member:
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{member} is not in the zip")


def _encrypted(data: bytes, member: str) -> bytes:
    """As another tool would have written it (zipfile writes no encrypted member): the encrypted flag set."""
    at, out = _central_header(data, member), bytearray(data)
    struct.pack_into("<H", out, at + 8, struct.unpack_from("<H", out, at + 8)[0] | 0x1)
    return bytes(out)


def _deflate64(data: bytes, member: str) -> bytes:
    """As another tool would have written it: compression method 9 (Deflate64), which zipfile cannot read."""
    at, out = _central_header(data, member), bytearray(data)
    struct.pack_into("<H", out, at + 10, 9)
    return bytes(out)


def _damaged(data: bytes, member: bytes) -> bytes:
    """`member`'s stored bytes overwritten in the middle, so its CRC no longer matches."""
    out = bytearray(data)
    at = out.find(member) + len(member) // 2
    out[at : at + 64] = bytes(64)
    return bytes(out)


async def _stored(engine: AsyncEngine, sop_instance_uids: list[str]) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(instances).where(instances.c.sop_instance_uid.in_(sop_instance_uids))
        return int((await conn.execute(stmt)).scalar_one())


async def test_broken_zips_are_rejected_file_by_file_and_the_good_files_are_stored(api: Api) -> None:
    series = ct_series(n_slices=7, rows=32, cols=32, patient_id="UPLOAD-BROKEN")
    dcm = [to_bytes(ds) for ds in series]
    damaged_zip = _damaged(_zip({"a.dcm": dcm[0], "b.dcm": dcm[1]}, zipfile.ZIP_STORED), dcm[1])
    encrypted_zip = _encrypted(_zip({"c.dcm": dcm[2], "d.dcm": dcm[3]}), "d.dcm")
    deflate64_zip = _deflate64(_zip({"e.dcm": dcm[4]}), "e.dcm")
    whole = _zip({"f.dcm": dcm[5]})
    files = [
        ("files", ("damaged.zip", damaged_zip, "application/zip")),
        ("files", ("encrypted.zip", encrypted_zip, "application/zip")),
        ("files", ("deflate64.zip", deflate64_zip, "application/zip")),
        ("files", ("truncated.zip", whole[: len(whole) // 2], "application/zip")),
        ("files", ("not-a-zip.zip", b"PK\x03\x04" + bytes(200), "application/zip")),
        ("files", ("g.dcm", dcm[6], "application/dicom")),
    ]
    body = await api.ok("zhao.anping", "POST", UPLOAD, files=files)
    outcomes = {f["file"]: (f["outcome"], f.get("reason") or "") for f in body["files"]}
    assert {name: outcome for name, (outcome, _) in outcomes.items()} == {
        "damaged.zip/a.dcm": "stored",
        "damaged.zip/b.dcm": "rejected",
        "encrypted.zip/c.dcm": "stored",
        "encrypted.zip/d.dcm": "rejected",
        "deflate64.zip/e.dcm": "rejected",
        "truncated.zip": "rejected",
        "not-a-zip.zip": "rejected",
        "g.dcm": "stored",
    }
    assert "damaged" in outcomes["damaged.zip/b.dcm"][1]
    assert "encrypted" in outcomes["encrypted.zip/d.dcm"][1]
    assert "method 9" in outcomes["deflate64.zip/e.dcm"][1]
    assert "cannot be read" in outcomes["truncated.zip"][1] and "cannot be read" in outcomes["not-a-zip.zip"][1]
    assert body["stored"] == 3 and body["failed"] == 5
    assert all(f["failure_reason"] == "C000" for f in body["files"] if f["outcome"] == "rejected")


async def test_too_many_files_are_refused_before_any_is_stored(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yilian.api.routes import studies

    monkeypatch.setattr(studies, "MAX_FILES", 3)
    series = ct_series(n_slices=4, rows=16, cols=16, patient_id="UPLOAD-MANY")
    files = [
        (
            "files",
            ("first.zip", _zip({f"{i}.dcm": to_bytes(ds) for i, ds in enumerate(series[:3])}), "application/zip"),
        ),
        ("files", ("last.dcm", to_bytes(series[3]), "application/dicom")),
    ]
    r = await api.call("zhao.anping", "POST", UPLOAD, files=files)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large", r.text
    assert await _stored(engine, [str(ds.SOPInstanceUID) for ds in series]) == 0


# --- zip bombs (issue 16, item 3) ----------------------------------------------------------------------------------
def _zeros_zip(members: int, size: int, good: dict[str, bytes]) -> bytes:
    """`members` members of `size` zero bytes each (deflated about 1000 times), and the good files beside them."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            with archive.open(f"zeros-{i}.dcm", "w", force_zip64=True) as member:
                for _ in range(size // 1024**2):
                    member.write(bytes(1024**2))
        for name, data in good.items():
            archive.writestr(name, data)
    return packed.getvalue()


async def test_a_zip_bomb_is_refused_member_by_member_and_the_good_files_are_stored(
    api: Api, engine: AsyncEngine
) -> None:
    series = ct_series(n_slices=1, rows=32, cols=32, patient_id="UPLOAD-BOMB")
    bomb = await asyncio.to_thread(_zeros_zip, 4, 256 * 1024**2, {"good.dcm": to_bytes(series[0])})
    assert len(bomb) < 2 * 1024**2  # about 1 MB that would expand to 1 GiB
    started = time.monotonic()
    body = await api.ok("zhao.anping", "POST", UPLOAD, files=[("files", ("bomb.zip", bomb, "application/zip"))])
    elapsed = time.monotonic() - started
    outcomes = {f["file"]: f for f in body["files"]}
    assert outcomes["bomb.zip/good.dcm"]["outcome"] == "stored"
    for i in range(4):
        refused = outcomes[f"bomb.zip/zeros-{i}.dcm"]
        assert refused["outcome"] == "rejected" and "expands more than" in refused["reason"], refused
        assert refused["failure_reason"] == "A700"  # out of resources
    assert await _stored(engine, [str(series[0].SOPInstanceUID)]) == 1
    assert elapsed < 10, f"took {elapsed:.1f} s: the members were inflated"


async def test_zips_expanding_past_the_upload_limit_are_refused_before_any_is_stored(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yilian.api.routes import studies

    monkeypatch.setattr(studies, "MAX_EXPANDED_BYTES", 10_000)
    series = ct_series(n_slices=2, rows=64, cols=64, patient_id="UPLOAD-EXPANDED")
    files = [
        ("files", (f"{i}.zip", _zip({f"{i}.dcm": to_bytes(ds)}), "application/zip")) for i, ds in enumerate(series)
    ]
    r = await api.call("zhao.anping", "POST", UPLOAD, files=files)
    assert r.status_code == 413 and r.json()["details"] == {"max_expanded_bytes": 10_000}, r.text
    assert await _stored(engine, [str(ds.SOPInstanceUID) for ds in series]) == 0


# --- a zip of a gigabyte -----------------------------------------------------------------------------------------
# 256 CT slices of 1448 x 1448 x 16 bit (4 MiB each) from one template with new UIDs, stored uncompressed so the
# zip is quick to write.
SIDE = 1448


def _gigabyte_zip(path: Path) -> tuple[str, int]:
    """A zip of >= 1 GiB of distinct CT instances of one study; its Study Instance UID and instance count."""
    [template] = ct_series(n_slices=1, rows=SIDE, cols=SIDE, patient_id="UPLOAD-GIGABYTE")
    size = len(to_bytes(template))
    count = -(-(1024**3) // size) + 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            uid = generate_uid()
            template.SOPInstanceUID = uid
            template.file_meta.MediaStorageSOPInstanceUID = uid
            template.InstanceNumber = i + 1
            archive.writestr(f"CT/{i:04d}.dcm", to_bytes(template))
    assert path.stat().st_size >= 1024**3
    return str(template.StudyInstanceUID), count


def _rss(process: psutil.Process) -> int:
    """The API process's resident memory, with any children it started."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        total += child.memory_info().rss
    return total


def _upload(url: str, token: str, path: Path) -> httpx.Response:
    """Streams the file from disk (httpx reads a file field in chunks), so the test's memory stays small too."""
    with path.open("rb") as f, httpx.Client(base_url=url, timeout=240) as client:
        return client.post(
            UPLOAD,
            files=[("files", (path.name, f, "application/zip"))],
            headers={"Authorization": f"Bearer {token}"},
        )


async def test_a_gigabyte_zip_is_stored_with_the_api_under_500_mb(settings: Settings, tmp_path: Path) -> None:
    """The API runs as its own process (`yilian api`) so its resident memory can be sampled during the upload."""
    started = time.monotonic()
    zip_path = tmp_path / "gigabyte.zip"
    study, count = await asyncio.to_thread(_gigabyte_zip, zip_path)
    generated = time.monotonic() - started

    port = free_port()
    spool, storage = tmp_path / "spool", tmp_path / "dicom"
    spool.mkdir()
    log = tmp_path / "api.log"
    env = api_env(settings, tmp_path, port, TMPDIR=str(spool))  # TMPDIR: where the server spools the upload
    assert env["YILIAN_STORAGE_URL"] == f"file://{storage}"
    url = f"http://127.0.0.1:{port}"
    proc = start_api(env, log)
    try:
        api_process = psutil.Process(proc.pid)

        async def health() -> int | str:
            if proc.poll() is not None:
                raise AssertionError(f"the API exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                async with httpx.AsyncClient(base_url=url) as client:
                    return (await client.get("/api/health")).status_code
            except httpx.TransportError as exc:
                return repr(exc)

        await wait_until(health, "the API process to answer /api/health", ok=lambda s: s == 200, within=60)
        async with httpx.AsyncClient(base_url=url) as client:
            login = await client.post("/api/auth/login", json={"username": "zhao.anping", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        idle = _rss(api_process)

        samples: list[int] = []
        upload = asyncio.create_task(asyncio.to_thread(_upload, url, login.json()["access_token"], zip_path))
        while not upload.done():
            samples.append(_rss(api_process))
            await asyncio.sleep(0.05)
        response = upload.result()
        uploaded = time.monotonic() - started - generated
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        zip_path.unlink(missing_ok=True)
        shutil.rmtree(storage, ignore_errors=True)

    assert response.status_code == 200, response.text[:2000]
    body: dict[str, Any] = response.json()
    assert body["stored"] == count and body["failed"] == 0
    assert [s["study_instance_uid"] for s in body["studies"]] == [study]
    peak = max(samples)
    print(
        f"\n{count} instances, {zip_path.name} built in {generated:.0f} s, uploaded and stored in {uploaded:.0f} s; "
        f"API RSS idle {idle / 1024**2:.0f} MB, peak {peak / 1024**2:.0f} MB over {len(samples)} samples"
    )
    assert len(samples) > 20, "the upload ended before memory could be watched"
    assert peak < RSS_LIMIT, f"the API reached {peak / 1024**2:.0f} MB (idle {idle / 1024**2:.0f} MB)"
