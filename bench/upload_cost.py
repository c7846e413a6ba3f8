#!/usr/bin/env python
"""The gateway's uploader alone: CPU per instance to send a spooled queue by STOW-RS to a sink (issue 10).

    python bench/upload_cost.py [--instances 400] [--size 524800] [--rounds 3] [--base-src /path/to/other/src]

Fills one spool per build with the same instances (random bytes of --size; the uploader does not parse them),
then runs `upload_forever` (the gateway's settings: 20 per batch, 4 lanes) until every row is sent, against a
sink process that reads each request whole and answers 200 with the gateway's canned STOW-RS answer. Prints the
uploader process's CPU-s per instance (user + system, all its threads) and the wall rate, per build and round,
alternating the builds (each in a fresh interpreter, --base-src on PYTHONPATH). The sink's CPU is not counted.
Nothing but the upload path runs, so this isolates what bench/cstore_cost.py measures inside the gateway's total.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


async def _sink(port_file: Path, tls: Path | None) -> None:
    """A minimal HTTP/1.1 server: reads each request's body (Content-Length) and answers 200 `{}`, keep-alive."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                remaining = length
                while remaining:
                    chunk = await reader.read(min(remaining, 1 << 20))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                body = b"{}"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    context = None
    if tls is not None:  # tests/support/tls.py's private CA: tls/ca.pem trusted by the uploader, tls/cloud.* served
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls / "cloud.pem", tls / "cloud.key")
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port_file.write_text(str(server.sockets[0].getsockname()[1]))  # noqa: ASYNC240 - once, before serving
    async with server:
        await server.serve_forever()


def _fill(spool: Path, instances: int, size: int) -> None:
    from yilian.gateway.queue import InstanceQueue

    queue = InstanceQueue(spool)
    for n in range(instances):
        data = os.urandom(size)
        queue.put(
            data, sop_instance_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}", sop_class_uid="1.2", study_instance_uid="1.3"
        )
    queue.close()


async def _upload(spool: Path, port: int, ca: Path | None) -> dict[str, float]:
    from yilian.gateway.queue import InstanceQueue
    from yilian.gateway.settings import GatewaySettings
    from yilian.gateway.uploader import upload_forever

    scheme = "https" if ca else "http"
    settings = GatewaySettings(
        spool_dir=spool, cloud_url=f"{scheme}://127.0.0.1:{port}", api_key="bench-key", ca_bundle=ca
    )
    queue = InstanceQueue(spool)
    total = queue.snapshot().queued
    wake, stop = asyncio.Event(), asyncio.Event()

    async def until_sent() -> None:
        while (await asyncio.to_thread(queue.snapshot)).queued:  # noqa: ASYNC110 - polls another thread's writes
            await asyncio.sleep(0.05)
        stop.set()

    async with _client(settings) as client:  # built once at start-up in the gateway: outside the measurement
        t0, r0 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(_upload_forever(upload_forever, settings, queue, client, wake, stop), until_sent())
        wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    queue.close()
    return {
        "instances": total,
        "cpu_ms_per_instance": round(1000 * cpu / total, 3),
        "inst_per_s": round(total / wall, 1),
    }


def _verify(settings: Any) -> Any:
    import ssl

    return ssl.create_default_context(cafile=str(settings.ca_bundle)) if settings.ca_bundle else True


def _client(settings: Any) -> Any:
    """The client `yilian gateway run` builds for the uploader."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.request_timeout_seconds, connect=10.0), verify=_verify(settings)
    )


def _upload_forever(upload_forever: Any, settings: Any, *args: Any) -> Any:
    """`upload_forever` as `yilian gateway run` calls it in the build under test (older ones take no `verify`)."""
    import inspect

    if "verify" in inspect.signature(upload_forever).parameters:
        return upload_forever(settings, *args, verify=_verify(settings))
    return upload_forever(settings, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=400)
    parser.add_argument("--size", type=int, default=512 * 1024 + 256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-src", type=Path)
    parser.add_argument("--tls", action="store_true", help="HTTPS to the sink (a private CA), as a real gateway")
    parser.add_argument("--sink", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # spool port: one upload in this interpreter
    parser.add_argument("--certs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        asyncio.run(_sink(args.sink, args.certs))
        return
    if args.one:
        ca = args.certs / "ca.pem" if args.certs else None
        print(json.dumps(asyncio.run(_upload(Path(args.one[0]), int(args.one[1]), ca))))
        return

    builds = {"this": ROOT / "src"} | ({"base": args.base_src} if args.base_src else {})
    with tempfile.TemporaryDirectory(prefix="upload-cost-") as tmp:
        port_file = Path(tmp) / "port"
        certs = []
        if args.tls:
            sys.path.insert(0, str(ROOT))
            from tests.support.tls import PrivateCA

            (Path(tmp) / "tls").mkdir()
            PrivateCA(Path(tmp) / "tls").issue(["127.0.0.1"], "cloud")  # writes ca.pem, cloud.pem, cloud.key
            certs = ["--certs", str(Path(tmp) / "tls")]
        sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port_file), *certs])
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            port = port_file.read_text()
            results: dict[str, list[float]] = {name: [] for name in builds}
            for round_ in range(args.rounds):
                for name, src in builds.items():
                    spool = Path(tmp) / f"spool-{name}-{round_}"
                    env = os.environ | {"PYTHONPATH": str(src)}
                    subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r});"
                            f" import upload_cost; upload_cost._fill(__import__('pathlib').Path({str(spool)!r}),"
                            f" {args.instances}, {args.size})",
                        ],
                        env=env,
                        check=True,
                    )
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", str(spool), port, *certs],
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    row = {"build": name, "round": round_, **json.loads(out.stdout), "load": os.getloadavg()[0]}
                    print(json.dumps(row), flush=True)
                    results[name].append(row["cpu_ms_per_instance"])
            for name, values in results.items():
                print(f"{name}: CPU ms per instance median {statistics.median(values):.3f} of {values}")
        finally:
            sink.terminate()
            sink.wait()


if __name__ == "__main__":
    main()
