"""The pipeline lease (ops.pipeline_lease): at most one run writes the warehouse at a time.

Taken at the start of the load stage and given back by ``finish``. A second run started
meanwhile (another checkpoint, or the same one from the CLI while the scheduler runs it)
fails cleanly before it writes anything, naming the run that holds the lease.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from budgetperf.warehouse import connect


class LeaseHeld(RuntimeError):
    """Another run holds the warehouse."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    checkpoint: dt.date | None
    acquired_at: dt.datetime | None


def lease_hours() -> float:
    return float(os.environ.get("BUDGETPERF_RUN_LEASE_HOURS") or 6)


def acquire(url: str, run_id: str, checkpoint: dt.date) -> None:
    """Take the lease for ``run_id`` (again, on a retry); raise LeaseHeld if another run
    holds one that has not expired."""
    with connect(url) as conn:
        taken = conn.execute(
            """
            update ops.pipeline_lease
            set run_id = %(run_id)s, checkpoint_date = %(checkpoint)s,
                acquired_at = case when run_id = %(run_id)s then acquired_at else now() end,
                heartbeat_at = now()
            where lease_name = 'warehouse'
              and (run_id is null or run_id = %(run_id)s
                   or heartbeat_at < now() - make_interval(secs => %(ttl)s))
            returning run_id
            """,
            {"run_id": run_id, "checkpoint": checkpoint, "ttl": lease_hours() * 3600},
        ).fetchone()
        if taken:
            return
        row = conn.execute(
            "select run_id, checkpoint_date, acquired_at from ops.pipeline_lease "
            "where lease_name = 'warehouse'"
        ).fetchone()
    holder = Holder(*row) if row else Holder("?", None, None)
    raise LeaseHeld(
        f"另一次运行正在更新数据仓库 / another run is updating the warehouse: run "
        f"{holder.run_id} (checkpoint {holder.checkpoint}, since {holder.acquired_at}). "
        "This run stops before writing anything; run it again when that one has finished, "
        "or release a dead run's lease with `budgetperf runs release-lease`."
    )


def release(url: str, run_id: str | None = None) -> bool:
    """Give the lease back (only if ``run_id`` holds it; any holder when None)."""
    with connect(url) as conn:
        released = conn.execute(
            """
            update ops.pipeline_lease
            set run_id = null, checkpoint_date = null, acquired_at = null, heartbeat_at = null
            where lease_name = 'warehouse' and run_id is not null
              and (%(run_id)s::text is null or run_id = %(run_id)s)
            returning lease_name
            """,
            {"run_id": run_id},
        ).fetchone()
    return released is not None
