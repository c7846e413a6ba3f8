"""The error catalogue: every code the API can emit is an ErrorCode with an HTTP status."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from yilian.domain.errors import HTTP_STATUS, ErrorCode, YilianError

SRC = Path(__file__).resolve().parents[2] / "src" / "yilian"
# Everything that puts a code on the wire takes it as its first argument.
EMITTERS = {"YilianError", "error_body", "error_response"}


def _calls(names: set[str]) -> Iterator[tuple[str, ast.Call]]:
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in names:
                    yield f"{path.relative_to(SRC)}:{node.lineno}", node


def _code_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def test_every_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert all(400 <= status <= 599 for status in HTTP_STATUS.values())
    assert YilianError(ErrorCode.WEB_NOT_BUILT, "x").http_status == 503


def test_the_scan_finds_the_emitters() -> None:
    """Guards the test below: a rename of the emitters would leave it checking nothing."""
    found = {site.split(":")[0] for site, _ in _calls(EMITTERS)}
    assert {"api/errors.py", "api/static/web_app.py", "api/static/viewer.py", "api/referral_service.py"} <= found


def test_no_code_is_spelled_as_a_string() -> None:
    """A literal such as "web_not_built" bypasses the catalogue (mypy catches most; this also covers untyped calls)."""
    offenders = []
    for site, call in _calls(EMITTERS):
        arg = _code_argument(call)
        if arg is None or isinstance(arg, ast.Constant | ast.JoinedStr):
            offenders.append(site)
        elif isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "ErrorCode":
            assert arg.attr in ErrorCode.__members__, f"{site}: ErrorCode.{arg.attr} does not exist"
    assert offenders == []


def test_codes_built_from_strings_are_in_the_catalogue() -> None:
    """ErrorCode("...") with a literal must name a member: it raises ValueError at run time otherwise."""
    for site, call in _calls({"ErrorCode"}):
        arg = _code_argument(call)
        if isinstance(arg, ast.Constant):
            assert arg.value in {c.value for c in ErrorCode}, f"{site}: {arg.value!r} is not in the catalogue"


def test_no_error_body_is_built_by_hand() -> None:
    """Only api/errors.py writes {"error": ...}; everything else goes through error_body/error_response."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "api" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "error" for k in node.keys
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("status", [400, 404, 405, 413, 415])
def test_starlettes_own_errors_map_to_a_code_with_their_status(status: int) -> None:
    from yilian.api.errors import _STARLETTE_CODES

    assert HTTP_STATUS[_STARLETTE_CODES[status]] == status
