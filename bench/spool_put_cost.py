#!/usr/bin/env python
"""The gateway's spool alone: `InstanceQueue.put` of N instances, two builds side by side (issue 10).

    python bench/spool_put_cost.py [--base-src /path/to/other/src] [--rounds 4] [--count 200] [--size 524288]

Each round runs a fresh child per build (this tree's `src`, and with --base-src another tree's, e.g.
`git archive main src | tar -x -C /tmp/base`), alternating, on the same disk as the gateway's spool would be (a
temporary directory). A child opens a new queue, runs `recover` as `yilian gateway run` does, waits up to 2 s for
the queue to settle (a build with blank files makes its first batch then), and puts `--count` distinct instances of
`--size` bytes one after another, as one association's C-STOREs arrive: each put's wall time is what the modality
waits for (the file written and fsynced, any directory flush, the SQLite commit). Prints a JSON line per child
(median, quartiles and spread of the put's wall ms, its thread's CPU ms) and a table at the end. Standard library
and yilian only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import hashlib, json, os, statistics, sys, time
from pathlib import Path
from yilian.gateway.queue import InstanceQueue
spool, count, size = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
queue = InstanceQueue(spool)
queue.recover()
ready = getattr(queue, "blanks_ready", lambda: 0)
deadline = time.monotonic() + 2.0
while ready() < 64 and time.monotonic() < deadline and hasattr(queue, "blanks_ready"):
    time.sleep(0.01)
body = os.urandom(size)
walls, cpus = [], []
for n in range(count):
    data = n.to_bytes(8, "big") + body[8:]
    sha = hashlib.sha256(data).hexdigest()  # the lean SCP hashes as the bytes arrive: not the put's
    w0, c0 = time.perf_counter(), time.thread_time()
    queue.put(data, sha256=sha, sop_instance_uid=f"1.2.3.{n}", sop_class_uid="1.2", study_instance_uid="1.2")
    cpus.append(time.thread_time() - c0)
    walls.append(time.perf_counter() - w0)
queue.close()
print(json.dumps({"walls": walls, "cpus": cpus}))
"""


def one(src: Path, count: int, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yilian-spool-put-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(src)}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(tmp) / "spool"), str(count), str(size)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return dict(json.loads(out.stdout))


def figures(walls: list[float], cpus: list[float]) -> dict[str, float]:
    q = statistics.quantiles([1000 * w for w in walls], n=4)
    return {
        "wall_ms_median": round(statistics.median(walls) * 1000, 2),
        "wall_ms_q1": round(q[0], 2),
        "wall_ms_q3": round(q[2], 2),
        "wall_ms_mean": round(statistics.fmean(walls) * 1000, 2),
        "cpu_ms_median": round(statistics.median(cpus) * 1000, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--base-src", type=Path, help="another tree's src/ to compare with")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--size", type=int, default=512 * 1024)
    args = p.parse_args()
    builds = {"this": ROOT / "src"} | ({"base": args.base_src} if args.base_src else {})
    pooled: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in builds}
    for round_ in range(args.rounds):
        for name, src in builds.items():
            load = os.getloadavg()[0]
            got = one(src, args.count, args.size)
            pooled[name][0].extend(got["walls"])
            pooled[name][1].extend(got["cpus"])
            row = {"build": name, "round": round_, "load1": round(load, 2), **figures(got["walls"], got["cpus"])}
            print(json.dumps(row | {"utc": time.strftime("%H:%M:%S", time.gmtime())}), flush=True)
    print("| build | puts | wall ms median (q1-q3) | wall ms mean | CPU ms median |")
    print("|---|---|---|---|---|")
    for name, (walls, cpus) in pooled.items():
        f = figures(walls, cpus)
        print(
            f"| {name} | {len(walls)} | {f['wall_ms_median']} ({f['wall_ms_q1']}-{f['wall_ms_q3']}) |"
            f" {f['wall_ms_mean']} | {f['cpu_ms_median']} |"
        )


if __name__ == "__main__":
    main()
