"""Row counts per checkpoint, for the marts gate's "rows did not drop" rule (MART-ROW-01).

Before the marts gate validates, it records in ``ops.dq_row_counts`` how many rows each
mart holds for the run's checkpoint, and how many effective raw rows the entities behind
the marts hold at that checkpoint. The view ``ops.dq_row_count_changes`` (migration 0300)
compares the latest run of each checkpoint with its *baseline*: the last earlier run of
the same checkpoint whose counts were accepted — because its marts gate passed, or
because a person accepted them (``accept_row_counts``). The rule fails when a mart lost
more than ``max_drop_fraction`` (rules.yml) of its baseline rows while none of the raw
entities it follows shrank.

Why this shape:
- only the same checkpoint is comparable (09-30 legitimately holds other rows than 06-30);
- a drop with shrinking raw data is a corrected delivery doing its job, not an accident;
- comparing with the last *accepted* run, not the last run, means re-running a failed
  checkpoint cannot turn an unexplained drop into the new normal; a person must say why;
- marts whose size follows values rather than the presence of raw rows are not counted:
  ``fct_idle_funds`` (projects under 50% spent: shrinks as spending grows) and
  ``rpt_annual_summary`` (a fixed list of figures), nor ``dim_checkpoints``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg import sql

from budgetperf.warehouse import connect


@dataclass(frozen=True)
class CountedMart:
    relation: str  # marts.<name>
    scope: str  # SQL restricting the mart to one checkpoint; %(point)s / %(year)s
    drivers: tuple[str, ...]  # raw entities whose rows this mart follows


COUNTED_MARTS = (
    CountedMart("marts.fct_project_progress", "checkpoint_date = %(point)s", ("projects",)),
    CountedMart(
        "marts.fct_indicator_progress", "checkpoint_date = %(point)s", ("performance_targets",)
    ),
    CountedMart("marts.rpt_department_progress", "checkpoint_date = %(point)s", ("projects",)),
    CountedMart("marts.fct_project_evaluation", "fiscal_year = %(year)s", ("projects",)),
    CountedMart(
        "marts.fct_department_evaluation", "fiscal_year = %(year)s", ("projects", "evaluations")
    ),
    CountedMart("marts.fct_budget_proposal", "budget_year = %(year)s + 1", ("budget_requests",)),
    CountedMart(
        "marts.rpt_coverage",
        "fiscal_year = %(year)s",
        ("projects", "performance_targets", "pre_assessments", "evaluations"),
    ),
)
BASELINE_BY_GATE = "marts gate"
# a re-run of the same gate in the same DAG run (a cleared task) records again; the
# quality role may insert and update ops tables but never delete from them
_UPSERT = """
    insert into ops.dq_row_counts (checkpoint_date, run_id, relation, rows, drivers)
    values (%s, %s, %s, %s, %s)
    on conflict (checkpoint_date, run_id, relation)
    do update set rows = excluded.rows, drivers = excluded.drivers, recorded_at = now()
"""


def record_row_counts(url: str, checkpoint: dt.date, run_id: str) -> dict[str, int]:
    """Record this run's counts (an earlier recording of the same run is overwritten)."""
    params = {"point": checkpoint, "year": checkpoint.year}
    counts: dict[str, int] = {}
    with connect(url) as conn:
        entities = sorted({entity for mart in COUNTED_MARTS for entity in mart.drivers})
        for entity in entities:
            row = conn.execute(
                sql.SQL("select count(*) from {} where checkpoint_date = %(point)s").format(
                    sql.Identifier("raw", f"effective_{entity}")
                ),
                params,
            ).fetchone()
            counts[f"raw.{entity}"] = int(row[0]) if row else 0
            conn.execute(
                _UPSERT, (checkpoint, run_id, f"raw.{entity}", counts[f"raw.{entity}"], [])
            )
        for mart in COUNTED_MARTS:
            exists = conn.execute("select to_regclass(%s)", (mart.relation,)).fetchone()
            if not exists or exists[0] is None:
                continue  # not built yet: MART rules on it report the missing relation
            schema, table = mart.relation.split(".", 1)
            row = conn.execute(
                sql.SQL("select count(*) from {} where ").format(sql.Identifier(schema, table))
                + sql.SQL(mart.scope),  # constant text of COUNTED_MARTS
                params,
            ).fetchone()
            counts[mart.relation] = int(row[0]) if row else 0
            conn.execute(
                _UPSERT,
                (checkpoint, run_id, mart.relation, counts[mart.relation], list(mart.drivers)),
            )
    return counts


def mark_baseline(url: str, checkpoint: dt.date, run_id: str, *, by: str, reason: str) -> None:
    """Make this run's counts the reference for later runs of the checkpoint."""
    with connect(url) as conn:
        conn.execute(
            "insert into ops.dq_row_count_baselines (checkpoint_date, run_id, accepted_by, reason)"
            " values (%s, %s, %s, %s)",
            (checkpoint, run_id, by, reason),
        )


class RowCountError(ValueError):
    """Nothing to accept (no recorded run), or who/why missing."""


def accept_row_counts(
    url: str, checkpoint: dt.date, *, by: str, why: str, run_id: str | None = None
) -> str:
    """A person accepts the counts of a run (default: the latest) after explaining a drop.

    The next run of the checkpoint is compared with these counts. Returns the run id.
    """
    if not by.strip() or not why.strip():
        raise RowCountError("accepting row counts needs who (--by) and why (--why)")
    with connect(url) as conn:
        if run_id is None:
            row = conn.execute(
                "select run_id from ops.dq_row_counts where checkpoint_date = %s"
                " group by run_id order by max(recorded_at) desc, run_id desc limit 1",
                (checkpoint,),
            ).fetchone()
            if row is None:
                raise RowCountError(f"no row counts are recorded for checkpoint {checkpoint}")
            run_id = str(row[0])
        else:
            found = conn.execute(
                "select 1 from ops.dq_row_counts where checkpoint_date = %s and run_id = %s"
                " limit 1",
                (checkpoint, run_id),
            ).fetchone()
            if found is None:
                raise RowCountError(f"run {run_id} recorded no row counts for {checkpoint}")
    mark_baseline(url, checkpoint, run_id, by=by.strip(), reason=why.strip())
    return run_id
