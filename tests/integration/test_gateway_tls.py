"""Issue 16: the gateway verifies the cloud's TLS certificate. A real TLS STOW-RS origin with a certificate the
gateway must not trust (self-signed; or signed by its CA for another name) gets nothing, and the operator reads
why in `yilian gateway status`; the same origin with a certificate from the CA in YILIAN_GATEWAY_CA_BUNDLE, for
the address the gateway dials, gets the study."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.test_gateway import (  # noqa: F401 (fixtures)
    Gateway,
    StowReceiver,
    _uids,
    ct_files,
    free_port,
    gateway_for,
    wait_until,
)
from tests.support.tls import PrivateCA, ServerCert, self_signed


@dataclass
class TlsStowReceiver(StowReceiver):
    """The cloud stand-in behind TLS; the handshake runs in each request's thread, not the accept loop."""

    server_cert: ServerCert | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def up(self) -> None:
        super().up()
        assert self._server is not None and self.server_cert is not None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert.cert, self.server_cert.key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)


@pytest.mark.parametrize("certificate", ["self-signed", "our CA, another name", "our CA, this address"])
def test_the_gateway_sends_only_to_a_cloud_whose_certificate_it_verifies(
    certificate: str,
    gateway_for: Callable[..., Gateway],  # noqa: F811
    ct_files: list[Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    ca = PrivateCA(tmp_path)
    server_cert = {
        "self-signed": lambda: self_signed(tmp_path, ["127.0.0.1", "localhost"], "self"),
        "our CA, another name": lambda: ca.issue(["cloud.other.example"], "other"),
        "our CA, this address": lambda: ca.issue(["127.0.0.1"], "cloud"),
    }[certificate]()
    cloud = TlsStowReceiver(free_port(), server_cert=server_cert)
    cloud.up()
    try:
        gateway = gateway_for(cloud.url)
        gateway.env["YILIAN_GATEWAY_CA_BUNDLE"] = str(ca.bundle)
        gateway.start()
        assert gateway.storescu(ct_files[:3]).returncode == 0

        if certificate == "our CA, this address":
            wait_until(gateway.status, lambda s: s["sent"] == 3, 20, "delivery over verified TLS")
            assert set(cloud.archive) == _uids(ct_files[:3])
            return
        status = wait_until(gateway.status, lambda s: s["last_error"] is not None, 20, "the TLS refusal")
        assert "TLS failed: CERTIFICATE_VERIFY_FAILED" in status["last_error"], status
        time.sleep(0.5)  # more attempts under backoff: none may get through
        status = gateway.status()
        assert (status["queued"], status["sent"]) == (3, 0)
        assert cloud.requests == 0 and cloud.archive == {}
    finally:
        cloud.down()
