"""`yilian up` starts the demo's live cases with the demo, and not with --no-demo (runtime/demo_cases.py)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from yilian import cli


@pytest.mark.parametrize(
    ("argv", "live"), [(["up"], True), (["up", "--no-history"], True), (["up", "--no-demo"], False)]
)
def test_up_asks_for_live_cases_only_with_the_demo(
    argv: list[str], live: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def services(settings: object, *, ui: bool = False) -> Iterator[cli.Services]:
        yield cli.Services("postgresql+asyncpg://unused/yilian", "127.0.0.1:7233")

    async def serve(*args: object, **kwargs: Any) -> None:
        served.append(kwargs)

    monkeypatch.setattr(cli, "embedded_services", services)
    monkeypatch.setattr(cli, "_migrate_and_seed", lambda *a, **k: None)
    monkeypatch.setattr(cli, "_serve", serve)
    before = signal.getsignal(signal.SIGTERM)
    try:
        cli.main(argv)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert [s.get("live_cases") for s in served] == [live]
