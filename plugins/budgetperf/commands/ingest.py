"""``budgetperf load`` and ``budgetperf rejects ...``: load deliveries without the DAG, and
see, accept or tolerate what was rejected."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from budgetperf.cli import UserError
from budgetperf.ingest import ENTITIES, LandingError, load_landing
from budgetperf.ingest.gate import (
    GateError,
    accept_rejects,
    reject_problems,
    rejected_rows,
    set_tolerance,
    tolerances,
)
from budgetperf.ingest.landing import parse_as_of
from budgetperf.settings import load_settings
from budgetperf.warehouse import resolve_url
from budgetperf.warehouse.migrate import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    load = subparsers.add_parser(
        "load",
        help="load the deliveries of a landing folder into the warehouse",
        description=(
            "Load every not-yet-loaded file of every delivery folder (YYYYMMDD) of the "
            "landing, oldest first, one transaction per file; print what happened to each "
            "file. Exit status: 0 when everything loaded cleanly, 1 when a file or rows were "
            "rejected or something in the landing was refused (see `budgetperf rejects`)."
        ),
    )
    load.add_argument(
        "--landing", type=Path, metavar="DIR", help="default $BUDGETPERF_HOME/landing"
    )
    when = load.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=_yyyymmdd, metavar="YYYYMMDD", help="only this delivery")
    when.add_argument(
        "--up-to", type=_yyyymmdd, metavar="YYYYMMDD", help="only deliveries up to this date"
    )
    load.set_defaults(handler=_load)

    rejects = subparsers.add_parser(
        "rejects",
        help="list rejected rows and files; accept them; set tolerances",
        description=(
            "Without an action: list rejected rows (file, line, column, reason), oldest "
            "delivery first. Rejected data blocks publication of a checkpoint until it is "
            "fixed by a corrected delivery, accepted, or within the entity's tolerance."
        ),
    )
    rejects.add_argument(
        "--as-of", type=_yyyymmdd, dest="list_as_of", metavar="YYYYMMDD", help="one delivery"
    )
    rejects.add_argument("--load-id", type=int, dest="list_load_id", metavar="N", help="one load")
    rejects.add_argument("--limit", type=int, default=200, metavar="N", help="default 200")
    rejects.add_argument("--raw", action="store_true", help="also show each line as delivered")
    rejects.set_defaults(handler=_list)
    actions = rejects.add_subparsers(dest="rejects_action", metavar="ACTION")

    accept = actions.add_parser(
        "accept",
        help="accept the rejects of a load (recorded with who and why)",
        description="Record that the rejected rows (or file) of one load are accepted: the "
        "checkpoint gate no longer counts them. Recorded with who and why; never undone.",
    )
    accept.add_argument("--load-id", type=int, required=True, metavar="N")
    accept.add_argument("--by", required=True, help="who accepts (a name)")
    accept.add_argument("--why", required=True, help="why it is acceptable")
    accept.set_defaults(handler=_accept)

    tolerance = actions.add_parser(
        "tolerance",
        help="show or set how many rejected rows an entity tolerates",
        description="Without --entity: show the current tolerances. With --entity, --rows, "
        "--by and --why: set one (kept with its history). The default is 0.",
    )
    tolerance.add_argument("--entity", choices=list(ENTITIES))
    tolerance.add_argument("--rows", type=int, metavar="N")
    tolerance.add_argument("--by")
    tolerance.add_argument("--why")
    tolerance.set_defaults(handler=_tolerance)

    problems = actions.add_parser(
        "problems",
        help="what blocks publication of a checkpoint",
        description="The rejected files and rows that block publication at a checkpoint "
        "(what the quality gate checks). Exit status 1 when there is any.",
    )
    problems.add_argument("--checkpoint", type=_date, required=True, metavar="YYYY-MM-DD")
    problems.set_defaults(handler=_problems)


def _yyyymmdd(text: str) -> dt.date:
    day = parse_as_of(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 20210630")
    return day


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        day = parse_as_of(text)
        if day is None:
            raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-06-30") from None
        return day


def _warehouse() -> str:
    url = resolve_url()
    migrate(url)
    return url


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > limit - 1:
            break
        out += ch
    return out + "…"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table that stays aligned with Chinese text."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(
                cell + " " * (widths[i] - _width(cell)) if i < len(row) - 1 else cell
                for i, cell in enumerate(row)
            ).rstrip()
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _load(args: argparse.Namespace) -> int:
    landing = (args.landing or load_settings().landing).resolve()
    url = _warehouse()
    if not args.verbose:
        # the table below says what happened to each file; keep only the progress lines
        logging.getLogger("budgetperf.ingest").setLevel(logging.WARNING)
        logging.getLogger("budgetperf.ingest.progress").setLevel(logging.INFO)
    try:
        report = load_landing(url, landing, as_of=args.as_of, up_to=args.up_to)
    except LandingError as exc:
        raise UserError(str(exc)) from None
    if not report.files and not report.findings:
        print(f"no deliveries in {landing}")
        return 0
    print_table(
        ["file", "status", "load", "read", "loaded", "rejected", "rows/s", "reason / notes"],
        [
            [
                f.file_path,
                f.status,
                f.load_id or "",
                f.rows_read,
                f.rows_loaded,
                f.rows_rejected,
                f"{f.rows_per_second:,.0f}" if f.status == "loaded" and f.rows_read else "",
                _cut(f.reason or f.notes or "", 90),
            ]
            for f in report.files
        ],
    )
    if report.findings:
        print()
        print("not loaded / 未读取:")
        for finding in report.findings:
            print(f"  {finding.path}: {finding.reason}")
    loaded = [f for f in report.files if f.status == "loaded"]
    rejected = [f for f in report.files if f.status == "rejected"]
    rows_rejected = sum(f.rows_rejected for f in loaded)
    print()
    print(
        f"{len(loaded)} file(s) loaded, {len(rejected)} rejected whole, "
        f"{sum(f.status == 'skipped' for f in report.files)} unchanged; "
        f"{rows_rejected} row(s) rejected."
    )
    if rejected or rows_rejected:
        print("see: budgetperf rejects" + (f" --as-of {args.as_of:%Y%m%d}" if args.as_of else ""))
    return 0 if report.clean else 1


def _list(args: argparse.Namespace) -> int:
    url = _warehouse()
    rows, total = rejected_rows(
        url, as_of=args.list_as_of, load_id=args.list_load_id, limit=args.limit
    )
    if not rows:
        print("no rejected rows")
        return 0
    table = []
    for r in rows:
        line = [
            r.load_id,
            r.file_path,
            "-" if r.line_no is None else r.line_no,
            r.column_name or "-",
            r.rule + (" (accepted)" if r.accepted else ""),
            r.reason,
        ]
        if args.raw:
            line.append(r.raw_line or "")
        table.append(line)
    headers = ["load", "file", "line", "column", "rule", "reason"]
    print_table(headers + (["line as delivered"] if args.raw else []), table)
    if total > len(rows):
        print(f"... {total - len(rows)} more (use --limit or --load-id)")
    return 0


def _accept(args: argparse.Namespace) -> int:
    url = _warehouse()
    try:
        acceptance = accept_rejects(url, args.load_id, by=args.by, why=args.why)
    except GateError as exc:
        raise UserError(str(exc)) from None
    print(f"rejects of load {args.load_id} accepted by {args.by} (acceptance {acceptance})")
    return 0


def _tolerance(args: argparse.Namespace) -> int:
    url = _warehouse()
    given = [args.entity, args.rows, args.by, args.why]
    if any(v is not None for v in given):
        if any(v is None for v in given):
            raise UserError("setting a tolerance needs --entity, --rows, --by and --why")
        try:
            set_tolerance(url, args.entity, args.rows, by=args.by, why=args.why)
        except GateError as exc:
            raise UserError(str(exc)) from None
        print(f"{args.entity}: up to {args.rows} rejected row(s) tolerated (set by {args.by})")
        return 0
    print_table(
        ["entity", "rows tolerated", "set by", "why", "since"],
        [
            [t.entity, t.max_rejected_rows, t.set_by or "(default)", t.reason or "", t.set_at or ""]
            for t in tolerances(url)
        ],
    )
    return 0


def _problems(args: argparse.Namespace) -> int:
    url = _warehouse()
    found = reject_problems(url, args.checkpoint)
    if not found:
        print(f"{args.checkpoint}: no rejected data blocks publication")
        return 0
    for problem in found:
        print(problem.message)
    return 1
