"""``budgetperf dbt ...``, ``budgetperf dbt-env CMD ...`` and ``budgetperf docs``: dbt and
the tools around it (sqlfluff) with the warehouse connection filled in."""

from __future__ import annotations

import argparse
import subprocess

from budgetperf.cli import UserError
from budgetperf.settings import load_settings
from budgetperf.transform import dbt_environment, dbt_executable, run_dbt
from budgetperf.warehouse import resolve_url
from budgetperf.warehouse.migrate import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    dbt = subparsers.add_parser(
        "dbt",
        help="the dbt CLI on the project and the warehouse (`budgetperf dbt ls`)",
        add_help=False,
    )
    dbt.set_defaults(handler=_dbt, accepts_extra=True)
    env = subparsers.add_parser(
        "dbt-env",
        help="run a command with the dbt profile's environment (e.g. sqlfluff lint)",
        add_help=False,
    )
    env.set_defaults(handler=_dbt_env, accepts_extra=True)
    docs = subparsers.add_parser(
        "docs", help="build the analysts' docs: a self-contained dbt docs site (one HTML file)"
    )
    docs.set_defaults(handler=_docs)


def _prepared_env() -> dict[str, str]:
    settings = load_settings()
    url = resolve_url(settings)
    migrate(url)
    return dbt_environment(settings, url)


def _dbt(args: argparse.Namespace) -> int:
    settings = load_settings()
    return subprocess.call(
        [dbt_executable(), *args.extra], env=_prepared_env(), cwd=settings.dbt_project_dir
    )


def _dbt_env(args: argparse.Namespace) -> int:
    command = [a for a in args.extra if a != "--"]
    if not command:
        raise UserError("dbt-env needs a command, e.g. `budgetperf dbt-env sqlfluff lint`")
    return subprocess.call(command, env=_prepared_env())


def _docs(args: argparse.Namespace) -> int:
    settings = load_settings()
    url = resolve_url(settings)
    migrate(url)
    run_dbt(settings, url, ["docs", "generate", "--static"], echo=False)
    page = settings.home / "dbt" / "target" / "static_index.html"
    print(f"dbt docs (self-contained, opens offline): {page}")
    return 0
