#!/usr/bin/env python
"""Lecture bench (issue 12): 500 HLS viewers on the API's segment route, and what packaging costs the live process.

    .venv/bin/python bench/lecture.py                 # full run (~4 minutes): 500 viewers for 60 s
    .venv/bin/python bench/lecture.py --tiny          # seconds: the smoke test's size (tests/integration)
    .venv/bin/python bench/lecture.py --write-docs    # also replaces the lecture section of docs/benchmarks.md
    .venv/bin/python bench/lecture.py --route-costs   # a minute: API CPU per HLS request only, no speaker

What runs, all on 127.0.0.1 in a fresh temporary directory:
- Services: embedded PostgreSQL, the Temporal dev server, `yilian api` (one process, as `yilian up` runs it) and
  `yilian live --loopback-only`, both given the same lecture directory (YILIAN_LECTURE_MEDIA_DIR).
- A speaker: `bench/lecture.py publish` in its own process, an aiortc peer joining the lecture room with a signed
  join, sending pre-encoded 640x480@15 video (~600 kbit/s, an IDR every 2 s, so its own CPU stays small) and Opus.
  It sends H.264 (the live process remuxes) or VP8 (it transcodes).
- Packaging cost: the live process's CPU (psutil user+sys, % of one core) over a window while the speaker
  publishes into (1) a lecture room whose process packages nothing (`--no-lecture-packaging`: the baseline),
  (2) a packaging room fed H.264 (remux + Opus->AAC), (3) one fed VP8 (transcode). Goal: remux <= +5% of a core.
- Viewers: `bench/lecture.py viewers` processes, each running its share of the viewers as asyncio tasks over
  keep-alive HTTP/1.1 (a minimal client: httpx would cost the load generator more than the server). Each viewer
  has its own watch token (minted as `POST /api/lectures/{id}/watch` does), loads `live.m3u8`, starts 3 segments
  behind the live edge (hls.js's default), fetches every segment as it appears and "plays" in real time from the
  moment its first segment arrived: a segment delivered after its play time is a stall (the viewer's clock then
  slips by the stall, as a player's does after rebuffering). Playlist reloads every target duration.
- Reported: viewers that stalled and stalls in total, segment fetch latency p50/p95/max, playlist latency p95,
  API and live process CPU, the generators' CPU and the host's load (it is shared: say so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import fractions
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from stack import wait_http  # noqa: E402 - bench/ is on sys.path from here

SECTION = "## Lectures: 500 HLS viewers and the packaging cost (issue 12)"
FPS, WIDTH, HEIGHT, GOP_S = 15, 640, 480, 2
LIVE_SECRET = "bench-lecture-live-secret-0123456789-0123456789"
LECTURE = "bench-lecture"


# --- the speaker (runs in `publish` processes) ---------------------------------------------------------------


def encode_media(codec: str, seconds: int) -> dict[str, list[tuple[bytes, bool]]]:
    """`seconds` of moving 640x480@15 video (an IDR every GOP_S) and an Opus tone, encoded once, in memory."""
    import av
    import numpy as np

    if codec == "h264":
        video = av.CodecContext.create("libx264", "w")
        video.options = {"preset": "veryfast", "tune": "zerolatency", "profile": "baseline"}
    else:
        video = av.CodecContext.create("libvpx", "w")
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    assert isinstance(video, av.VideoCodecContext)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.time_base, video.framerate = fractions.Fraction(1, FPS), fractions.Fraction(FPS)
    video.bit_rate, video.gop_size = 600_000, GOP_S * FPS
    out: dict[str, list[tuple[bytes, bool]]] = {"video": [], "audio": []}
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    for index in range(seconds * FPS):
        base = ((x + y + index * 8) % 256).astype(np.uint8)
        picture = np.stack([base, np.roll(base, 40, axis=1), np.roll(base, 80, axis=0)], axis=-1)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        out["video"] += [(bytes(p), bool(p.is_keyframe)) for p in video.encode(frame)]
    out["video"] += [(bytes(p), bool(p.is_keyframe)) for p in video.encode(None)]
    audio = av.CodecContext.create("libopus", "w")
    assert isinstance(audio, av.AudioCodecContext)
    audio.sample_rate, audio.layout, audio.format = 48_000, "stereo", "s16"
    audio.time_base = fractions.Fraction(1, 48_000)
    for index in range(seconds * 50):
        t = (np.arange(960) + index * 960) / 48_000
        tone = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48_000, index * 960
        out["audio"] += [(bytes(p), True) for p in audio.encode(frame)]
    return out


def packet_track(kind: str, packets: list[tuple[bytes, bool]]) -> Any:
    import av
    from aiortc.mediastreams import MediaStreamTrack

    interval = 1 / FPS if kind == "video" else 0.02
    clock, step = (90_000, 90_000 // FPS) if kind == "video" else (48_000, 960)

    class PacketTrack(MediaStreamTrack):
        """Pre-encoded packets at real time, looping (the loop starts on an IDR)."""

        def __init__(self) -> None:
            super().__init__()
            self.kind = kind
            self.n = 0
            self.t0 = time.time()

        async def recv(self) -> av.Packet:
            delay = self.t0 + self.n * interval - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            data, keyframe = packets[self.n % len(packets)]
            packet = av.Packet(data)
            packet.pts, packet.time_base = self.n * step, fractions.Fraction(1, clock)
            packet.is_keyframe = keyframe
            self.n += 1
            return packet

    return PacketTrack()


async def publish(url: str, room: str, codec: str) -> None:
    """Join the lecture room as its speaker and send until killed."""
    from yilian.live import aiortc_internals
    from yilian.live.assertion import sign_assertion
    from yilian.live.client import LiveClient
    from yilian.live.protocol import Join, LiveAssertion, MediaSource, RoomRole

    aiortc_internals.use_loopback_candidates()
    media = encode_media(codec, 10)
    claims = LiveAssertion(room_id=room, user_id="speaker", display_name="speaker", room_role=RoomRole.HOST)
    client = LiveClient(
        url.replace("http://", "ws://") + "/ws",
        Join(assertion=sign_assertion(claims, LIVE_SECRET)),
        publish=[
            (packet_track("video", media["video"]), MediaSource.CAMERA),
            (packet_track("audio", media["audio"]), MediaSource.MICROPHONE),
        ],
        video_codec="video/H264" if codec == "h264" else "video/VP8",
        negotiation_timeout=60,
    )
    await client.start()
    await client.negotiated()
    print("publishing", flush=True)
    await asyncio.Event().wait()  # until the orchestrator stops this process


# --- viewers (run in `viewers` processes) --------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection: GET with Content-Length bodies, what the segment route answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await self.reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    await self.close()
                return status, body
            except (OSError, asyncio.IncompleteReadError, ValueError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def parse_playlist(text: str) -> tuple[list[tuple[str, float]], float, bool]:
    """(uri, seconds) per segment, the target duration, ended."""
    segments: list[tuple[str, float]] = []
    target, duration, ended = 2.0, 0.0, False
    for line in text.splitlines():
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line.startswith("#EXT-X-ENDLIST"):
            ended = True
        elif line and not line.startswith("#"):
            segments.append((line, duration))
    return segments, target, ended


@dataclass
class ViewerStats:
    segments: int = 0
    stalls: int = 0
    stall_seconds: float = 0.0
    errors: int = 0
    bytes: int = 0
    segment_ms: list[float] = field(default_factory=list)
    playlist_ms: list[float] = field(default_factory=list)


async def viewer(base: str, token: str, until: float, start_in: float, stats: ViewerStats) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    http = Http(parts.hostname or "127.0.0.1", parts.port or 80)
    folder = parts.path  # /api/lectures/{id}/hls
    await asyncio.sleep(start_in)
    fetched: set[str] = set()
    play_at: float | None = None  # wall time the next segment must be there
    first = True
    try:
        while time.time() < until:
            t = time.perf_counter()
            status, body = await http.get(f"{folder}/live.m3u8?t={token}")
            stats.playlist_ms.append((time.perf_counter() - t) * 1000)
            if status != 200:
                stats.errors += 1
                await asyncio.sleep(1)
                continue
            segments, target, ended = parse_playlist(body.decode())
            if first:  # join 3 segments behind the live edge, like hls.js
                fetched.update(uri for uri, _ in segments[: max(0, len(segments) - 3)])
                first = False
            for uri, seconds in segments:
                if uri in fetched or time.time() >= until:
                    continue
                fetched.add(uri)
                t = time.perf_counter()
                status, body = await http.get(f"{folder}/{uri}")
                done = time.time()
                stats.segment_ms.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    stats.errors += 1
                    continue
                stats.segments += 1
                stats.bytes += len(body)
                if play_at is None:
                    play_at = done  # playback starts with the first segment
                elif done > play_at:
                    stats.stalls += 1
                    stats.stall_seconds += done - play_at
                    play_at = done  # the player rebuffers: everything after slips
                play_at += seconds
            if ended:
                break
            await asyncio.sleep(target)
    finally:
        await http.close()


async def run_viewers(base: str, tokens: list[str], seconds: float, ramp: float) -> dict[str, Any]:
    until = time.time() + seconds
    stats = [ViewerStats() for _ in tokens]
    count = max(len(tokens), 1)
    await asyncio.gather(
        *(
            viewer(base, token, until, ramp * i / count, s)
            for i, (token, s) in enumerate(zip(tokens, stats, strict=True))
        )
    )
    return {
        "viewers": len(tokens),
        "segments": sum(s.segments for s in stats),
        "stalls": sum(s.stalls for s in stats),
        "stalled_viewers": sum(1 for s in stats if s.stalls),
        "stall_seconds": round(sum(s.stall_seconds for s in stats), 2),
        "errors": sum(s.errors for s in stats),
        "bytes": sum(s.bytes for s in stats),
        "segment_ms": [round(x, 2) for s in stats for x in s.segment_ms],
        "playlist_ms": [round(x, 2) for s in stats for x in s.playlist_ms],
        "starved": sum(1 for s in stats if not s.segments),
    }


# --- orchestration -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def host_busy() -> tuple[float, float]:
    import psutil

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle, sum(t)


def measure(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """% of one core per process, and the host's busy cores, over `seconds`."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy0, total0 = host_busy()
    time.sleep(seconds)
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy1, total1 = host_busy()
    out = {name: round(100 * (after[name] - before[name]) / seconds, 1) for name in pids}
    cores = os.cpu_count() or 1
    out["host_busy_cores"] = round(cores * (busy1 - busy0) / max(total1 - total0, 1e-9), 2)
    return out


def control(live_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    request = urllib.request.Request(
        live_url + path,
        data=json.dumps(body or {}).encode(),
        method=method,
        headers={"Authorization": f"Bearer {LIVE_SECRET}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stop: list[Any] = field(default_factory=list)
    api_url: str = ""
    live_url: str = ""

    def spawn(self, name: str, args: list[str], core: str | None = None) -> subprocess.Popen[bytes]:
        if core is not None and (taskset := _which("taskset")):
            args = [taskset, "-c", core, *args]
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child writes it until stopped
        process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = process
        return process

    def kill(self, name: str) -> None:
        from processes import stop_processes

        process = self.procs.pop(name, None)
        if process is not None:
            stop_processes({name: process}, grace_s=10)

    def close(self) -> None:
        from processes import stop_processes

        stop_processes(self.procs)
        for stop in reversed(self.stop):
            with contextlib.suppress(Exception):
                stop()


def _which(name: str) -> str | None:
    from shutil import which

    return which(name)


def start_stack(tmp: Path) -> Stack:
    from yilian.db.demo import migrate_and_seed
    from yilian.runtime import postgres, temporal

    pg = postgres.start_embedded_postgres(tmp / "pg", durable=False)
    stack = Stack(tmp, {})
    stack.stop.append(pg.stop)
    dev = temporal.start_dev_server(tmp / "temporal")
    stack.stop.append(dev.stop)
    migrate_and_seed(pg.sqlalchemy_url)
    api_port, live_port = postgres.free_port(), postgres.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YILIAN_", "TEMPORAL_"))}
    env.update(
        {
            "YILIAN_DATABASE_URL": pg.sqlalchemy_url,
            "YILIAN_TEMPORAL_ADDRESS": dev.address,
            "YILIAN_VAR_DIR": str(tmp / "var"),
            "YILIAN_STORAGE_URL": f"file://{tmp / 'var' / 'dicom'}",
            "YILIAN_LECTURE_MEDIA_DIR": str(tmp / "lectures"),
            "YILIAN_LIVE_SECRET": LIVE_SECRET,
            "YILIAN_LIVE_PORT": str(live_port),
            "YILIAN_API_HOST": "127.0.0.1",
            "YILIAN_API_PORT": str(api_port),
            "YILIAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        }
    )
    stack.env = env
    stack.api_url, stack.live_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{live_port}"
    stack.spawn("api", [sys.executable, "-m", "yilian.cli", "api"])
    wait_http(stack.api_url + "/api/health", "api", stack.procs, stack.tmp)
    return stack


def start_live(stack: Stack, *, packaging: bool) -> None:
    stack.kill("live")
    args = [sys.executable, "-m", "yilian.cli", "live", "--loopback-only"]
    if not packaging:
        args.append("--no-lecture-packaging")
    stack.spawn("live", args, core="0")
    wait_http(stack.live_url + "/health", "live", stack.procs, stack.tmp)


def speak(stack: Stack, room: str, lecture_id: str, codec: str, segment_seconds: float) -> None:
    body = {"lecture_id": lecture_id, "segment_seconds": segment_seconds}
    assert control(stack.live_url, "PUT", f"/rooms/{room}", body) == 200
    stack.kill("speaker")
    code = "import sys; sys.path.insert(0, sys.argv[1]); import lecture as b; b.publish_main(sys.argv[2:])"
    stack.spawn("speaker", [sys.executable, "-c", code, str(REPO / "bench"), stack.live_url, room, codec], core="1")
    deadline = time.monotonic() + 120
    while "publishing" not in (stack.tmp / "speaker.log").read_text(errors="replace"):
        if stack.procs["speaker"].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the speaker did not publish; see {stack.tmp / 'speaker.log'}")
        time.sleep(0.2)
    while received(stack.live_url) < 200:  # negotiated is not connected: ICE and DTLS take a moment on a busy host
        if time.monotonic() > deadline:
            raise RuntimeError(f"no media from the speaker reached the live process; see {stack.tmp}")
        time.sleep(0.2)


def received(live_url: str) -> int:
    with urllib.request.urlopen(live_url + "/health", timeout=5) as answer:
        return int(json.loads(answer.read())["packets_received"])


def publish_main(argv: list[str]) -> None:
    asyncio.run(publish(argv[0], argv[1], argv[2]))


def packaging_costs(stack: Stack, warm: float, window: float, segment_seconds: float) -> dict[str, Any]:
    """Live process CPU: a lecture room with packaging off, then remux (H.264), then transcode (VP8)."""
    rows: dict[str, Any] = {}
    for name, packaging, codec, lecture in (
        ("off (H.264 in, nothing written)", False, "h264", "bench-off"),
        ("transcode (VP8 in)", True, "vp8", "bench-vp8"),
        ("remux (H.264 in)", True, "h264", LECTURE),
    ):
        start_live(stack, packaging=packaging)
        speak(stack, f"lecture-{lecture}", lecture, codec, segment_seconds)
        time.sleep(warm)
        cpu = measure({"live": stack.procs["live"].pid, "speaker": stack.procs["speaker"].pid}, window)
        rows[name] = cpu
        print(f"  packaging {name}: live {cpu['live']}% of a core (host busy {cpu['host_busy_cores']} cores)")
    return rows


def mint_tokens(n: int) -> list[str]:
    from yilian.api import lecture_media
    from yilian.config import DEV_JWT_SECRET

    now = dt.datetime.now(dt.UTC)
    return [lecture_media.mint(DEV_JWT_SECRET, LECTURE, f"viewer-{i}", lecture_media.LIVE, now)[0] for i in range(n)]


def route_costs(stack: Stack, requests: int) -> dict[str, float]:
    """API CPU per request (ms) on each path a viewer uses, at 10 requests in flight; /api/health for scale."""
    token = mint_tokens(1)[0]
    port = int(stack.api_url.rsplit(":", 1)[1])
    folder = f"/api/lectures/{LECTURE}/hls"
    paths = {
        "segment": f"{folder}/seg_000002.ts?t={token}",
        "playlist": f"{folder}/live.m3u8?t={token}",
        "health": "/api/health",
    }

    async def hammer(path: str) -> None:
        async def one(count: int) -> None:
            http = Http("127.0.0.1", port)
            for _ in range(count):
                status, _ = await http.get(path)
                assert status == 200, (path, status)
            await http.close()

        await asyncio.gather(*(one(requests // 10) for _ in range(10)))

    out = {}
    pid = stack.procs["api"].pid
    for name, path in paths.items():
        before = cpu_seconds(pid)
        asyncio.run(hammer(path))
        out[name] = round(1000 * (cpu_seconds(pid) - before) / (requests // 10 * 10), 2)
    print(f"  API CPU per request: {out} ms", flush=True)
    return out


def synthetic_lecture(folder: Path, segments: int = 30, segment_seconds: float = 2.0) -> None:
    """A live lecture's files without a speaker: segments the size a 600 kbit/s stream gives (random bytes: the
    route never looks inside) and the EVENT playlist naming them, for measuring the route alone."""
    folder.mkdir(parents=True, exist_ok=True)
    size = int(600_000 / 8 * segment_seconds)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:EVENT",
             f"#EXT-X-TARGETDURATION:{int(segment_seconds + 1)}", "#EXT-X-MEDIA-SEQUENCE:0"]  # fmt: skip
    for i in range(1, segments + 1):
        (folder / f"seg_{i:06d}.ts").write_bytes(os.urandom(size))
        lines += [f"#EXTINF:{segment_seconds:.3f},", f"seg_{i:06d}.ts"]
    (folder / "live.m3u8").write_text("\n".join(lines) + "\n")


def viewers_phase(stack: Stack, n: int, seconds: float, processes: int) -> dict[str, Any]:
    tokens = mint_tokens(n)
    base = f"{stack.api_url}/api/lectures/{LECTURE}/hls"
    share = [tokens[i::processes] for i in range(processes)]
    code = "import sys; sys.path.insert(0, sys.argv[1]); import lecture as b; b.viewers_main(sys.argv[2:])"
    outputs = []
    for i, mine in enumerate(share):
        spec = stack.tmp / f"viewers-{i}.json"
        spec.write_text(json.dumps({"base": base, "tokens": mine, "seconds": seconds, "ramp": 4.0}))
        outputs.append(stack.tmp / f"viewers-{i}.out.json")
        stack.spawn(f"viewers-{i}", [sys.executable, "-c", code, str(REPO / "bench"), str(spec), str(outputs[-1])])
    time.sleep(8)  # the ramp, and every viewer past its first catch-up fetches
    pids = {"api": stack.procs["api"].pid, "live": stack.procs["live"].pid}
    pids.update({f"viewers-{i}": stack.procs[f"viewers-{i}"].pid for i in range(processes)})
    cpu = measure(pids, max(seconds - 14, 2))
    for i in range(processes):
        stack.procs[f"viewers-{i}"].wait(seconds + 120)
    parts = [json.loads(path.read_text()) for path in outputs]
    merged: dict[str, Any] = {k: sum(p[k] for p in parts) for k in parts[0] if not isinstance(parts[0][k], list)}
    segment_ms = sorted(x for p in parts for x in p["segment_ms"])
    playlist_ms = sorted(x for p in parts for x in p["playlist_ms"])
    merged.update(
        {
            "segment_ms_p50": _pct(segment_ms, 50),
            "segment_ms_p95": _pct(segment_ms, 95),
            "segment_ms_max": segment_ms[-1] if segment_ms else None,
            "playlist_ms_p95": _pct(playlist_ms, 95),
            "mbit_s": round(8 * merged["bytes"] / seconds / 1e6, 1),
            "cpu": cpu,
        }
    )
    return merged


def viewers_main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[0]).read_text())
    result = asyncio.run(run_viewers(spec["base"], spec["tokens"], spec["seconds"], spec["ramp"]))
    Path(argv[1]).write_text(json.dumps(result))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * q / 100))], 1)


def quietness(costs: dict[str, Any]) -> str:
    """Words for how busy the box was: the host's busy cores while only the idle lecture room ran (the load
    average at the start still carries whatever ran the minute before)."""
    busy = float(next(iter(costs.values()))["host_busy_cores"])
    if busy < 0.3:
        return f"a quiet box: {busy} cores busy on the whole host while the idle room ran"
    return f"**not a quiet box**: {busy} cores busy on the host with the room idle, so these figures carry contention"


def render(result: dict[str, Any], command: str) -> str:
    machine, costs, runs, route = result["machine"], result["packaging"], result["viewers"], result["route_ms"]
    off = costs["off (H.264 in, nothing written)"]["live"]
    segment_s = result["segment_seconds"]
    lines = [
        SECTION,
        "",
        f"Command: `{command}` ({machine['date']}; {machine['nproc']} vCPU {machine['cpu']}, Python "
        f"{machine['python']}). Load average {machine['loadavg_at_start']} at the start and "
        f"{result.get('loadavg_at_end')} at the end, on {machine['nproc']} vCPUs ({quietness(costs)}); "
        "the host's busy cores during each window are in the tables (ours included).",
        "",
        "Packaging cost: the live process's CPU with one speaker (640x480@15, ~600 kbit/s, IDR every 2 s, + Opus) "
        "in a lecture room, % of one core (live process pinned to CPU 0, the speaker to CPU 1):",
        "",
        "| lecture room | live process CPU | vs off | host busy (cores) |",
        "|---|---|---|---|",
    ]
    for name, cpu in costs.items():
        delta = "" if name.startswith("off") else f"{cpu['live'] - off:+.1f}"
        lines.append(f"| {name} | {cpu['live']}% | {delta} | {cpu['host_busy_cores']} |")
    remux = costs["remux (H.264 in)"]["live"] - off
    per_viewer_ms = (route["segment"] + route["playlist"]) / segment_s  # API CPU ms per viewer per second
    lines += [
        "",
        f"Goal for the recording's cost: remux <= +5% of a core: **{'met' if remux <= 5 else 'not met'}** "
        f"({remux:+.1f}).",
        "",
        f"Viewers on `GET /api/lectures/{{id}}/hls/{{file}}?t=TOKEN` of one `yilian api` process (answered by the HLS "
        f"door, `api/hls_door.py`, before the router), {segment_s:g} s segments, each viewer with its own watch token, "
        f"{result['seconds']:.0f} s per row:",
        "",
        "| viewers | segments fetched (expected) | stalls (viewers) | stall s total | errors | segment p50 / p95 / "
        "max ms | playlist p95 ms | throughput | API CPU got (needed*) | live CPU | load generators CPU "
        "| host busy (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for view in runs:
        cpu = view["cpu"]
        generators = sum(v for k, v in cpu.items() if k.startswith("viewers-"))
        expected = round(view["viewers"] * (result["seconds"] / segment_s + 3))
        lines.append(
            f"| {view['viewers']} | {view['segments']} ({expected}) | {view['stalls']} ({view['stalled_viewers']}) | "
            f"{view['stall_seconds']} | {view['errors']} | {view['segment_ms_p50']} / {view['segment_ms_p95']} / "
            f"{view['segment_ms_max']} | {view['playlist_ms_p95']} | {view['mbit_s']} Mbit/s | {cpu['api']}% "
            f"({view['viewers'] * per_viewer_ms / 10:.0f}%) | "
            f"{cpu['live']}% | {generators:.0f}% | {cpu['host_busy_cores']} |"
        )
    worst = max(runs, key=lambda r: r["viewers"])
    lines += [
        "",
        f"Goal: {worst['viewers']} viewers, none stalling: **{'met' if not worst['stalled_viewers'] else 'not met'}**"
        f" ({worst['stalled_viewers']} of {worst['viewers']} stalled). A stall is a segment delivered after its "
        "play time (each viewer plays from its first segment's arrival, 3 segments behind the live edge, and "
        "slips by each stall as a player does when it rebuffers).",
        "",
        f"API CPU per request, 10 in flight: segment {route['segment']} ms, playlist {route['playlist']} ms, "
        f"`/api/health` {route['health']} ms (a route through the whole framework, for scale). A viewer fetches one "
        f"segment and one playlist per {segment_s:g} s: {per_viewer_ms:.2f} ms of API CPU a second, so one core "
        f"serves about {1000 / per_viewer_ms:.0f} viewers at these per-request costs. *needed: viewers x that, the "
        "CPU the API would have used had it kept up; when it got less, the host's other work (or one process's one "
        "core) was the limit.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", default="500", help="a count, or counts run one after the other: 100,250,500")
    parser.add_argument("--segment-seconds", type=float, default=2.0, help="the lecture room's segment length")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--generators", type=int, default=2, help="viewer processes")
    parser.add_argument("--window", type=float, default=20, help="seconds of each packaging measurement")
    parser.add_argument("--tiny", action="store_true", help="5 viewers, short windows: the smoke test")
    parser.add_argument(
        "--route-costs",
        action="store_true",
        help="only the API CPU per request, on synthetic segments (no speaker, no viewers)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.tiny:
        args.viewers, args.seconds, args.generators, args.window = "5", 16, 1, 3
    counts = [int(n) for n in str(args.viewers).split(",")]
    from referral_loop import machine_facts

    result: dict[str, Any] = {
        "machine": machine_facts(),
        "seconds": args.seconds,
        "segment_seconds": args.segment_seconds,
        "viewers": [],
    }
    if args.route_costs:
        with tempfile.TemporaryDirectory(prefix="yilian-lecture-bench-") as tmp:
            stack = start_stack(Path(tmp))
            try:
                synthetic_lecture(Path(tmp) / "lectures" / LECTURE)
                costs = route_costs(stack, 3000)
            finally:
                stack.close()
        print(json.dumps({"route_ms": costs, "loadavg": [round(x, 2) for x in os.getloadavg()]}))
        return
    with tempfile.TemporaryDirectory(prefix="yilian-lecture-bench-") as tmp:
        stack = start_stack(Path(tmp))
        try:
            print("packaging cost:", flush=True)
            result["packaging"] = packaging_costs(
                stack, warm=3 if args.tiny else 8, window=args.window, segment_seconds=args.segment_seconds
            )
            result["route_ms"] = route_costs(stack, 60 if args.tiny else 600)
            for count in counts:
                print(f"{count} viewers for {args.seconds:.0f} s:", flush=True)
                result["viewers"].append(viewers_phase(stack, count, args.seconds, args.generators))
            result["segments_on_disk"] = len(list((Path(tmp) / "lectures" / LECTURE).glob("seg_*.ts")))
            result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            stack.close()
    summaries = [{k: v for k, v in run.items() if not k.endswith("_ms")} for run in result["viewers"]]
    print(json.dumps({**result, "viewers": summaries}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result))
    command = "python bench/lecture.py" + (" --tiny" if args.tiny else f" --viewers {args.viewers}")
    if args.segment_seconds != 2.0:
        command += f" --segment-seconds {args.segment_seconds:g}"
    text = render(result, command)
    print(text)
    if args.write_docs:
        from docs_section import replace_section

        replace_section(REPO / "docs" / "benchmarks.md", SECTION, text)


if __name__ == "__main__":
    main()
