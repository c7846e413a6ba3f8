#!/usr/bin/env python
"""C-STORE through the gateway, two gateway builds side by side: CPU per instance of each process (issue 10).

    python bench/cstore_cost.py [--base-src /path/to/other/src] [--runs 3] [--cstore 200] [--assocs 1 4]

Starts Yilian's stack once as bench/imaging.py does (embedded PostgreSQL with fsync on, Temporal dev server,
`yilian worker`, `yilian api`, auto-referral off), then one `yilian gateway run` per build on the same API: this tree,
and with --base-src another tree's `src` (e.g. `git archive main src | tar -x -C /tmp/base`) on PYTHONPATH. Each
round runs bench/imaging.py's own `cstore` phase (DCMTK `storescu` with TCP_NODELAY=1, until QIDO-RS shows every
instance) on each gateway in turn, with 1 and 4 associations, and prints a JSON line per phase: the wall figures,
the CPU-s of each process started here (gateway, api, worker, the driver itself) divided by the instances, and how
many cores other processes on the box kept busy meanwhile. Process time moves far less with the box's load than
the wall rate does. Everything listens on 127.0.0.1 only; no Orthanc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from imaging import (  # bench/ is on sys.path: these run as scripts
    Maker,
    Server,
    Stack,
    cstore,
    gateway_key_and_doctor,
    start_gateway,
)
from procstat import box_cpu_s, read_processes
from stack import start_yilian_stack

ROOT = Path(__file__).resolve().parent.parent


def cpu_by_process(named: dict[int, str]) -> tuple[float, dict[str, float]]:
    """(CPU-s the whole box used, CPU-s of each process descended from this one, by name: procstat)."""
    return box_cpu_s(), read_processes().cpu_by_name(named, under=os.getpid())


async def run(args: argparse.Namespace, stack: Stack) -> list[dict[str, Any]]:
    import httpx

    await asyncio.to_thread(start_yilian_stack, stack, durable=True, env={"YILIAN_AUTO_REFERRAL": "false"})
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=600) as api:
        api_key, doctor = await gateway_key_and_doctor(api)
    builds = {"this": ROOT / "src"} | ({"base": args.base_src} if args.base_src else {})
    maker, results = Maker(512, 512), []
    async with httpx.AsyncClient(
        base_url=stack.api_url + "/dicomweb/", timeout=600, headers={"Authorization": f"Bearer {doctor}"}
    ) as client:
        gateways = []
        for name, src in builds.items():
            port = start_gateway(stack, api_key, f"gateway-{name}", src)
            server = Server("Yilian", client, "YILIAN_GW", port, stack.procs["api"].pid, wait_queryable=True)
            await cstore(server, maker, 20, 1, stack.tmp)  # warm-up: imports, first association, first upload
            gateways.append((name, stack.procs[f"gateway-{name}"], server))
        for round_ in range(args.runs):
            for name, proc, server in gateways:
                for assocs in args.assocs:
                    named = {p.pid: n for n, p in stack.procs.items()} | {proc.pid: "gateway"}
                    (box0, used0), t0 = cpu_by_process(named), time.monotonic()
                    out = await cstore(server, maker, args.cstore, assocs, stack.tmp)
                    (box1, used1), wall = cpu_by_process(named), time.monotonic() - t0
                    used = {k: round(v - used0.get(k, 0.0), 3) for k, v in used1.items() if v - used0.get(k, 0.0)}
                    others = max(0.0, (box1 - box0) - sum(used.values())) / wall
                    n = out["instances"]
                    row = {
                        "build": name,
                        "round": round_,
                        "associations": assocs,
                        **out,
                        "gateway_ms": round(1000 * used.get("gateway", 0.0) / n, 2),
                        "api_ms": round(1000 * used.get("api", 0.0) / n, 2),
                        "cpu_s": used,
                        "other_cores_busy": round(others, 2),
                        "utc": time.strftime("%H:%M:%S", time.gmtime()),
                    }
                    print(json.dumps(row), flush=True)
                    results.append(row)
    return results


def summary(results: list[dict[str, Any]]) -> str:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in results:
        groups[(row["build"], row["associations"])].append(row)
    lines = [
        "| build | associations | gateway ms/inst | API ms/inst | inst/s | other cores busy |",
        "|---|---|---|---|---|---|",
    ]
    for (build, assocs), rows in sorted(groups.items()):

        def cell(key: str, rows: list[dict[str, Any]] = rows) -> str:
            values = [row[key] for row in rows]
            return " / ".join(map(str, values)) + f" (median {statistics.median(values):g})"

        lines.append(
            f"| {build} | {assocs} | {cell('gateway_ms')} | {cell('api_ms')} | {cell('per_s')} |"
            f" {' / '.join(str(row['other_cores_busy']) for row in rows)} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--base-src", type=Path, help="another tree's src/ to run a second gateway from")
    p.add_argument("--runs", type=int, default=3, help="rounds (each build, each association count)")
    p.add_argument("--cstore", type=int, default=200, help="instances per phase (split over the associations)")
    p.add_argument("--assocs", type=int, nargs="+", default=[1, 4])
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yilian-cstore-cost-"))
    stack = Stack(tmp)
    try:
        results = asyncio.run(run(args, stack))
    finally:
        stack.close(keep=args.keep)
    print(summary(results))


if __name__ == "__main__":
    main()
