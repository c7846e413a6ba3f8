#!/usr/bin/env python
"""The API's CPU per indexed study (issue 10): `bench/imaging.py`'s index_studies phase alone, against Yilian only.

    python bench/index_cost.py [--studies 2000] [--runs 2] [--api-processes 2] [--py-spy DIR]

Starts the stack as `bench/imaging.py` does (PostgreSQL with fsync on, Temporal, worker, API; auto-referral off),
warms it with 200 studies, then for each run STOWs `--studies` one-instance 64x64 studies (50 per request, 4 in
flight: the bench's own client code) and reads the API's processes' (YILIAN_API_PROCESSES, 2 as bench/stack.py) and
PostgreSQL's CPU time before and after (/proc, as bench/request_cost.py); `api_split` is each API process's share.
With --py-spy DIR the first run is also sampled (`py-spy record --gil`, raw collapsed stacks into DIR/index.txt;
the first API process only). Prints one line per run and a JSON summary; writes nothing to docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from imaging import Maker, Server, date_of, login, patient_of, stow_all  # noqa: E402
from request_cost import postgres_cpu, process_cpu  # noqa: E402
from stack import Stack, start_yilian_stack  # noqa: E402


def api_pids(first: int) -> list[int]:
    """The API's first process and the others it started (YILIAN_API_PROCESSES > 1)."""
    import psutil

    return [first, *(c.pid for c in psutil.Process(first).children(recursive=True))]


def start_py_spy(out: Path, pid: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the GIL-holding threads of `pid` into out/index.txt (collapsed stacks) until SIGINT."""
    out.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--nonblocking", "-r", "200",
         "--format", "raw", "-o", str(out / "index.txt"), "--pid", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)  # py-spy attached
    return spy


def load() -> float:
    return os.getloadavg()[0]


async def drive(stack: Stack, args: argparse.Namespace) -> list[dict[str, float]]:
    import httpx

    api_pid = stack.procs["api"].pid
    postmaster = int((stack.tmp / "pg" / "postmaster.pid").read_text().split()[0])
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
        doctor = await login(api, "zhao.anping")
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(
        base_url=stack.api_url + "/dicomweb/",
        timeout=httpx.Timeout(600.0),
        limits=limits,
        headers={"Authorization": f"Bearer {doctor}"},
    ) as client:
        server = Server("Yilian", client, "", 0, api_pid)
        small = Maker(64, 64)
        total = args.studies * args.runs + 200
        offset = 0

        def gen(n: int) -> object:
            nonlocal offset
            start, offset = offset, offset + n
            for i in range(start, start + n):
                yield from small.series(1, patient=patient_of(i, total), date=date_of(i))

        await stow_all(server, gen(200), 50, 4)  # type: ignore[arg-type]  # warm-up: statement caches, pools
        out = []
        for run in range(args.runs):
            spy = None
            if args.py_spy and run == 0:
                spy = await asyncio.to_thread(start_py_spy, Path(args.py_spy), api_pid)
            pids = api_pids(api_pid)
            split0 = [process_cpu(p) for p in pids]
            load0, pg0, t0 = load(), postgres_cpu(postmaster), time.perf_counter()
            n = await stow_all(server, gen(args.studies), 50, 4)  # type: ignore[arg-type]
            wall = time.perf_counter() - t0
            split = [process_cpu(p) - c for p, c in zip(pids, split0, strict=True)]
            pg1, load1 = postgres_cpu(postmaster), load()
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
            row = {
                "studies": n,
                "wall_s": round(wall, 2),
                "per_s": round(n / wall, 1),
                "api_ms_per_study": round(sum(split) * 1000 / n, 3),
                "api_split": [round(c / sum(split), 2) for c in split],
                "pg_ms_per_study": round((pg1 - pg0) * 1000 / n, 3),
                "load": round(max(load0, load1), 1),
            }
            print(json.dumps(row), flush=True)
            out.append(row)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--py-spy", default="")
    parser.add_argument("--api-processes", type=int, default=2, help="YILIAN_API_PROCESSES (bench/stack.py: 2)")
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="yilian-index-cost-")))
    try:
        start_yilian_stack(stack, durable=True, env={"YILIAN_AUTO_REFERRAL": "false"}, api_processes=args.api_processes)
        rows = asyncio.run(drive(stack, args))
        print(json.dumps({"runs": rows}))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
