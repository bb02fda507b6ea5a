"""``budgetperf demo``: the main job on the embedded defaults, start to finish.

Generates the calibrated Pingluo 2021 delivery set into the landing, runs the four
checkpoints of 2021 in order through Airflow (detect, load, gate, build, gate, publish),
and prints what it produced and where.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from budgetperf.settings import Settings, load_settings

DEFAULT_SCENARIO = "pingluo-2021"
DEMO_YEAR = 2021


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate the demo deliveries and run fiscal year 2021 through Airflow",
        description=(
            "Write the calibrated demo delivery set (fiscal year 2021, budget year 2022) into "
            "the landing, run the checkpoints 06-30, 09-30, 11-30 and 12-31 in order through "
            "Airflow on the embedded warehouse, and list what was produced. Safe to re-run: "
            "unchanged files are not loaded again and notices are not sent twice."
        ),
    )
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="default: %(default)s")
    parser.add_argument("--seed", type=int, help="generator seed (default: the calibrated one)")
    parser.add_argument("--landing", type=Path, help="default $BUDGETPERF_HOME/landing")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from budgetperf.commands.run import run_checkpoint
    from budgetperf.generate import generate_scenario
    from budgetperf.timetable import configured_timetable

    if args.landing is not None:
        os.environ["BUDGETPERF_LANDING"] = str(args.landing.resolve())
    # The deliveries are complete when written (they carry manifests); a checkpoint whose
    # delivery is missing should fail at once rather than wait days as in production.
    os.environ.setdefault("BUDGETPERF_DELIVERY_TIMEOUT_SECONDS", "0")
    settings = load_settings()
    started = time.monotonic()
    print(f"budgetperf demo: scenario {args.scenario}, home {settings.home}", flush=True)
    print(f"[1/3] generating deliveries into {settings.landing}", flush=True)
    # The same seed writes the same bytes, so a second demo rewrites identical files and
    # the loader skips them.
    seed_kwargs = {"seed": args.seed} if args.seed is not None else {}
    report = generate_scenario(args.scenario, settings.landing, overwrite=True, **seed_kwargs)
    print(
        f"      {len(report.files)} files in {len(report.deliveries)} deliveries, "
        f"{report.rows:,} rows, {report.size / 1e6:.1f} MB ({report.seconds:.1f}s)",
        flush=True,
    )

    points = configured_timetable().points_of_year(DEMO_YEAR)
    print(f"[2/3] running {len(points)} checkpoints of {DEMO_YEAR} through Airflow", flush=True)
    for point in points:
        code = run_checkpoint(settings, point)
        if code != 0:
            print(f"budgetperf demo: checkpoint {point} failed; stopping", flush=True)
            return code
    print("[3/3] results", flush=True)
    print_results(settings, points)
    print(f"demo finished in {time.monotonic() - started:.0f}s", flush=True)
    return 0


def print_results(settings: Settings, points: list[dt.date]) -> None:
    from budgetperf.transform import mart_row_counts
    from budgetperf.warehouse import connect, resolve_url
    from budgetperf.warehouse.roles import role_url

    # read back as an analyst would: the read-only role
    url = role_url(resolve_url(settings), "analyst")
    print(f"  warehouse: {url.split('@')[-1]} (budgetperf warehouse url prints the DSN)")
    for mart, rows in mart_row_counts(url).items():
        print(f"  marts.{mart:<28} {rows if rows is not None else '-':>8} rows")
    with connect(url) as conn:
        per_point = conn.execute(
            """
            select checkpoint_date, count(*) from marts.fct_project_progress
            group by checkpoint_date order by checkpoint_date
            """
        ).fetchall()
    with connect(role_url(resolve_url(settings), "publisher")) as conn:
        notices = conn.execute(
            "select kind, status, count(*) from ops.notices group by kind, status order by 1, 2"
        ).fetchall()
    for point, rows in per_point:
        print(f"  fct_project_progress at {point}: {rows} projects")
    for kind, status, count in notices:
        print(f"  notices ({kind}, {status}): {count}")
    print(f"  outbox: {settings.outbox} ({len(list(settings.outbox.glob('*.eml')))} .eml)")
    for point in points:
        index = settings.runs_dir / point.isoformat() / "index.html"
        if index.is_file():
            print(f"  {point}: {index}  (reports, notices, feed, data quality)")
    for folder in sorted(settings.outputs.glob("[0-9][0-9][0-9][0-9]")):
        for path in sorted(folder.iterdir()):
            print(f"  feed: {path}")
