"""Issue 16 item 8: idle sockets and strangers cannot lock modalities out of a real `yilian gateway run`.

Before: 10-12 idle TCP connections took pynetdicom's 10 slots for 30 s and every modality was rejected. Now only
allowed modalities' associations count against the limit, idle sockets are closed after a short request timeout,
an idle association is aborted, and over the limit DCMTK sees A-ASSOCIATE-RJ "local limit exceeded".
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from tests.integration.test_gateway import (  # noqa: F401 (fixtures)
    Gateway,
    StowReceiver,
    ct_files,
    gateway_for,
    stow_receiver,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("stow_receiver")


@pytest.fixture
def modality() -> Iterator[Callable[[Gateway, str], Association]]:
    """Open associations as a modality (pynetdicom SCU) and hold them; released at the end."""
    held: list[Association] = []

    def open_one(gateway: Gateway, calling_ae: str = "CT1") -> Association:
        ae = AE(ae_title=calling_ae)
        ae.add_requested_context(Verification)
        ae.network_timeout = 30  # our side never gives up first: the gateway must be the one that closes
        assoc = ae.associate("127.0.0.1", gateway.port, ae_title="YILIAN_GW")
        held.append(assoc)
        return assoc

    yield open_one
    for assoc in held:
        if assoc.is_established:
            assoc.release()


def _start(gateway: Gateway, **limits: str) -> Gateway:
    gateway.env.update({f"YILIAN_GATEWAY_{key.upper()}": value for key, value in limits.items()})
    gateway.start()
    return gateway


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_idle_sockets_do_not_lock_modalities_out_and_are_closed(
    gateway_for: Callable[..., Gateway],  # noqa: F811
    stow_receiver: StowReceiver,  # noqa: F811
) -> None:
    gateway = _start(gateway_for(stow_receiver.url), max_associations="4", association_request_seconds="1")
    idle = [socket.create_connection(("127.0.0.1", gateway.port)) for _ in range(30)]
    try:
        started = time.monotonic()
        echo = gateway.echoscu("CT1")
        assert echo.returncode == 0, echo.stderr
        assert time.monotonic() - started < 5  # at once, not after the idle sockets time out

        for sock in idle:
            sock.setblocking(False)
        wait_until(
            lambda: sum(not _closed_by_peer(sock) for sock in idle),
            lambda still_open: still_open == 0,
            15,
            "the gateway to close 30 sockets that never asked for an association",
        )
        assert gateway.process is not None and gateway.process.poll() is None
    finally:
        for sock in idle:
            sock.close()


def test_over_the_limit_is_rejected_as_local_limit_exceeded_and_a_released_slot_is_reused(
    gateway_for: Callable[..., Gateway],  # noqa: F811
    stow_receiver: StowReceiver,  # noqa: F811
    modality: Callable[[Gateway, str], Association],
) -> None:
    gateway = _start(gateway_for(stow_receiver.url), max_associations="2")
    first, second = modality(gateway, "CT1"), modality(gateway, "MR1")
    assert first.is_established and second.is_established

    over = gateway.echoscu("CT1")
    assert over.returncode != 0
    assert "Rejected Transient" in over.stderr and "Local Limit Exceeded" in over.stderr, over.stderr
    # A stranger is refused for who it is, never given (or counted against) a slot.
    stranger = gateway.echoscu("INTRUDER")
    assert stranger.returncode != 0 and "Calling AE Title Not Recognized" in stranger.stderr
    assert "all 2 association slots are taken" in gateway.log.read_text()

    first.release()
    wait_until(lambda: gateway.echoscu("CT1").returncode, lambda rc: rc == 0, 10, "a slot after a release")


def test_an_idle_association_is_aborted_and_its_slot_freed(
    gateway_for: Callable[..., Gateway],  # noqa: F811
    stow_receiver: StowReceiver,  # noqa: F811
    modality: Callable[[Gateway, str], Association],
) -> None:
    gateway = _start(gateway_for(stow_receiver.url), max_associations="1", idle_seconds="1")
    silent = modality(gateway, "CT1")
    assert silent.is_established
    wait_until(lambda: silent.is_aborted, bool, 10, "the gateway to abort an association silent for 1 s")
    echo = gateway.echoscu("CT1")
    assert echo.returncode == 0, echo.stderr


def test_defaults_raise_the_limit_past_pynetdicoms_ten(tmp_path: Path) -> None:
    from yilian.gateway.settings import GatewaySettings

    settings = GatewaySettings(spool_dir=tmp_path)
    assert settings.max_associations > 10 and settings.max_connections > settings.max_associations
    assert settings.association_request_seconds <= 10
