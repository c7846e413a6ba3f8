#!/usr/bin/env python
"""Report search benchmark (issue 13): OpenSearch against PostgreSQL full-text search, on the same reports, one run.

    python bench/search.py [--reports 1000000] [--queries 40] [--workers 2] [--no-docs]
                           [--opensearch-url URL] [--pg-dsn DSN] [--skip-opensearch] [--skip-pg]

1. Starts its own services in a temp dir unless given: an embedded PostgreSQL (runtime/postgres.py, fsync off,
   shared_buffers 512MB as in the reference measurement) and an OpenSearch node (runtime/opensearch.py, 1 GB heap).
2. Generates `--reports` synthetic zh/en reports (yilian.search.synthetic, seed 13: 80 % Chinese; chest/abdomen/
   head CT, lumbar MR, chest DR, thyroid and breast US), twice from the same seed, so nothing is held in memory.
3. OpenSearch: a report index made by yilian.search.index (its analyzers and mapping, one shard, refresh 1 s),
   every report turned into its document by `index.report_document` (negation-tagged present / negated /
   uncertain parts, concepts), in worker processes; the main process sends `_bulk` requests of 1,000 (two in
   flight) with the same action metadata as `index.bulk_index` (id, external_gte version). Reported: reports/s
   from the first request to the last acknowledged one plus the final refresh, documents included.
4. PostgreSQL: the reference's design A (app-side CJK bigrams and lower-cased Latin words of the present parts,
   written as a tsvector literal with positions, GIN index built after the load), with unigrams as OpenSearch has
   them (a one-character slot such as 肺 must match): rows by COPY, then index.
5. Queries, each engine on its own (the other idle): rare terms (~0.1 % of one exam's reports), common terms and
   quoted phrases, `--queries` timed runs per category after one warm-up pass, sequentially. OpenSearch runs the
   product's two requests at once (`search.query.hits_body`: synonym slots, present parts only, highlights on 2
   sections x 2 analyzers, the access filter of the centre's coordinator, top 20 by relevance; `facets_body`: 7
   facets with post_filter semantics, `size: 0`, here without the shard request cache so repeats are measured);
   PostgreSQL the same synonym slots as a tsquery, top 20 by ts_rank_cd and 4 facet counts (GROUPING SETS), no
   highlights (CJK bigrams leave ts_headline nothing to mark).
6. Besides wall times it records CPU: the node's JVM (nodes stats, all its threads), this process and its workers,
   the PostgreSQL backend (/proc): on a box shared with other work, CPU per report or per query moves far less
   than latency does, and 2 cores divided by the CPU per report bounds what an idle box could index.
7. Prints a JSON summary and writes the section "Report search (issue 13)" of docs/benchmarks.md (--no-docs: not).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from yilian.search import synonyms
from yilian.search.negation import Status, segment
from yilian.search.phrases import fold
from yilian.search.synthetic import RARE_TERMS, SyntheticReport, hospitals, readers, reports

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Report search (issue 13)"
SEED = 13
BULK = 1000  # reports per _bulk request
CENTRE = ("bench-centre", "市第一人民医院影像中心")

COMMON = ("结节", "nodule", "胸腔积液", "肝囊肿", "椎间盘突出", "肺炎", "pleural effusion", "钙化")
PHRASES = ('"边缘结节样强化"', '"支气管充气征"', '"纵隔内见多发肿大淋巴结"', '"向内填充"',
           '"peripheral nodular enhancement"', '"air bronchograms"', '"disc herniation"', '"低回声结节"')  # fmt: skip
CATEGORIES: dict[str, Sequence[str]] = {"rare": RARE_TERMS, "common": COMMON, "phrase": PHRASES}


# --- the reports as each engine takes them ---------------------------------------------------------------


def signed_report(r: SyntheticReport) -> Any:
    """The synthetic report as the value the indexing activity gets (domain.report.SignedReport)."""
    from yilian.domain.report import ReportKind, SignedReport, SignedSection

    hospital_id, hospital_name = hospitals()[r.hospital]
    reader_id, reader_name = readers()[r.reader]
    return SignedReport(
        referral_id=f"bench-{r.number:08d}",
        report_version=1,
        signed_at=r.signed_at,
        modality=r.modality,
        body_part=r.body_part,
        priority="routine",
        study_instance_uid=f"2.25.{r.number + 10**12}",
        requesting_hospital_id=hospital_id,
        requesting_hospital_name=hospital_name,
        reading_hospital_id=CENTRE[0],
        reading_hospital_name=CENTRE[1],
        offered_to=None,
        reader_id=reader_id,
        reader_name=reader_name,
        signer_id=reader_id,
        discrepancy=r.discrepancy,
        critical=r.critical,
        sections=(SignedSection(ReportKind.FINAL, 1, r.findings, r.impression),),
    )


def bulk_payload(args: tuple[str, int, int, int]) -> tuple[bytes, int]:
    """NDJSON `_bulk` body for reports start..start+count (runs in a worker process)."""
    from yilian.search import index as ix

    index, seed, start, count = args
    lines: list[str] = []
    for r in reports(count, seed=seed, start=start):
        doc = ix.report_document(signed_report(r))
        meta = {"_index": index, "_id": doc["referral_id"], "version": doc["report_version"],
                "version_type": "external_gte"}  # fmt: skip
        lines.append(json.dumps({"index": meta}, ensure_ascii=False))
        lines.append(json.dumps(doc, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode(), count


_CJK_OR_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9]+")


def bigram_tokens(text: str) -> list[str]:
    """The reference's PostgreSQL tokens: CJK runs as overlapping bigrams (a lone character kept), Latin words."""
    tokens: list[str] = []
    for match in _CJK_OR_WORD.finditer(fold(text)):
        run = match.group()
        if run[0].isascii():
            tokens.append(run)
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def present_text(text: str) -> str:
    """The present parts of a section, a newline between them (so no phrase runs across a negated part)."""
    return "\n".join(text[s.start : s.end] for s in segment(text) if s.status is Status.PRESENT)


def tsvector_literal(texts: Sequence[str]) -> str:
    """A tsvector literal with positions; a gap of 100 between texts keeps phrases inside one text.

    Like OpenSearch's cjk_bigram with unigrams, every CJK character is also a lexeme, at the position of the bigram
    it starts (the run's last one at the last bigram's), so a one-character query slot (肺) matches while phrases
    of bigrams keep consecutive positions.
    """
    positions: dict[str, list[int]] = {}
    position = 0

    def put(token: str, at: int) -> None:
        if at <= 16383:
            positions.setdefault(token, []).append(at)

    for text in texts:
        for match in _CJK_OR_WORD.finditer(fold(text)):
            run = match.group()
            if run[0].isascii() or len(run) == 1:
                position += 1
                put(run, position)
                continue
            for i in range(len(run) - 1):
                position += 1
                put(run[i : i + 2], position)
                put(run[i], position)
            put(run[-1], position)
        position += 100
    return " ".join(f"'{token}':{','.join(map(str, sorted(set(found))[:255]))}" for token, found in positions.items())


def copy_rows(args: tuple[int, int, int]) -> tuple[bytes, int]:
    """COPY text-format rows for reports start..start+count (runs in a worker process)."""
    seed, start, count = args
    out: list[str] = []
    for r in reports(count, seed=seed, start=start):
        parts: list[str] = []
        for text in (r.findings, r.impression):
            parts.extend(present_text(text).split("\n"))
        row = (
            f"bench-{r.number:08d}",
            r.modality,
            r.body_part,
            hospitals()[r.hospital][0],
            readers()[r.reader][0],
            r.signed_at.isoformat(),
            r.findings.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", " "),
            r.impression.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", " "),
            tsvector_literal(parts),
        )
        out.append("\t".join(row))
    return ("\n".join(out) + "\n").encode(), count


_QUOTED = re.compile(r'"([^"]+)"')


def slots(query: str) -> list[list[str]]:
    """The query's slots as search.query.slots makes them: each quoted phrase as itself, the rest by synonyms."""
    try:
        from yilian.search.query import slots as product_slots
    except ImportError:  # the query module is not there yet: the same rule, spelled out
        phrases = [m.strip() for m in _QUOTED.findall(query) if m.strip()]
        return [[p] for p in phrases] + [s for s in synonyms.expand(_QUOTED.sub(" ", query)) if s]
    return product_slots(query)


def tsquery(query: str) -> str:
    """The query's synonym slots as a tsquery: slots AND, a slot's terms OR, each term a phrase of its tokens."""
    ands: list[str] = []
    for slot in slots(query):
        ors = []
        for term in slot:
            tokens = bigram_tokens(term)
            if tokens:
                ors.append("(" + " <-> ".join(f"'{t}'" for t in tokens) + ")")
        if ors:
            ands.append("(" + " | ".join(ors) + ")")
    return " & ".join(ands)


# --- services --------------------------------------------------------------------------------------------


@dataclass
class Services:
    workdir: Path
    pg_dsn: str | None = None
    opensearch_url: str | None = None
    stops: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for service in reversed(self.stops):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                print(f"stopping {service!r}: {exc}", file=sys.stderr)


def start_postgres(svc: Services) -> None:
    from yilian.runtime import postgres

    data_dir = svc.workdir / "pg"
    server = postgres.start_embedded_postgres(data_dir, durable=False)
    svc.stops.append(server)
    # The reference measurement's memory: shared_buffers 512MB (needs a restart), and room for the facet sort.
    postgres._psql(server.port, "ALTER SYSTEM SET shared_buffers = '512MB'")
    postgres._psql(server.port, "ALTER SYSTEM SET work_mem = '64MB'")
    postgres._psql(server.port, "ALTER SYSTEM SET maintenance_work_mem = '512MB'")
    server.stop()
    svc.stops.remove(server)
    server = postgres.start_embedded_postgres(data_dir, durable=False)
    svc.stops.append(server)
    svc.pg_dsn = server.dsn


def start_opensearch(svc: Services) -> None:
    from yilian.runtime import opensearch

    node = opensearch.start_node(svc.workdir / "opensearch", heap="1g")
    svc.stops.append(node)
    svc.opensearch_url = node.url


# --- OpenSearch -----------------------------------------------------------------------------------------


def _ranges(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


async def _ordered(pool: concurrent.futures.Executor, fn: Any, jobs: list[Any], ahead: int) -> AsyncIterator[Any]:
    """Results of fn(job) in order, at most `ahead` jobs submitted and not yet taken."""
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[Any]] = []
    jobs_iter = iter(jobs)
    for job in jobs_iter:
        pending.append(loop.run_in_executor(pool, fn, job))
        if len(pending) >= ahead:
            break
    while pending:
        result = await pending.pop(0)
        nxt = next(jobs_iter, None)
        if nxt is not None:
            pending.append(loop.run_in_executor(pool, fn, nxt))
        yield result


async def opensearch_load(url: str, alias: str, total: int, workers: int) -> dict[str, Any]:
    from yilian.search import index as ix
    from yilian.search.reports import connect

    client = connect(url, timeout=300)
    try:
        name = ix.new_index_name(alias)
        await ix.create_index(client, name)
        await client.indices.update_aliases(
            body={"actions": [{"add": {"index": name, "alias": alias, "is_write_index": True}}]}
        )
        jobs = [(name, SEED, start, count) for start, count in _ranges(total, BULK)]
        sent = 0
        errors = 0
        in_flight: set[asyncio.Task[Any]] = set()
        started = time.perf_counter()
        cpu_before = _process_cpu()
        node_before = await _node_cpu(client)
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            async for payload, count in _ordered(pool, bulk_payload, jobs, ahead=workers * 2):
                if len(in_flight) >= 2:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    errors += sum(t.result() for t in done)
                in_flight.add(asyncio.create_task(_bulk(client, payload)))
                sent += count
                if sent % 100_000 == 0:
                    rate = sent / (time.perf_counter() - started)
                    print(f"  opensearch: {sent} sent, {rate:.0f} reports/s", file=sys.stderr)
            for task in in_flight:
                errors += await task
        bulk_done = time.perf_counter()
        await client.indices.refresh(index=name)
        elapsed = time.perf_counter() - started
        node_cpu = await _node_cpu(client) - node_before
        driver_cpu = _process_cpu() - cpu_before
        counted = int((await client.count(index=name))["count"])
        stats = await client.indices.stats(index=name, metric="store")
        size = stats["indices"][name]["primaries"]["store"]["size_in_bytes"]
        return {
            "reports": total,
            "indexed": counted,
            "errors": errors,
            "seconds": round(elapsed, 1),
            "reports_per_s": round(total / elapsed, 1),
            "bulk_seconds": round(bulk_done - started, 1),
            "store_mb": round(size / 2**20, 1),
            # CPU per report, which the machine's other load does not change much: the node's JVM, and Python
            # (generating, negation tagging, JSON, sending). 2 cores / their sum bounds the rate on an idle box.
            "node_cpu_ms_per_report": round(node_cpu * 1000 / total, 2),
            "driver_cpu_ms_per_report": round(driver_cpu * 1000 / total, 2),
            "idle_2_core_bound_per_s": round(2 * total / (node_cpu + driver_cpu), 0),
        }
    finally:
        await client.close()


async def _bulk(client: Any, payload: bytes) -> int:
    response = await client.bulk(body=payload)
    if not response.get("errors"):
        return 0
    return sum(1 for item in response["items"] if item["index"].get("status", 200) >= 300)


def _process_cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool, once shut down)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


async def _node_cpu(client: Any) -> float:
    """CPU seconds the OpenSearch node's JVM has used (nodes stats), whoever started it."""
    stats = await client.nodes.stats(metric="process")
    return sum(n["process"]["cpu"]["total_in_millis"] for n in stats["nodes"].values()) / 1000


def _pid_cpu(pid: int) -> float | None:
    """CPU seconds of a local process from /proc (None when it is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _coordinator() -> Any:
    from yilian.domain.access import Principal
    from yilian.domain.roles import Role

    return Principal(user_id="bench-coordinator", role=Role.COORDINATOR, hospital_id=CENTRE[0], name="bench")


async def opensearch_queries(url: str, alias: str, runs: int) -> dict[str, Any]:
    from yilian.search.access import visible_reports
    from yilian.search.query import ReportQuery, facets_body, hits_body, parse_answer
    from yilian.search.reports import connect

    client = connect(url, timeout=60)
    access = visible_reports(_coordinator())
    out: dict[str, Any] = {}
    try:
        # The node's own background work (merges after the load, refreshes), taken off its CPU per query: idle
        # 5-second windows until two agree (merges done) or two minutes pass; the last window's rate counts.
        rates: list[float] = []
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            idle_from, idle_t0 = await _node_cpu(client), time.perf_counter()
            await asyncio.sleep(5)
            rates.append((await _node_cpu(client) - idle_from) / (time.perf_counter() - idle_t0))
            if len(rates) >= 2 and abs(rates[-1] - rates[-2]) <= max(0.02, 0.25 * rates[-2]):
                break
        idle_rate = rates[-1]
        out["node_idle_cpu_ms_per_s"] = round(idle_rate * 1000, 1)
        for category, queries in CATEGORIES.items():
            walls: list[float] = []
            tooks: list[float] = []
            hits: dict[str, int] = {}
            node_cpu = 0.0
            timed_from = 0.0
            for run in range(runs + 1):
                if run == 1:
                    node_cpu = -await _node_cpu(client)
                    timed_from = time.perf_counter()
                for q in queries:
                    query = ReportQuery(text=q)
                    t0 = time.perf_counter()
                    response, facets = await asyncio.gather(
                        client.search(index=alias, body=hits_body(query, access)),
                        client.search(index=alias, body=facets_body(query, access), request_cache=False),
                    )
                    wall = (time.perf_counter() - t0) * 1000
                    answer = replace(parse_answer(response, facets), took_ms=max(response["took"], facets["took"]))
                    if run == 0:  # warm-up pass: counts only
                        hits[q] = answer.total
                        assert answer.total == 0 or answer.hits[0].highlights, f"no highlight for {q!r}"
                        continue
                    walls.append(wall)
                    tooks.append(answer.took_ms)
            node_cpu += await _node_cpu(client) - idle_rate * (time.perf_counter() - timed_from)
            out[category] = {"hits": hits, **_summary(walls, "wall"), **_summary(tooks, "took"),
                             "node_cpu_ms_per_query": round(node_cpu * 1000 / max(1, len(walls)), 1)}  # fmt: skip
    finally:
        await client.close()
    return out


# --- PostgreSQL -----------------------------------------------------------------------------------------

PG_TABLE = """
CREATE TABLE bench_reports (
    id text PRIMARY KEY,
    modality text NOT NULL,
    body_part text NOT NULL,
    hospital_id text NOT NULL,
    reader_id text NOT NULL,
    signed_at timestamptz NOT NULL,
    findings text NOT NULL,
    impression text NOT NULL,
    tsv tsvector NOT NULL
)
"""
PG_TOP = """
SELECT id FROM bench_reports WHERE tsv @@ $1::tsquery
ORDER BY ts_rank_cd(tsv, $1::tsquery) DESC, signed_at DESC LIMIT 20
"""
FACET_COLUMNS = ("modality", "body_part", "hospital_id", "reader_id")
PG_FACETS = """
SELECT modality, body_part, hospital_id, reader_id, count(*) FROM bench_reports WHERE tsv @@ $1::tsquery
GROUP BY GROUPING SETS ((), (modality), (body_part), (hospital_id), (reader_id))
"""


async def pg_load(dsn: str, total: int, workers: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_reports")
        await conn.execute(PG_TABLE)
        jobs = [(SEED, start, count) for start, count in _ranges(total, BULK)]
        started = time.perf_counter()
        cpu_before = _process_cpu()
        loaded = 0
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            async for payload, count in _ordered(pool, copy_rows, jobs, ahead=workers * 2):
                await conn.copy_to_table("bench_reports", source=_chunks(payload), format="text")
                loaded += count
                if loaded % 100_000 == 0:
                    rate = loaded / (time.perf_counter() - started)
                    print(f"  postgres: {loaded} copied, {rate:.0f} rows/s", file=sys.stderr)
        copied = time.perf_counter()
        await conn.execute("CREATE INDEX bench_reports_tsv ON bench_reports USING gin (tsv)")
        indexed = time.perf_counter()
        await conn.execute("VACUUM ANALYZE bench_reports")
        rows = await conn.fetchval("SELECT count(*) FROM bench_reports")
        table_mb = await conn.fetchval("SELECT pg_total_relation_size('bench_reports') / 1048576.0")
        index_mb = await conn.fetchval("SELECT pg_relation_size('bench_reports_tsv') / 1048576.0")
        return {
            "rows": rows,
            "copy_seconds": round(copied - started, 1),
            "rows_per_s": round(total / (copied - started), 1),
            "driver_cpu_ms_per_row": round((_process_cpu() - cpu_before) * 1000 / total, 2),
            "gin_seconds": round(indexed - copied, 1),
            "total_mb": round(float(table_mb), 1),
            "gin_mb": round(float(index_mb), 1),
        }
    finally:
        await conn.close()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    """A payload as the asynchronous iterable asyncpg's copy_to_table reads."""
    yield data


async def pg_queries(dsn: str, runs: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    out: dict[str, Any] = {}
    try:
        top = await conn.prepare(PG_TOP)
        facets = await conn.prepare(PG_FACETS)
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        for category, queries in CATEGORIES.items():
            walls: list[float] = []
            hits: dict[str, int] = {}
            cpu_start: float | None = None
            for run in range(runs + 1):
                if run == 1:
                    cpu_start = _pid_cpu(backend)
                for q in queries:
                    tq = tsquery(q)
                    t0 = time.perf_counter()
                    await top.fetch(tq)
                    groups = await facets.fetch(tq)
                    wall = (time.perf_counter() - t0) * 1000
                    if run == 0:
                        overall = [g["count"] for g in groups if all(g[k] is None for k in FACET_COLUMNS)]
                        hits[q] = int(overall[0]) if overall else 0
                        continue
                    walls.append(wall)
            out[category] = {"hits": hits, **_summary(walls, "wall")}
            cpu_end = _pid_cpu(backend)
            if cpu_start is not None and cpu_end is not None and walls:
                out[category]["backend_cpu_ms_per_query"] = round((cpu_end - cpu_start) * 1000 / len(walls), 1)
    finally:
        await conn.close()
    return out


# --- report ---------------------------------------------------------------------------------------------


def _summary(values: list[float], name: str) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {f"{name}_p50_ms": round(statistics.median(ordered), 1), f"{name}_p95_ms": round(p95, 1)}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown(m: dict[str, Any]) -> str:
    os_load, pg_load_ = m.get("opensearch_load", {}), m.get("pg_load", {})
    osq, pgq = m.get("opensearch_queries", {}), m.get("pg_queries", {})
    lines = [
        SECTION,
        "",
        "Command (from the repository root, venv active):",
        "",
        "```",
        m["command"],
        "```",
        "",
        f"Run {m['date']} on {m['machine']}; {m['reports']:,} synthetic reports (seed {SEED}, "
        f"yilian.search.synthetic), {m['queries']} timed runs per query after a warm-up. Machine load: "
        f"`uptime` at start: {m['uptime_start']}; at end: {m['uptime_end']}.",
        "",
        "| measure | OpenSearch (yilian.search) | PostgreSQL FTS (bigram + unigram tsvector, GIN) | goal |",
        "|---|---|---|---|",
    ]
    if os_load or pg_load_:
        lines.append(
            f"| load, reports/s (documents built, negation-tagged, sent; PG: COPY) | "
            f"{os_load.get('reports_per_s', '—')} | {pg_load_.get('rows_per_s', '—')} "
            f"(+ GIN build {pg_load_.get('gin_seconds', '—')} s) | ≥ 2,000 (OpenSearch) |"
        )
        lines.append(
            f"| load, CPU ms per report: node JVM + Python (generate, tag, JSON, send) | "
            f"{os_load.get('node_cpu_ms_per_report', '—')} + {os_load.get('driver_cpu_ms_per_report', '—')} "
            f"(2 idle cores / that = {os_load.get('idle_2_core_bound_per_s', '—')} reports/s) | "
            f"Python {pg_load_.get('driver_cpu_ms_per_row', '—')} | |"
        )
        lines.append(
            f"| size on disk, MB | {os_load.get('store_mb', '—')} | {pg_load_.get('total_mb', '—')} "
            f"(GIN {pg_load_.get('gin_mb', '—')}) | |"
        )
    for category in CATEGORIES:
        o, p = osq.get(category, {}), pgq.get(category, {})
        lines.append(
            f"| {category} queries p50 / p95 ms (client wall) | {o.get('wall_p50_ms', '—')} / "
            f"{o.get('wall_p95_ms', '—')} (server took {o.get('took_p50_ms', '—')} / {o.get('took_p95_ms', '—')}) | "
            f"{p.get('wall_p50_ms', '—')} / {p.get('wall_p95_ms', '—')} | p95 < 50 (OpenSearch) |"
        )
        lines.append(
            f"| {category} queries, CPU ms per query (node JVM less its idle rate; PG backend) | "
            f"{o.get('node_cpu_ms_per_query', '—')} | {p.get('backend_cpu_ms_per_query', '—')} | |"
        )
    if "node_idle_cpu_ms_per_s" in osq:
        lines += ["", f"The node's idle CPU, {osq['node_idle_cpu_ms_per_s']} ms/s, is taken off its CPU per query."]
    lines += ["", "Hits per query (OpenSearch present mentions | PostgreSQL present mentions):", ""]
    for category, queries in CATEGORIES.items():
        o, p = osq.get(category, {}).get("hits", {}), pgq.get(category, {}).get("hits", {})
        lines.append(f"- {category}: " + "; ".join(f"{q} {o.get(q, '—')} | {p.get(q, '—')}" for q in queries))
    lines += ["", m.get("notes", ""), ""]
    return "\n".join(lines)


async def measure(args: argparse.Namespace, svc: Services, m: dict[str, Any]) -> None:
    alias = args.alias or f"bench-reports-{uuid.uuid4().hex[:6]}"
    if not args.skip_opensearch:
        assert svc.opensearch_url is not None
        print(f"OpenSearch {svc.opensearch_url}: indexing {args.reports} reports", file=sys.stderr)
        m["opensearch_load"] = await opensearch_load(svc.opensearch_url, alias, args.reports, args.workers)
        print(json.dumps(m["opensearch_load"]), file=sys.stderr)
        m["opensearch_queries"] = await opensearch_queries(svc.opensearch_url, alias, args.queries)
    if not args.skip_pg:
        assert svc.pg_dsn is not None
        print(f"PostgreSQL: loading {args.reports} rows", file=sys.stderr)
        m["pg_load"] = await pg_load(svc.pg_dsn, args.reports, args.workers)
        print(json.dumps(m["pg_load"]), file=sys.stderr)
        m["pg_queries"] = await pg_queries(svc.pg_dsn, args.queries)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start what was not given, measure, stop what was started (also on Ctrl-C)."""
    workdir = Path(tempfile.mkdtemp(prefix="yilian-search-bench-"))
    svc = Services(workdir, pg_dsn=args.pg_dsn, opensearch_url=args.opensearch_url)
    m: dict[str, Any] = {
        "command": "python bench/search.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "reports": args.reports,
        "queries": args.queries,
        "uptime_start": _uptime(),
    }
    try:
        if not args.skip_opensearch and svc.opensearch_url is None:
            start_opensearch(svc)
        if not args.skip_pg and svc.pg_dsn is None:
            start_postgres(svc)
        asyncio.run(measure(args, svc, m))
    finally:
        svc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    m["uptime_end"] = _uptime()
    return m


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reports", type=int, default=1_000_000, help="synthetic reports to index (default 1,000,000)")
    p.add_argument("--queries", type=int, default=40, help="timed runs of each query (default 40)")
    p.add_argument("--workers", type=int, default=2, help="processes building documents and rows (default 2)")
    p.add_argument("--opensearch-url", help="use this node instead of starting one")
    p.add_argument("--alias", help="index alias (default: a fresh bench-reports-xxxxxx)")
    p.add_argument("--pg-dsn", help="use this PostgreSQL database instead of starting a server")
    p.add_argument("--skip-opensearch", action="store_true")
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--notes", default="", help="a paragraph for the docs section")
    args = p.parse_args()
    m = run(args)
    m["notes"] = args.notes
    print(json.dumps(m, ensure_ascii=False, indent=1))
    if not args.no_docs:
        replace_section(ROOT / "docs" / "benchmarks.md", SECTION, markdown(m))


if __name__ == "__main__":
    main()
