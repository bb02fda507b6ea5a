"""``budgetperf warehouse start|stop|status|url`` and ``budgetperf migrate``."""

from __future__ import annotations

import argparse
import sys

from budgetperf.settings import load_settings
from budgetperf.warehouse import embedded, resolve_url
from budgetperf.warehouse.migrate import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "warehouse",
        help="the warehouse: start, stop, status, url",
        description=(
            "Without BUDGETPERF_WAREHOUSE_URL, manage the embedded PostgreSQL under "
            "$BUDGETPERF_HOME/warehouse. With it set, report on that server and never "
            "start one."
        ),
    )
    parser.add_argument("action", choices=["start", "stop", "status", "url"])
    parser.set_defaults(handler=_warehouse)

    migrate_parser = subparsers.add_parser(
        "migrate", help="create or upgrade the warehouse schemas (safe to run again)"
    )
    migrate_parser.set_defaults(handler=_migrate)


def _warehouse(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.warehouse_url:
        if args.action in ("start", "stop"):
            print(
                "BUDGETPERF_WAREHOUSE_URL is set: that server is managed elsewhere; "
                f"nothing to {args.action}."
            )
            return 0
        if args.action == "url":
            print(settings.warehouse_url)
            return 0
        import psycopg

        try:
            with psycopg.connect(settings.warehouse_url, connect_timeout=5) as conn:
                version = conn.execute("show server_version").fetchone()
            print(f"external warehouse reachable (PostgreSQL {version[0] if version else '?'})")
            return 0
        except psycopg.OperationalError as exc:
            print(f"external warehouse unreachable: {exc}")
            return 1

    server = embedded(settings)
    if args.action == "start":
        url = server.start()
        migrate(url)
        print(f"embedded warehouse running on port {server.status().port}")
        print(f"data: {server.data_dir}")
        return 0
    if args.action == "stop":
        print("stopped" if server.stop() else "not running")
        return 0
    status = server.status()
    if args.action == "url":
        # printing a DSN must not start a server as a side effect: a stopped warehouse is
        # said so, and `start` is the one command that starts it
        if not status.running:
            print(
                "the embedded warehouse is not running: `budgetperf warehouse start` starts it",
                file=sys.stderr,
            )
            return 3
        print(server.url())
        return 0
    if status.running:
        print(f"running (pid {status.pid}) on 127.0.0.1:{status.port}, data {status.data_dir}")
    elif server.is_initialized():
        print(f"stopped, data {status.data_dir}")
    else:
        print("not initialized: `budgetperf warehouse start` creates it")
    return 0 if status.running else 3


def _migrate(args: argparse.Namespace) -> int:
    url = resolve_url()
    applied = migrate(url)
    print("applied: " + ", ".join(applied) if applied else "warehouse schema is up to date")
    return 0
