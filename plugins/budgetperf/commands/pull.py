"""``budgetperf pull``: pull one delivery from the integration system by hand.

The DAG's sensor does the same for each checkpoint when ``BUDGETPERF_SOURCE`` is ``sql``
or ``http``; this command is for data engineers: a first pull, a re-pull after the source
was corrected, a full re-pull (``--full``) after a change the increments cannot see.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from budgetperf.sources.config import PULL_KINDS

EXIT_NOT_NOW = 75  # EX_TEMPFAIL: the source is unavailable or not ready; try again later


def register(subparsers: argparse._SubParsersAction) -> None:
    pull = subparsers.add_parser(
        "pull",
        help="pull a delivery from the integration system (SQL or HTTP source)",
        description=(
            "Pull the state of the integration system as of a checkpoint into "
            "<landing>/<YYYYMMDD>/ (one CSV per configured entity and _manifest.json), "
            "written whole or not at all. The source, its YAML and its connection come "
            "from BUDGETPERF_SOURCE, BUDGETPERF_SOURCE_CONFIG and BUDGETPERF_SOURCE_CONN_ID "
            "(or BUDGETPERF_SOURCE_URL); see docs/sources.md. Then `budgetperf load` or the "
            f"DAG loads it. Exit status: 0 pulled, 2 a problem to fix, {EXIT_NOT_NOW} the "
            "source is unavailable or not ready (try again later)."
        ),
    )
    pull.add_argument("--checkpoint", required=True, type=_date, metavar="YYYY-MM-DD")
    pull.add_argument("--source", choices=PULL_KINDS, help="default $BUDGETPERF_SOURCE")
    pull.add_argument("--config", type=Path, metavar="FILE", help="the source's YAML")
    pull.add_argument(
        "--full",
        action="store_true",
        help="re-read every entity in full, not only what changed since the last pull",
    )
    pull.add_argument(
        "--landing", type=Path, metavar="DIR", help="default $BUDGETPERF_HOME/landing"
    )
    pull.add_argument(
        "--force",
        action="store_true",
        help="pull even when the source's ready check says its data is not complete",
    )
    pull.set_defaults(handler=_pull)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-06-30") from None


def _pull(args: argparse.Namespace) -> int:
    from budgetperf.cli import UserError
    from budgetperf.settings import load_settings
    from budgetperf.sources import SourceError, open_source, pull_delivery, source_settings

    settings = load_settings()
    landing = (args.landing or settings.landing).resolve()
    try:
        chosen = source_settings(home=settings.home, kind=args.source, config_path=args.config)
        if not chosen.pulls:
            raise UserError(
                "the configured source is the folder (files dropped by the export job): "
                "nothing to pull; pass --source sql|http or set BUDGETPERF_SOURCE"
            )
        source = open_source(chosen)
        print(f"pulling {args.checkpoint} from {source.name} into {landing}")
        result = pull_delivery(
            source,
            landing,
            args.checkpoint,
            state_dir=chosen.state_dir,
            full=args.full,
            check_ready=not args.force,
            say=lambda line: print("  " + line, flush=True),
        )
    except SourceError as exc:
        print(f"budgetperf: {exc}", file=sys.stderr)
        return EXIT_NOT_NOW if exc.transient else 2
    print(f"{result.folder}: {result.status}")
    for pulled in result.entities:
        print(f"  {pulled.file:<26} {pulled.rows:>10,} rows  sha256 {pulled.sha256[:16]}…")
    return 0
