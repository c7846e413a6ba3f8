"""Live consult bench: `yilian live` (packet-forwarding SFU) beside aiortc's stock MediaRelay, in one run.

    .venv/bin/python bench/live.py                # full run (a few minutes), prints the table and JSON
    .venv/bin/python bench/live.py --tiny         # seconds: the smoke test's size
    .venv/bin/python bench/live.py --write-docs   # also replaces the live section of docs/benchmarks.md

What runs (all on loopback, ICE host candidates 127.0.0.1 only):
- The media: a 10 s 640x480@15 VP8 (~600 kbit/s, keyframe every 2 s) + Opus file, made once with PyAV. Each
  frame's number is painted into it as 8 black/white blocks before encoding; publishers send the file's packets
  without decoding (aiortc packs av.Packets), frame n at T0 + n/15, so "capture time" is known to every process.
- The servers, each pinned to CPU 0 with taskset: `yilian live --loopback-only`, and `bench/live.py stock-server`
  (aiortc's documented relay: MediaRelay.subscribe per viewer, so one VP8 encoder per viewer).
- The clients, on the other core(s), several per process: publishers; cheap subscribers whose receivers are
  tapped like the SFU's own (SRTP and RTP parsing only, frames counted by the marker bit, nothing decoded); and
  decoding probes that read the painted frame number back (glass-to-glass latency).
- Scenarios: one publisher with N subscribers on each server (marginal CPU per subscriber; where the stock relay
  falls below 10 fps), and the goal room: 10 people, everyone publishing and receiving the other nine (90
  forwarded video + 90 audio streams), a presenter sending viewer state at 10 Hz over the data channel.
Server CPU is psutil user+sys of the server process over the measurement window, as % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

FPS = 15
WIDTH, HEIGHT = 640, 480
MEDIA_SECONDS = 10
LOOP_FRAMES = FPS * MEDIA_SECONDS
BITS = 8  # frame number painted as 8 blocks (0..255 > LOOP_FRAMES)
BLOCK = WIDTH // BITS
SECRET = "bench-live-secret-0123456789-0123456789"


# --- media ---------------------------------------------------------------------------------------------------


def paint(index: int, t: float) -> np.ndarray:
    """A moving gradient (so the encoder has work) with the frame number as a row of blocks at the top."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = ((x + y + int(t * 120)) % 256).astype(np.uint8)
    picture = np.stack([base, np.roll(base, 40, axis=1), np.roll(base, 80, axis=0)], axis=-1)
    for bit in range(BITS):
        value = 255 if index >> bit & 1 else 0
        picture[0:80, bit * BLOCK : (bit + 1) * BLOCK] = value
    return picture


def read_index(frame: av.VideoFrame) -> int:
    gray = frame.to_ndarray(format="gray")
    scale = gray.shape[1] / WIDTH
    index = 0
    for bit in range(BITS):
        x0, x1 = int((bit * BLOCK + 15) * scale), int(((bit + 1) * BLOCK - 15) * scale)
        if gray[int(15 * scale) : int(65 * scale), x0:x1].mean() > 128:
            index |= 1 << bit
    return index


def make_media(path: Path) -> None:
    """Encode the bench's media once (VP8 600 kbit/s, GOP 2 s; Opus 440 Hz)."""
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 600_000
        video.codec_context.gop_size = 2 * FPS
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = out.add_stream("libopus", rate=48_000)
        audio.layout = "stereo"
        for index in range(LOOP_FRAMES):
            frame = av.VideoFrame.from_ndarray(paint(index, index / FPS), format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = index, fractions.Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = 960
        for index in range(MEDIA_SECONDS * 50):
            t = (np.arange(samples) + index * samples) / 48_000
            tone = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, index * samples
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


def load_packets(path: Path) -> dict[str, list[tuple[bytes, bool]]]:
    packets: dict[str, list[tuple[bytes, bool]]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                packets[packet.stream.type].append((bytes(packet), packet.is_keyframe))
    return packets


# --- client side (runs in `clients` processes) ---------------------------------------------------------------


def _packet_track(kind: str, packets: list[tuple[bytes, bool]], t0: float) -> Any:
    from aiortc.mediastreams import MediaStreamTrack

    interval = 1 / FPS if kind == "video" else 0.02
    clock = 90_000 if kind == "video" else 48_000
    step = clock // FPS if kind == "video" else 960

    class PacketTrack(MediaStreamTrack):
        """Pre-encoded packets, paced from T0: packet n goes out at T0 + n * interval (its capture time)."""

        def __init__(self) -> None:
            super().__init__()
            self.kind = kind
            # Start at a keyframe near now, so every publisher is at the same frame number at the same time.
            now = max(0, int((time.time() - t0) / interval) + 1)
            gop = 2 * FPS
            self.n = now if kind == "audio" else (now // gop + 1) * gop

        async def recv(self) -> av.Packet:
            due = t0 + self.n * interval
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            data, keyframe = packets[self.n % len(packets)]
            packet = av.Packet(data)
            packet.pts, packet.time_base = self.n * step, fractions.Fraction(1, clock)
            packet.is_keyframe = keyframe
            self.n += 1
            return packet

    return PacketTrack()


@dataclass
class Counter:
    frames: int = 0
    packets: int = 0
    seen: int = 0
    counting: bool = False

    async def on_packet(self, packet: Any, arrival_time_ms: int = 0) -> None:
        self.seen += 1
        if self.counting:
            self.packets += 1
            self.frames += packet.marker


async def run_clients(spec: dict[str, Any]) -> dict[str, Any]:
    """One process's share of the participants; returns what it measured."""
    from yilian.live import aiortc_internals

    aiortc_internals.use_loopback_candidates()
    packets = load_packets(Path(spec["media"]))
    t0 = spec["t0"]
    # The window is set by the orchestrator once every process is connected (a busy host starts them slowly).
    window = {"start": float("inf"), "end": float("inf")}
    counters: list[tuple[str, Counter]] = []
    latencies: list[float] = []
    dc_received: list[tuple[int, float]] = []
    dc_sent: list[tuple[int, float]] = []
    closers: list[Any] = []

    def counted(kind: str, receiver: Any) -> None:
        """A raw-RTP subscriber: after SRTP and the header parse, the packet is only counted (no jitter buffer,
        no depayloading, no NACK bookkeeping, no decoding), so clients cost little beside the server."""
        counter = Counter()
        receiver._handle_rtp_packet = counter.on_packet
        counters.append((kind, counter))

    async def probe(track: Any) -> None:
        decoded = Counter()
        counters.append(("video", decoded))
        while time.time() < window["end"]:
            frame = await track.recv()
            decoded.seen += 1
            now = time.time()
            if not window["start"] <= now <= window["end"]:
                continue
            if decoded.counting:
                decoded.frames += 1
            index = read_index(frame)
            n = int((now - t0) * FPS)
            n -= (n - index) % LOOP_FRAMES  # the newest frame with that painted number, at or before now
            latencies.append(now - (t0 + n / FPS))

    tasks = []
    if spec["server"] == "sfu":  # everyone at once, as people join a consult at its start
        closers += await asyncio.gather(
            *(
                _sfu_person(spec, person, packets, t0, counted, probe, tasks, dc_sent, dc_received)
                for person in spec["people"]
            )
        )
    else:
        for person in spec["people"]:
            closers.append(await _stock_person(spec, person, packets, t0, counted, probe, tasks))

    # Ready once every expected track was negotiated and media had a moment to start: the window measures
    # established streams, not joining. On a starved host some streams may still carry nothing: that shows as
    # fps 0 in the results rather than as a hang.
    expected = sum(int(person.get("expect_tracks", 0)) for person in spec["people"])
    for _ in range(900):  # 180 s; the orchestrator waits 240 s for a word
        if len(counters) >= expected:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)
    flowing = sum(1 for _, counter in counters if counter.seen)
    print(f"{len(counters)} of {expected} tracks arrived, {flowing} carry media", file=sys.stderr, flush=True)
    print("ready", flush=True)
    go = json.loads(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    window.update(go)
    window_start, window_end = go["start"], go["end"]
    await asyncio.sleep(max(0, window_start - time.time()))
    for _, counter in counters:
        counter.counting = True
    await asyncio.sleep(max(0, window_end - time.time()))
    for _, counter in counters:
        counter.counting = False
    await asyncio.sleep(2.0)  # stay connected while the orchestrator reads the server's counters
    seconds = window_end - window_start
    for task in tasks:
        task.cancel()
    for close in closers:
        with contextlib.suppress(Exception):
            await close()
    video_fps = [c.frames / seconds for kind, c in counters if kind == "video"]
    return {
        "video_fps": video_fps,
        "audio_pps": [c.packets / seconds for kind, c in counters if kind == "audio"],
        "latencies": latencies,
        "dc_sent": dc_sent,
        "dc_received": dc_received,
    }


async def _sfu_person(spec, person, packets, t0, counted, probe, tasks, dc_sent, dc_received):  # type: ignore[no-untyped-def]
    from yilian.live.assertion import sign_assertion
    from yilian.live.client import LiveClient, ReceivedTrack
    from yilian.live.protocol import (
        Join,
        LiveAssertion,
        MediaSource,
        RoomRole,
        StateBroadcast,
        ViewerState,
    )

    claims = LiveAssertion(
        room_id=spec["room"],
        user_id=person["name"],
        display_name=person["name"],
        room_role=RoomRole.HOST if person.get("presenter") else RoomRole.PARTICIPANT,
        presenter=bool(person.get("presenter")),
    )
    probed = [False]

    def on_track(received: ReceivedTrack) -> None:
        if received.track.kind == "video" and person.get("probe") and not probed[0]:
            probed[0] = True
            tasks.append(asyncio.ensure_future(probe(received.track)))
        else:
            counted(received.track.kind, received.receiver)

    publish = []
    if person.get("publish"):
        publish = [
            (_packet_track("video", packets["video"], t0), MediaSource.CAMERA),
            (_packet_track("audio", packets["audio"], t0), MediaSource.MICROPHONE),
        ]
    join = Join(assertion=sign_assertion(claims, SECRET))
    client = LiveClient(spec["url"], join, publish=publish, on_track=on_track, negotiation_timeout=120)
    original = client._on_data

    def on_data(raw: str | bytes) -> None:
        now = time.time()
        original(raw)
        if client.data and isinstance(client.data[-1], StateBroadcast):
            dc_received.append((client.data[-1].state.slice_index, now))

    client.channel.remove_all_listeners("message")
    client.channel.on("message", on_data)
    await client.start()
    await client.negotiated()

    if person.get("presenter"):

        async def drive() -> None:
            index = 0
            while True:
                await asyncio.sleep(0.1)
                if client.channel.readyState != "open":
                    continue
                index += 1
                dc_sent.append((index, time.time()))
                client.send_state(ViewerState(study_instance_uid="1.2.3", slice_index=index, window_width=400))

        tasks.append(asyncio.ensure_future(drive()))
    return client.close


async def _stock_person(spec, person, packets, t0, counted, probe, tasks):  # type: ignore[no-untyped-def]
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if person.get("publish"):
        pc.addTransceiver(_packet_track("video", packets["video"], t0), direction="sendonly")
        pc.addTransceiver(_packet_track("audio", packets["audio"], t0), direction="sendonly")
        route = "/publish"
    else:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        route = "/subscribe"
    probed = [False]

    @pc.on("track")
    def on_track(track: Any) -> None:
        receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
        if track.kind == "video" and person.get("probe") and not probed[0]:
            probed[0] = True
            tasks.append(asyncio.ensure_future(probe(track)))
        else:
            counted(track.kind, receiver)

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=spec["url"], timeout=30) as http:
        answer = (await http.post(route, json={"sdp": pc.localDescription.sdp, "type": "offer"})).json()
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    return pc.close


# --- the stock relay server -------------------------------------------------------------------------------------


def stock_server(port: int) -> None:
    """aiortc's own relay, as its examples use it: a MediaRelay over the publisher's (decoded) tracks, one
    subscribe() per viewer, so each viewer's sender runs its own VP8 encoder."""
    import uvicorn
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from yilian.live import aiortc_internals

    aiortc_internals.use_loopback_candidates()
    relay = MediaRelay()
    sources: dict[str, Any] = {}
    pcs: list[Any] = []

    async def negotiate(pc: Any, body: dict[str, str]) -> JSONResponse:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return JSONResponse({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})

    async def publish(request: Request) -> JSONResponse:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(pc)
        pc.on("track", lambda track: sources.__setitem__(track.kind, track))
        return await negotiate(pc, await request.json())

    async def subscribe(request: Request) -> JSONResponse:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(pc)
        for kind in ("video", "audio"):
            pc.addTrack(relay.subscribe(sources[kind]))
        return await negotiate(pc, await request.json())

    app = Starlette(
        routes=[Route("/publish", publish, methods=["POST"]), Route("/subscribe", subscribe, methods=["POST"])]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- orchestration ------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pinned(command: list[str], core: str) -> list[str]:
    return ["taskset", "-c", core, *command] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else command


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()


def start_server(kind: str) -> Server:
    port = _free_port()
    if kind == "sfu":
        env = {**os.environ, "YILIAN_LIVE_SECRET": SECRET, "YILIAN_LIVE_MAX_VIDEO_BITRATE": "800000"}
        command = [sys.executable, "-m", "yilian.cli", "live", "--loopback-only", "--port", str(port)]
    else:
        env = dict(os.environ)
        command = [sys.executable, str(Path(__file__).resolve()), "stock-server", "--port", str(port)]
    process = subprocess.Popen(_pinned(command, "0"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + ("/health" if kind == "sfu" else "/"), timeout=1)
            return Server(kind, process, url)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} server did not start")


def _wait_ready(process: subprocess.Popen[str], within: float = 240.0) -> None:
    import select

    assert process.stdout is not None
    if getattr(process, "ready", False):
        return
    readable, _, _ = select.select([process.stdout], [], [], within)
    line = process.stdout.readline() if readable else f"(nothing within {within:.0f} s)"
    if line.strip() != "ready":
        raise RuntimeError(f"a clients process did not get ready (said {line!r}); see its log in the temp dir")
    process.ready = True  # type: ignore[attr-defined]


def run_scenario(
    server: Server, media: Path, people: list[dict[str, Any]], warmup: float, window: float
) -> dict[str, Any]:
    import psutil

    room = f"bench-{time.monotonic_ns()}"
    if server.kind == "sfu":
        httpx.put(f"{server.url}/rooms/{room}", json={"capacity": 50}, headers={"Authorization": f"Bearer {SECRET}"})
    t0 = time.time() + 1.0
    ws_url = server.url.replace("http://", "ws://") + "/ws"
    # Publishers first (the stock relay needs the source before its viewers), then everyone else.
    groups: list[list[dict[str, Any]]] = []
    per_process = 5
    publishers = [p for p in people if p.get("publish")]
    rest = [p for p in people if not p.get("publish")]
    for chunk in (publishers, rest):
        for i in range(0, len(chunk), per_process):
            groups.append(chunk[i : i + per_process])
    processes = []
    for i, group in enumerate(groups):
        spec = {
            "server": server.kind,
            "url": ws_url if server.kind == "sfu" else server.url,
            "room": room,
            "media": str(media),
            "people": group,
            "t0": t0,
        }
        # Clients are not pinned: on 2 cores they need whatever the server leaves.
        command = [sys.executable, str(Path(__file__).resolve()), "clients", json.dumps(spec)]
        log = open(Path(tempfile.gettempdir()) / f"bench-live-clients-{i}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        processes.append(process)
        if i < len(publishers) // per_process + 1 and server.kind == "stock":
            _wait_ready(process)  # the stock relay needs its source before the first subscribe
    try:
        for process in processes:
            _wait_ready(process)
    except RuntimeError:
        for process in processes:
            process.kill()
        raise
    window_start = time.time() + warmup
    window_end = window_start + window
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(json.dumps({"start": window_start, "end": window_end}) + "\n")
        process.stdin.flush()
    server_process = psutil.Process(server.process.pid)
    time.sleep(max(0, window_start - time.time()))
    cpu_before, wall_before, health_before = server_process.cpu_times(), time.monotonic(), _health(server)
    time.sleep(max(0, window_end - time.time()))
    cpu_after, wall_after, health_after = server_process.cpu_times(), time.monotonic(), _health(server)
    cpu_seconds = cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
    cpu = cpu_seconds / (wall_after - wall_before)
    results = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        if out.strip() and out.strip().splitlines()[-1].startswith("{"):
            results.append(json.loads(out.strip().splitlines()[-1]))
    forwarded = health_after.get("packets_forwarded", 0) - health_before.get("packets_forwarded", 0)
    merged: dict[str, Any] = {
        "cpu_pct": 100 * cpu,
        "forwarded_pps": forwarded / (wall_after - wall_before),
        "us_per_packet": 1e6 * cpu_seconds / forwarded if forwarded else None,
        "video_fps": [],
        "latencies": [],
        "dc": [],
    }
    sent: dict[int, float] = {}
    received: list[tuple[int, float]] = []
    for result in results:
        merged["video_fps"] += result["video_fps"]
        merged["latencies"] += result["latencies"]
        sent.update({index: t for index, t in result["dc_sent"]})
        received += [(index, t) for index, t in result["dc_received"]]
    merged["dc"] = [t - sent[index] for index, t in received if index in sent]
    merged["rss_mb"] = server_process.memory_info().rss / 1e6
    return merged


def _health(server: Server) -> dict[str, Any]:
    if server.kind != "sfu":
        return {}
    answer: dict[str, Any] = httpx.get(f"{server.url}/health", timeout=10).json()
    return answer


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(name: str, server: str, subscribers: int, streams: int, result: dict[str, Any]) -> dict[str, Any]:
    ms = [1000 * x for x in result["latencies"]]
    dc = [1000 * x for x in result["dc"]]
    fps = result["video_fps"]
    return {
        "scenario": name,
        "server": server,
        "subscribers": subscribers,
        "video_streams": streams,
        "cpu_pct": round(result["cpu_pct"], 1),
        "rss_mb": round(result["rss_mb"]),
        "fps_min": round(min(fps), 1) if fps else None,
        "fps_median": round(statistics.median(fps), 1) if fps else None,
        "g2g_p50_ms": round(_pct(ms, 0.5) or 0) if ms else None,
        "g2g_p95_ms": round(_pct(ms, 0.95) or 0) if ms else None,
        "dc_p50_ms": round(_pct(dc, 0.5) or 0, 1) if dc else None,
        "dc_p95_ms": round(_pct(dc, 0.95) or 0, 1) if dc else None,
        "probe_frames": len(ms),
        "forwarded_pps": round(result["forwarded_pps"]),
        "us_per_packet": round(result["us_per_packet"], 1) if result["us_per_packet"] else None,
    }


def one_to_many(n: int) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = [{"name": "pub", "publish": True, "presenter": True}]
    people += [{"name": f"sub{i}", "probe": i < 2, "expect_tracks": 2} for i in range(n)]
    return people


def room_of(size: int) -> list[dict[str, Any]]:
    return [
        {"name": f"p{i}", "publish": True, "presenter": i == 0, "probe": i in (1, 2), "expect_tracks": 2 * (size - 1)}
        for i in range(size)
    ]


def main_run(args: argparse.Namespace) -> list[dict[str, Any]]:
    warmup, window = (3.0, 3.0) if args.tiny else (4.0, args.window)
    sfu_counts = [1] if args.tiny else [1, 4, 9, 18]
    stock_counts = [1] if args.tiny else [1, 2, 4, 8]
    if args.room_only:
        sfu_counts, stock_counts = [], []
    room_size = 3 if args.tiny else 10
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        media = Path(scratch) / "media.webm"
        make_media(media)
        for kind, counts in (("sfu", sfu_counts), ("stock", stock_counts)):
            if kind == "stock" and not counts:
                continue
            server = start_server(kind)
            try:
                scenarios = [(f"1 publisher -> {n}", one_to_many(n), n) for n in counts]
                if kind == "sfu":
                    streams = room_size * (room_size - 1)
                    scenarios.append((f"room of {room_size}", room_of(room_size), streams))
                for name, people, streams in scenarios:
                    try:
                        result = run_scenario(server, media, people, warmup, window)
                    except RuntimeError as exc:  # clients that could not even connect on a starved host
                        rows.append({"scenario": name, "server": kind, "subscribers": streams, "error": str(exc)})
                    else:
                        rows.append(summarise(name, kind, streams, streams, result))
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                server.stop()
    return rows


def marginal(rows: list[dict[str, Any]], server: str) -> float | None:
    points = [
        (r["subscribers"], r["cpu_pct"])
        for r in rows
        if r["server"] == server and "->" in r["scenario"] and "error" not in r
    ]
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    slope = np.polyfit(xs, ys, 1)[0]
    return float(slope)


def render(rows: list[dict[str, Any]], context: dict[str, Any]) -> str:
    head = (
        "| server | scenario | video streams out | server CPU (% of 1 core) | RSS MB | fps min / median |"
        " glass-to-glass p50 / p95 ms | data channel p50 / p95 ms | forwarded pkt/s | us per pkt |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['scenario']} | failed: {r['error']} | | | | | | | |")
            continue
        lines.append(
            f"| {'yilian live (SFU)' if r['server'] == 'sfu' else 'stock MediaRelay'} | {r['scenario']} |"
            f" {r['video_streams']} | {r['cpu_pct']} | {r['rss_mb']} | {r['fps_min']} / {r['fps_median']} |"
            f" {r['g2g_p50_ms']} / {r['g2g_p95_ms']} | {r['dc_p50_ms']} / {r['dc_p95_ms']} |"
            f" {r['forwarded_pps'] if r['server'] == 'sfu' else '-'} | {r['us_per_packet'] or '-'} |"
        )
    below = [r["subscribers"] for r in rows if r["server"] == "stock" and (r.get("fps_min") or 0) < 10]
    per_packet = [
        (r["us_per_packet"], r["forwarded_pps"] / r["subscribers"])
        for r in rows
        if r["server"] == "sfu" and "->" in r["scenario"] and r.get("us_per_packet")
    ]
    if per_packet:
        us = statistics.median(u for u, _ in per_packet)
        pps = statistics.median(p for _, p in per_packet)
        derived = (
            f"SFU cost per forwarded packet (server CPU seconds / packets the server wrote, which holds however"
            f" starved the clients are): median {us:.0f} us; a subscriber of one publisher gets {pps:.0f} packets/s"
            f" (video + audio), so {us * pps / 1e4:.2f}% of a core per subscriber stream pair."
        )
    else:
        derived = ""
    sfu_m, stock_m = marginal(rows, "sfu"), marginal(rows, "stock")
    slopes = (
        f"Marginal server CPU per subscriber (least-squares slope over the 1 -> N rows): SFU {sfu_m:.2f}% of a core,"
        f" stock MediaRelay {stock_m:.2f}%."
        if sfu_m is not None and stock_m is not None
        else ""
    )
    collapse = (
        f"The stock relay fell below 10 fps at {min(below)} subscribers."
        if below
        else "The stock relay stayed at or above 10 fps at every size tried."
    )
    notes = [
        slopes,
        derived,
        collapse,
        f"Run {context['when']} on {context['machine']}; `uptime` before: `{context['uptime_before']}`,"
        f" after: `{context['uptime_after']}`.",
    ]
    return head + "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes if n) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    clients = sub.add_parser("clients")
    clients.add_argument("spec")
    stock = sub.add_parser("stock-server")
    stock.add_argument("--port", type=int, required=True)
    parser.add_argument("--tiny", action="store_true", help="the smoke test's size: seconds, not minutes")
    parser.add_argument("--window", type=float, default=10.0, help="measurement window per scenario, seconds")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--room-only", action="store_true", help="only the 10-person room (no sweeps)")
    parser.add_argument("--write-docs", action="store_true", help="replace the live section of docs/benchmarks.md")
    args = parser.parse_args()
    if args.command == "clients":
        try:
            result = asyncio.run(run_clients(json.loads(args.spec)))
            print(json.dumps(result), flush=True)
        finally:
            # aiortc's receiver threads are not daemons: a failed run must not leave this process hanging.
            sys.stdout.flush()
            os._exit(0)
    if args.command == "stock-server":
        stock_server(args.port)
        return
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = main_run(args)
    context = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "uptime_before": uptime_before,
        "uptime_after": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    table = render(rows, context)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "context": context}, indent=2))
    if args.write_docs:
        from docs_section import replace_section  # bench/ is on the path when this runs as a script

        heading = "## Live consults: yilian live vs aiortc's stock MediaRelay (issue 11)"
        replace_section(REPO / "docs" / "benchmarks.md", heading, f"{heading}\n\n{table}")


if __name__ == "__main__":
    main()
