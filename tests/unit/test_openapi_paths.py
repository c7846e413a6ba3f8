"""Every path parameter of every route is in the OpenAPI document (issue 16, item 13): generators and fuzzers
build requests from it."""

from __future__ import annotations

import re

from yilian.api.app import build_app


def test_every_path_parameter_is_in_the_schema() -> None:
    missing = []
    for path, operations in build_app().openapi()["paths"].items():
        wanted = set(re.findall(r"{(\w+)(?::\w+)?}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            if wanted - declared:
                missing.append(f"{method.upper()} {path}: {sorted(wanted - declared)}")
    assert missing == []


def test_wado_rs_resources_name_their_uids() -> None:
    paths = build_app().openapi()["paths"]
    operation = paths["/dicomweb/studies/{study}/series/{series}/instances/{sop}/metadata"]["get"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["study", "series", "sop"]
