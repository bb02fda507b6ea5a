"""``budgetperf generate``: write a calibrated demo or benchmark delivery set."""

from __future__ import annotations

import argparse
from pathlib import Path

from budgetperf.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    from budgetperf.generate.scenario import DEFAULT_SEED, SCENARIOS

    parser = subparsers.add_parser(
        "generate",
        help="write demo/benchmark deliveries (default scenario: pingluo-2021)",
        description=(
            "Write a complete set of deliveries (<out>/<YYYYMMDD>/<entity>.csv|xlsx and "
            "_manifest.json) for a scenario. pingluo-2021 reproduces the figures of "
            "Pingluo County's 2021 budget performance report at --scale 1; --scale N "
            "writes N counties' worth of data for benchmarks."
        ),
    )
    parser.add_argument(
        "--scenario",
        default="pingluo-2021",
        choices=sorted(SCENARIOS),
        help="the scenario to write (default pingluo-2021)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="landing folder to write the deliveries into (default $BUDGETPERF_LANDING)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument("--scale", type=_positive, default=1, help="number of counties (default 1)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the scenario's files in delivery folders that already exist",
    )
    parser.set_defaults(handler=_generate)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _generate(args: argparse.Namespace) -> int:
    from budgetperf.generate import generate_scenario

    out = args.out if args.out is not None else load_settings().landing
    generate_scenario(
        args.scenario,
        out,
        seed=args.seed,
        scale=args.scale,
        progress=lambda message: print(message, flush=True),
        overwrite=args.overwrite,
    )
    return 0
