"""``budgetperf runs``: what the last runs did, and the pipeline lease."""

from __future__ import annotations

import argparse

from budgetperf.settings import load_settings
from budgetperf.warehouse import connect, resolve_url
from budgetperf.warehouse.migrate import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "runs", help="recent pipeline runs and their summaries; release a dead run's lease"
    )
    parser.add_argument("action", nargs="?", default="list", choices=["list", "release-lease"])
    parser.add_argument("--limit", type=int, default=10)
    parser.set_defaults(handler=_runs)


def _runs(args: argparse.Namespace) -> int:
    from budgetperf.pipeline.lease import release

    url = resolve_url(load_settings())
    migrate(url)
    if args.action == "release-lease":
        print("lease released" if release(url) else "no run holds the lease")
        return 0
    with connect(url) as conn:
        holder = conn.execute(
            "select run_id, checkpoint_date, acquired_at from ops.pipeline_lease"
        ).fetchone()
        rows = conn.execute(
            "select run_id, checkpoint_date, status, started_at, finished_at, summary "
            "from ops.run_summaries order by finished_at desc nulls first limit %s",
            (args.limit,),
        ).fetchall()
    if holder and holder[0]:
        print(f"running now: {holder[0]} (checkpoint {holder[1]}, since {holder[2]})")
    if not rows:
        print("no runs recorded yet")
    for run_id, checkpoint, status, _started, finished, summary in rows:
        failed = ", ".join(summary.get("failed_tasks") or []) if summary else ""
        print(
            f"{checkpoint}  {status:<8} {finished:%Y-%m-%d %H:%M}  {run_id}"
            + (f"  failed: {failed}" if failed else "")
        )
        path = (summary or {}).get("summary_path")
        if path:
            print(f"            summary: {path}")
    return 0
