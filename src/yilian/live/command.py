"""`yilian live`: one SFU process (one asyncio loop: run one per core, the API pins each room to one)."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from yilian.config import Settings

if TYPE_CHECKING:  # aiortc loads only when the live process runs, not for every `yilian` command
    from yilian.live.server import LiveConfig

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    live = sub.add_parser("live", help="run one live media process (SFU) for consults")
    live.add_argument("--host", help="listen address (default YILIAN_LIVE_HOST)")
    live.add_argument("--port", type=int, help="listen port (default YILIAN_LIVE_PORT)")
    live.add_argument(
        "--loopback-only",
        action="store_true",
        help="offer only 127.0.0.1 as ICE candidate (tests and the bench: every peer on this machine)",
    )
    live.add_argument(
        "--no-lecture-packaging",
        action="store_true",
        help="lecture rooms forward as usual but write no HLS (bench/lecture.py's baseline)",
    )


def live_config(settings: Settings, *, lecture_packaging: bool = True) -> LiveConfig:
    from yilian.live.ice import IceConfig
    from yilian.live.server import LiveConfig

    return LiveConfig(
        secret=settings.live_secret,
        recordings_root=settings.recordings_root(),
        ice=IceConfig(
            stun_urls=tuple(settings.live_stun_urls),
            turn_urls=tuple(settings.live_turn_urls),
            turn_secret=settings.live_turn_secret,
        ),
        default_capacity=settings.live_room_capacity,
        default_max_video_bitrate=settings.live_max_video_bitrate,
        lecture_root=settings.lecture_media_root(),
        lecture_packaging=lecture_packaging,
    )


def main(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from yilian.live import aiortc_internals
    from yilian.live.protocol import MAX_SIGNAL_BYTES
    from yilian.live.server import build_live_app

    if args.loopback_only:
        aiortc_internals.use_loopback_candidates()
    host = args.host or settings.live_host
    port = args.port or settings.live_port
    log.info("live process on %s:%s (recordings under %s)", host, port, settings.recordings_root())
    uvicorn.run(
        build_live_app(live_config(settings, lecture_packaging=not args.no_lecture_packaging)),
        host=host,
        port=port,
        log_level="warning",
        ws_max_size=4 * MAX_SIGNAL_BYTES,  # larger frames are cut off by the server before we see them
        lifespan="off",
    )
