"""The `yilian gateway run|status` subcommands; the hospital side reads only YILIAN_GATEWAY_* settings."""

from __future__ import annotations

import argparse
import sys

from yilian.gateway.settings import GatewaySettings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = subparsers.add_parser("gateway", help="the hospital-side gateway (前置机): C-STORE in, STOW-RS out")
    commands = gateway.add_subparsers(dest="gateway_command", required=True)
    commands.add_parser("run", help="receive from modalities and forward to the cloud until stopped")
    status = commands.add_parser("status", help="queued, sent and failed counts and the last error")
    status.add_argument("--json", action="store_true", help="print the status as JSON")


def main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        print(f"the gateway's settings are wrong:\n{exc}", file=sys.stderr)
        return 2
    if args.gateway_command == "run":
        return _run(settings)
    return _status(settings, as_json=args.json)


def _run(settings: GatewaySettings) -> int:
    from yilian.gateway.service import run_gateway  # pynetdicom and httpx load only for `run`
    from yilian.runtime.malloc import keep_freed_memory

    keep_freed_memory()

    if settings.api_key is None or not settings.api_key.get_secret_value():
        print(
            "YILIAN_GATEWAY_API_KEY is not set: ask the alliance administrator for this hospital's API key",
            file=sys.stderr,
        )
        return 2
    run_gateway(settings)
    return 0


def _status(settings: GatewaySettings, *, as_json: bool) -> int:
    from yilian.gateway.status import (
        read_report_status,
        read_status,
        render_reports,
        render_status,
        render_status_json,
    )

    try:
        snapshot = read_status(settings)
        reports = read_report_status(settings)
    except FileNotFoundError:
        print(
            f"no gateway queue at {settings.database_path}: the gateway has not run with this"
            " YILIAN_GATEWAY_SPOOL_DIR yet",
            file=sys.stderr,
        )
        return 1
    if as_json:
        print(render_status_json(snapshot, reports))
    else:
        print(render_status(snapshot, settings))
        print(render_reports(reports, settings))
    return 0
