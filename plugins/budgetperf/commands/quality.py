"""``budgetperf quality ...``: the rule catalogue and the quality gates by hand.

- ``quality rules``: list the catalogue (expectations/rules.yml);
- ``quality sync-gx``: regenerate the assets of expectations/gx/great_expectations.yml
  from the catalogue (after adding a rule on a new relation; commit the result);
- ``quality check --gate raw|marts --checkpoint D``: run a gate now, record its results
  and write its report, without alerting or blocking anything (for investigating);
- ``quality warnings --checkpoint D``: the warnings of the latest run of a checkpoint;
- ``quality accept-row-counts --checkpoint D --by NAME --why TEXT``: accept the latest
  run's mart row counts after a drop was explained (rule MART-ROW-01).
"""

from __future__ import annotations

import argparse
import datetime as dt

from budgetperf.cli import UserError
from budgetperf.quality.catalogue import Rule
from budgetperf.settings import load_settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-06-30") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    quality = subparsers.add_parser(
        "quality", help="data-quality rules and gates (rule catalogue, checks, acceptances)"
    )
    commands = quality.add_subparsers(dest="quality_command", metavar="SUBCOMMAND", required=True)

    rules = commands.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("--gate", choices=("raw", "marts"))
    rules.set_defaults(handler=_rules)

    sync = commands.add_parser(
        "sync-gx", help="write the GX assets of great_expectations.yml from the catalogue"
    )
    sync.add_argument("--check", action="store_true", help="only report whether it is in sync")
    sync.set_defaults(handler=_sync)

    check = commands.add_parser("check", help="run one gate now (records results, no alert)")
    check.add_argument("--gate", required=True, choices=("raw", "marts"))
    check.add_argument("--checkpoint", required=True, type=_date)
    check.add_argument("--run-id", default=None, help="default: manual__<now>")
    check.set_defaults(handler=_check)

    warn = commands.add_parser("warnings", help="warnings of the latest run of a checkpoint")
    warn.add_argument("--checkpoint", required=True, type=_date)
    warn.set_defaults(handler=_warnings)

    accept = commands.add_parser(
        "accept-row-counts", help="accept the latest run's mart row counts (MART-ROW-01)"
    )
    accept.add_argument("--checkpoint", required=True, type=_date)
    accept.add_argument("--by", required=True, help="who accepts (name)")
    accept.add_argument("--why", required=True, help="why the drop is right")
    accept.add_argument("--run-id", default=None, help="default: the latest run")
    accept.set_defaults(handler=_accept)


def _catalogue() -> list[Rule]:
    from budgetperf.quality.catalogue import CatalogueError, catalogue_path, load_catalogue

    try:
        return load_catalogue(catalogue_path(load_settings().expectations_dir))
    except CatalogueError as exc:
        raise UserError(str(exc)) from None


def _rules(args: argparse.Namespace) -> int:
    for rule in _catalogue():
        if args.gate and rule.gate != args.gate:
            continue
        print(
            f"{rule.id:<16} {rule.gate:<5} {rule.severity:<7} {rule.relation:<40} "
            f"{rule.description_zh}"
        )
    return 0


def _sync(args: argparse.Namespace) -> int:
    from budgetperf.quality.gxproject import config_path, gx_config_in_sync, write_gx_config

    settings = load_settings()
    rules = _catalogue()
    if args.check:
        if gx_config_in_sync(settings, rules):
            print(f"{config_path(settings)} matches the catalogue")
            return 0
        print(f"{config_path(settings)} is out of date: run `budgetperf quality sync-gx`")
        return 1
    changed = write_gx_config(settings, rules)
    print(f"{'wrote' if changed else 'unchanged'}: {config_path(settings)}")
    return 0


def _url() -> str:
    from budgetperf.warehouse import resolve_url
    from budgetperf.warehouse.migrate import migrate

    url = resolve_url(load_settings())
    migrate(url)
    return url


def _check(args: argparse.Namespace) -> int:
    from budgetperf.quality.gates import run_gate

    run_id = args.run_id or "manual__" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    outcome = run_gate(
        args.gate,
        warehouse_url=_url(),
        checkpoint=args.checkpoint,
        run_id=run_id,
        settings=load_settings(),
    )
    for result in outcome.results:
        if not result.success:
            print(result.line())
    print(outcome.one_line())
    return 0 if outcome.passed else 1


def _warnings(args: argparse.Namespace) -> int:
    from budgetperf.quality.results import warnings_for

    found = warnings_for(_url(), args.checkpoint)
    for warning in found:
        print(warning.text_zh)
    if not found:
        print(f"{args.checkpoint}: 无警告 / no warnings")
    return 0


def _accept(args: argparse.Namespace) -> int:
    from budgetperf.quality.rowcounts import RowCountError, accept_row_counts

    try:
        run_id = accept_row_counts(
            _url(), args.checkpoint, by=args.by, why=args.why, run_id=args.run_id
        )
    except RowCountError as exc:
        raise UserError(str(exc)) from None
    print(f"accepted the row counts of run {run_id} as the baseline of {args.checkpoint}")
    return 0
