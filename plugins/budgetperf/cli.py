"""The ``budgetperf`` command line.

Each area of the package registers its own subcommands (a ``register(subparsers)``
function), so this module only assembles them. Commands print what they did and where
the results are; errors are one clear line and a non-zero exit, not a stack trace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

# Modules that contribute subcommands, in the order they appear in --help.
COMMAND_MODULES = (
    "budgetperf.commands.warehouse",
    "budgetperf.commands.run",
    "budgetperf.commands.ingest",
    "budgetperf.commands.pull",
    "budgetperf.commands.demo",
    "budgetperf.commands.generate",
    "budgetperf.commands.dbt",
    "budgetperf.commands.notices",
    "budgetperf.commands.runs",
    "budgetperf.commands.bench",
    "budgetperf.commands.quality",
)


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _known_errors() -> tuple[type[Exception], ...]:
    """Errors whose message already says what to do: print them without a traceback."""
    from budgetperf.transform import DbtFailed
    from budgetperf.warehouse.embedded import WarehouseError
    from budgetperf.warehouse.migrate import MigrationDrift

    return (WarehouseError, MigrationDrift, DbtFailed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="budgetperf",
        description="Budget performance monitoring platform (全过程预算绩效管理).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Some commands import Airflow in this process (the timetable); without this it would
    # create ~/airflow/airflow.cfg. Our Airflow lives under $BUDGETPERF_HOME.
    from budgetperf.settings import load_settings

    os.environ.setdefault("AIRFLOW_HOME", str(load_settings().airflow_home))
    parser = build_parser()
    # `budgetperf airflow ...` and `budgetperf dbt-env -- ...` pass everything through
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
    )
    args.extra = extra
    try:
        result: int = args.handler(args)
    except Exception as exc:
        if not isinstance(exc, (UserError, *_known_errors())):
            raise
        print(f"budgetperf: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("budgetperf: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
