"""``budgetperf bench ...``: benchmarks, one subcommand each.

Each benchmark is a function that adds its own subparser to the ``bench`` group; add one
to ``BENCHMARKS`` (e.g. a future ``bench pipeline``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from budgetperf.cli import UserError
from budgetperf.warehouse import resolve_url


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmarks: bench load (the loader against psql \\copy), bench pipeline",
        description="Benchmarks. They print what they measured; nothing is asserted.",
    )
    group = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for add in BENCHMARKS:
        add(group)


def _add_load(group: argparse._SubParsersAction) -> None:
    load = group.add_parser(
        "load",
        help="load a generated budget_execution file, compared with psql \\copy",
        description=(
            "Generate a budget_execution CSV of N rows (and the departments and projects it "
            "refers to), load it with the project's loader (every parsing rule and check on) "
            "into a scratch database on the warehouse server, then load the same file with "
            "psql \\copy into a bare table on the same server. Prints rows/s of both, their "
            "ratio and the loader's peak RSS. The scratch database is dropped afterwards."
        ),
    )
    load.add_argument("--rows", type=int, default=1_000_000, help="rows (default 1,000,000)")
    load.add_argument(
        "--encoding",
        choices=["utf-8", "gbk", "both"],
        default="both",
        help="file encoding (default both)",
    )
    load.set_defaults(handler=_bench_load)


def _add_pipeline(group: argparse._SubParsersAction) -> None:
    pipeline = group.add_parser(
        "pipeline",
        help="a whole fiscal year through Airflow on generated data at scale N",
        description=(
            "Generate the demo county at scale N, run the four checkpoints of 2021 through the "
            "DAG into a scratch database, and print per stage (load, raw gate, dbt build, "
            "marts gate, publish) seconds, rows, rows/s and peak memory, plus Airflow's "
            "overhead, as a table and as JSON. The scratch data is dropped afterwards."
        ),
    )
    pipeline.add_argument("--scale", type=int, default=1, help="counties (default 1)")
    pipeline.add_argument("--json", type=Path, help="also write the figures to this file")
    pipeline.add_argument("--keep", action="store_true", help="keep the scratch data")
    pipeline.set_defaults(handler=_bench_pipeline)


BENCHMARKS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_load, _add_pipeline)


def _bench_pipeline(args: argparse.Namespace) -> int:
    import json

    from budgetperf.pipeline.bench import run_pipeline_bench

    if args.scale < 1:
        raise UserError("--scale must be at least 1")
    # progress lines flushed as they come: the run takes minutes, often piped to a file
    result = run_pipeline_bench(
        args.scale, keep=args.keep, report=lambda line: print(line, flush=True)
    )
    print()
    print(result.table())
    figures = json.dumps(result.as_dict(), ensure_ascii=False, indent=2)
    print(figures)
    if args.json:
        args.json.write_text(figures + "\n", encoding="utf-8")
    return 1 if result.failed else 0


def _bench_load(args: argparse.Namespace) -> int:
    from budgetperf.ingest.bench import format_results, run_load_bench

    if args.rows < 1:
        raise UserError("--rows must be at least 1")
    encodings = ["utf-8", "gbk"] if args.encoding == "both" else [args.encoding]
    results = run_load_bench(resolve_url(), args.rows, encodings, report=print)
    print()
    print(format_results(results))
    return 0
