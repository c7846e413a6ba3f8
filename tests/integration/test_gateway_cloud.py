"""The whole path for real: DCMTK storescu -> `yilian gateway run` -> STOW-RS -> the archive -> QIDO-RS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_gateway import Gateway, ct_files, gateway_for  # noqa: F401 - fixtures
from tests.support.api import Api
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


async def _instances_in_cloud(api: Api, study: str) -> int:
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"StudyInstanceUID": study})
    return int(r.json()[0]["00201208"]["Value"][0]) if r.status_code == 200 else 0


async def test_a_modality_sends_through_the_gateway_and_the_expert_side_can_query_it(
    api: Api,
    live_url: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    ct_files: list[Path],  # noqa: F811
) -> None:
    from pydicom import dcmread

    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "CT room gateway"})
    gateway = gateway_for(live_url, api_key=key["api_key"])
    await asyncio.to_thread(gateway.start)
    try:
        sent = await asyncio.to_thread(gateway.storescu, ct_files)
        assert sent.returncode == 0, sent.stderr
        study = str(dcmread(ct_files[0], stop_before_pixels=True).StudyInstanceUID)
        await wait_until(
            lambda: _instances_in_cloud(api, study),
            f"all {len(ct_files)} instances in the cloud (QIDO-RS count)",
            ok=lambda n: n == len(ct_files),
            within=20,
        )
        status = await asyncio.to_thread(gateway.status)
        assert status["sent"] == len(ct_files) and status["failed"] == 0, status

        # The modality sends the study again (a technologist's retry): nothing is stored twice.
        again = await asyncio.to_thread(gateway.storescu, ct_files)
        assert again.returncode == 0
        await asyncio.sleep(1)
        assert await _instances_in_cloud(api, study) == len(ct_files)
    finally:
        await asyncio.to_thread(gateway.kill)


async def test_a_poison_instance_is_set_aside_and_the_hospital_queue_keeps_moving(
    api: Api,
    live_url: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 16 item 1: an instance the cloud refuses for good (a 100-character Accession Number) is kept in the
    spool and shown by `yilian gateway status`; the instances around it, and a later study, still arrive."""
    from pydicom.uid import generate_uid

    from tests.support.dicom_gen import ct_series, dx_image, write

    study = generate_uid()
    good = ct_series(n_slices=2, rows=32, cols=32, patient_id="GW-POISON", study_uid=study)
    [bad] = dx_image(rows=16, cols=16, patient_id="GW-POISON-BAD", accession_number="A" * 100)
    later = generate_uid()
    [after] = dx_image(rows=16, cols=16, patient_id="GW-POISON-LATER", study_uid=later)
    files = [write(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate([good[0], bad, good[1]])]

    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": "DR room gateway"})
    gateway = gateway_for(live_url, api_key=key["api_key"])
    await asyncio.to_thread(gateway.start)
    try:
        sent = await asyncio.to_thread(gateway.storescu, files)
        assert sent.returncode == 0, sent.stderr
        await wait_until(
            lambda: _instances_in_cloud(api, study), "both good instances in the cloud", ok=lambda n: n == 2
        )
        status = await wait_until(
            lambda: asyncio.to_thread(gateway.status), "the bad instance refused", ok=lambda s: s["failed"] == 1
        )
        [failure] = status["recent_failures"]
        assert failure["sop_instance_uid"] == str(bad.SOPInstanceUID)
        assert "C000" in failure["reason"], failure
        assert str(bad.SOPInstanceUID) in await asyncio.to_thread(gateway.status_text)
        assert str(bad.SOPInstanceUID) in _spooled_uids(gateway.spool), "the refused instance is kept on disk"

        # The queue is not jammed: the next study from this hospital arrives.
        sent = await asyncio.to_thread(gateway.storescu, [write(after, tmp_path / "after.dcm")])
        assert sent.returncode == 0, sent.stderr
        await wait_until(lambda: _instances_in_cloud(api, later), "the later study in the cloud", ok=lambda n: n == 1)
        assert await _instances_in_cloud(api, study) == 2
    finally:
        await asyncio.to_thread(gateway.kill)


def _spooled_uids(spool: Path) -> set[str]:
    from pydicom import dcmread

    uids: set[str] = set()
    for path in (spool / "instances").rglob("*"):
        if path.is_file() and path.stat().st_size:  # the empty ones are blanks made ahead (spool_blanks.py)
            uids.add(str(dcmread(path, stop_before_pixels=True, force=True).get("SOPInstanceUID", "")))
    return uids
