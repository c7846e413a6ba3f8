"""The embedded s3proxy (runtime/s3proxy.py): it checks signatures, keeps create-only writes, survives a restart."""

from __future__ import annotations

from pathlib import Path

import obstore
import pytest
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store

from tests.conftest import S3_TEST_BUCKET
from yilian.runtime.s3proxy import REGION, S3ProxyServer, S3ProxyStartError, start_s3proxy

pytestmark = pytest.mark.integration


def _store(server: S3ProxyServer, secret: str | None = None) -> S3Store:
    return S3Store(
        S3_TEST_BUCKET,
        endpoint=server.endpoint,
        access_key_id=server.identity,
        secret_access_key=secret or server.credential,
        region=REGION,
        client_options={"allow_http": True},
        retry_config={"max_retries": 0},
    )


def test_signed_requests_only_and_if_none_match(s3_server: S3ProxyServer) -> None:
    store = _store(s3_server)
    obstore.put(store, "runtime/a", b"first", mode="create")
    with pytest.raises(AlreadyExistsError):  # If-None-Match: * answered 412
        obstore.put(store, "runtime/a", b"second", mode="create")
    assert bytes(obstore.get(store, "runtime/a").bytes()) == b"first"
    with pytest.raises(Exception, match="403"):
        obstore.get(_store(s3_server, secret="not-the-credential"), "runtime/a")


def test_objects_survive_a_kill_and_restart_on_the_same_port(tmp_path: Path) -> None:
    server = start_s3proxy(tmp_path / "s3", credential="restart-secret")
    try:
        server.create_bucket(S3_TEST_BUCKET)
        obstore.put(_store(server), "kept", b"across a restart")
        server.kill()
        assert not server.alive()
        server = start_s3proxy(tmp_path / "s3", port=server.port, credential="restart-secret")
        assert bytes(obstore.get(_store(server), "kept").bytes()) == b"across a restart"
    finally:
        server.stop()


def test_a_bad_start_fails_by_name_with_the_log(tmp_path: Path) -> None:
    with pytest.raises(S3ProxyStartError, match=r"(?s)exited with code 1.*Invalid maximum heap size"):
        start_s3proxy(tmp_path / "s3", heap="1x")  # the JVM refuses the heap size at once


async def test_doctor_checks_the_bucket_and_the_credentials(s3_server: S3ProxyServer, tmp_path: Path) -> None:
    from yilian.config import Settings
    from yilian.runtime import doctor

    good = Settings(
        storage_url=f"s3://{S3_TEST_BUCKET}/doctor",
        s3_endpoint=s3_server.endpoint,
        s3_region=REGION,
        s3_access_key_id=s3_server.identity,
        s3_secret_access_key=s3_server.credential,
        var_dir=tmp_path,
    )
    bad = good.model_copy(update={"s3_secret_access_key": "wrong"})
    [ok] = [c for c in await doctor.check(good, seconds=20) if c.name == "Storage"]
    [refused] = [c for c in await doctor.check(bad, seconds=20) if c.name == "Storage"]
    assert ok.ok and "answers to these credentials" in ok.detail, ok
    assert not refused.ok and "PermissionDeniedError" in refused.detail, refused
