#!/usr/bin/env python
"""STOW-RS of the imaging bench's CT against two builds of `yilian api` at once (issue 10), one after the other in
alternating rounds, so both are measured in the same minutes of a shared box.

    python bench/stow_side_by_side.py --base-src /tmp/base/src [--slices 300] [--rounds 2]

One embedded PostgreSQL (fsync on), Temporal dev server and worker; API `base` runs the code under `--base-src`
(e.g. `git archive main src | tar -x -C /tmp/base`), API `this` the checkout's. Each round STOWs a fresh `--slices`
512x512 CT (bench/imaging.py's `Maker` and `stow_all`: 10 instances per request, 4 in flight; or `--size`,
`--per-request`, `--in-flight`) to each API and prints the wall rate and the CPU time of the API's processes
(`--processes` for `this`, 2 as bench/stack.py; `--base-processes` for `base`, 1: YILIAN_API_PROCESSES),
PostgreSQL (its postmaster and backends) and this client per instance, with the box's load average.

`--retrieve`: right after each STOW, bench/imaging.py's retrieve phase on the study just stored (frames/1 p50,
rendered each slice once p50, WADO-RS whole study three times) plus frames/1 of 20 other slices each once, and the
API's CPU for all of it: what a file's first reads cost when the write left it in, or out of, the page cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from imaging import Maker, Server, get_ok, login, retrieval, stow_all, stow_ct  # bench/ is on sys.path: scripts
from stack import Stack, spawn, start_yilian_stack, wait_http

CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(f[11]) + int(f[12])) / CLK


def tree_cpu_s(root: int) -> float:
    """CPU-s of `root` and every live descendant."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError):
                pass
    total = 0.0
    for pid in parents:
        up = pid
        while up in parents and up != root:
            up = parents[up]
        if up == root:
            try:
                total += cpu_s(pid)
            except OSError:
                pass
    return total


async def run(args: argparse.Namespace, stack: Stack, apis: dict[str, tuple[str, int]], pg_pid: int) -> None:
    import httpx
    from pydicom.uid import generate_uid

    timeout = httpx.Timeout(600.0)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    maker = Maker(args.size, args.size)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=timeout) as c:
        doctor = await login(c, "zhao.anping")
    clients = {
        name: httpx.AsyncClient(
            base_url=url + "/dicomweb/", timeout=timeout, limits=limits, headers={"Authorization": f"Bearer {doctor}"}
        )
        for name, (url, _) in apis.items()
    }
    servers = {name: Server(name, clients[name], "", 0, pid) for name, (_, pid) in apis.items()}
    await stow_ct(servers["base"], maker, 20)  # warm-up: imports, pools, caches
    await stow_ct(servers["this"], maker, 20)
    for rnd in range(args.rounds):
        for name in ("base", "this") if rnd % 2 == 0 else ("this", "base"):
            s = servers[name]
            load = os.getloadavg()[0]
            a0, p0, c0 = tree_cpu_s(s.pid), tree_cpu_s(pg_pid), time.process_time()
            t0 = time.perf_counter()
            study = generate_uid()
            instances = maker.series(args.slices, study=study, patient="STOWSBS")
            n = await stow_all(s, instances, args.per_request, args.in_flight)
            wall = time.perf_counter() - t0
            a1, p1, c1 = tree_cpu_s(s.pid), tree_cpu_s(pg_pid), time.process_time()
            print(
                f"{time.strftime('%H:%M:%S')} round {rnd + 1} {name:4s}: {n / wall:6.1f} inst/s "
                f"({n} in {wall:.2f} s); CPU ms/inst: API {(a1 - a0) / n * 1000:.2f}, "
                f"PostgreSQL {(p1 - p0) / n * 1000:.2f}, client {(c1 - c0) / n * 1000:.2f}; load {load:.1f}",
                flush=True,
            )
            if args.retrieve:
                await retrieve_after(s, study, rnd, name)
    for c in clients.values():
        await c.aclose()


async def retrieve_after(s: Server, study: str, rnd: int, name: str) -> None:
    """The first reads of the study just stored, and the API's CPU for them."""
    a0 = tree_cpu_s(s.pid)
    out = await retrieval(s, study, 10)
    firsts = await frames_each_once(s, study, 20)
    cpu = tree_cpu_s(s.pid) - a0
    whole = out["wado_study"]
    print(
        f"{time.strftime('%H:%M:%S')} round {rnd + 1} {name:4s} retrieve: frames/1 p50 {out['frame']['p50_ms']} ms "
        f"(first {out['frame']['first_ms']}), other slices' frames/1 once p50 {statistics.median(firsts):.1f} ms, "
        f"rendered each slice once p50 {out['rendered_first']['p50_ms']} ms, whole study "
        f"{whole['bytes'] / whole['seconds'][0] / 1e6:.0f} MB/s first, {whole['mb_s']} median of 3 "
        f"({whole['seconds']} s); API CPU {cpu:.2f} s; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


async def frames_each_once(s: Server, study: str, count: int) -> list[float]:
    """frames/1 of `count` slices from the end of the series (the retrieve phase reads the middle and the first
    ones), each once: ms per request."""
    r = await s.client.get(f"studies/{study}/instances", params={"limit": "1000"})
    r.raise_for_status()
    items = r.json()
    ms = []
    for item in items[-count:]:
        series, sop = item["0020000E"]["Value"][0], item["00080018"]["Value"][0]
        t = time.perf_counter()
        await get_ok(s, f"studies/{study}/series/{series}/instances/{sop}/frames/1", s.frame_accept)
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--base-src", type=Path, required=True, help="the `src` directory of the build to compare with")
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--in-flight", type=int, default=4, help="requests at once, as the bench")
    p.add_argument("--per-request", type=int, default=10, help="instances per request, as the bench's CT row")
    p.add_argument("--size", type=int, default=512, help="rows and columns of each slice")
    p.add_argument("--processes", type=int, default=2, help="YILIAN_API_PROCESSES of `this` (bench/stack.py: 2)")
    p.add_argument("--base-processes", type=int, default=1, help="YILIAN_API_PROCESSES of `base`")
    p.add_argument("--retrieve", action="store_true", help="the first reads of each STOWed study (see above)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yilian-stow-sbs-"))
    stack = Stack(tmp)
    try:
        env = start_yilian_stack(
            stack, durable=True, env={"YILIAN_AUTO_REFERRAL": "false"}, api_processes=args.processes
        )
        from yilian.runtime.process import free_port

        port = free_port()
        base_env = dict(
            env,
            PYTHONPATH=str(args.base_src.resolve()),
            YILIAN_API_PORT=str(port),
            YILIAN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            YILIAN_STORAGE_URL=f"file://{tmp / 'var' / 'dicom-base'}",
            YILIAN_API_PROCESSES=str(args.base_processes),
        )
        stack.procs["api-base"] = spawn("api-base", [sys.executable, "-m", "yilian.cli", "api"], base_env, tmp)
        base_url = f"http://127.0.0.1:{port}"
        wait_http(f"{base_url}/api/health", "api-base", {"api-base": stack.procs["api-base"]}, tmp)
        pg_pid = int((Path(stack.pg.data_dir) / "postmaster.pid").read_text().split()[0])
        apis = {"base": (base_url, stack.procs["api-base"].pid), "this": (stack.api_url, stack.procs["api"].pid)}
        asyncio.run(run(args, stack, apis, pg_pid))
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
