"""bench/search.py at a small size, so the benchmark cannot rot: the PostgreSQL baseline finds what a scan finds."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from yilian.runtime.postgres import EmbeddedPostgres
from yilian.search.negation import Status, segment
from yilian.search.phrases import fold
from yilian.search.synonyms import concept
from yilian.search.synthetic import reports

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REPORTS = 300


def _present(text: str) -> str:
    return "\n".join(fold(text[s.start : s.end]) for s in segment(text) if s.status is Status.PRESENT)


def _scan(terms: tuple[str, ...]) -> int:
    """Reports whose present parts contain any of `terms`: the ground truth the index must agree with."""
    keys = [fold(term) for term in terms]
    return sum(
        any(key in _present(r.findings) or key in _present(r.impression) for key in keys)
        for r in reports(REPORTS, seed=13)
    )


def test_the_bench_runs_and_postgres_agrees_with_a_scan(pg_server: EmbeddedPostgres) -> None:
    database = f"bench_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(database)
    try:
        run = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "search.py"), "--reports", str(REPORTS), "--queries", "1",
             "--workers", "1", "--skip-opensearch", "--no-docs", "--pg-dsn", pg_server.dsn_for(database)],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads(run.stdout)
    finally:
        pg_server.drop_database(database)
    assert result["pg_load"]["rows"] == REPORTS
    hits = result["pg_queries"]["common"]["hits"]
    assert hits["肝囊肿"] == _scan(concept("hepatic_cyst").terms) > 0
    assert hits["胸腔积液"] == hits["pleural effusion"] == _scan(concept("pleural_effusion").terms) > 0
    for category in ("rare", "common", "phrase"):
        assert result["pg_queries"][category]["wall_p95_ms"] >= result["pg_queries"][category]["wall_p50_ms"] > 0
