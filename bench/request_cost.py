#!/usr/bin/env python
"""The API's CPU per request (issues 9 and 10): one kind of request at a time, measured in the API process itself.

    python bench/request_cost.py [--requests 400] [--kinds frames,rendered,...] [--py-spy DIR [--native]] [--keep]
                                 [--setting YILIAN_NAME=VALUE ...]

Starts an embedded PostgreSQL, the Temporal dev server, `yilian worker` and `yilian api` (one process each, as a
deployment runs them), stores a 512x512 CT series by STOW-RS and 60 referrals (each with a one-image study), then
drives each kind of request sequentially from one httpx client (the STOW-RS kind POSTs a new one-image study each
time) and reads the API process's own CPU time (/proc/PID/stat, user + system) before and after. CPU per request is
robust to other processes loading the box; latency is not, and is printed only as a hint. PostgreSQL's CPU
(postmaster and backends) is read the same way. With --py-spy DIR each kind is also sampled by py-spy (from PyPI)
into DIR/<kind>.txt (collapsed stacks: flamegraph.pl or speedscope draw them); --native adds the C frames (uvloop,
httptools, the kernel calls under them), pausing the API at each sample (its CPU figures are then not comparable). To
measure another tree's API with the same bench, put its src first: PYTHONPATH=/tmp/base/src python
bench/request_cost.py.
The whole-study kind (WADO-RS of a 100-slice 512x512 CT study, ~52 MB, read in chunks and discarded) makes a
twentieth of --requests requests and also gives the API's CPU-s per GB streamed (`cpu_s_per_gb`).
Prints a table and a JSON summary; writes nothing to docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stack import Stack, start_yilian_stack  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
REFERRALS = 60
WHOLE_STUDY = 100  # 512x512 CT slices (~52 MB) of the study retrieved whole
SCROLLED = 480  # slices of the long series: more than the 40 warm-up and 400 measured requests
FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (its threads included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def postgres_cpu(postmaster: int) -> float:
    """The postmaster's CPU seconds and its backends' (its children, living or reaped)."""
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    total = sum(int(v) for v in fields[11:15]) / CLK  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == postmaster:
                    total += (int(fields[11]) + int(fields[12])) / CLK
    return total


def start(stack: Stack, settings: dict[str, str]) -> None:
    # PostgreSQL without fsync: the bench measures CPU per request, not commit latency. One API process: the CPU
    # and the samples are read from it alone (with more, a child would answer unmeasured).
    env = {"YILIAN_AUTO_REFERRAL": "false", **settings}  # refers by hand
    start_yilian_stack(stack, durable=False, env=env, api_processes=1)


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    user: str
    accept: str = "application/json"
    params: dict[str, Any] = field(default_factory=dict)
    each: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, params) in turn, when not empty
    streamed: bool = False  # a large body, read in chunks and discarded; its CPU is also given per GB
    stores: bool = False  # a POST of a new one-image study (16x16 DX) each time, as STOW-RS: its fixed cost


async def prepare(client: Any, tokens: dict[str, str]) -> list[Kind]:
    """The data the requests read, and the requests: a 512x512 CT series, and 60 referrals (as a county sends them)."""
    from pydicom.uid import generate_uid
    from tests.support.dicom_gen import ct_series
    from tests.support.stow import CONTENT_TYPE, one_image_study, stow_body

    county = {"Authorization": f"Bearer {tokens['zhao.anping']}"}
    study = generate_uid()
    slices = ct_series(n_slices=5, rows=512, cols=512, study_uid=study)
    r = await client.post(
        "/dicomweb/studies", content=stow_body(slices), headers={**county, "Content-Type": CONTENT_TYPE}
    )
    r.raise_for_status()
    series, sop = str(slices[2].SeriesInstanceUID), str(slices[2].SOPInstanceUID)
    instance = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"
    # The API keeps rendered images (imaging/retrieve.py RenderedImages): a first rendering every time needs another
    # slice or another quality each time, 5 x 100 of them (enough for the warm-up and 450 measured requests).
    first_renderings = [
        (f"/dicomweb/studies/{study}/series/{series}/instances/{s.SOPInstanceUID}/rendered", {"quality": q})
        for q in range(100, 0, -1)
        for s in slices
    ]
    # A viewer scrolling a long series asks each slice's frame once: SCROLLED small slices, more than the warm-up and
    # 400 measured requests, so no slice is asked twice (the API keeps each answer 2 s: imaging/retrieve.py).
    long_series = ct_series(n_slices=SCROLLED, rows=64, cols=64, study_uid=study)
    r = await client.post(
        "/dicomweb/studies", content=stow_body(long_series), headers={**county, "Content-Type": CONTENT_TYPE}
    )
    r.raise_for_status()
    scrolled = [(f"/dicomweb/studies/{study}/series/{s.SeriesInstanceUID}/instances/{s.SOPInstanceUID}/frames/1", {})
                for s in long_series]  # fmt: skip
    # WADO-RS of a whole study, as bench/imaging.py's row asks it (its 300 slices made 100 here: setup time).
    whole = ct_series(n_slices=WHOLE_STUDY, rows=512, cols=512, study_uid=generate_uid())
    r = await client.post(
        "/dicomweb/studies", content=stow_body(whole), headers={**county, "Content-Type": CONTENT_TYPE}
    )
    r.raise_for_status()
    referral = ""
    for n in range(REFERRALS):
        patient = f"RC{n:06d}"
        uid, body = one_image_study(patient)
        r = await client.post("/dicomweb/studies", content=body, headers={**county, "Content-Type": CONTENT_TYPE})
        r.raise_for_status()
        r = await client.post(
            "/api/referrals",
            headers=county,
            json={
                "patient": {"patient_id": patient, "name": f"测试 {n}", "birth_date": "1970-01-01", "sex": "F"},
                "study_instance_uid": uid, "modality": "CT", "body_part": "CHEST",
                "clinical_question": "咳嗽两周，排除占位 / rule out a mass", "priority": "routine",
            },
        )  # fmt: skip
        r.raise_for_status()
        referral = referral or str(r.json()["id"])
    return [
        Kind("frames/1", f"{instance}/frames/1", "zhao.anping", FRAME_ACCEPT),
        Kind("frames/1, each of a long series once", "", "zhao.anping", FRAME_ACCEPT, each=scrolled),
        Kind("rendered", f"{instance}/rendered", "zhao.anping", "image/jpeg"),
        Kind("rendered, each once", "", "zhao.anping", "image/jpeg", each=first_renderings),
        Kind("bulk pixel data", f"{instance}/bulk/7FE00010", "zhao.anping", FRAME_ACCEPT),
        Kind(
            "whole study (100 x 512x512 CT)",
            f"/dicomweb/studies/{whole[0].StudyInstanceUID}",
            "zhao.anping",
            'multipart/related; type="application/dicom"; transfer-syntax=*',
            streamed=True,
        ),
        Kind("instance metadata", f"{instance}/metadata", "zhao.anping", "application/dicom+json"),
        Kind("worklist page (50)", "/api/referrals", "zhao.anping", params={"limit": 50}),
        Kind("case detail", f"/api/referrals/{referral}", "zhao.anping"),
        Kind("dashboard", "/api/dashboard", "liu.coord"),
        Kind("health (no auth)", "/api/health", ""),
        Kind("STOW-RS, one small instance", "/dicomweb/studies", "zhao.anping", "application/dicom+json", stores=True),
    ]


async def measure(
    client: Any, pids: tuple[int, int], kind: Kind, tokens: dict[str, str], n: int, spy: Path | None, native: bool
) -> dict[str, Any]:
    headers = {"Accept": kind.accept}
    if kind.user:
        headers["Authorization"] = f"Bearer {tokens[kind.user]}"

    from tests.support.stow import CONTENT_TYPE as STOW_CONTENT_TYPE
    from tests.support.stow import one_image_study

    turns = itertools.cycle(kind.each or [(kind.path, kind.params)])
    studies = (one_image_study(f"RCSTOW{n:06d}")[1] for n in itertools.count())  # a new study for each POST

    received = 0

    async def one() -> float:
        nonlocal received
        path, params = next(turns)
        t = time.perf_counter()
        if kind.streamed:
            async with client.stream("GET", path, headers=headers, params=params) as r:
                if r.status_code != 200:
                    raise RuntimeError(f"{kind.name}: {r.status_code}")
                async for chunk in r.aiter_raw():
                    received += len(chunk)
            return time.perf_counter() - t
        if kind.stores:
            r = await client.post(path, headers={**headers, "Content-Type": STOW_CONTENT_TYPE}, content=next(studies))
        else:
            r = await client.get(path, headers=headers, params=params)
        if r.status_code != 200:
            raise RuntimeError(f"{kind.name}: {r.status_code} {r.text[:300]}")
        return time.perf_counter() - t

    if kind.streamed:  # tens of MB a request: a GB in all
        n = max(2, n // 20)
    warm = max(2, n // 10) if kind.streamed else max(20, n // 10)
    for _ in range(warm):  # warm: caches, prepared statements, the pool
        await one()
    received = 0
    pid, postmaster = pids
    profiler = _py_spy(pid, spy, kind, native) if spy else None
    cpu0, pg0, wall0 = process_cpu(pid), postgres_cpu(postmaster), time.perf_counter()
    latencies = [await one() for _ in range(n)]
    cpu1, pg1, wall = process_cpu(pid), postgres_cpu(postmaster), time.perf_counter() - wall0
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
        profiler.wait(60)
    return {
        "kind": kind.name,
        "requests": n,
        "cpu_ms_per_request": round((cpu1 - cpu0) / n * 1000, 3),
        **(
            {"cpu_s_per_gb": round((cpu1 - cpu0) / (received / 1e9), 3), "mb_s": round(received / wall / 1e6, 1)}
            if kind.streamed
            else {}
        ),
        "postgres_cpu_ms_per_request": round((pg1 - pg0) / n * 1000, 3),
        "api_cores_busy": round((cpu1 - cpu0) / wall, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
    }


def _py_spy(pid: int, out: Path, kind: Kind, native: bool) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    name = "".join(c if c.isalnum() else "_" for c in kind.name)
    command = [exe, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    command += ["--native"] if native else ["--nonblocking"]  # native stacks need the process paused to be read
    return subprocess.Popen(
        [*command, "-o", str(out / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def run(args: argparse.Namespace, stack: Stack) -> list[dict[str, Any]]:
    import httpx

    from yilian.db.demo import DEMO_PASSWORD

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=httpx.Timeout(120.0)) as client:
        tokens = {}
        for user in ("zhao.anping", "liu.coord"):
            r = await client.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            r.raise_for_status()
            tokens[user] = str(r.json()["access_token"])
        kinds = await prepare(client, tokens)
        wanted: Callable[[Kind], bool] = lambda k: not args.kinds or any(w in k.name for w in args.kinds)  # noqa: E731
        pids = stack.procs["api"].pid, int((stack.tmp / "pg" / "postmaster.pid").read_text().split()[0])
        out = []
        for kind in filter(wanted, kinds):
            row = await measure(client, pids, kind, tokens, args.requests, args.py_spy, args.native)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            out.append(row)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="measured requests per kind (after a warm-up)")
    parser.add_argument("--kinds", type=lambda s: s.split(","), default=[], help="only kinds whose name has one")
    parser.add_argument("--py-spy", type=Path, default=None, help="sample each kind into DIR/<kind>.txt")
    parser.add_argument("--native", action="store_true", help="with --py-spy: sample the C frames too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument(
        "--setting", action="append", default=[], metavar="YILIAN_NAME=VALUE",
        help="a setting for the API and worker, e.g. YILIAN_DICOMWEB_DOOR=false (the routes answer frames alone)",
    )  # fmt: skip
    args = parser.parse_args()
    settings = dict(pair.split("=", 1) for pair in args.setting)
    if not all(name.startswith("YILIAN_") for name in settings):
        parser.error("--setting takes YILIAN_NAME=VALUE")
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    stack = Stack(Path(tempfile.mkdtemp(prefix="yilian-reqcost-")))
    try:
        start(stack, settings)
        rows = asyncio.run(run(args, stack))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(stack.tmp, ignore_errors=True)
        else:
            print(f"kept {stack.tmp}")
    print("\n| request | API CPU ms/request | PostgreSQL CPU ms/request | p50 ms |\n|---|---|---|---|")
    for row in rows:
        cells = (row["kind"], row["cpu_ms_per_request"], row["postgres_cpu_ms_per_request"], row["p50_ms"])
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
