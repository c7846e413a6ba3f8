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
# The webhook receiver is a standard-library script a hospital copies and runs on its own side (docs/security.md):
# it names its secret's variable on its command line and reads it there, as it cannot import our settings.
STANDALONE = {SRC / "notify" / "receiver.py"}


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
        if path not in CHILD_PROCESS_ENV | STANDALONE
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


# ---- issue 16, items 7 and 14 ---------------------------------------------------------------------------------
STRONG = {
    "jwt_secret": "kT3vQ9xZp2LmW8rB5nYc7HdF4sJg6AeU1oXi0Rw",
    "webhook_secret": "Zq8Lp3Vn6Tb1Xw9Mr4Kc7Hs2Jd5Gf0Ya",
    "share_link_secret": "Hs2Jd5Gf0YaZq8Lp3Vn6Tb1Xw9Mr4Kc7",
    "live_secret": "Tb1Xw9Mr4Kc7Hs2Jd5Gf0YaZq8Lp3Vn6",
    "deid_secret": "Mr4Kc7Hs2Jd5Gf0YaZq8Lp3Vn6Tb1Xw9",
    "patient_index_secret": "Gf0YaZq8Lp3Vn6Tb1Xw9Mr4Kc7Hs2Jd5",
}


def test_production_starts_with_strong_secrets() -> None:
    assert Settings(environment="production", **STRONG).environment == "production"


@pytest.mark.parametrize(
    ("secret", "value", "why"),
    [
        ("jwt_secret", "x", "1 characters"),
        ("webhook_secret", "a" * 40, "predictable"),
        ("share_link_secret", "0123456789abcdef" * 3, "predictable"),  # a repeated pattern
        ("deid_secret", "ababababbabababaabababababbababab", "predictable"),  # two characters
        ("live_turn_secret", "short-turn", "10 characters"),
    ],
)
def test_a_weak_secret_is_refused_outside_development(secret: str, value: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        Settings(environment="production", **{**STRONG, secret: value})
    assert Settings(environment="development", **{**STRONG, secret: value})  # development takes anything


def test_the_archive_lives_under_var_dir_unless_set(tmp_path: Path) -> None:
    assert Settings(var_dir=tmp_path / "a").storage_url == f"file://{tmp_path}/a/dicom"
    assert Settings(var_dir=tmp_path / "b").storage_url != Settings(var_dir=tmp_path / "a").storage_url
    assert Settings(var_dir=tmp_path, storage_url="s3://bucket/x").storage_url == "s3://bucket/x"


def test_the_archive_follows_yilian_var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("YILIAN_STORAGE_URL", raising=False)
    monkeypatch.setenv("YILIAN_VAR_DIR", str(tmp_path))
    assert Settings().storage_url == f"file://{tmp_path}/dicom"
