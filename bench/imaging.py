#!/usr/bin/env python
"""Imaging benchmark (issue 3): Yilian's DICOM gateway and DICOMweb API side by side with Orthanc, in one run.

    python bench/imaging.py [--quick] [--studies 10000] [--ct-slices 300] [--big-mb 2048] [--cstore 200]
                            [--api-processes 2]

Run as root (it needs `ip netns`). What it does:

1. Creates a network namespace `yb-<pid>` with only `lo` up and re-runs itself inside it (`ip netns exec`).
   Everything then lives in that namespace: Orthanc (which cannot bind to loopback only, so this is what keeps it
   unreachable from anywhere else), Yilian (embedded PostgreSQL with fsync on, Temporal dev server, `yilian
   worker`, `yilian api` in `--api-processes` processes on one port (YILIAN_API_PROCESSES; 2, one per core of the
   bench's box, as Orthanc uses its threads on both), `yilian gateway run`) and the load-generating clients, which
   are the same code for both servers (httpx for DICOMweb, DCMTK `storescu` for C-STORE). The namespace and every
   process in it are removed at the end, also on failure or Ctrl-C.
2. Orthanc (Debian `orthanc` + `orthanc-dicomweb`) runs with `TCP_NODELAY=1` in its environment (Debian's DCMTK
   leaves Nagle on otherwise), HTTP compression off, storage in the temp dir, no authentication. `storescu` also
   runs with `TCP_NODELAY=1`, for both servers.
3. The servers are measured one after the other on the same synthetic data (tests/support/dicom_gen.py
   instances, fresh UIDs per server), so they never compete for the CPU:
   - C-STORE: N 512x512 CT instances through 1 and 4 concurrent associations. Orthanc: until storescu exits
     (Orthanc indexes before it answers). Yilian: into `yilian gateway run`, until QIDO-RS in the cloud reports
     all N instances of the study.
   - STOW-RS: a `--ct-slices` 512x512 CT, 10 instances per request, 4 requests in flight.
   - metadata (series and study) of that CT, `frames/1` and `rendered` of its middle slice, WADO-RS of the whole
     study (bytes read and discarded): sequential requests, median after one warm-up.
   - QIDO-RS with `--studies` one-instance studies indexed (STOWed 50 per request, 4 in flight): by PatientID,
     by a one-year StudyDate range and unfiltered, all with limit=100.
   - Memory: a `--big-mb` study (1024x1024 CT slices) streamed by WADO-RS from Yilian to a client that discards
     the bytes, sampling the RSS of each of the API's processes every 20 ms; the row is the process that served
     the download (the one whose RSS grew most).
4. Object storage (issue 15): a second `yilian api` on the same database and worker keeps its archive in S3, on
   an s3proxy 4.1.0 (runtime/s3proxy.py, filesystem backend) in the same namespace; the STOW-RS and retrieval
   phases run against it too, beside the local-disk API. `--storage-only` runs just those two phases (no Orthanc,
   no C-STORE, QIDO-RS or memory row) and writes only the S3 section.
5. Prints a JSON summary and tables; writes the sections "Imaging vs Orthanc (issue 3)" and "Imaging on S3
   (issue 15)" of docs/benchmarks.md.
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
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docs_section import replace_section
from procstat import CLK, box_cpu_s, in_my_netns, read_processes
from stack import API_PROCESSES, spawn, start_yilian_stack, wait_http
from stack import Stack as YilianStack  # bench/ is on sys.path: these run as scripts

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Imaging vs Orthanc (issue 3)"
S3_SECTION = "## Imaging on S3 (issue 15)"
S3_BUCKET = "yilian-bench"
ORTHANC_PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc/plugins")
BOUNDARY = "yilian-bench-boundary"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


# ---- synthetic data --------------------------------------------------------------------------------------
class Maker:
    """Fresh Part-10 instances from one template dataset (ct_series), changing only identity, position and dates."""

    def __init__(self, rows: int, cols: int) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.dicom_gen import ct_series

        self.ds = ct_series(n_slices=1, rows=rows, cols=cols)[0]

    def series(
        self, n: int, *, study: str | None = None, patient: str = "BENCH0001", date: str = "20261123"
    ) -> Iterator[bytes]:
        from pydicom.uid import generate_uid
        from tests.support.dicom_gen import to_bytes

        ds = self.ds
        ds.StudyInstanceUID = study or generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.PatientID = patient
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
        ds.AccessionNumber = patient[-8:]
        for i in range(n):
            uid = generate_uid()
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
            ds.InstanceNumber = i + 1
            ds.ImagePositionPatient = [-175.0, -175.0, -5.0 * i]
            ds.SliceLocation = -5.0 * i
            yield to_bytes(ds)


def multipart(instances: list[bytes]) -> bytes:
    out = bytearray()
    for data in instances:
        out += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        out += data
        out += b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


# ---- helpers -------------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(v, nd)


def free_port() -> int:
    from yilian.runtime.process import free_port as fp

    return fp()


@dataclass
class Stack(YilianStack):
    orthanc_url: str = ""
    orthanc_dicom_port: int = 0
    gateway_port: int = 0
    s3: Any = None  # the s3proxy server
    s3_api_url: str = ""

    def servers(self) -> list[Any]:
        return [self.s3, *super().servers()]


def start_yilian(stack: Stack, api_processes: int = API_PROCESSES) -> None:
    env = start_yilian_stack(
        stack,
        durable=True,
        api_processes=api_processes,
        # The archive alone, as Orthanc is: the demo's Anping has a full-hosting agreement, so with auto-referral
        # on every STOWed study would also start a referral workflow (10,000 of them in the indexing row).
        env={"YILIAN_AUTO_REFERRAL": "false"},
    )
    start_s3_api(stack, env)


def start_s3_api(stack: Stack, env: dict[str, str]) -> None:
    """s3proxy, and a second API process whose archive is in it (same database, worker and users)."""
    from yilian.runtime.s3proxy import REGION, start_s3proxy

    stack.s3 = start_s3proxy(stack.tmp / "s3proxy")
    stack.s3.create_bucket(S3_BUCKET)
    port = free_port()
    s3_env = dict(env)
    s3_env.update(
        {
            "YILIAN_STORAGE_URL": f"s3://{S3_BUCKET}/dicom",
            "YILIAN_S3_ENDPOINT": stack.s3.endpoint,
            "YILIAN_S3_REGION": REGION,
            "YILIAN_S3_ACCESS_KEY_ID": stack.s3.identity,
            "YILIAN_S3_SECRET_ACCESS_KEY": stack.s3.credential,
            "YILIAN_API_PORT": str(port),
            "YILIAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    stack.s3_api_url = f"http://127.0.0.1:{port}"
    stack.procs["api-s3"] = spawn("api-s3", [sys.executable, "-m", "yilian.cli", "api"], s3_env, stack.tmp)
    wait_http(f"{stack.s3_api_url}/api/health", "api-s3", {"api-s3": stack.procs["api-s3"]}, stack.tmp)


def start_gateway(stack: Stack, api_key: str, name: str = "gateway", src: Path | None = None) -> int:
    """Starts a gateway process `name` (its spool under stack.tmp/name; `src` on its PYTHONPATH to run another
    build of yilian) uploading to the stack's API, and returns its DICOM port once it answers C-ECHO."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YILIAN_", "TEMPORAL_"))}
    env.update(
        {
            "YILIAN_GATEWAY_AE_TITLE": "YILIAN_GW",
            "YILIAN_GATEWAY_HOST": "127.0.0.1",
            "YILIAN_GATEWAY_PORT": str(port),
            "YILIAN_GATEWAY_ALLOWED_CALLING_AES": "BENCH",
            "YILIAN_GATEWAY_SPOOL_DIR": str(stack.tmp / name),
            "YILIAN_GATEWAY_CLOUD_URL": stack.api_url,
            "YILIAN_GATEWAY_API_KEY": api_key,
        }
    )
    if src is not None:
        env["PYTHONPATH"] = str(src)
    stack.procs[name] = spawn(name, [sys.executable, "-m", "yilian.cli", "gateway", "run"], env, stack.tmp)
    deadline = time.monotonic() + 30
    while subprocess.run(
        ["echoscu", "-aet", "BENCH", "-aec", "YILIAN_GW", "127.0.0.1", str(port)], capture_output=True
    ).returncode:
        if stack.procs[name].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} not up; see {stack.tmp / (name + '.log')}")
        time.sleep(0.2)
    return port


def orthanc_plugin() -> str:
    for d in ORTHANC_PLUGIN_DIRS:
        p = Path(d) / "libOrthancDicomWeb.so"
        if p.exists():
            return str(p)
    raise RuntimeError("libOrthancDicomWeb.so not found: apt-get install -y orthanc orthanc-dicomweb")


def start_orthanc(stack: Stack) -> None:
    tmp = stack.tmp
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(tmp / "orthanc" / "storage"),
        "IndexDirectory": str(tmp / "orthanc" / "index"),
        "StorageCompression": False,
        "Plugins": [orthanc_plugin()],
        "HttpPort": http_port,
        "HttpServerEnabled": True,
        "HttpCompressionEnabled": False,
        "RemoteAccessAllowed": True,  # it listens on 0.0.0.0, but inside a namespace that has only `lo`
        "AuthenticationEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "SaveJobs": False,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Ssl": False},
    }
    (tmp / "orthanc").mkdir()
    path = tmp / "orthanc" / "orthanc.json"
    path.write_text(json.dumps(config, indent=2))
    env = dict(os.environ, TCP_NODELAY="1")
    stack.procs["orthanc"] = spawn("orthanc", ["Orthanc", str(path)], env, tmp)
    stack.orthanc_url = f"http://127.0.0.1:{http_port}"
    stack.orthanc_dicom_port = dicom_port
    wait_http(f"{stack.orthanc_url}/system", "orthanc", {"orthanc": stack.procs["orthanc"]}, tmp)


def cpu_split(named: dict[int, str] | None = None) -> tuple[float, float, dict[str, float]]:
    """(CPU-s used by the whole box, CPU-s used by processes in this network namespace, i.e. this bench's, and
    those CPU-s by process: `named` pids (api, gateway...) with their descendants under that name, PostgreSQL's
    backends as `postgres`, the rest by command name)."""
    procs = read_processes(in_my_netns())
    return box_cpu_s(), procs.total_ticks / CLK, procs.cpu_by_name(named)


async def settle(stack: Stack, quiet_cores: float = 0.05, window: float = 0.5, limit: float = 60.0) -> None:
    """Wait until the bench's own processes (servers just started, the gateway, the second API) are idle, so the
    first phase does not share the cores with another process's start-up (a second API process used 0.3 CPU-s in
    the first C-STORE phase before this). Gives up after `limit` seconds and says what was still busy."""
    named = {proc.pid: name for name, proc in stack.procs.items()}
    t0 = time.monotonic()
    while True:
        _, ours0, by0 = cpu_split(named)
        await asyncio.sleep(window)
        _, ours1, by1 = cpu_split(named)
        busy = (ours1 - ours0) / window
        if busy <= quiet_cores or time.monotonic() - t0 > limit:
            top = sorted(((by1[n] - by0.get(n, 0.0), n) for n in by1), reverse=True)[:3]
            shown = ", ".join(f"{n} {used / window:.2f}" for used, n in top if used > 0)
            waited = time.monotonic() - t0
            print(f"settled after {waited:.1f} s: {busy:.2f} cores busy ({shown or 'nothing'})", flush=True)
            return


# ---- the two servers behind one client --------------------------------------------------------------------
@dataclass
class Server:
    name: str
    client: Any  # httpx.AsyncClient, base_url = the DICOMweb root
    aec: str
    dicom_port: int
    pid: int
    # Accept headers that each server answers with the stored bytes
    dicom_accept: str = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    frame_accept: str = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
    wait_queryable: bool = False  # C-STORE counts when QIDO shows them (Yilian: through the gateway to the cloud)
    notes: list[str] = field(default_factory=list)

    async def stow(self, body: bytes) -> None:
        r = await self.client.post("studies", content=body, headers={"Content-Type": STOW_TYPE})
        if r.status_code != 200:
            raise RuntimeError(f"{self.name} STOW-RS: {r.status_code} {r.text[:500]}")

    async def study_instances(self, study: str) -> int:
        r = await self.client.get("studies", params={"StudyInstanceUID": study, "includefield": "00201208"})
        if r.status_code == 204:
            return 0
        r.raise_for_status()
        items = r.json()
        return int(items[0]["00201208"]["Value"][0]) if items else 0


async def stow_all(server: Server, instances: Iterator[bytes], per_request: int, in_flight: int) -> int:
    """STOW every instance, `per_request` per request, at most `in_flight` requests at once; returns the count."""
    lock = threading.Lock()
    count = 0

    def next_batch() -> list[bytes]:
        with lock:
            return [b for _, b in zip(range(per_request), instances, strict=False)]

    async def lane() -> None:
        nonlocal count
        while True:
            batch = await asyncio.to_thread(next_batch)
            if not batch:
                return
            await server.stow(multipart(batch))
            count += len(batch)

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return count


async def timed(fn: Callable[[], Awaitable[Any]], n: int) -> dict[str, Any]:
    """One warm-up call, then n sequential calls: median / p95 / first (ms)."""
    t = time.perf_counter()
    await fn()
    first = (time.perf_counter() - t) * 1000
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        ms.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": _r(statistics.median(ms)), "p95_ms": _r(pct(ms, 95)), "first_ms": _r(first), "n": n}


async def get_ok(server: Server, path: str, accept: str, params: dict[str, str] | None = None) -> int:
    """GET, read and discard the body; returns its size in bytes."""
    size = 0
    async with server.client.stream("GET", path, headers={"Accept": accept}, params=params) as r:
        if r.status_code not in (200, 204):
            body = await r.aread()
            raise RuntimeError(f"{server.name} GET {path}: {r.status_code} {body[:300]!r}")
        if r.headers.get("content-encoding"):
            note = f"{path.split('/')[-1]} answered with Content-Encoding {r.headers['content-encoding']}"
            if note not in server.notes:
                server.notes.append(note)
        async for chunk in r.aiter_raw():
            size += len(chunk)
    return size


# ---- the rows ----------------------------------------------------------------------------------------------
async def cstore(server: Server, maker: Maker, n: int, assocs: int, tmp: Path) -> dict[str, Any]:
    from pydicom.uid import generate_uid

    study = generate_uid()
    root = tmp / f"cstore-{server.name}-{assocs}"
    groups: list[list[str]] = []
    per = n // assocs
    for a in range(assocs):
        d = root / str(a)
        d.mkdir(parents=True)
        files = []
        for i, data in enumerate(maker.series(per, study=study, patient=f"CSTORE{assocs}")):
            f = d / f"{i:05d}.dcm"
            f.write_bytes(data)
            files.append(str(f))
        groups.append(files)
    total = per * assocs
    env = dict(os.environ, TCP_NODELAY="1")
    t0 = time.perf_counter()
    procs = [
        await asyncio.create_subprocess_exec(
            "storescu",
            "-aet",
            "BENCH",
            "-aec",
            server.aec,
            "127.0.0.1",
            str(server.dicom_port),
            *files,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        for files in groups
    ]
    for p in procs:
        _, err = await p.communicate()
        if p.returncode:
            raise RuntimeError(f"storescu -> {server.name}: exit {p.returncode}: {err.decode()[-500:]}")
    acked = time.perf_counter() - t0
    deadline = time.monotonic() + max(120, total)
    while (seen := await server.study_instances(study)) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: only {seen}/{total} C-STOREd instances queryable")
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)
    return {
        "instances": total,
        "acked_s": round(acked, 2),
        "queryable_s": round(wall, 2),
        "per_s": round(total / wall, 1),
    }


async def stow_ct(server: Server, maker: Maker, slices: int) -> tuple[str, dict[str, Any]]:
    from pydicom.uid import generate_uid

    study = generate_uid()
    t0 = time.perf_counter()
    n = await stow_all(server, maker.series(slices, study=study, patient="STOWCT"), 10, 4)
    wall = time.perf_counter() - t0
    assert await server.study_instances(study) == n
    return study, {"instances": n, "wall_s": round(wall, 2), "per_s": round(n / wall, 1)}


async def retrieval(server: Server, study: str, repeats: int) -> dict[str, Any]:
    r = await server.client.get(f"studies/{study}/series", headers={"Accept": "application/dicom+json"})
    r.raise_for_status()
    series = r.json()[0]["0020000E"]["Value"][0]
    r = await server.client.get(f"studies/{study}/series/{series}/instances", params={"limit": "1000"})
    r.raise_for_status()
    inst = r.json()
    inst.sort(key=lambda x: int(x.get("00200013", {}).get("Value", [0])[0]))
    sop = inst[len(inst) // 2]["00080018"]["Value"][0]
    js = "application/dicom+json"
    base = f"studies/{study}/series/{series}/instances/{sop}"
    out: dict[str, Any] = {"series_instances": len(inst)}
    out["series_metadata"] = await timed(
        lambda: get_ok(server, f"studies/{study}/series/{series}/metadata", js), repeats
    )
    out["study_metadata"] = await timed(lambda: get_ok(server, f"studies/{study}/metadata", js), repeats)
    out["frame"] = await timed(lambda: get_ok(server, f"{base}/frames/1", server.frame_accept), repeats * 2)
    try:
        out["rendered"] = await timed(lambda: get_ok(server, f"{base}/rendered", "image/jpeg"), repeats * 2)
        # The row above asks for one slice again and again, as a viewer's thumbnail does; scrolling through a series
        # asks for each slice once. Slices other than the middle one, each once, none of them asked for before.
        others = iter([x["00080018"]["Value"][0] for x in inst if x["00080018"]["Value"][0] != sop])
        out["rendered_first"] = await timed(
            lambda: get_ok(server, f"studies/{study}/series/{series}/instances/{next(others)}/rendered", "image/jpeg"),
            min(repeats * 2, len(inst) - 2),
        )
    except RuntimeError as exc:
        out["rendered"] = {"error": str(exc)[:200]}
    sizes: list[int] = []
    secs: list[float] = []
    for _ in range(3):
        t = time.perf_counter()
        sizes.append(await get_ok(server, f"studies/{study}", server.dicom_accept))
        secs.append(time.perf_counter() - t)
    out["wado_study"] = {
        "bytes": sizes[-1],
        "mb_s": round(statistics.median(s / t for s, t in zip(sizes, secs, strict=True)) / 1e6, 1),
        "seconds": [round(s, 2) for s in secs],
    }
    return out


def patient_of(i: int, studies: int) -> str:
    return f"QP{i % max(1, studies // 10):06d}"  # ~10 studies per patient


def date_of(i: int) -> str:
    return (dt.date(2016, 1, 1) + dt.timedelta(days=(i * 7919) % 3650)).strftime("%Y%m%d")


async def index_studies(server: Server, studies: int) -> dict[str, Any]:
    small = Maker(64, 64)

    def gen() -> Iterator[bytes]:
        for i in range(studies):
            yield from small.series(1, patient=patient_of(i, studies), date=date_of(i))

    t0 = time.perf_counter()
    n = await stow_all(server, gen(), 50, 4)
    wall = time.perf_counter() - t0
    return {"studies": n, "wall_s": round(wall, 1), "per_s": round(n / wall, 1)}


async def qido(server: Server, studies: int, repeats: int) -> dict[str, Any]:
    js = "application/dicom+json"
    queries = {
        "by_patient": {"PatientID": patient_of(studies // 2, studies), "limit": "100"},
        "by_date_range": {"StudyDate": "20200101-20201231", "limit": "100"},
        "all_limit_100": {"limit": "100"},
    }
    out: dict[str, Any] = {}
    for name, params in queries.items():
        r = await server.client.get("studies", params=params, headers={"Accept": js})
        r.raise_for_status()
        out[name] = await timed(lambda p=params: get_ok(server, "studies", js, p), repeats)  # type: ignore[misc]
        out[name]["results"] = len(r.json()) if r.status_code == 200 else 0
    return out


async def memory_row(server: Server, stack: Stack, mb: int) -> dict[str, Any]:
    import psutil  # type: ignore[import-untyped]
    from pydicom.uid import generate_uid

    big = Maker(1024, 1024)
    n = max(1, round(mb * 2**20 / (1024 * 1024 * 2)))
    study = generate_uid()
    t0 = time.perf_counter()
    await stow_all(server, big.series(n, study=study, patient="BIGSTUDY"), 8, 2)
    ingest_s = time.perf_counter() - t0
    # With YILIAN_API_PROCESSES > 1 any of the API's processes may serve the download: sample each, report the one
    # that served it (whose RSS grew most).
    first = psutil.Process(stack.procs["api"].pid)
    procs = [first, *first.children(recursive=True)]
    befores = {p.pid: p.memory_info().rss for p in procs}
    peaks = dict(befores)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    peaks[p.pid] = max(peaks[p.pid], p.memory_info().rss)
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    try:
        size = await get_ok(server, f"studies/{study}", server.dicom_accept)
    finally:
        stop.set()
        th.join()
    secs = time.perf_counter() - t
    served = max(befores, key=lambda pid: peaks[pid] - befores[pid])
    before, peak = befores[served], peaks[served]
    return {
        "instances": n,
        "study_bytes": size,
        "stow_mb_s": round(size / ingest_s / 1e6, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1),
        "wado_mb_s": round(size / secs / 1e6, 1),
        "api_processes": len(procs),
    }


async def login(client: Any, user: str) -> str:
    from yilian.db.demo import DEMO_PASSWORD

    r = await client.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


async def gateway_key_and_doctor(api: Any) -> tuple[str, str]:
    """A new API key of Anping's (for its gateway) and the county doctor zhao.anping's token (for DICOMweb)."""
    admin = await login(api, "admin")
    r = await api.post(
        "/api/hospitals/h-anping/api-keys", json={"label": "bench"}, headers={"Authorization": f"Bearer {admin}"}
    )
    r.raise_for_status()
    return str(r.json()["api_key"]), await login(api, "zhao.anping")


async def bench(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    import httpx

    timeout = httpx.Timeout(600.0)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=timeout) as api:
        api_key, doctor = await gateway_key_and_doctor(api)
    stack.gateway_port = start_gateway(stack, api_key)
    print(f"gateway up on DICOM port {stack.gateway_port}", flush=True)

    async with (
        httpx.AsyncClient(
            base_url=stack.api_url + "/dicomweb/",
            timeout=timeout,
            limits=limits,
            headers={"Authorization": f"Bearer {doctor}"},
        ) as yc,
        httpx.AsyncClient(base_url=stack.orthanc_url + "/dicom-web/", timeout=timeout, limits=limits) as oc,
    ):
        servers = [
            Server("Yilian", yc, "YILIAN_GW", stack.gateway_port, stack.procs["api"].pid, wait_queryable=True),
            Server(
                "Orthanc",
                oc,
                "ORTHANC",
                stack.orthanc_dicom_port,
                stack.procs["orthanc"].pid,
                dicom_accept='multipart/related; type="application/dicom"',
                frame_accept='multipart/related; type="application/octet-stream"',
            ),
        ]
        res: dict[str, dict[str, Any]] = {s.name: {} for s in servers}
        slice_maker = Maker(512, 512)

        async def phase(s: Server, key: str, work: Awaitable[Any]) -> Any:
            """Run one measured phase; record how many cores other processes on the box kept busy meanwhile."""
            named = {proc.pid: name for name, proc in stack.procs.items()}
            (box0, ours0, by0), t0 = cpu_split(named), time.monotonic()
            out = await work
            (box1, ours1, by1), wall = cpu_split(named), time.monotonic() - t0
            others = max(0.0, (box1 - box0) - (ours1 - ours0)) / wall if wall else 0.0
            res[s.name].setdefault("other_cores_busy", {})[key] = round(others, 2)
            # CPU-s of each of our processes in this phase: robust to what else loads the box (issue 10).
            used = {name: round(by1[name] - by0.get(name, 0.0), 2) for name in by1 if by1[name] - by0.get(name, 0.0)}
            res[s.name].setdefault("cpu_s", {})[key] = used
            shown = out[1] if isinstance(out, tuple) else out
            print(
                f"[{time.monotonic() - args.t_start:6.1f} s] {s.name} {key}: {json.dumps(shown)} "
                f"(other processes on the box: {others:.2f} cores; CPU-s: {json.dumps(used)})",
                flush=True,
            )
            return out

        await settle(stack)
        for s in servers:
            for assocs in (1, 4):
                key = f"cstore_{assocs}"
                res[s.name][key] = await phase(s, key, cstore(s, slice_maker, args.cstore, assocs, stack.tmp))
        studies: dict[str, str] = {}
        for s in servers:
            studies[s.name], res[s.name]["stow"] = await phase(s, "stow", stow_ct(s, slice_maker, args.ct_slices))
        for s in servers:
            res[s.name]["retrieve"] = await phase(s, "retrieve", retrieval(s, studies[s.name], args.repeats))
        for s in servers:
            res[s.name]["index"] = await phase(s, "index", index_studies(s, args.studies))
        for s in servers:
            res[s.name]["qido"] = await phase(s, "qido", qido(s, args.studies, args.repeats * 2))
        if args.big_mb:
            res["Yilian"]["memory"] = await phase(servers[0], "memory", memory_row(servers[0], stack, args.big_mb))
        for s in servers:
            res[s.name]["notes"] = s.notes
    res["storage"] = await storage_bench(args, stack)
    return res


async def storage_bench(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """STOW-RS and retrieval against the local-disk API and the S3 API, one after the other, same data."""
    import httpx

    timeout = httpx.Timeout(600.0)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=timeout) as api:
        doctor = await login(api, "zhao.anping")
    headers = {"Authorization": f"Bearer {doctor}"}
    out: dict[str, Any] = {}
    maker = Maker(512, 512)
    async with (
        httpx.AsyncClient(base_url=stack.api_url + "/dicomweb/", timeout=timeout, limits=limits, headers=headers)
        as local,
        httpx.AsyncClient(base_url=stack.s3_api_url + "/dicomweb/", timeout=timeout, limits=limits, headers=headers)
        as s3,
    ):  # fmt: skip
        for name, client, proc in (("local", local, "api"), ("s3", s3, "api-s3")):
            server = Server(f"Yilian {name}", client, "YILIAN", 0, stack.procs[proc].pid)
            (box0, ours0, _), t0 = cpu_split(), time.monotonic()
            study, stow = await stow_ct(server, maker, args.ct_slices)
            got = await retrieval(server, study, args.repeats)
            (box1, ours1, _), wall = cpu_split(), time.monotonic() - t0
            others = max(0.0, (box1 - box0) - (ours1 - ours0)) / wall if wall else 0.0
            out[name] = {"stow": stow, "retrieve": got, "other_cores_busy": round(others, 2)}
            print(f"[{time.monotonic() - args.t_start:6.1f} s] storage {name}: {json.dumps(out[name])}", flush=True)
    return out


def storage_table(st: dict[str, Any]) -> str:
    loc, s3 = st["local"], st["s3"]

    def lat(d: dict[str, Any], key: str) -> Any:
        v = d["retrieve"].get(key, {})
        return v.get("p50_ms") if isinstance(v, dict) else None

    k = loc["retrieve"]["series_instances"]
    mb = loc["retrieve"]["wado_study"]["bytes"] / 1e6
    rows_ = [
        (f"STOW-RS ingest, {loc['stow']['instances']} x 512x512 CT, 10 per request, 4 in flight", "inst/s",
         loc["stow"]["per_s"], s3["stow"]["per_s"], True),
        (f"series metadata, {k}-slice CT, p50 (from PostgreSQL: no blob read)", "ms",
         lat(loc, "series_metadata"), lat(s3, "series_metadata"), False),
        ("frames/1 (512x512, uncompressed), p50", "ms", lat(loc, "frame"), lat(s3, "frame"), False),
        ("rendered (JPEG), p50", "ms", lat(loc, "rendered"), lat(s3, "rendered"), False),
        (f"WADO-RS whole study ({mb:.0f} MB), median of 3", "MB/s", loc["retrieve"]["wado_study"]["mb_s"],
         s3["retrieve"]["wado_study"]["mb_s"], True),
    ]  # fmt: skip
    lines = ["| row | local disk | S3 (s3proxy) | S3 vs local |", "|---|---|---|---|"]
    for label, unit, a, b, higher in rows_:
        if a and b:
            f = b / a if higher else a / b
            ratio = f"{f:.2f}x" + (" (as fast or faster)" if f >= 1 else f" ({1 / f:.2f}x slower)")
        else:
            ratio = "n/a"
        lines.append(f"| {label} | {a} {unit} | {b} {unit} | {ratio} |")
    return "\n".join(lines)


def write_s3_docs(summary: dict[str, Any], table: str, path: Path) -> None:
    m, st = summary["machine"], summary["results"]["storage"]
    busiest = max(st["local"]["other_cores_busy"], st["s3"]["other_cores_busy"])
    quietness = (
        "the box was quiet"
        if busiest < 0.2
        else f"**the box was not quiet** (other processes kept up to {busiest} cores busy), so these figures are noisy"
    )
    body = f"""{S3_SECTION}

Command (from the repository root, venv active, as root for `ip netns`):

```
{summary["command"]}
```

Two `yilian api` processes on one database, Temporal dev server and `yilian worker`, inside the bench's network
namespace: one keeps the archive on local disk (`file://`), the other in S3 (`YILIAN_STORAGE_URL=s3://{S3_BUCKET}/dicom`)
on s3proxy 4.1.0 (runtime/s3proxy.py: filesystem-nio2 backend on the same disk, AWS v4 signatures, path-style),
through the obstore adapter (imaging/blob_s3.py: one If-None-Match PUT per instance below 16 MiB, ranged GETs
behind a 256 KiB read buffer). Same synthetic CT, fresh UIDs for each; the same client code as the Orthanc rows
above. So the S3 column is the cost of the S3 protocol and s3proxy's JVM on this machine, not of a network: a
real bucket adds its round-trip time to every blob read (a frame is one or two ranged GETs, a whole instance a
few).

Machine: {m["nproc"]} cores ({m["cpu"]}), {m["mem_gib"]} GiB, {m["os"]}; {m["date"]}; load average at start
{m["loadavg_at_start"]}: {quietness}; other processes kept {st["local"]["other_cores_busy"]} cores busy during the
local-disk phase and {st["s3"]["other_cores_busy"]} during the S3 phase (of {m["nproc"]}). Whole run
{summary["total_wall_s"]} s.

{table}
"""
    replace_section(path, S3_SECTION, body)


# ---- report ------------------------------------------------------------------------------------------------
def machine_facts() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else ""

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip()
        except OSError:
            return "?"

    import pydicom
    import pynetdicom

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "os": platform.platform(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "orthanc": version(["dpkg-query", "-W", "-f=${Version}", "orthanc"]),
        "orthanc_dicomweb": version(["dpkg-query", "-W", "-f=${Version}", "orthanc-dicomweb"]),
        "dcmtk": version(["dpkg-query", "-W", "-f=${Version}", "dcmtk"]),
        "pydicom": pydicom.__version__,
        "pynetdicom": pynetdicom.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "memory_at_start": memory_gib(),
    }


def memory_gib() -> dict[str, float]:
    """Free memory and page cache (GiB, /proc/meminfo). On this VM a write into fresh page-cache pages costs several
    times one into reused pages, so how full the cache is moves the ingest rows (docs/benchmarks.md, `apidirect`)."""
    fields: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("MemFree", "Cached"):
                fields[name] = round(int(value.split()[0]) / 2**20, 1)
    return {"free": fields.get("MemFree", -1.0), "page_cache": fields.get("Cached", -1.0)}


@dataclass
class Row:
    label: str
    yilian: float | None
    orthanc: float | None
    unit: str
    higher_is_better: bool
    goal_factor: float  # Yilian must be this many times better than Orthanc (1 = at least as fast)
    extra: str = ""

    def speedup(self) -> float | None:
        if not self.yilian or not self.orthanc:
            return None
        return self.yilian / self.orthanc if self.higher_is_better else self.orthanc / self.yilian

    def ratio_text(self) -> str:
        f = self.speedup()
        if f is None:
            return "n/a"
        return f"Yilian {f:.2f}x faster" if f >= 1 else f"Yilian {1 / f:.2f}x slower"

    def met(self) -> bool | None:
        f = self.speedup()
        return None if f is None else f >= self.goal_factor

    def goal_text(self) -> str:
        goal = "≥ Orthanc" if self.goal_factor == 1 else f"≥ {self.goal_factor:g}x Orthanc"
        m = self.met()
        return f"{goal}: " + ("n/a" if m is None else ("met" if m else "**not met**"))


def rows(res: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    y, o = res["Yilian"], res["Orthanc"]

    def lat(d: dict[str, Any], *keys: str) -> float | None:
        for k in keys:
            d = d.get(k, {})
        return d.get("p50_ms") if isinstance(d, dict) else None

    out = [
        Row(
            f"C-STORE ingest, 1 association, {y['cstore_1']['instances']} x 512x512 CT (Yilian: gateway -> cloud, "
            "until queryable)",
            y["cstore_1"]["per_s"],
            o["cstore_1"]["per_s"],
            "inst/s",
            True,
            1,
        ),
        Row(
            f"C-STORE ingest, 4 associations, {y['cstore_4']['instances']} x 512x512 CT",
            y["cstore_4"]["per_s"],
            o["cstore_4"]["per_s"],
            "inst/s",
            True,
            1,
        ),
        Row(
            f"STOW-RS ingest, {y['stow']['instances']} x 512x512 CT, 10 per request, 4 in flight",
            y["stow"]["per_s"],
            o["stow"]["per_s"],
            "inst/s",
            True,
            1,
        ),
    ]
    n = y["index"]["studies"]
    out.append(
        Row(
            f"STOW-RS indexing {n} one-instance studies (64x64), 50 per request, 4 in flight",
            y["index"]["per_s"],
            o["index"]["per_s"],
            "studies/s",
            True,
            1,
        )
    )
    for key, label in (
        ("by_patient", "by PatientID"),
        ("by_date_range", "by StudyDate range (one year)"),
        ("all_limit_100", "no filter"),
    ):
        out.append(
            Row(
                f"QIDO-RS studies {label}, limit=100, {n} studies indexed, p50 "
                f"({y['qido'][key]['results']} / {o['qido'][key]['results']} results)",
                lat(y, "qido", key),
                lat(o, "qido", key),
                "ms",
                False,
                2,
            )
        )
    k = y["retrieve"]["series_instances"]
    out += [
        Row(f"series metadata, {k}-slice CT, p50", lat(y, "retrieve", "series_metadata"),
            lat(o, "retrieve", "series_metadata"), "ms", False, 2),
        Row(f"study metadata, {k}-slice CT, p50", lat(y, "retrieve", "study_metadata"),
            lat(o, "retrieve", "study_metadata"), "ms", False, 2),
        Row("frames/1 (512x512, uncompressed), p50", lat(y, "retrieve", "frame"), lat(o, "retrieve", "frame"),
            "ms", False, 1),
        Row("rendered (JPEG), the same slice again, p50", lat(y, "retrieve", "rendered"),
            lat(o, "retrieve", "rendered"), "ms", False, 1),
        Row("rendered (JPEG), each slice once, p50", lat(y, "retrieve", "rendered_first"),
            lat(o, "retrieve", "rendered_first"), "ms", False, 1),
        Row(f"WADO-RS whole study, {k}-slice CT ({y['retrieve']['wado_study']['bytes'] / 1e6:.0f} MB), median of 3",
            y["retrieve"]["wado_study"]["mb_s"], o["retrieve"]["wado_study"]["mb_s"], "MB/s", True, 1),
    ]  # fmt: skip
    return out


def render(summary: dict[str, Any]) -> str:
    res = summary["results"]
    lines = [
        "| row | Yilian | Orthanc | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        lines.append(
            f"| {row.label} | {row.yilian} {row.unit} | {row.orthanc} {row.unit} | {row.ratio_text()} | "
            f"{row.goal_text()} |"
        )
    mem = res["Yilian"].get("memory")
    if mem:
        ok = mem["rss_peak_mb"] < 500
        lines.append(
            f"| API process RSS while streaming a {mem['study_bytes'] / 2**30:.2f} GiB study by WADO-RS "
            f"({mem['instances']} x 1024x1024 CT; read at {mem['wado_mb_s']} MB/s) | peak {mem['rss_peak_mb']} MB "
            f"(before: {mem['rss_before_mb']} MB) | not measured | | < 500 MB: {'met' if ok else '**not met**'} |"
        )
    return "\n".join(lines)


def write_docs(summary: dict[str, Any], table: str, path: Path) -> None:
    m, res = summary["machine"], summary["results"]
    y, o = res["Yilian"], res["Orthanc"]
    extra = []
    for name, r in (("Yilian", y), ("Orthanc", o)):
        c1, c4 = r["cstore_1"], r["cstore_4"]
        extra.append(
            f"* {name}: C-STORE acknowledged by the SCP after {c1['acked_s']} s / {c4['acked_s']} s (1 / 4 "
            f"associations), queryable after {c1['queryable_s']} s / {c4['queryable_s']} s. Indexing "
            f"{r['index']['studies']} one-instance studies by STOW-RS: {r['index']['per_s']} studies/s. First "
            f"(cold) series / study metadata: {r['retrieve']['series_metadata']['first_ms']} / "
            f"{r['retrieve']['study_metadata']['first_ms']} ms."
            + (f" Notes: {'; '.join(r['notes'])}." if r["notes"] else "")
        )
        busy = ", ".join(f"{k} {v}" for k, v in r.get("other_cores_busy", {}).items())
        extra.append(f"  Cores kept busy by other processes on the box during {name}'s phases: {busy}.")
        used = r.get("cpu_s", {})
        if used:  # process time per phase: robust to a loaded box, unlike the rates
            per_phase = "; ".join(
                f"{key} " + ", ".join(f"{proc} {sec}" for proc, sec in sorted(procs.items(), key=lambda kv: -kv[1])[:4])
                for key, procs in used.items()
            )
            extra.append(f"  CPU-s of the bench's processes in {name}'s phases (top 4 each): {per_phase}.")
    mem = y.get("memory")
    if mem:
        extra.append(f"* Yilian ingested the memory-row study by STOW-RS at {mem['stow_mb_s']} MB/s.")
    body = f"""{SECTION}

Command (from the repository root, venv active, as root for `ip netns`):

```
{summary["command"]}
```

Setup: `bench/imaging.py` creates a network namespace with only `lo` up and runs itself inside it, so Orthanc
(which listens on all addresses) is reachable from nowhere else; both servers and all clients share that
loopback. Orthanc {m["orthanc"]} with orthanc-dicomweb {m["orthanc_dicomweb"]} (Debian), started by the bench
with `TCP_NODELAY=1`, `"HttpCompressionEnabled": false`, storage and SQLite index in the temp dir, no
authentication. Yilian: embedded PostgreSQL (fsync on), Temporal dev server, `yilian worker`, `yilian api`
(uvicorn in {summary.get("api_processes", 1)} processes on one port, `YILIAN_API_PROCESSES`: one per core, as
Orthanc uses its threads on both; the memory row is the process that served the download; auto-referral off: the
archive alone) and `yilian gateway run` (default batching: 20
instances, 0.2 s linger while a storage association is open, 4 upload lanes). Clients are the
same for both: DCMTK `storescu` {m["dcmtk"]} (with `TCP_NODELAY=1`, calling AE `BENCH`) and httpx over HTTP/1.1;
Yilian's DICOMweb requests carry the county doctor's JWT (zhao.anping), its gateway the hospital's API key. The
servers are measured one after the other, never at the same time; each gets fresh UIDs of the same synthetic
instances (tests/support/dicom_gen.py `ct_series`, explicit VR little endian, uncompressed). Yilian's C-STORE
rate counts until QIDO-RS in the cloud shows every instance (SCP -> spool -> STOW-RS -> archive); Orthanc's
until `storescu` exits (Orthanc indexes before it answers; the bench checks QIDO-RS too). Latencies are medians
of sequential requests after one warm-up request; bodies are read and discarded.

Machine: {m["nproc"]} cores ({m["cpu"]}), {m["mem_gib"]} GiB, {m["os"]}, Python {m["python"]}, pydicom
{m["pydicom"]}, pynetdicom {m["pynetdicom"]}; {m["date"]}; load average at start {m["loadavg_at_start"]}; memory
free / page cache at start {m["memory_at_start"]["free"]} / {m["memory_at_start"]["page_cache"]} GiB; whole run
{summary["total_wall_s"]} s.

{table}

{chr(10).join(extra)}
"""
    replace_section(path, SECTION, body)


# ---- entry points ---------------------------------------------------------------------------------------------
def inner(args: argparse.Namespace) -> None:
    args.t_start = time.monotonic()
    facts = machine_facts()
    tmp = Path(tempfile.mkdtemp(prefix="yilian-imaging-bench-"))
    stack = Stack(tmp)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        start_yilian(stack, args.api_processes)
        if args.storage_only:
            print(f"Yilian API {stack.api_url}, on S3 {stack.s3_api_url}")
            res = {"storage": asyncio.run(storage_bench(args, stack))}
        else:
            start_orthanc(stack)
            print(
                f"Yilian API {stack.api_url}, on S3 {stack.s3_api_url}, Orthanc {stack.orthanc_url} "
                f"(up in {time.monotonic() - args.t_start:.1f} s)"
            )
            res = asyncio.run(bench(args, stack))
    finally:
        stack.close(keep=args.keep)
    summary: dict[str, Any] = {
        "command": args.command,
        "api_processes": args.api_processes,
        "machine": facts,
        "total_wall_s": round(time.monotonic() - args.t_start, 1),
        "results": res,
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    s3_table = storage_table(res["storage"])
    print(s3_table)
    if not args.storage_only:
        summary["rows"] = rows(res, args)
        table = render(summary)
        print(table)
        if not args.no_docs:
            write_docs(summary, table, args.docs)
    if not args.no_docs:
        write_s3_docs(summary, s3_table, args.docs)
        print(f"wrote {args.docs}")


def outer(args: argparse.Namespace, argv: list[str]) -> int:
    """Create the namespace, run the bench inside it, always remove it and whatever still runs in it."""
    if os.geteuid() != 0:
        sys.exit("bench/imaging.py needs root for `ip netns` (Orthanc must be unreachable from outside)")
    # The namespace has no network: anything fetched on first use (s3proxy's jars, from Maven) is fetched here.
    from yilian.runtime.s3proxy import jars

    jars()
    ns = f"yb-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    child: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        links = subprocess.run(["ip", "netns", "exec", ns, "ip", "-o", "link"], capture_output=True, text=True).stdout
        if [ln.split(":")[1].strip() for ln in links.splitlines()] != ["lo"]:
            raise RuntimeError(f"namespace {ns} has more than lo: {links}")
        child = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, str(Path(__file__).resolve()), "--inner", *argv],
            start_new_session=True,
        )
        return child.wait()
    except KeyboardInterrupt:
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        return 130
    finally:
        left = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in left:  # only processes we started can be in our namespace
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "delete", ns], check=False)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run (< 1 min): small sizes, no docs")
    p.add_argument("--studies", type=int, default=10000, help="one-instance studies indexed for QIDO-RS")
    p.add_argument("--ct-slices", type=int, default=300, help="slices of the CT for STOW-RS, metadata, WADO-RS")
    p.add_argument("--cstore", type=int, default=200, help="instances per C-STORE run (split over associations)")
    p.add_argument("--big-mb", type=int, default=2048, help="size of the study for the memory row (0: skip)")
    p.add_argument(
        "--api-processes", type=int, default=API_PROCESSES, help="YILIAN_API_PROCESSES of the bench's API (default 2)"
    )
    p.add_argument("--repeats", type=int, default=10, help="timed requests per latency row (frames/QIDO: 2x)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    p.add_argument("--storage-only", action="store_true", help="only STOW-RS and retrieval, local disk vs S3")
    p.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    args = p.parse_args()
    if not args.inner:
        sys.exit(outer(args, argv))
    args.command = " ".join(["python bench/imaging.py", *[a for a in argv if a != "--inner"]])
    if args.quick:
        args.studies, args.ct_slices, args.cstore = (
            min(args.studies, 300),
            min(args.ct_slices, 40),
            min(args.cstore, 20),
        )
        args.big_mb, args.repeats, args.no_docs = min(args.big_mb, 64), min(args.repeats, 3), True
    inner(args)


if __name__ == "__main__":
    main()
