"""The `yilian` command: up, api, worker, live, migrate, seed-demo, doctor, search, backup, restore, gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yilian.config import Settings
from yilian.gateway import command as gateway_command
from yilian.live import command as live_command

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from temporalio.client import Client

    from yilian.metrics.exposition import MetricsServer
    from yilian.runtime.api_processes import ApiProcesses

log = logging.getLogger("yilian")


@dataclass
class Services:
    database_url: str
    temporal_address: str
    temporal_ui: str | None = None  # the dev server's Web UI; None when headless or not ours
    opensearch_url: str | None = None


# Alembic's INFO lines ("Context impl PostgresqlImpl.", "Will assume transactional DDL.") on every start say nothing
# an operator needs; its warnings and errors still show.
QUIET_LOGGERS = ("alembic",)


@contextlib.contextmanager
def embedded_services(settings: Settings, *, ui: bool = False) -> Iterator[Services]:
    """Use the configured PostgreSQL/Temporal/OpenSearch, or start the embedded ones under var/ (stopped on exit)."""
    from yilian.runtime import opensearch, postgres, temporal

    started: list[object] = []
    try:
        database_url = settings.database_url
        if database_url is None:
            pg = postgres.start_embedded_postgres(postgres.default_data_dir(settings.var_dir))
            started.append(pg)
            database_url = pg.sqlalchemy_url
            print(f"PostgreSQL (embedded)  {pg.dsn}", flush=True)
        address, ui_url = settings.temporal_address, None
        if address is None:
            dev = temporal.start_dev_server(temporal.default_data_dir(settings.var_dir), ui=ui)
            started.append(dev)
            address, ui_url = dev.address, dev.ui_url
            print(f"Temporal (dev server)  {address}", flush=True)
            if ui and ui_url is None:
                # Attached to a server an earlier run left behind, started without its UI.
                print(f"Temporal Web UI        off (pid {dev.pid} runs headless; stop it to get the UI)", flush=True)
        search_url = settings.opensearch_url
        if search_url is None:
            node = opensearch.start_node(opensearch.default_data_dir(settings.var_dir))
            started.append(node)
            search_url = node.url
            print(f"OpenSearch (embedded)  {search_url}", flush=True)
        yield Services(database_url, address, ui_url, search_url)
    finally:
        for service in reversed(started):
            with contextlib.suppress(Exception):
                service.stop()  # type: ignore[attr-defined]


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _require(value: str | None, name: str) -> str:
    if not value:
        sys.exit(f"{name} is not set: point it at your server, or run `yilian up` for the embedded defaults")
    return value


async def _serve(
    settings: Settings,
    database_url: str,
    temporal_address: str,
    *,
    api: bool,
    worker: bool,
    live_cases: bool = False,
    sockets: list[socket.socket] | None = None,
    children: ApiProcesses | None = None,
) -> None:
    """The API and/or the worker until stopped. `sockets`: listen on these rather than api_host:api_port; `children`:
    this is the first of a multi-process API, whose other processes it starts, watches and stops with itself."""
    import uvicorn

    from yilian.api.app import create_app
    from yilian.db.engine import make_engine
    from yilian.temporal_client import connect
    from yilian.worker import run_worker

    engine = make_engine(database_url)
    client = await connect(temporal_address, settings.temporal_namespace)
    metrics = _serve_metrics(settings)
    tasks = []
    if children is not None:
        children.start()
        tasks.append(asyncio.create_task(children.watch()))
    if worker:
        tasks.append(asyncio.create_task(run_worker(client, engine, settings)))
    if api:
        config = uvicorn.Config(
            create_app(settings, engine, client),
            host=settings.api_host,
            port=settings.api_port,
            log_level="info",
            # Open event streams (/api/events) never finish on their own: give them 5 s, then stop anyway.
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config) if children is None else _first_of_many(config, children)
        tasks.append(asyncio.create_task(server.serve(sockets=sockets)))
    # Not one of `tasks`: it finishes after a few seconds while the server runs on.
    starter = asyncio.create_task(_start_live_cases(settings, engine, client)) if worker and live_cases else None
    syncing = asyncio.create_task(_sync_search(settings, engine)) if worker and live_cases else None
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            t.result()
    finally:
        for t in [*tasks, *([starter] if starter else []), *([syncing] if syncing else [])]:
            t.cancel()
        if children is not None:
            await children.stop()
        if metrics is not None:
            metrics.stop()
        await engine.dispose()


def _first_of_many(config: Any, children: ApiProcesses) -> Any:
    """The first process's uvicorn server: a SIGTERM or Ctrl-C also stops the children, at the same time (each
    stops gracefully on its own), and its shutdown waits for them, so the API has stopped when this process has."""
    import uvicorn

    class FirstOfMany(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            children.signal(signal.SIGTERM)  # not a second SIGINT: uvicorn takes that for "stop now"

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets=sockets)
            await children.stop()

    return FirstOfMany(config)


def _serve_metrics(settings: Settings) -> MetricsServer | None:
    """This process's /metrics listener (docs/ops.md), when YILIAN_METRICS_PORT is set."""
    from yilian.metrics.exposition import serve_metrics

    if settings.metrics_port is None:
        return None
    server = serve_metrics(settings.metrics_host, settings.metrics_port, settings.metrics_token)
    print(f"Metrics (Prometheus)   {server.url}", flush=True)
    return server


async def _start_live_cases(settings: Settings, engine: AsyncEngine, client: Client) -> None:
    """The demo's open cases (runtime/demo_cases.py), started through the worker beside us; a failure is logged,
    never fatal: the demo still runs, only emptier."""
    from yilian.api.workflow_client import ConsultCommands, ReferralCommands
    from yilian.imaging.blob import blob_store
    from yilian.runtime.demo_cases import start_live_cases

    started = time.monotonic()
    try:
        commands = ReferralCommands(client, settings.task_queue)
        result = await start_live_cases(
            engine,
            commands,
            blob_store(settings),
            share_link_days=settings.share_link_days,
            consults=ConsultCommands(client, settings.task_queue, settings.consult_auto_close_minutes),
        )
    except Exception:
        log.exception("could not start the demo's live cases; the demo runs without them")
        return
    try:
        from yilian.runtime.demo_film import seed_demo_film

        await seed_demo_film(engine, blob_store(settings), settings.patient_index_secret)
    except Exception:
        log.exception("could not seed the demo's cloud film patient; the demo runs without one")
    if result.skipped:
        return
    stages = Counter(str(s.case.stage) for s in result.started)
    print(
        f"Demo live cases        {len(result.started)} open referrals started ({stages['in_reading']} in reading,"
        f" {stages['preliminary']} awaiting second reading, the rest offered; {time.monotonic() - started:.1f} s)",
        flush=True,
    )
    if result.consult_id:
        print(f"Demo MDT consult        {result.consult_id} scheduled by liu.coord, opens in 20 minutes", flush=True)
    for reason in result.stuck:
        log.warning("demo live case: %s", reason)


async def _sync_search(settings: Settings, engine: AsyncEngine) -> None:
    """Signed reports that never went through the indexing activity (the demo's history, cases signed while the
    deployment ran without search) into the index; a failure is logged, never fatal."""
    from yilian.search.reindex import sync
    from yilian.search.reports import connect

    if settings.opensearch_url is None:
        return
    client = connect(settings.opensearch_url, timeout=60)
    started = time.monotonic()
    try:
        done = await sync(engine, client, settings.search_alias)
        print(f"Report search          {done} signed reports indexed ({time.monotonic() - started:.1f} s)", flush=True)
    except Exception:
        log.exception("could not index the signed reports; search shows only what is signed from now on")
    finally:
        await client.close()


def _migrate_and_seed(database_url: str, seed: bool, history: bool = False) -> None:
    from yilian.db.demo import migrate_and_seed

    started = time.monotonic()
    added = migrate_and_seed(database_url, demo=seed, history=history, in_house=seed)
    if added is not None and added.referrals:
        print(
            f"Demo history           {added.referrals} finished referrals over 90 days, {added.audit_events} audit "
            f"events, {added.report_versions} report versions ({time.monotonic() - started:.1f} s)",
            flush=True,
        )


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, timeout, docker stop) stops like Ctrl-C, so the embedded services are stopped too."""

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    from yilian.db.demo import DEMO_IN_HOUSE_USERS, DEMO_PASSWORD, DEMO_USERS

    _stop_on_sigterm()

    with embedded_services(settings, ui=args.ui) as svc, contextlib.ExitStack() as stack:
        if not settings.live_urls:
            from yilian.runtime.live import start_live_process

            live = stack.enter_context(start_live_process(settings))
            # The API reaches this live process and signs joins with the secret generated for the two of them.
            settings = settings.model_copy(update={"live_urls": [live.url], "live_secret": live.secret})
            print(f"Live media (SFU)       {live.url}   (pid {live.pid}; consult rooms)", flush=True)
        _migrate_and_seed(svc.database_url, seed=not args.no_demo, history=not args.no_history)
        base = f"http://{settings.api_host}:{settings.api_port}"
        print(f"Yilian (open this)     {base}/   (sign in as a demo user below)", flush=True)
        print(f"Yilian API             {base}/api   (OpenAPI: {base}/docs)", flush=True)
        if svc.temporal_ui:
            print(f"Temporal Web UI        {svc.temporal_ui}   (workflows and their histories)", flush=True)
        if not args.no_demo:
            users = ", ".join(u.id for u in (*DEMO_USERS, *DEMO_IN_HOUSE_USERS))
            print(f"Demo users             {users}  (password: {DEMO_PASSWORD})", flush=True)
        served = settings.model_copy(update={"opensearch_url": svc.opensearch_url})
        with contextlib.suppress(KeyboardInterrupt):
            _run_serving(
                _serve(
                    served, svc.database_url, svc.temporal_address, api=True, worker=True, live_cases=not args.no_demo
                )
            )


def _run_serving(main: Coroutine[Any, Any, None]) -> None:
    """Run the API and the worker on uvloop where it is installed (uvicorn[standard] brings it): its sockets and
    callbacks cost less CPU than asyncio's own loop for every request, query and Temporal call."""
    from yilian.runtime.malloc import keep_freed_memory

    keep_freed_memory()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _run_configured(
    settings: Settings,
    *,
    api: bool,
    worker: bool,
    sockets: list[socket.socket] | None = None,
    children: ApiProcesses | None = None,
) -> None:
    database_url = _require(settings.database_url, "YILIAN_DATABASE_URL")
    temporal_address = _require(settings.temporal_address, "YILIAN_TEMPORAL_ADDRESS")
    _run_serving(
        _serve(settings, database_url, temporal_address, api=api, worker=worker, sockets=sockets, children=children)
    )


def cmd_api(settings: Settings, args: argparse.Namespace) -> None:
    """One process (YILIAN_API_PROCESSES=1, the default) as ever; more: this one binds the port and starts the rest
    (runtime/api_processes.py); with --listen-fds this is one of those, serving the sockets it inherited."""
    from yilian.runtime import api_processes

    if args.listen_fds:
        api_processes.die_with_parent(args.parent_pid)
        if settings.metrics_port:  # each process on a host needs its own metrics port: the first's, plus its index
            settings = settings.model_copy(update={"metrics_port": settings.metrics_port + args.process_index})
        sockets = api_processes.inherited_sockets(args.listen_fds)
        _run_configured(settings, api=True, worker=False, sockets=sockets)
    elif settings.api_processes > 1:
        sockets = api_processes.listen_sockets(settings.api_host, settings.api_port)
        children = api_processes.ApiProcesses(settings.api_processes - 1, sockets)
        _run_configured(settings, api=True, worker=False, sockets=sockets, children=children)
    else:
        _run_configured(settings, api=True, worker=False)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    _run_configured(settings, api=False, worker=True)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    _migrate_and_seed(_require(settings.database_url, "YILIAN_DATABASE_URL"), seed=False)
    print("database is at the newest schema")


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> None:
    _migrate_and_seed(_require(settings.database_url, "YILIAN_DATABASE_URL"), seed=True, history=not args.no_history)
    print("demo alliance loaded")


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> None:
    from yilian.runtime import doctor

    checks = asyncio.run(doctor.check(settings))
    print(doctor.render(checks))
    sys.exit(0 if all(c.ok for c in checks) else 1)


def cmd_search(settings: Settings, args: argparse.Namespace) -> None:
    """`yilian search reindex`: rebuild the report index from PostgreSQL and swap the alias to it."""
    from yilian.db.engine import make_engine
    from yilian.runtime import opensearch
    from yilian.search.reindex import reindex
    from yilian.search.reports import connect

    database_url = _require(settings.database_url, "YILIAN_DATABASE_URL")
    url = settings.opensearch_url or opensearch.find_running(opensearch.default_data_dir(settings.var_dir))
    url = _require(url, "YILIAN_OPENSEARCH_URL")

    async def run() -> None:
        engine, client = make_engine(database_url), connect(url, timeout=120)
        started = time.monotonic()
        try:
            result = await reindex(engine, client, settings.search_alias)
        finally:
            await client.close()
            await engine.dispose()
        print(
            f"{settings.search_alias} -> {result.index}: {result.indexed} signed reports "
            f"(+{result.caught_up} signed meanwhile) in {time.monotonic() - started:.1f} s; "
            f"dropped {', '.join(result.previous) or 'nothing'}"
        )

    asyncio.run(run())


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {message}", file=sys.stderr, flush=True)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    """`yilian backup DIR`: the database (pg_dump) and the manifest of its blobs (docs/ops.md)."""
    from yilian.runtime.backup import BackupError, backup

    try:
        index = backup(_require(settings.database_url, "YILIAN_DATABASE_URL"), args.directory, _say)
    except BackupError as exc:
        sys.exit(f"backup failed: {exc}")
    print(f"{args.directory}: {index.counts} and {index.blobs} blobs at schema {index.schema_revision}")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    """`yilian restore DIR`: into an empty database; every blob the backup names must be in YILIAN_STORAGE_URL."""
    from yilian.imaging.blob import blob_store
    from yilian.runtime.backup import BackupError, restore

    try:
        result = restore(
            args.directory,
            _require(settings.database_url, "YILIAN_DATABASE_URL"),
            blob_store(settings),
            _say,
        )
    except BackupError as exc:
        sys.exit(f"restore failed: {exc}")
    print(f"restored {result.counts}; all {result.blobs_checked} blobs present")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="yilian", description="Yilian 医联: remote imaging consultation")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything with embedded defaults and the demo alliance")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo alliance (nor start its live cases)")
    up.add_argument("--no-history", action="store_true", help="load the demo alliance without its 90 days of cases")
    up.add_argument(
        "--ui",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the Temporal Web UI on a free loopback port (default: on)",
    )
    api = sub.add_parser("api", help="serve the HTTP API (YILIAN_API_PROCESSES: from how many processes)")
    # Internal: how the first process of a multi-process API starts the others (runtime/api_processes.py).
    api.add_argument("--listen-fds", help=argparse.SUPPRESS)
    api.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    api.add_argument("--process-index", type=int, default=0, help=argparse.SUPPRESS)
    sub.add_parser("worker", help="run the Temporal worker")
    sub.add_parser("migrate", help="bring the database schema up to date")
    seed = sub.add_parser("seed-demo", help="load the demo alliance and its 90 days of finished cases (idempotent)")
    seed.add_argument("--no-history", action="store_true", help="only the alliance: hospitals, agreements, people")
    sub.add_parser("doctor", help="check PostgreSQL, Temporal, search and storage and say what is wrong")
    search = sub.add_parser("search", help="report search: maintain the index")
    search.add_argument("action", choices=["reindex"], help="reindex: rebuild from PostgreSQL, swap the alias")
    backup = sub.add_parser("backup", help="dump the database and list the blobs it names into a new directory")
    backup.add_argument("directory", type=Path, help="where to write the backup (must be new or empty)")
    restore = sub.add_parser("restore", help="restore a backup into an empty database and check every blob")
    restore.add_argument("directory", type=Path, help="a directory written by `yilian backup`")
    gateway_command.add_parser(sub)
    live_command.add_parser(sub)
    args = parser.parse_args(argv)
    configure_logging()
    if args.command == "gateway":  # the hospital side: its own YILIAN_GATEWAY_* settings, none of the cloud's
        sys.exit(gateway_command.main(args))
    settings = Settings()
    {
        "up": cmd_up,
        "api": cmd_api,
        "worker": cmd_worker,
        "migrate": cmd_migrate,
        "seed-demo": cmd_seed_demo,
        "doctor": cmd_doctor,
        "live": live_command.main,
        "search": cmd_search,
        "backup": cmd_backup,
        "restore": cmd_restore,
    }[args.command](settings, args)


if __name__ == "__main__":
    main()
