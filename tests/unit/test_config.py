"""One settings object: the environment is read by pydantic-settings (config.Settings, gateway.settings) only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from yilian.config import Settings

SRC = Path(__file__).resolve().parents[2] / "src" / "yilian"
# Starting the embedded PostgreSQL and Temporal passes our environment on to the child process, minus their own
# variables: that is handing it over, not configuration.
CHILD_PROCESS_ENV = {SRC / "runtime" / "postgres.py", SRC / "runtime" / "temporal.py", SRC / "runtime" / "live.py"}


def _environment_reads(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in {"environ", "environb", "getenv", "getenvb", "putenv"}:
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in {"environ", "environb", "getenv", "getenvb"} for alias in node.names):
                lines.append(node.lineno)
    return sorted(lines)


def test_nothing_but_settings_reads_the_environment() -> None:
    found = {
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path not in CHILD_PROCESS_ENV
        for line in _environment_reads(ast.parse(path.read_text(), str(path)))
    }
    assert found == set()


def test_the_scan_sees_an_environment_read() -> None:
    assert _environment_reads(ast.parse("import os\nx = os.environ.get('A')\ny = os.getenv('B')")) == [2, 3]
    assert _environment_reads(ast.parse("from os import environ")) == [1]


def test_share_link_days_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YILIAN_SHARE_LINK_DAYS", "7")
    assert Settings().share_link_days == 7
    monkeypatch.setenv("YILIAN_SHARE_LINK_DAYS", "0")
    with pytest.raises(ValueError, match="share_link_days"):
        Settings()
