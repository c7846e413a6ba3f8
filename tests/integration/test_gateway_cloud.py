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
    api: Api, live_url: str, gateway_for: Callable[..., Gateway], ct_files: list[Path]  # noqa: F811
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
