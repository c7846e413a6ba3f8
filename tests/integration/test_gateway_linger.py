"""The uploader's linger ends with the modality's association: DCMTK storescu or a pynetdicom SCU -> `yilian gateway
run` (both SCPs) -> STOW-RS -> the archive -> QIDO-RS, with a linger far longer than the waits allowed here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from tests.integration.test_gateway import Gateway, gateway_for  # noqa: F401 - fixtures
from tests.support.api import Api
from tests.support.dicom_gen import ct_series, write
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

LINGER_SECONDS = 10.0
# Well inside the linger: an upload that waited for it could not be in the cloud this soon.
SOON_SECONDS = 4.0
SCPS = ["lean", "pynetdicom"]


async def _instances_in_cloud(api: Api, study: str) -> int:
    r = await api.call("zhao.anping", "GET", "/dicomweb/studies", params={"StudyInstanceUID": study})
    return int(r.json()[0]["00201208"]["Value"][0]) if r.status_code == 200 else 0


async def _lingering_gateway(
    api: Api, live_url: str, make: Callable[..., Gateway], scp: str, **settings: str
) -> Gateway:
    key = await api.ok("admin", "POST", "/api/hospitals/h-anping/api-keys", 201, json={"label": f"linger {scp}"})
    gateway = make(
        live_url, api_key=key["api_key"], batch_size=20, BATCH_LINGER_SECONDS=str(LINGER_SECONDS), SCP=scp, **settings
    )
    await asyncio.to_thread(gateway.start)
    return gateway


def _series(tmp_path: Path, n: int) -> tuple[str, list[Path]]:
    study = generate_uid()
    files = [
        write(ds, tmp_path / f"{i}.dcm")
        for i, ds in enumerate(
            ct_series(n_slices=n, rows=32, cols=32, patient_id=f"GW-LINGER-{study[-8:]}", study_uid=study)
        )
    ]
    return study, files


@pytest.mark.parametrize("scp", SCPS)
async def test_a_study_is_uploaded_as_soon_as_storescu_releases_its_association_not_after_the_linger(
    api: Api,
    live_url: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
    scp: str,
) -> None:
    study, files = _series(tmp_path, 6)  # fewer than a batch: the old uploader waited the linger out for more
    gateway = await _lingering_gateway(api, live_url, gateway_for, scp)
    try:
        sent = await asyncio.to_thread(gateway.storescu, files)
        assert sent.returncode == 0, sent.stderr
        await wait_until(
            lambda: _instances_in_cloud(api, study),
            f"all 6 instances in the cloud within {SOON_SECONDS} s of the release (linger {LINGER_SECONDS} s)",
            ok=lambda n: n == 6,
            within=SOON_SECONDS,
        )
    finally:
        await asyncio.to_thread(gateway.kill)


@pytest.mark.parametrize("end", ["release", "abort", "idle timeout"])
@pytest.mark.parametrize("scp", SCPS)
async def test_a_partial_batch_lingers_while_the_association_is_open_and_goes_once_it_ends(
    api: Api,
    live_url: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    tmp_path: Path,
    scp: str,
    end: str,
) -> None:
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    idle_seconds = 3.0
    study, files = _series(tmp_path, 1)
    gateway = await _lingering_gateway(api, live_url, gateway_for, scp, IDLE_SECONDS=str(idle_seconds))
    ae = AE(ae_title="CT1")
    ae.add_requested_context(CTImageStorage)
    try:
        assoc = await asyncio.to_thread(ae.associate, "127.0.0.1", gateway.port, ae_title="YILIAN_GW")
        assert assoc.is_established
        status = await asyncio.to_thread(assoc.send_c_store, files[0])
        assert status.Status == 0x0000, status
        # Open association, one instance of a batch of 20: the uploader waits for the rest of the series.
        await asyncio.sleep(2.0)
        assert await _instances_in_cloud(api, study) == 0, "a partial batch went while the association was open"
        ended = time.monotonic()
        if end == "release":
            await asyncio.to_thread(assoc.release)
        elif end == "abort":
            await asyncio.to_thread(assoc.abort)
        # "idle timeout": the SCU says nothing more; the gateway aborts it after IDLE_SECONDS of silence.
        await wait_until(
            lambda: _instances_in_cloud(api, study),
            f"the instance in the cloud within {SOON_SECONDS} s after the association's {end}",
            ok=lambda n: n == 1,
            within=SOON_SECONDS + (idle_seconds if end == "idle timeout" else 0.0),
        )
        assert time.monotonic() - ended < LINGER_SECONDS - 2.0 - 1.0, "it waited the linger out"
    finally:
        ae.shutdown()
        await asyncio.to_thread(gateway.kill)
