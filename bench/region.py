#!/usr/bin/env python
"""Region benchmark (issue 15): a simulated province on one machine.

    python bench/region.py [--hospitals 30] [--referrals 150000] [--days 365] [--live 60] [--users 8]
                           [--settle SECONDS] [--keep] [--no-docs]

1. Starts embedded PostgreSQL (fsync on), the Temporal dev server and one OpenSearch node, then `yilian worker` and
   `yilian api` as their own processes (the production shape, one of each).
2. Loads the province in bulk with COPY, not through workflows (a year of workflows does not fit in a bench run):
   `--hospitals` county hospitals, each with an agreement with the provincial hospital and a county doctor;
   `--referrals` over `--days` days (97 % finished with a final report and a six-event audit trail, the rest
   open in every working state), their patients; then every signed report into the search index (`sync`).
3. A live load through the API for `--live` seconds: `--users` people at once, county doctors submitting new
   referrals (STOW-RS then POST), an expert opening the worklist, the coordinator the 30-day dashboard, a reader
   searching reports. Records each request's latency and, once a second, every process's CPU.
   `--settle` waits that long first (as a full-size load and index take 12 minutes), sending one person round the
   screens every 2 minutes: whether time since start matters.
4. Prints a JSON summary and writes its section of docs/benchmarks.md: p50/p95 per screen, against the 1 s p95
   budget, which process ran out of CPU first, and the first failed request of each screen (its step: STOW-RS or
   the referral's POST for a submission). Exits non-zero when any request failed: such figures are no result.
   `--keep` keeps the services' directory (api.log, worker.log, the data) for a post-mortem.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs_section import replace_section  # noqa: E402
from referral_loop import machine_facts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Region: a province of 30 county hospitals and a year of referrals (issue 15)"
TERTIARY, PASSWORD = "h-provincial", "yilian-demo"
MIX = (("CT", "CHEST"), ("CT", "CHEST"), ("DX", "CHEST"), ("MR", "HEAD"), ("CT", "HEAD"), ("CT", "ABDOMEN"))
OPEN_STATES = ("offered", "in_reading", "in_reading", "preliminary", "needs_info", "awaiting_images")
PATH = (  # what a finished case's trail holds: (action, from, to, actor)
    ("submit", None, "submitted", "county"),
    ("offer", "submitted", "offered", "system"),
    ("accept", "offered", "in_reading", "wang.expert"),
    ("submit_preliminary", "in_reading", "preliminary", "wang.expert"),
    ("approve", "preliminary", "final", "chen.senior"),
    ("return", "final", "returned", "system"),
)
FINDINGS = (
    ("右肺上叶见一约{n}mm磨玻璃结节，边界清。", "右肺上叶磨玻璃结节，建议随访。"),
    ("双肺纹理清晰，未见结节及实变。", "双肺未见明显异常。"),
    ("左肺下叶见斑片状实变影，伴支气管充气征。", "左肺下叶肺炎，建议抗感染治疗后复查。"),
    ("肝右叶见一约{n}mm低密度灶，边界清楚。", "肝右叶囊肿可能。"),
    ("右侧基底节区见腔隙性梗死灶。", "右侧基底节区腔隙性脑梗死。"),
)


# ---- the province, in bulk ------------------------------------------------------------------------------------
@dataclass
class Loaded:
    hospitals: int = 0
    patients: int = 0
    referrals: int = 0
    open: int = 0
    audit_events: int = 0
    reports: int = 0
    seconds: float = 0.0
    county_doctors: list[str] = field(default_factory=list)


def _libpq(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def load_province(database_url: str, *, hospitals: int, referrals: int, days: int, seed: int = 15) -> Loaded:
    """Hospitals, agreements, doctors, patients, referrals, audit trails and final reports by COPY (asyncpg)."""
    import asyncpg

    rng, now, t0 = random.Random(seed), dt.datetime.now(dt.UTC), time.monotonic()
    out = Loaded()
    conn = await asyncpg.connect(_libpq(database_url))
    try:
        terms = await conn.fetchval("SELECT terms FROM agreements WHERE id = 'agr-anping'")
        password_hash = await conn.fetchval("SELECT password_hash FROM users WHERE id = 'zhao.anping'")
        ids = [f"h-county-{i:02d}" for i in range(1, hospitals + 1)]
        doctors = [f"doc.county{i:02d}" for i in range(1, hospitals + 1)]
        async with conn.transaction():
            await conn.copy_records_to_table(
                "hospitals",
                columns=["id", "name", "level", "patient_id_issuer", "created_at"],
                records=[
                    (h, f"第{i + 1}县人民医院 County {i + 1}", "county", f"C{i + 1:02d}", now)
                    for i, h in enumerate(ids)
                ],
            )
            await conn.copy_records_to_table(
                "agreements",
                columns=["id", "requesting_hospital_id", "reading_hospital_id", "service_mode", "terms", "active",
                         "created_at"],
                records=[(f"agr-{h}", h, TERTIARY, "full_hosting", terms, True, now) for h in ids],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "users",
                columns=["id", "username", "password_hash", "display_name", "role", "hospital_id", "created_at"],
                records=[
                    (d, d, password_hash, f"县医生 {d}", "county_doctor", h, now)
                    for d, h in zip(doctors, ids, strict=True)
                ],
            )
            n_patients = max(1, referrals // 3)
            patient_rows = []
            for p in range(n_patients):
                h = p % hospitals
                patient_rows.append((f"pat-r-{p}", ids[h], f"C{h + 1:02d}", f"R{p:07d}", f"病人 Patient {p}",
                                     dt.date(1940 + p % 60, 1 + p % 12, 1 + p % 28), "MF"[p % 2], now))  # fmt: skip
            await conn.copy_records_to_table(
                "patients",
                columns=["id", "hospital_id", "issuer", "patient_id", "name", "birth_date", "sex", "created_at"],
                records=patient_rows,
            )
            ref_rows, audit_rows, report_rows = [], [], []
            span = dt.timedelta(days=days)
            for r in range(referrals):
                p = rng.randrange(n_patients)
                h = p % hospitals
                submitted = now - span * (1 - r / referrals) - dt.timedelta(minutes=rng.randint(0, 60))
                is_open = r >= referrals * 0.97
                modality, body_part = MIX[r % len(MIX)]
                priority = ("routine", "routine", "routine", "urgent", "stat")[r % 5]
                target = {"stat": 30, "urgent": 120, "routine": 1440}[priority]
                due = submitted + dt.timedelta(minutes=target)
                rid = f"ref-r-{r:07d}"
                if is_open:
                    state = OPEN_STATES[r % len(OPEN_STATES)]
                    steps = {"offered": 2, "in_reading": 3, "preliminary": 4, "needs_info": 3, "awaiting_images": 1}
                    n_events = steps[state]
                    final_at = None
                else:
                    state, n_events = "returned", len(PATH)
                    final_at = submitted + dt.timedelta(minutes=target * rng.uniform(0.2, 1.1))
                ref_rows.append((
                    rid, ids[h], TERTIARY, f"agr-{ids[h]}", f"pat-r-{p}", f"1.2.826.0.1.3680043.10.{r}",
                    modality, body_part, "咳嗽两周，排除占位 / rule out a mass", priority, r % 23 == 0, doctors[h],
                    submitted, state, "wang.expert" if state == "offered" else None,
                    "wang.expert" if state not in ("offered", "awaiting_images") else None,
                    "chen.senior" if state == "returned" else None, target, due,
                    submitted + dt.timedelta(minutes=target * 0.75), False,
                    final_at is not None and final_at > due, 1 if state == "returned" else 0,
                    final_at, final_at, n_events, final_at or submitted,
                ))  # fmt: skip
                for seq, (action, src, dst, actor) in enumerate(PATH[:n_events], start=1):
                    who = doctors[h] if actor == "county" else actor
                    role = {"system": "system", "wang.expert": "expert", "chen.senior": "senior"}.get(
                        who, "county_doctor"
                    )
                    audit_rows.append((rid, seq, action, src, dst, who, role, submitted + dt.timedelta(minutes=seq)))
                if state == "returned":
                    findings, impression = FINDINGS[r % len(FINDINGS)]
                    size = 4 + r % 20
                    report_rows.append((rid, 1, "final", "chen.senior", "senior", "陈明 Chen Ming",
                                        findings.format(n=size), impression, False, final_at))  # fmt: skip
            await conn.copy_records_to_table(
                "referrals",
                columns=["id", "requesting_hospital_id", "reading_hospital_id", "agreement_id", "patient_ref",
                         "study_instance_uid", "modality", "body_part", "clinical_question", "priority", "difficult",
                         "submitted_by", "submitted_at", "state", "offered_to", "reader_id", "signer_id",
                         "sla_target_minutes", "sla_due_at", "sla_warn_at", "warned", "breached", "report_version",
                         "final_at", "closed_at", "last_seq", "updated_at"],
                records=ref_rows,
            )  # fmt: skip
            await conn.copy_records_to_table(
                "audit_events",
                columns=["referral_id", "seq", "action", "from_state", "to_state", "actor_id", "actor_role", "at"],
                records=audit_rows,
            )
            await conn.copy_records_to_table(
                "report_versions",
                columns=["referral_id", "version", "kind", "author_id", "author_role", "author_name", "findings",
                         "impression", "critical", "created_at"],
                records=report_rows,
            )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    out.hospitals, out.patients, out.referrals = hospitals, n_patients, referrals
    out.open = sum(1 for row in ref_rows if row[13] != "returned")
    out.audit_events, out.reports = len(audit_rows), len(report_rows)
    out.seconds, out.county_doctors = round(time.monotonic() - t0, 1), doctors
    return out


# ---- the live load -------------------------------------------------------------------------------------------
SCREENS = ("worklist", "dashboard", "search", "submit")


@dataclass
class LiveLoad:
    """What the live load saw: each answered request's seconds per screen, each failed one's cause per screen (the
    step, the status and the start of the body, or the exception), and the referrals it submitted."""

    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SCREENS})
    errors: dict[str, list[str]] = field(default_factory=dict)
    submitted: list[str] = field(default_factory=list)

    def first_errors(self) -> dict[str, str]:
        return {screen: causes[0] for screen, causes in self.errors.items()}


async def live_load(base_url: str, doctors: list[str], seconds: float, users: int, *, client: Any = None) -> LiveLoad:
    """`users` people at once for `seconds`, each going round the screens (at least once)."""
    import httpx
    from tests.support.stow import CONTENT_TYPE, one_image_study

    own = client is None
    http = client or httpx.AsyncClient(base_url=base_url, timeout=60)
    tokens: dict[str, str] = {}

    async def token(user: str) -> str:
        if user not in tokens:
            r = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
            r.raise_for_status()
            tokens[user] = r.json()["access_token"]
        return tokens[user]

    for user in ("wang.expert", "liu.coord", *doctors[:users]):
        await token(user)
    out = LiveLoad()
    deadline = time.monotonic() + seconds
    words = ("磨玻璃结节", "肺炎", "囊肿", "nodule", "腔隙性脑梗死")

    async def submit(i: int, rng: random.Random) -> tuple[str, httpx.Response]:
        """A county doctor's new case: its study by STOW-RS, then the referral; (the step, its answer)."""
        auth = {"Authorization": f"Bearer {await token(doctors[i % len(doctors)])}"}
        study, body = one_image_study(f"LIVE-{uuid.uuid4().hex[:8]}")
        r = await http.post("/dicomweb/studies", content=body, headers={**auth, "Content-Type": CONTENT_TYPE})
        if r.status_code != 200:
            return "STOW-RS", r
        r = await http.post("/api/referrals", headers=auth, json={
            "patient": {"patient_id": f"LIVE-{i}-{rng.randrange(10**6)}", "name": "新病人 New",
                        "birth_date": "1966-06-06", "sex": "M"},
            "study_instance_uid": study, "modality": "CT", "body_part": "CHEST",
            "clinical_question": "live load", "priority": "routine", "difficult": False})  # fmt: skip
        if r.status_code < 400:
            out.submitted.append(r.json()["id"])
        return "POST /api/referrals", r

    async def one(i: int) -> None:
        rng = random.Random(i)
        k = 0
        # Each person goes round the screens in turn (from a different one), at least once whatever the deadline.
        while time.monotonic() < deadline or k < len(SCREENS):
            screen = SCREENS[(i + k) % len(SCREENS)]
            k += 1
            t0 = time.perf_counter()
            step = "GET"
            try:
                if screen == "worklist":
                    r = await http.get("/api/referrals", params={"limit": 50},
                                       headers={"Authorization": f"Bearer {await token('wang.expert')}"})  # fmt: skip
                elif screen == "dashboard":
                    r = await http.get("/api/dashboard",
                                       headers={"Authorization": f"Bearer {await token('liu.coord')}"})  # fmt: skip
                elif screen == "search":
                    r = await http.get("/api/search", params={"q": rng.choice(words)},
                                       headers={"Authorization": f"Bearer {await token('wang.expert')}"})  # fmt: skip
                else:
                    step, r = await submit(i, rng)
            except httpx.HTTPError as exc:  # a timeout or a dropped connection is the screen's error, not the bench's
                out.errors.setdefault(screen, []).append(f"{step}: {type(exc).__name__} {exc}")
                continue
            elapsed = time.perf_counter() - t0
            if r.status_code >= 400:
                out.errors.setdefault(screen, []).append(f"{step}: {r.status_code} {r.text[:300]}")
            else:
                out.times[screen].append(elapsed)

    try:
        await asyncio.gather(*(one(i) for i in range(users)))
    finally:
        if own:
            await http.aclose()
    if out.errors:
        counts = {screen: len(causes) for screen, causes in out.errors.items()}
        print(f"errors {counts}; the first of each screen: {out.first_errors()}", flush=True)
    return out


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(values), "p50_ms": round(statistics.median(values) * 1000, 1), "p95_ms": round(p95 * 1000, 1)}


# ---- the services ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def services(tmp: Path) -> Iterator[dict[str, Any]]:
    import httpx

    from yilian.db.demo import migrate_and_seed
    from yilian.runtime import opensearch, postgres, temporal
    from yilian.runtime.process import free_port

    pg = postgres.start_embedded_postgres(tmp / "pg", durable=True)
    dev = temporal.start_dev_server(tmp / "temporal")
    node = opensearch.start_node(tmp / "opensearch")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        migrate_and_seed(pg.sqlalchemy_url)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("YILIAN_")}
        env.update(YILIAN_DATABASE_URL=pg.sqlalchemy_url, YILIAN_TEMPORAL_ADDRESS=dev.address,
                   YILIAN_OPENSEARCH_URL=node.url, YILIAN_VAR_DIR=str(tmp / "var"),
                   YILIAN_STORAGE_URL=f"file://{tmp / 'var' / 'dicom'}", YILIAN_API_PORT=str(port))  # fmt: skip
        for name in ("worker", "api"):
            log = (tmp / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen([sys.executable, "-m", "yilian.cli", name], env=env, stdout=log,
                                           stderr=log, cwd=ROOT)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or procs["api"].poll() is not None:
                raise RuntimeError(f"the API did not come up; see {tmp / 'api.log'}")
            time.sleep(0.5)
        yield {"url": url, "database_url": pg.sqlalchemy_url, "opensearch_url": node.url, "procs": procs,
               "pg_data": pg.data_dir, "opensearch_pid": getattr(node, "pid", None)}  # fmt: skip
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(15)
        for s in (node, dev, pg):
            with contextlib.suppress(Exception):
                s.stop()


async def index_reports(database_url: str, opensearch_url: str, alias: str = "yilian-reports") -> tuple[int, float]:
    from yilian.db.engine import make_engine
    from yilian.search.reindex import sync
    from yilian.search.reports import connect

    t0 = time.monotonic()
    engine, client = make_engine(database_url), connect(opensearch_url, timeout=300)
    try:
        n = await sync(engine, client, alias)
    finally:
        await client.close()
        await engine.dispose()
    return n, round(time.monotonic() - t0, 1)


def cpu_sampler(pids: dict[str, int], stop: asyncio.Event) -> asyncio.Task[dict[str, float]]:
    """Mean CPU % of each named process (and its children: PostgreSQL's backends) while the load runs."""
    import psutil

    async def run() -> dict[str, float]:
        procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        samples: dict[str, list[float]] = {name: [] for name in procs}

        def total(p: psutil.Process) -> float:
            try:
                t = p.cpu_times()
                kids = sum(c.cpu_times().user + c.cpu_times().system for c in p.children(recursive=True))
                return t.user + t.system + kids
            except psutil.Error:
                return 0.0

        last = {n: total(p) for n, p in procs.items()}
        t_last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for n, p in procs.items():
                cur = total(p)
                samples[n].append(100 * (cur - last[n]) / (now - t_last))
                last[n] = cur
            t_last = now
        return {n: round(statistics.mean(v), 1) if v else 0.0 for n, v in samples.items()}

    return asyncio.create_task(run())


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def _opensearch_pid(url: str) -> int | None:
    import psutil

    port = int(url.rsplit(":", 1)[1].strip("/"))
    for c in psutil.net_connections("tcp"):
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            return int(c.pid)
    return None


async def run(args: argparse.Namespace, svc: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    # The services were started by main(), outside the event loop (the migrations run their own).
    loaded = await load_province(svc["database_url"], hospitals=args.hospitals, referrals=args.referrals,
                                 days=args.days)  # fmt: skip
    print(f"loaded {loaded}", flush=True)
    indexed, index_s = await index_reports(svc["database_url"], svc["opensearch_url"])
    print(f"indexed {indexed} signed reports in {index_s} s", flush=True)
    pids = {"api": svc["procs"]["api"].pid, "worker": svc["procs"]["worker"].pid,
            "postgresql": _postmaster_pid(svc["pg_data"])}  # fmt: skip
    if (os_pid := _opensearch_pid(svc["opensearch_url"])) is not None:
        pids["opensearch"] = os_pid
    settle_until = time.monotonic() + args.settle
    while time.monotonic() < settle_until:  # one person round the screens every 2 minutes until the live load
        probe = await live_load(svc["url"], loaded.county_doctors, 0, 1)
        print(f"probe at {dt.datetime.now(dt.UTC):%H:%M:%S}: {len(probe.submitted)} submitted, errors "
              f"{probe.first_errors()}", flush=True)  # fmt: skip
        await asyncio.sleep(max(0.0, min(120.0, settle_until - time.monotonic())))
    stop = asyncio.Event()
    sampler = cpu_sampler(pids, stop)
    t0 = time.monotonic()
    load = await live_load(svc["url"], loaded.county_doctors, args.live, args.users)
    stop.set()
    cpu = await sampler
    wall = time.monotonic() - t0
    screens = {s: percentiles(load.times[s]) for s in SCREENS}
    return {
        "machine": {**facts, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "args": vars(args),
        "loaded": {k: v for k, v in vars(loaded).items() if k != "county_doctors"},
        "indexed": {"reports": indexed, "seconds": index_s},
        "live": {
            "seconds": round(wall, 1),
            "users": args.users,
            "screens": screens,
            "errors": sum(len(v) for v in load.errors.values()),
            "errors_by_screen": {k: len(v) for k, v in load.errors.items()},
            "first_errors": load.first_errors(),
            "requests_per_s": round(sum(len(v) for v in load.times.values()) / wall, 1),
        },  # fmt: skip
        "cpu_percent": cpu,
    }


def _first_limit(summary: dict[str, Any], busiest: tuple[str, float]) -> str:
    """What the CPU samples say, not what we expect: a process near a whole core is the limit; if none is, the
    machine (its other tenants) is."""
    name, pct = busiest
    if pct >= 80:
        return f"`{name}` at {pct} % of a core: it is CPU-bound, the rest waits on it."
    total = round(sum(summary["cpu_percent"].values()), 1)
    load = summary["machine"]["loadavg_at_end"][0]
    return (
        f"no Yilian process was CPU-bound (the busiest, `{name}`, used {pct} % of a core; all of them together "
        f"{total} % of one of the {summary['machine']['nproc']} cores) while the load average stood at {load}: the "
        "limit was the shared machine itself, and requests waited for a core, not for the API, PostgreSQL or "
        "OpenSearch."
    )


def _first_errors(live: dict[str, Any]) -> str:
    return "; ".join(f"{screen} ({live['errors_by_screen'][screen]}): `{cause[:160]}`"
                     for screen, cause in sorted(live.get("first_errors", {}).items()))  # fmt: skip


def render(summary: dict[str, Any], command: str) -> str:
    m, ld, live = summary["machine"], summary["loaded"], summary["live"]
    busiest = max(summary["cpu_percent"].items(), key=lambda kv: kv[1])
    rows = [
        f"| {name} | {s.get('n', 0)} | {s.get('p50_ms', '-')} | {s.get('p95_ms', '-')} | "
        f"{'PASS' if s.get('p95_ms', 10**9) < 1000 else ('n/a' if name == 'submit' else 'FAIL')} |"
        for name, s in live["screens"].items()
    ]
    cpu = ", ".join(f"{k} {v} %" for k, v in sorted(summary["cpu_percent"].items(), key=lambda kv: -kv[1]))
    return "\n".join([
        SECTION, "",
        f"Command: `{command}`. Run {m['date']} on {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB; load "
        f"average {m['loadavg_at_start']} at the start and {m['loadavg_at_end']} at the end: the machine was shared "
        "with up to 8 helpers building and testing at the same time, so these are figures under contention, not a "
        "quiet machine's.", "",
        f"Loaded by COPY in {ld['seconds']} s: {ld['hospitals']} county hospitals, {ld['patients']} patients, "
        f"{ld['referrals']} referrals over {summary['args']['days']} days ({ld['open']} open), "
        f"{ld['audit_events']} audit events, {ld['reports']} final reports; {summary['indexed']['reports']} signed "
        f"reports indexed into OpenSearch in {summary['indexed']['seconds']} s.", "",
        f"Live load through the API: {live['users']} people at once for {live['seconds']} s, "
        f"{live['requests_per_s']} requests/s, {live['errors']} errors"
        + (f" (the first of each screen: {_first_errors(live)})." if live["errors"] else "."), "",
        "| screen | requests | p50 ms | p95 ms | p95 < 1 s |", "|---|---|---|---|---|", *rows, "",
        f"Mean CPU during the live load (100 % = one core): {cpu}.", "",
        f"**First limit on this machine:** {_first_limit(summary, busiest)}", "",
        "**What the deployed topology changes** (docs/deploy.md): API replicas behind the load balancer add "
        "event loops (the API is stateless; the chaos test runs two behind nginx) for when the API is the "
        "CPU-bound process; PostgreSQL on its own "
        "instance keeps the worklist and dashboard queries (indexed, one round trip each) off the API's cores; "
        "OpenSearch as a cluster of its own takes the search latency off the shared cores; the worker scales by "
        "adding processes on the same task queue (watch `yilian_temporal_activity_schedule_to_start_seconds`).", "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hospitals", type=int, default=30)
    parser.add_argument("--referrals", type=int, default=150_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--live", type=float, default=60.0, help="seconds of live load")
    parser.add_argument("--users", type=int, default=8, help="people at once in the live load")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait before the live load (probing)")
    parser.add_argument("--keep", action="store_true", help="keep the services' directory (logs, data) after the run")
    args = parser.parse_args()
    facts = machine_facts()
    with contextlib.ExitStack() as stack:
        tmp = (
            tempfile.mkdtemp(prefix="yilian-region-")
            if args.keep
            else stack.enter_context(tempfile.TemporaryDirectory(prefix="yilian-region-"))
        )
        svc = stack.enter_context(services(Path(tmp)))
        summary = asyncio.run(run(args, svc, facts))
    if args.keep:
        print(f"kept {tmp} (api.log, worker.log, the databases)", flush=True)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if not args.no_docs:
        command = "python bench/region.py " + " ".join(sys.argv[1:])
        replace_section(ROOT / "docs" / "benchmarks.md", SECTION, render(summary, command.strip()))
    if summary["live"]["errors"]:  # figures with failed requests are not a result: say so by the exit status
        sys.exit(f"region bench: {summary['live']['errors']} requests failed: {summary['live']['first_errors']}")


if __name__ == "__main__":
    main()
