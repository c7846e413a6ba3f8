"""bench/search.py at a small size, so the benchmark cannot rot: both engines find what a scan of the text finds."""

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
    """Reports whose present parts contain any of `terms`: the ground truth both engines must agree with."""
    keys = [fold(term) for term in terms]
    return sum(
        any(key in _present(r.findings) or key in _present(r.impression) for key in keys)
        for r in reports(REPORTS, seed=13)
    )


def test_the_bench_runs_and_both_engines_agree_with_a_scan(pg_server: EmbeddedPostgres, opensearch_url: str) -> None:
    database = f"bench_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(database)
    try:
        run = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "search.py"), "--reports", str(REPORTS), "--queries", "1",
             "--workers", "1", "--no-docs", "--pg-dsn", pg_server.dsn_for(database), "--opensearch-url",
             opensearch_url, "--alias", f"bench-{uuid.uuid4().hex[:8]}"],
            capture_output=True, text=True, timeout=600, cwd=ROOT,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads(run.stdout)
    finally:
        pg_server.drop_database(database)
    assert result["pg_load"]["rows"] == result["opensearch_load"]["indexed"] == REPORTS
    assert result["opensearch_load"]["errors"] == 0
    os_hits = {q: n for c in ("rare", "common", "phrase") for q, n in result["opensearch_queries"][c]["hits"].items()}
    pg_hits = {q: n for c in ("rare", "common", "phrase") for q, n in result["pg_queries"][c]["hits"].items()}
    cysts = _scan(concept("hepatic_cyst").terms)
    effusions = _scan(concept("pleural_effusion").terms)
    assert os_hits["肝囊肿"] == pg_hits["肝囊肿"] == cysts > 0
    assert os_hits["胸腔积液"] == pg_hits["胸腔积液"] == pg_hits["pleural effusion"] == effusions > 0
    for phrase in ('"支气管充气征"', '"纵隔内见多发肿大淋巴结"', '"边缘结节样强化"'):
        assert os_hits[phrase] == pg_hits[phrase] == _scan((phrase.strip('"'),)) > 0
    for engine in ("opensearch_queries", "pg_queries"):
        for category in ("rare", "common", "phrase"):
            timing = result[engine][category]
            assert timing["wall_p95_ms"] >= timing["wall_p50_ms"] > 0
