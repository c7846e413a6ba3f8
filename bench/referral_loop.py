#!/usr/bin/env python
"""Referral-loop benchmark (issue 2): the whole Yilian loop over real HTTP, against a bare Temporal baseline.

    python bench/referral_loop.py [--open 2000] [--referrals 100] [--users 8]

What it does, all on 127.0.0.1 in a fresh temporary directory:

1. Starts an embedded PostgreSQL (durable=True: fsync on, as `yilian up` runs it) and the Temporal dev
   server (`start_dev_server`: SQLite with WAL + synchronous=normal), migrates, seeds the demo alliance.
   Runs the worker as a separate process (`python -m yilian.cli worker`) and the API as another
   (`python -m yilian.cli api`, uvicorn): the deployment shape, and on 2 cores it keeps the worker's,
   the API's and this driver's event loops from sharing one GIL.
   Every referral's study goes into the archive first (one 16x16 image by STOW-RS, tests/support/stow.py):
   a referral whose study has not arrived waits in awaiting_images instead of routing.
2. Background: `--open` referrals submitted through the API (routine priority, CT chest / MR head /
   US abdomen so routing spreads them over the three experts), each right after its study; 9 in 10 are
   accepted (in_reading: live SLA timers), every tenth is left offered (live offer-timeout timer, 10 min).
   Bounded by --background-budget seconds: on a busy 2-core box 2000 do not fit, and the run says how many did.
3. Measured: the studies of the measured referrals are sent (untimed), then `--referrals` urgent referrals
   are driven through the whole loop by `--users` concurrent simulated users (asyncio tasks): submit ->
   offered -> accept -> draft -> preliminary -> approve (chen.senior) -> returned -> acknowledge-receipt ->
   closed. After each action's response it polls the worklist of whoever sees the case next until the case
   shows the new state/seq.
4. Baseline: a trivial workflow defined here (one update handler, trivial activities; the same number
   of updates and activities per loop as the referral's history shows, in the same places), driven by
   the same number of users straight through the Temporal client, served by its own worker process.
5. Prints a JSON summary and a markdown table, and writes the table to docs/benchmarks.md.

Top-level imports are stdlib + temporalio only: the sandbox re-imports this module for the baseline workflow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
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
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from docs_section import replace_section
from processes import stop_processes  # bench/ is on sys.path: these run as scripts
from stack import wait_http
from temporalio import activity, workflow

BASELINE_QUEUE = "bench-baseline"
PROBE_FIRST, BACKGROUND_FIRST = 10**6, 2 * 10**6  # referral numbers: measured loops 0.., single-user probe, background
POLL_INTERVAL = 0.02  # seconds between visibility / machine-step polls, Yilian and baseline alike
SECTION = "## Referral loop (issue 2)"


# ---- the bare Temporal baseline ------------------------------------------------------------------
@activity.defn(name="bench_noop")
async def bench_noop(step: int) -> int:
    return step


@workflow.defn(name="BenchBaseline")
class BenchBaseline:
    """plan[i] = [batches inside update i, batches the workflow runs on its own after update i]; a batch is the
    number of activities scheduled together (run concurrently), e.g. [[[1], [1, 1, 1]], [[1], []], ...]."""

    @workflow.init
    def __init__(self, plan: list[list[list[int]]]) -> None:
        self._plan = plan
        self._updates_done = 0
        self._machine_done = 0

    async def _batches(self, batches: list[int], step: int) -> None:
        for size in batches:
            await asyncio.gather(
                *(
                    workflow.execute_activity(bench_noop, step, start_to_close_timeout=timedelta(seconds=30))
                    for _ in range(size)
                )
            )

    @workflow.run
    async def run(self, plan: list[list[list[int]]]) -> int:
        for i, (_, after) in enumerate(self._plan):
            await workflow.wait_condition(lambda i=i: self._updates_done > i)  # type: ignore[misc]
            await self._batches(after, i)
            self._machine_done = i + 1
        # Like a closed referral (amendment window), the workflow stays open on a long timer.
        await workflow.wait_condition(lambda: False, timeout=timedelta(days=30))
        return len(self._plan)

    @workflow.update
    async def act(self, step: int) -> int:
        await self._batches(self._plan[step][0], step)
        self._updates_done = step + 1
        return step

    @workflow.query
    def machine_done(self) -> int:
        return self._machine_done


def profiled_main(command: str, out: str) -> None:
    """`yilian <command>` under cProfile (--profile); on SIGTERM the profile is written and the process exits."""
    import cProfile
    import signal

    prof = cProfile.Profile()

    def stop(*_: Any) -> None:
        prof.disable()
        prof.dump_stats(out)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    from yilian import cli

    prof.enable()
    cli.main([command])


def baseline_worker_main(address: str) -> None:
    """Entry point of the baseline worker process (same worker options as yilian.worker.build_worker)."""
    from temporalio.worker import Worker

    from yilian.temporal_client import connect

    async def main() -> None:
        client = await connect(address)  # same data converter as Yilian, for a fair baseline
        async with Worker(
            client,
            task_queue=BASELINE_QUEUE,
            workflows=[BenchBaseline],
            activities=[bench_noop],
            max_cached_workflows=2000,
        ):
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


# ---- measurement helpers -------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def dist(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50_ms": _r(pct(ms, 50)), "p95_ms": _r(pct(ms, 95)), "max_ms": _r(max(ms) if ms else None)}


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(v, nd)


CLK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children_too: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # after the ")": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state
    t = int(fields[11]) + int(fields[12])
    if children_too:
        t += int(fields[13]) + int(fields[14])
    return t / CLK


def _children(ppid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rpartition(")")[2].split()[1]) == ppid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _box_busy() -> float:
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK


class CpuMeter:
    """CPU seconds used by each of our processes (PostgreSQL: postmaster + backends) and by the whole box."""

    def __init__(self, procs: dict[str, int], pg_postmaster: int | None) -> None:
        self.procs = procs
        self.pg = pg_postmaster

    def sample(self) -> dict[str, float]:
        s = {name: _proc_cpu(pid) for name, pid in self.procs.items()}
        if self.pg:
            s["postgres"] = _proc_cpu(self.pg, children_too=True) + sum(_proc_cpu(c) for c in _children(self.pg))
        s["box"] = _box_busy()
        return s

    @staticmethod
    def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        d = {k: round(b[k] - a.get(k, 0.0), 2) for k in b}
        d["other_processes"] = round(d["box"] - sum(v for k, v in d.items() if k != "box"), 2)
        return d


def _listening_ports(pid: int) -> list[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
                    ports.append(int(parts[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def find_metrics_url(pid: int) -> str | None:
    """The dev server serves Prometheus /metrics on a random port unless --metrics-port is given."""
    for port in _listening_ports(pid):
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if b"# TYPE" in r.read(4096):
                    return url
        except Exception:  # noqa: BLE001 - gRPC/HTTP-API ports answer with garbage or reset
            continue
    return None


def state_transitions(metrics_url: str | None) -> float | None:
    """The dev server's `state_transition_count_count` for namespace 'default'.

    The histogram observes each workflow's *cumulative* transition count on every mutable-state update, so its
    _sum is meaningless for us; its _count is the number of state transitions (persisted updates) made.
    """
    if metrics_url is None:
        return None
    with urllib.request.urlopen(metrics_url, timeout=5) as r:
        text = r.read().decode()
    total = None
    for line in text.splitlines():
        if line.startswith("state_transition_count_count{") and 'namespace="default"' in line:
            total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
    return total


# ---- the services ---------------------------------------------------------------------------------
@dataclass
class Services:
    tmp: Path
    pg: Any
    dev: Any
    database_url: str
    temporal_address: str
    api_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def stop(self) -> None:
        stop_processes(self.procs)
        with contextlib.suppress(Exception):
            self.dev.stop()
        with contextlib.suppress(Exception):
            self.pg.stop()


def _spawn(name: str, args: list[str], env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)


def start_services(tmp: Path, durable_pg: bool, profile: Path | None = None) -> Services:
    from yilian.db.demo import migrate_and_seed
    from yilian.runtime import postgres, temporal

    t0 = time.monotonic()
    pg = postgres.start_embedded_postgres(tmp / "pg", durable=durable_pg)
    dev = temporal.start_dev_server(tmp / "temporal")
    url = pg.sqlalchemy_url
    migrate_and_seed(url)
    api_port = postgres.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YILIAN_", "TEMPORAL_"))}
    env.update(
        {
            "YILIAN_DATABASE_URL": url,
            "YILIAN_TEMPORAL_ADDRESS": dev.address,
            "YILIAN_VAR_DIR": str(tmp / "var"),
            "YILIAN_STORAGE_URL": f"file://{tmp / 'var' / 'dicom'}",
            "YILIAN_API_HOST": "127.0.0.1",
            "YILIAN_API_PORT": str(api_port),
            "YILIAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            # The bench refers every study by hand. Left on, auto-referral (the demo's Anping is full hosting)
            # would refer each STOW'd study a second time 120 s later, inside the measured phases.
            "YILIAN_AUTO_REFERRAL": "false",
        }
    )
    svc = Services(tmp, pg, dev, url, dev.address, f"http://127.0.0.1:{api_port}")
    try:
        here = str(Path(__file__).resolve().parent)
        for command in ("worker", "api"):
            if profile is None:
                args = [sys.executable, "-m", "yilian.cli", command]
            else:
                code = (
                    "import sys; sys.path.insert(0, sys.argv[1]); import referral_loop as b; "
                    "b.profiled_main(sys.argv[2], sys.argv[3])"
                )
                args = [sys.executable, "-c", code, here, command, str(profile / f"{command}.prof")]
            svc.procs[command] = _spawn(command, args, env, tmp)
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import referral_loop as b; "
            "b.baseline_worker_main(sys.argv[2])"
        )
        svc.procs["baseline_worker"] = _spawn(
            "baseline_worker", [sys.executable, "-c", code, here, dev.address], env, tmp
        )
        wait_http(f"{svc.api_url}/api/health", "api", svc.procs, tmp, timeout=60)
    except BaseException:
        svc.stop()
        raise
    print(
        f"services up in {time.monotonic() - t0:.1f} s: PG {pg.dsn} (durable={durable_pg}), "
        f"Temporal {dev.address}, API {svc.api_url}",
        flush=True,
    )
    return svc


# ---- driving the API ------------------------------------------------------------------------------
MIX = (("CT", "CHEST"), ("MR", "HEAD"), ("US", "ABDOMEN"))  # -> wang.expert, li.expert, zhang.expert
REPORT = {
    "findings": "右肺上叶见一约8mm磨玻璃结节，边界清。 8 mm ground-glass nodule in the right upper lobe.",
    "impression": "右肺上叶磨玻璃结节，建议3个月复查。 GGN RUL, follow-up CT in 3 months.",
    "structured": {"lung_rads": "3"},
}
USERS = ("zhao.anping", "wang.expert", "li.expert", "zhang.expert", "chen.senior")


class BenchError(RuntimeError):
    pass


class Http:
    def __init__(self, client: Any) -> None:
        self.c = client
        self.tokens: dict[str, str] = {}
        self.requests = 0

    async def login_all(self) -> None:
        from yilian.db.demo import DEMO_PASSWORD

        for u in USERS:
            r = await self.c.post("/api/auth/login", json={"username": u, "password": DEMO_PASSWORD})
            if r.status_code != 200:
                raise BenchError(f"login {u}: {r.status_code} {r.text}")
            self.tokens[u] = r.json()["access_token"]

    async def call(
        self, user: str, method: str, path: str, status: int = 200, headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        self.requests += 1
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **(headers or {})}
        r = await self.c.request(method, path, headers=headers, **kw)
        if r.status_code != status:
            raise BenchError(f"{method} {path} as {user}: {r.status_code} {r.text[:300]}")
        return r.json()


def referral_body(n: int, run: str, priority: str) -> dict[str, Any]:
    modality, body_part = MIX[n % len(MIX)]
    return {
        "patient": {"patient_id": f"B{run}{n:06d}", "name": f"测试 Bench {n}", "birth_date": "1970-01-01", "sex": "F"},
        "study_instance_uid": f"1.2.826.0.1.3680043.8.498.{int(run, 16)}.{n}",
        "modality": modality,
        "body_part": body_part,
        "clinical_question": "咳嗽两周，排除占位 / rule out a mass",
        "priority": priority,
        "difficult": False,
    }


async def send_study(http: Http, n: int, run: str) -> None:
    """Referral n's study into the archive first, as one small image by STOW-RS (tests/support/stow.py): a case
    whose study has not arrived waits in awaiting_images instead of routing."""
    from tests.support.stow import CONTENT_TYPE, one_image_study  # main() put the repository root on sys.path

    body = referral_body(n, run, "routine")
    _, stow = one_image_study(body["patient"]["patient_id"], body["study_instance_uid"])
    await http.call("zhao.anping", "POST", "/dicomweb/studies", content=stow, headers={"Content-Type": CONTENT_TYPE})


async def send_studies(http: Http, numbers: list[int], run: str, concurrency: int) -> float:
    """The studies of referrals `numbers`, `concurrency` STOW-RS requests at a time; wall seconds."""
    t0 = time.perf_counter()
    todo = iter(numbers)

    async def sender() -> None:
        for n in todo:
            await send_study(http, n, run)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - t0


@dataclass
class Stats:
    action_rtt: dict[str, list[float]] = field(default_factory=dict)  # request sent -> response
    resp_to_visible: dict[str, list[float]] = field(default_factory=dict)  # response -> in the worklist
    sent_to_visible: dict[str, list[float]] = field(default_factory=dict)  # request sent -> in the worklist
    machine: dict[str, list[float]] = field(default_factory=dict)  # response -> machine step visible
    worklist_polls: list[int] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    completed_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    offered_to: dict[str, int] = field(default_factory=dict)

    def add(self, bucket: dict[str, list[float]], key: str, value: float) -> None:
        bucket.setdefault(key, []).append(value)

    @staticmethod
    def all(bucket: dict[str, list[float]]) -> list[float]:
        return [v for vs in bucket.values() for v in vs]


async def wait_detail(
    http: Http, user: str, rid: str, states: set[str], within: float, interval: float
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        row = await http.call(user, "GET", f"/api/referrals/{rid}")
        if row["state"] in states:
            return row  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise BenchError(f"{rid} stayed {row['state']} for {within:.0f} s, wanted {sorted(states)}")
        await asyncio.sleep(interval)


async def wait_worklist(
    http: Http, viewer: str, rid: str, states: list[str], seq: int, limit: int, within: float = 15.0
) -> int:
    """Poll the viewer's worklist (filtered by state, as the UI tabs do) until rid shows with last_seq >= seq."""
    deadline = time.monotonic() + within
    polls = 0
    while True:
        polls += 1
        page = await http.call(viewer, "GET", "/api/referrals", params={"state": states, "limit": limit})
        if any(i["id"] == rid and i["seq"] >= seq for i in page["items"]):
            return polls
        if time.monotonic() > deadline:
            raise BenchError(f"{rid} (seq>={seq}, {states}) not in {viewer}'s worklist after {within:.0f} s")
        await asyncio.sleep(POLL_INTERVAL)


async def act_and_see(
    http: Http,
    st: Stats,
    name: str,
    user: str,
    method: str,
    path: str,
    body: Any,
    viewer: str,
    states: list[str],
    status: int = 200,
    limit: int = 50,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = await http.call(user, method, path, status, json=body)
    t1 = time.perf_counter()
    polls = await wait_worklist(http, viewer, out["id"], states, out["seq"], limit)
    t2 = time.perf_counter()
    st.add(st.action_rtt, name, t1 - t0)
    st.add(st.resp_to_visible, name, t2 - t1)
    st.add(st.sent_to_visible, name, t2 - t0)
    st.worklist_polls.append(polls)
    return out  # type: ignore[no-any-return]


async def full_loop(http: Http, st: Stats, n: int, run: str, done_limit: int) -> str:
    county, senior = "zhao.anping", "chen.senior"
    sub = await act_and_see(
        http,
        st,
        "submit",
        county,
        "POST",
        "/api/referrals",
        referral_body(n, run, "urgent"),
        county,
        ["submitted", "offered"],
        status=201,
    )
    rid = sub["id"]
    t = time.perf_counter()
    row = await wait_detail(http, county, rid, {"offered"}, 30, POLL_INTERVAL)
    st.add(st.machine, "routing (submit response -> offered)", time.perf_counter() - t)
    expert = row["offered_to"]
    st.offered_to[expert] = st.offered_to.get(expert, 0) + 1
    if expert == senior:
        raise BenchError(f"{rid} was offered to {senior}, who cannot then second-read it")
    base = f"/api/referrals/{rid}"
    await act_and_see(http, st, "accept", expert, "POST", f"{base}/accept", {}, expert, ["in_reading"])
    await act_and_see(http, st, "draft", expert, "PUT", f"{base}/draft", REPORT, expert, ["in_reading"])
    await act_and_see(http, st, "preliminary", expert, "POST", f"{base}/preliminary", REPORT, senior, ["preliminary"])
    await act_and_see(
        http,
        st,
        "approve",
        senior,
        "POST",
        f"{base}/approve",
        {"discrepancy": "agree"},
        county,
        ["final", "returned"],
        limit=done_limit,
    )
    t = time.perf_counter()
    await wait_detail(http, county, rid, {"returned"}, 30, POLL_INTERVAL)
    st.add(st.machine, "return (approve response -> returned)", time.perf_counter() - t)
    await act_and_see(
        http, st, "acknowledge", county, "POST", f"{base}/acknowledge-receipt", {}, county, ["closed"], limit=done_limit
    )
    return rid  # type: ignore[no-any-return]


async def run_users(users: int, count: int, budget_s: float, one: Any, st: Stats) -> float:
    """`users` tasks take loop numbers 0..count-1 until done or the time budget is spent; returns wall seconds."""
    nxt = iter(range(count))
    deadline = time.monotonic() + budget_s
    t0 = time.perf_counter()

    async def user() -> None:
        for n in nxt:
            if time.monotonic() > deadline:
                return
            try:
                st.completed.append(await one(n))
                st.completed_at.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - recorded, reported, the run goes on
                st.errors.append(f"{type(exc).__name__}: {exc}"[:400])
                if len(st.errors) > 20:
                    raise

    await asyncio.wait_for(asyncio.gather(*(user() for _ in range(users))), budget_s + 60)
    return time.perf_counter() - t0


async def create_background(http: Http, n_open: int, run: str, concurrency: int, budget_s: float) -> dict[str, Any]:
    st = Stats()
    accepted = [0]

    async def one(i: int) -> str:
        n = BACKGROUND_FIRST + i  # numbers (study and patient) of their own, apart from the measured loops'
        await send_study(http, n, run)
        sub = await http.call("zhao.anping", "POST", "/api/referrals", 201, json=referral_body(n, run, "routine"))
        row = await wait_detail(http, "zhao.anping", sub["id"], {"offered"}, 60, 0.1)
        expert = row["offered_to"]
        st.offered_to[expert] = st.offered_to.get(expert, 0) + 1
        if i % 10 != 9:  # every tenth stays offered
            await http.call(expert, "POST", f"/api/referrals/{sub['id']}/accept", json={})
            accepted[0] += 1
        return sub["id"]  # type: ignore[no-any-return]

    last_report = [time.monotonic()]

    async def progress(n: int) -> str:
        rid = await one(n)
        if time.monotonic() - last_report[0] > 15:
            last_report[0] = time.monotonic()
            print(f"  background: {len(st.completed) + 1}/{n_open}", flush=True)
        return rid

    wall = await run_users(concurrency, n_open, budget_s, progress, st)
    # Does creation slow down as open referrals pile up? Rate in each quarter of the created count.
    times = sorted(st.completed_at)
    quarters = []
    for q in range(4):
        lo, hi = len(times) * q // 4, len(times) * (q + 1) // 4
        if hi - lo >= 2:
            span = times[hi - 1] - (times[lo - 1] if lo else 0.0)
            quarters.append(round((hi - lo) / span, 2) if span > 0 else None)
    return {
        "rate_by_quarter_per_s": quarters,
        "requested": n_open,
        "created": len(st.completed),
        "wall_s": round(wall, 1),
        "rate_per_s": round(len(st.completed) / wall, 2) if wall else None,
        "accepted_in_reading": accepted[0],
        "left_offered": len(st.completed) - accepted[0],
        "by_expert": st.offered_to,
        "errors": st.errors[:5],
        "concurrency": concurrency,
    }


# ---- history: events, activities, and the baseline plan -------------------------------------------
async def history_facts(client: Any, workflow_ids: list[str]) -> dict[str, Any]:
    """Events and activities per loop, where the time goes (from event timestamps), and the baseline plan.

    plan[i] = [batches the loop waits for inside update i, batches the workflow runs by itself after it]; a batch
    = activities scheduled by one workflow task. A batch scheduled by the workflow task that also completes the
    update is not waited for by the update (it belongs to "after"). The most common plan is returned.
    """
    from temporalio.api.enums.v1 import EventType as E

    events, activities, plans = [], [], []
    wft_queue, wft_run, upd = [], [], {}  # type: ignore[var-annotated]
    act_queue: dict[str, list[float]] = {}
    act_exec: dict[str, list[float]] = {}
    for wid in workflow_ids:
        hist = await client.get_workflow_handle(wid).fetch_history()
        evs = list(hist.events)
        events.append(len(evs))
        activities.append(sum(1 for e in evs if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
        at = {e.event_id: e.event_time.ToDatetime().timestamp() for e in evs}
        act_name: dict[int, str] = {}
        upd_start: dict[str, tuple[str, float]] = {}
        # batches: [update index, inside?, batch id (the workflow task completion that scheduled it), size]
        batches: list[list[Any]] = []
        n_updates, open_updates, wft = 0, set(), 0
        for e in evs:
            t = e.event_type
            if t == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                wft_queue.append(at[e.event_id] - at[e.workflow_task_started_event_attributes.scheduled_event_id])
            elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                wft_run.append(at[e.event_id] - at[e.workflow_task_completed_event_attributes.started_event_id])
                wft = e.event_id
            elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                a = e.workflow_execution_update_accepted_event_attributes
                open_updates.add(a.protocol_instance_id)
                upd_start[a.protocol_instance_id] = (a.accepted_request.input.name, at[e.event_id])
                n_updates += 1
            elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                uid = e.workflow_execution_update_completed_event_attributes.meta.update_id
                open_updates.discard(uid)
                if uid in upd_start:
                    name, t0 = upd_start.pop(uid)
                    upd.setdefault(name, []).append(at[e.event_id] - t0)
                for b in batches:
                    if b[2] == wft:
                        b[1] = False
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                act_name[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
                if n_updates:
                    if batches and batches[-1][2] == wft:
                        batches[-1][3] += 1
                    else:
                        batches.append([n_updates - 1, bool(open_updates), wft, 1])
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = e.activity_task_started_event_attributes.scheduled_event_id
                act_queue.setdefault(act_name.get(sid, "?"), []).append(at[e.event_id] - at[sid])
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                a = e.activity_task_completed_event_attributes
                act_exec.setdefault(act_name.get(a.scheduled_event_id, "?"), []).append(
                    at[e.event_id] - at[a.started_event_id]
                )
        plan: list[list[list[int]]] = [[[], []] for _ in range(n_updates)]
        for u, inside, _, size in batches:
            plan[u][0 if inside else 1].append(size)
        plans.append(json.dumps(plan))
    counts: dict[str, int] = {}
    for p in plans:
        counts[p] = counts.get(p, 0) + 1
    common = max(counts, key=lambda k: counts[k])
    return {
        "events_per_loop": {"min": min(events), "max": max(events), "mean": round(statistics.mean(events), 2)},
        "activities_per_loop": {
            "min": min(activities),
            "max": max(activities),
            "mean": round(statistics.mean(activities), 2),
        },
        "plan": json.loads(common),
        "plan_share": round(counts[common] / len(plans), 2),
        "plans_distinct": len(counts),
        "timing": {
            "workflow_task_schedule_to_start": dist(wft_queue),
            "workflow_task_start_to_complete": dist(wft_run),
            "update_accepted_to_completed": {k: dist(v) for k, v in upd.items()},
            "activity_schedule_to_start": dist(Stats.all(act_queue)),
            "activity_start_to_complete": {k: dist(v) for k, v in act_exec.items()},
        },
    }


# ---- the baseline driver ------------------------------------------------------------------------
async def baseline_loop(client: Any, st: Stats, wid: str, plan: list[list[list[int]]]) -> str:
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    op = WithStartWorkflowOperation(
        BenchBaseline.run, plan, id=wid, task_queue=BASELINE_QUEUE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
    )
    handle = None
    for step, (_, after) in enumerate(plan):
        t0 = time.perf_counter()
        if step == 0:
            await client.execute_update_with_start_workflow(BenchBaseline.act, 0, start_workflow_operation=op)
            handle = await op.workflow_handle()
        else:
            assert handle is not None
            await handle.execute_update(BenchBaseline.act, step)
        t1 = time.perf_counter()
        st.add(st.action_rtt, f"update {step}", t1 - t0)
        if after:
            deadline = time.monotonic() + 30
            while await handle.query(BenchBaseline.machine_done) <= step:
                if time.monotonic() > deadline:
                    raise BenchError(f"{wid}: machine step {step} not done in 30 s")
                await asyncio.sleep(POLL_INTERVAL)
            st.add(st.machine, f"after update {step}", time.perf_counter() - t1)
    return wid


# ---- docs -----------------------------------------------------------------------------------------
def machine_facts() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else ""
    import temporalio

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "os": platform.platform(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("PASS" if flag else "FAIL")


def render(summary: dict[str, Any]) -> str:
    y, b, g = summary["yilian"], summary["baseline"], summary["goals"]
    bg, mf = summary["background"], summary["machine"]
    lines = [
        "| measure | Yilian (HTTP + worker + PG) | bare Temporal baseline | Yilian / baseline |",
        "|---|---|---|---|",
        f"| loops completed | {y['completed']}/{y['requested']} | {b['completed']}/{b['requested']} | |",
        f"| completed loops/s (end to end, {summary['args']['users']} users) | {y['per_s']} | {b['per_s']} | "
        f"{summary['ratios']['throughput']} |",
        f"| action round trip p50 / p95 ms (HTTP request -> response; baseline: update call) | "
        f"{y['action_rtt']['p50_ms']} / {y['action_rtt']['p95_ms']} | {b['update_rtt']['p50_ms']} / "
        f"{b['update_rtt']['p95_ms']} | {summary['ratios']['rtt_p50']} / {summary['ratios']['rtt_p95']} |",
        f"| action sent -> visible in worklist p50 / p95 ms | {y['sent_to_visible']['p50_ms']} / "
        f"{y['sent_to_visible']['p95_ms']} | (= update round trip) {b['update_rtt']['p50_ms']} / "
        f"{b['update_rtt']['p95_ms']} | {summary['ratios']['visible_p50']} / {summary['ratios']['visible_p95']} |",
        f"| action response -> visible in worklist p50 / p95 ms | {y['resp_to_visible']['p50_ms']} / "
        f"{y['resp_to_visible']['p95_ms']} | — | |",
        f"| machine steps p50 / p95 ms ({'; '.join(y['machine'])}) | "
        + "; ".join(f"{d['p50_ms']} / {d['p95_ms']}" for d in y["machine"].values())
        + " | "
        + "; ".join(f"{d['p50_ms']} / {d['p95_ms']}" for d in b["machine"].values())
        + " | |",
        f"| Temporal state transitions per loop (dev server /metrics) | {y['state_transitions_per_loop']} | "
        f"{b['state_transitions_per_loop']} | {summary['ratios']['state_transitions']} |",
        f"| workflow history events per loop (fetch_history) | {y['history']['events_per_loop']['mean']} | "
        f"{b['history']['events_per_loop']['mean']} | |",
        f"| activities per loop (ActivityTaskScheduled) | {y['history']['activities_per_loop']['mean']} | "
        f"{b['history']['activities_per_loop']['mean']} | |",
        f"| single user (no concurrency), {y['single_user']['loops']} loops: action round trip p50 / p95 ms | "
        f"{y['single_user']['action_rtt']['p50_ms']} / {y['single_user']['action_rtt']['p95_ms']} | "
        f"{b['single_user']['update_rtt']['p50_ms']} / {b['single_user']['update_rtt']['p95_ms']} | "
        f"{summary['ratios']['single_rtt_p50']} / {summary['ratios']['single_rtt_p95']} |",
        f"| single user: action sent -> visible in worklist p50 / p95 ms | "
        f"{y['single_user']['sent_to_visible']['p50_ms']} / {y['single_user']['sent_to_visible']['p95_ms']} | "
        f"(= update round trip) | {summary['ratios']['single_visible_p50']} / "
        f"{summary['ratios']['single_visible_p95']} |",
        "| API alone, sequential GETs after the phase, p50 ms: "
        + ", ".join(f"{k} {v}" for k, v in y["api_alone_p50_ms"].items())
        + " | | | |",
        f"| HTTP requests per loop (actions + worklist/detail polls); API CPU ms per request | "
        f"{y['http_requests_per_loop']}; {y['api_cpu_ms_per_request']} | | |",
        f"| CPU s per loop: temporal / worker / api / postgres / driver | {y['cpu_per_loop_s']} | "
        f"{b['cpu_per_loop_s']} | |",
        f"| CPU s used by other processes on the box during the phase | {y['cpu']['other_processes']} | "
        f"{b['cpu']['other_processes']} | |",
    ]
    per_action = [
        "",
        "Yilian per action, p50 / p95 ms: request -> response | response -> visible in worklist:",
        "",
        "| action | round trip | response -> visible |",
        "|---|---|---|",
    ]
    for name in y["per_action"]:
        a = y["per_action"][name]
        per_action.append(
            f"| {name} | {a['rtt']['p50_ms']} / {a['rtt']['p95_ms']} | "
            f"{a['resp_to_visible']['p50_ms']} / {a['resp_to_visible']['p95_ms']} |"
        )
    yt, bt = y["history"]["timing"], b["history"]["timing"]
    ys, bs = y["single_user"]["timing"] or {}, b["single_user"]["timing"] or {}

    def pp(d: dict[str, Any] | None) -> str:
        return f"{d['p50_ms']} / {d['p95_ms']}" if d else "—"

    where = [
        "",
        "Where the time goes (p50 / p95 ms from workflow history event timestamps; "
        f"{summary['args']['users']} users | single user):",
        "",
        "| step | Yilian, users | Yilian, single | baseline, users | baseline, single |",
        "|---|---|---|---|---|",
        f"| workflow task schedule -> start (task queue wait) | {pp(yt['workflow_task_schedule_to_start'])} | "
        f"{pp(ys.get('workflow_task_schedule_to_start'))} | {pp(bt['workflow_task_schedule_to_start'])} | "
        f"{pp(bs.get('workflow_task_schedule_to_start'))} |",
        f"| workflow task start -> complete (worker) | {pp(yt['workflow_task_start_to_complete'])} | "
        f"{pp(ys.get('workflow_task_start_to_complete'))} | {pp(bt['workflow_task_start_to_complete'])} | "
        f"{pp(bs.get('workflow_task_start_to_complete'))} |",
        f"| activity schedule -> start | {pp(yt['activity_schedule_to_start'])} | "
        f"{pp(ys.get('activity_schedule_to_start'))} | {pp(bt['activity_schedule_to_start'])} | "
        f"{pp(bs.get('activity_schedule_to_start'))} |",
    ]
    b_exec, bs_exec = bt["activity_start_to_complete"], bs.get("activity_start_to_complete", {})
    for name, d in yt["activity_start_to_complete"].items():
        where.append(
            f"| activity {name} start -> complete | {pp(d)} | "
            f"{pp(ys.get('activity_start_to_complete', {}).get(name))} | "
            f"{pp(b_exec.get('bench_noop'))} (noop) | {pp(bs_exec.get('bench_noop'))} (noop) |"
        )
    b_upd, bs_upd = bt["update_accepted_to_completed"], bs.get("update_accepted_to_completed", {})
    plan = y["history"]["plan"]
    for i, (name, d) in enumerate(yt["update_accepted_to_completed"].items()):
        inside = sum(plan[i][0]) if i < len(plan) else "?"
        where.append(
            f"| update {name} accepted -> completed ({inside} activities inside) | {pp(d)} | "
            f"{pp(ys.get('update_accepted_to_completed', {}).get(name))} | "
            f"{pp(b_upd.get('act'))} (all) | {pp(bs_upd.get('act'))} (all) |"
        )
    goal_lines = [
        "",
        "Goals:",
        "",
        f"* >= 5 completed referrals/s end to end: **{ok(g['throughput_ge_5'])}** ({y['per_s']}/s)",
        f"* action -> visible p95 < 300 ms: **{ok(g['visible_p95_lt_300ms'])}** (request sent -> visible in the "
        f"worklist {y['sent_to_visible']['p95_ms']} ms; response -> visible {y['resp_to_visible']['p95_ms']} ms)",
        f"* action -> visible p95 within 1.5x of the baseline's update round trip p95: "
        f"**{ok(g['visible_p95_within_1_5x_baseline'])}** ({summary['ratios']['visible_p95']}x)",
    ]
    bg_line = (
        f"Background: {bg['created']}/{bg['requested']} open referrals created through the API in "
        f"{bg['wall_s']} s ({bg['rate_per_s']}/s at concurrency {bg['concurrency']}; submit -> offered -> "
        f"accept for 9 in 10, {bg['left_offered']} left offered), offered to {bg['by_expert']}."
    )
    sent = bg.get("studies_sent_first")
    if sent:
        bg_line += (
            f" Each background referral's study was sent by STOW-RS first (counted in that rate); the "
            f"{sent['count']} measured referrals' studies took {sent['wall_s']} s before the timed phases."
        )
    bg_line += (
        f" Creation rate by quarter of the created count: {bg['rate_by_quarter_per_s']} /s (time budget "
        f"{bg['budget_s']} s, so that the whole run stays under --total-budget)."
    )
    return "\n".join(
        [
            *lines,
            *per_action,
            *where,
            *goal_lines,
            "",
            bg_line,
            "",
            f"Machine: {mf['nproc']} cores ({mf['cpu']}), {mf['mem_gib']} GiB, {mf['os']}, Python "
            f"{mf['python']}, temporalio {mf['temporalio']}; {mf['date']}; load average at start "
            f"{mf['loadavg_at_start']}.",
        ]
    )


def write_docs(summary: dict[str, Any], table: str, command: str, path: Path) -> None:
    y = summary["yilian"]
    body = f"""{SECTION}

Command (from the repository root, venv active):

```
{command}
```

Setup: everything on 127.0.0.1 in a fresh temp dir. Embedded PostgreSQL (durable={summary["setup"]["durable_pg"]},
i.e. fsync on), Temporal dev server via `start_dev_server` (SQLite, WAL, synchronous=normal), demo alliance seeded.
Worker = `python -m yilian.cli worker` and API = `python -m yilian.cli api` (uvicorn), each its own process, as
deployed; the driver is a third process using httpx over real HTTP. Every referral's study (one 16x16 image)
is stored by STOW-RS before the referral is submitted, so it routes at once instead of waiting in
`awaiting_images`; for the driven referrals that happens before the timed phases. Driven referrals are `urgent`
(CT chest / MR head / US abdomen in turn, so routing offers them to wang/li/zhang.expert); the
background is `routine`. After every action the driver polls the worklist (`GET /api/referrals?state=…`)
of whoever sees the case next (expert, chen.senior, or the county doctor) every {int(POLL_INTERVAL * 1000)} ms until the
case shows the new state and audit seq. Baseline: `BenchBaseline` in the same file, one update handler and
trivial activities placed as in the referral's history (plan `{y["history"]["plan"]}` =
[activities inside update i, activities the workflow runs by itself after update i]), own worker process with
the same options (sandboxed, max_cached_workflows=2000), driven by the same number of users through
`execute_update_with_start_workflow` / `execute_update`, machine steps awaited by polling a query at the
same interval. "State transitions" = delta of the dev server's Prometheus `state_transition_count_count`
(namespace default; one observation per persisted mutable-state update) over the phase / loops completed; it
includes anything else the server did for that namespace during the phase (queries do not count).

{table}
"""
    replace_section(path, SECTION, body)


# ---- main -----------------------------------------------------------------------------------------
def _cpu_per_loop(d: dict[str, float], loops: int, worker_key: str) -> str:
    if not loops:
        return "n/a"
    keys = ("temporal", worker_key, "api", "postgres", "driver")
    return " / ".join(f"{d.get(k, 0.0) / loops:.3f}" for k in keys)


async def bench(args: argparse.Namespace, svc: Services, run: str) -> dict[str, Any]:
    import httpx

    from yilian.temporal_client import connect

    client = await connect(svc.temporal_address)
    metrics_url = find_metrics_url(svc.dev.pid)
    print(f"dev server metrics: {metrics_url}", flush=True)
    pg_pid = None
    with contextlib.suppress(OSError, ValueError):
        pg_pid = int((svc.tmp / "pg" / "postmaster.pid").read_text().split()[0])
    meter = CpuMeter(
        {
            "temporal": svc.dev.pid,
            "worker": svc.procs["worker"].pid,
            "api": svc.procs["api"].pid,
            "baseline_worker": svc.procs["baseline_worker"].pid,
            "driver": os.getpid(),
        },
        pg_pid,
    )
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=svc.api_url, timeout=30, limits=limits) as hc:
        http = Http(hc)
        await http.login_all()

        # 1. background, in whatever time the --total-budget leaves after reserving the measured phases
        budget = min(
            args.background_budget, args.total_budget - (time.monotonic() - args.t_start) - 2 * args.phase_budget - 40
        )
        budget = max(budget, 30.0)
        print(f"creating {args.open} open referrals (at most {budget:.0f} s) ...", flush=True)
        background = await create_background(http, args.open, run, args.background_concurrency, budget)
        background["budget_s"] = round(budget)
        print(f"background: {json.dumps(background)}", flush=True)

        # Every measured referral's study is in the archive before the timed phases, as a gateway would have sent it.
        numbers = [PROBE_FIRST + n for n in range(args.probe)] + list(range(args.referrals))
        stow_s = await send_studies(http, numbers, run, 8)
        background["studies_sent_first"] = {"count": len(numbers), "wall_s": round(stow_s, 1)}
        print(f"sent {len(numbers)} studies by STOW-RS in {stow_s:.1f} s", flush=True)
        await asyncio.sleep(2)  # let the tail of notifications/projections settle

        # Finished cases sort after open ones: the closed/returned tabs need room for every driven case.
        done_limit = min(500, args.referrals + args.probe + 50)

        # 2a. the Yilian loop, one user at a time (latency without queueing)
        pst = Stats()
        await run_users(1, args.probe, 60, lambda n: full_loop(http, pst, PROBE_FIRST + n, run, done_limit), pst)
        probe_hist = await history_facts(client, pst.completed) if pst.completed else None

        # 2b. the Yilian loop, --users at once
        print(f"driving {args.referrals} referrals with {args.users} users ...", flush=True)
        st = Stats()
        r0 = http.requests
        c0, s0 = meter.sample(), state_transitions(metrics_url)
        wall = await run_users(
            args.users, args.referrals, args.phase_budget, lambda n: full_loop(http, st, n, run, done_limit), st
        )
        c1, s1 = meter.sample(), state_transitions(metrics_url)
        n_requests = http.requests - r0

        # 2c. the API alone: sequential requests, p50 of 20 each (what a request costs without queueing)
        api_alone = {}
        probes = {
            "health (no auth, no DB)": ("zhao.anping", "/api/health", None),
            "worklist, 50 rows (wang.expert in_reading)": (
                "wang.expert",
                "/api/referrals",
                {"state": ["in_reading"], "limit": 50},
            ),
            "worklist, 5 rows": ("wang.expert", "/api/referrals", {"state": ["in_reading"], "limit": 5}),
            "referral detail": (
                "zhao.anping",
                f"/api/referrals/{st.completed[0]}" if st.completed else "/api/health",
                None,
            ),
        }
        for label, (user, path, params) in probes.items():
            times = []
            for _ in range(20):
                t = time.perf_counter()
                await http.call(user, "GET", path, params=params)
                times.append(time.perf_counter() - t)
            api_alone[label] = dist(times)["p50_ms"]
    y_cpu = CpuMeter.delta(c0, c1)
    y_hist = await history_facts(client, st.completed) if st.completed else None
    if y_hist is None:
        raise BenchError(f"no referral completed; errors: {st.errors[:3]}")
    y_done = len(st.completed)
    yilian = {
        "requested": args.referrals,
        "completed": y_done,
        "wall_s": round(wall, 2),
        "per_s": round(y_done / wall, 2) if wall else None,
        "action_rtt": dist(Stats.all(st.action_rtt)),
        "resp_to_visible": dist(Stats.all(st.resp_to_visible)),
        "sent_to_visible": dist(Stats.all(st.sent_to_visible)),
        "per_action": {
            k: {
                "rtt": dist(st.action_rtt[k]),
                "resp_to_visible": dist(st.resp_to_visible[k]),
                "sent_to_visible": dist(st.sent_to_visible[k]),
            }
            for k in st.action_rtt
        },
        "machine": {k: dist(v) for k, v in st.machine.items()},
        "http_requests_per_loop": round(n_requests / y_done, 1),
        "api_alone_p50_ms": api_alone,
        "api_cpu_ms_per_request": round(1000 * y_cpu["api"] / n_requests, 2) if n_requests else None,
        "worklist_polls_per_action": {
            "mean": round(statistics.mean(st.worklist_polls), 2),
            "max": max(st.worklist_polls),
        },
        "offered_to": st.offered_to,
        "state_transitions_per_loop": round((s1 - s0) / y_done, 1) if s0 is not None and s1 is not None else None,
        "history": y_hist,
        "cpu": y_cpu,
        "cpu_per_loop_s": _cpu_per_loop(y_cpu, y_done, "worker"),
        "errors": st.errors[:10],
        "single_user": {
            "loops": len(pst.completed),
            "action_rtt": dist(Stats.all(pst.action_rtt)),
            "sent_to_visible": dist(Stats.all(pst.sent_to_visible)),
            "per_action_rtt": {k: dist(v) for k, v in pst.action_rtt.items()},
            "machine": {k: dist(v) for k, v in pst.machine.items()},
            "timing": probe_hist["timing"] if probe_hist else None,
            "errors": pst.errors[:5],
        },
    }
    print(f"yilian: {y_done} loops in {wall:.1f} s", flush=True)

    # 3. the baseline, shaped like the referral's history
    plan = y_hist["plan"]
    warm = Stats()
    await run_users(
        args.users, args.users, 60, lambda n: baseline_loop(client, warm, f"bench-warm-{run}-{n}", plan), warm
    )
    if warm.errors:
        raise BenchError(f"baseline warm-up failed: {warm.errors[:3]}")
    bpst = Stats()
    await run_users(1, args.probe, 60, lambda n: baseline_loop(client, bpst, f"bench-probe-{run}-{n}", plan), bpst)
    bprobe_hist = await history_facts(client, bpst.completed) if bpst.completed else None
    bst = Stats()
    c0, s0 = meter.sample(), state_transitions(metrics_url)
    bwall = await run_users(
        args.users,
        args.referrals,
        args.phase_budget,
        lambda n: baseline_loop(client, bst, f"bench-base-{run}-{n}", plan),
        bst,
    )
    c1, s1 = meter.sample(), state_transitions(metrics_url)
    b_cpu = CpuMeter.delta(c0, c1)
    b_done = len(bst.completed)
    baseline = {
        "requested": args.referrals,
        "completed": b_done,
        "wall_s": round(bwall, 2),
        "per_s": round(b_done / bwall, 2) if bwall else None,
        "update_rtt": dist(Stats.all(bst.action_rtt)),
        "machine": {k: dist(v) for k, v in bst.machine.items()},
        "state_transitions_per_loop": round((s1 - s0) / b_done, 1)
        if s0 is not None and s1 is not None and b_done
        else None,
        "history": await history_facts(client, bst.completed) if bst.completed else None,
        "cpu": b_cpu,
        "cpu_per_loop_s": _cpu_per_loop(b_cpu, b_done, "baseline_worker"),
        "errors": bst.errors[:10],
        "single_user": {
            "loops": len(bpst.completed),
            "update_rtt": dist(Stats.all(bpst.action_rtt)),
            "machine": {k: dist(v) for k, v in bpst.machine.items()},
            "timing": bprobe_hist["timing"] if bprobe_hist else None,
            "errors": bpst.errors[:5],
        },
    }
    print(f"baseline: {b_done} loops in {bwall:.1f} s", flush=True)

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    ratios = {
        "throughput": ratio(yilian["per_s"], baseline["per_s"]),
        "rtt_p50": ratio(yilian["action_rtt"]["p50_ms"], baseline["update_rtt"]["p50_ms"]),
        "rtt_p95": ratio(yilian["action_rtt"]["p95_ms"], baseline["update_rtt"]["p95_ms"]),
        "visible_p50": ratio(yilian["sent_to_visible"]["p50_ms"], baseline["update_rtt"]["p50_ms"]),
        "visible_p95": ratio(yilian["sent_to_visible"]["p95_ms"], baseline["update_rtt"]["p95_ms"]),
        "state_transitions": ratio(yilian["state_transitions_per_loop"], baseline["state_transitions_per_loop"]),
        "single_rtt_p50": ratio(
            yilian["single_user"]["action_rtt"]["p50_ms"], baseline["single_user"]["update_rtt"]["p50_ms"]
        ),
        "single_rtt_p95": ratio(
            yilian["single_user"]["action_rtt"]["p95_ms"], baseline["single_user"]["update_rtt"]["p95_ms"]
        ),
        "single_visible_p50": ratio(
            yilian["single_user"]["sent_to_visible"]["p50_ms"], baseline["single_user"]["update_rtt"]["p50_ms"]
        ),
        "single_visible_p95": ratio(
            yilian["single_user"]["sent_to_visible"]["p95_ms"], baseline["single_user"]["update_rtt"]["p95_ms"]
        ),
    }
    vis95 = yilian["sent_to_visible"]["p95_ms"]
    goals = {
        "throughput_ge_5": yilian["per_s"] is not None and yilian["per_s"] >= 5 and y_done == args.referrals,
        "visible_p95_lt_300ms": vis95 is not None and vis95 < 300,
        "visible_p95_within_1_5x_baseline": ratios["visible_p95"] is not None and ratios["visible_p95"] <= 1.5,
    }
    return {"yilian": yilian, "baseline": baseline, "ratios": ratios, "goals": goals, "background": background}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--open", type=int, default=2000, help="open background referrals to create first")
    p.add_argument("--referrals", type=int, default=100, help="referrals driven through the whole loop")
    p.add_argument("--users", type=int, default=8, help="concurrent simulated users")
    p.add_argument("--probe", type=int, default=5, help="loops run by a single user first (latency without queueing)")
    p.add_argument("--background-concurrency", type=int, default=16)
    p.add_argument(
        "--background-budget",
        type=float,
        default=400,
        help="at most this many seconds for the background (less if --total-budget requires)",
    )
    p.add_argument("--phase-budget", type=float, default=90, help="seconds allowed per measured phase")
    p.add_argument("--total-budget", type=float, default=570, help="seconds the whole run should stay under")
    p.add_argument("--profile", type=Path, help="run worker and API under cProfile; write worker.prof/api.prof here")
    p.add_argument("--non-durable-pg", action="store_true", help="fsync off (as the tests run it)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data) for inspection")
    p.add_argument("--docs", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args()
    command = " ".join(["python bench/referral_loop.py", *sys.argv[1:]])
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support (the studies it sends)
    facts = machine_facts()
    t_start = args.t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="yilian-bench-"))
    run = os.urandom(3).hex()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    svc = start_services(
        tmp, durable_pg=not args.non_durable_pg, profile=args.profile.resolve() if args.profile else None
    )
    try:
        result = asyncio.run(bench(args, svc, run))
    finally:
        svc.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "args": {
            "open": args.open,
            "referrals": args.referrals,
            "users": args.users,
            "background_concurrency": args.background_concurrency,
        },
        "setup": {
            "durable_pg": not args.non_durable_pg,
            "worker": "separate process (yilian worker)",
            "api": "separate process (yilian api, uvicorn)",
            "poll_interval_ms": POLL_INTERVAL * 1000,
        },
        "machine": facts,
        "total_wall_s": round(time.monotonic() - t_start, 1),
        **result,
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    table = render(summary)
    print(table)
    if not args.no_docs:
        write_docs(summary, table, command, args.docs)
        print(f"wrote {args.docs}")


if __name__ == "__main__":
    main()
