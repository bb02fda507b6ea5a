"""MART-ROW-01 without GX: the row-count view, baselines and acceptance, on real SQL.

The gate records counts, the view ops.dq_row_count_changes compares the latest run of a
checkpoint with its baseline (the last accepted run), and the rule's query flags a drop
beyond max_drop_fraction that the raw data does not explain. Here the counts are written
directly so each case is exact; test_gates.py runs the rule through GX.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from budgetperf.quality.catalogue import catalogue_path, load_catalogue
from budgetperf.quality.rowcounts import (
    RowCountError,
    accept_row_counts,
    mark_baseline,
    record_row_counts,
)

POINT = dt.date(2021, 6, 30)
RULE = next(
    r
    for r in load_catalogue(catalogue_path(Path(__file__).resolve().parents[2] / "expectations"))
    if r.id == "MART-ROW-01"
)


def _record(url: str, run_id: str, mart_rows: int, raw_rows: int) -> None:
    with psycopg.connect(url) as conn:
        for relation, rows, drivers in (
            ("marts.fct_project_progress", mart_rows, ["projects"]),
            ("raw.projects", raw_rows, []),
        ):
            conn.execute(
                "insert into ops.dq_row_counts (checkpoint_date, run_id, relation, rows, drivers,"
                " recorded_at) values (%s, %s, %s, %s, %s,"
                " now() + (select count(*) from ops.dq_row_counts) * interval '1 second')",
                (POINT, run_id, relation, rows, drivers),
            )


def _flagged(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"select relation, baseline_run_id, baseline_rows, rows"
            f" from ({RULE.offending_rows_sql(POINT)}) as offending"
        ).fetchall()


def test_first_run_of_a_checkpoint_has_nothing_to_compare(warehouse_url: str) -> None:
    _record(warehouse_url, "run1", 100, 100)
    assert _flagged(warehouse_url) == []


def test_unexplained_drop_is_flagged_and_small_drops_are_tolerated(warehouse_url: str) -> None:
    _record(warehouse_url, "run1", 100, 100)
    mark_baseline(warehouse_url, POINT, "run1", by="marts gate", reason="passed")
    _record(warehouse_url, "run2", 96, 100)  # 4% < 5%
    assert _flagged(warehouse_url) == []
    _record(warehouse_url, "run3", 90, 100)  # 10% while raw did not shrink
    assert _flagged(warehouse_url) == [("marts.fct_project_progress", "run1", 100, 90)]


def test_drop_explained_by_shrinking_raw_data_passes(warehouse_url: str) -> None:
    _record(warehouse_url, "run1", 100, 100)
    mark_baseline(warehouse_url, POINT, "run1", by="marts gate", reason="passed")
    _record(warehouse_url, "run2", 80, 80)  # a corrected delivery withdrew 20 projects
    assert _flagged(warehouse_url) == []


def test_rerunning_cannot_launder_a_drop_but_a_person_can_accept_it(
    warehouse_url: str,
) -> None:
    _record(warehouse_url, "run1", 100, 100)
    mark_baseline(warehouse_url, POINT, "run1", by="marts gate", reason="passed")
    _record(warehouse_url, "run2", 50, 100)
    assert _flagged(warehouse_url)
    _record(warehouse_url, "run3", 50, 100)  # the same drop, run again: still flagged
    assert _flagged(warehouse_url) == [("marts.fct_project_progress", "run1", 100, 50)]
    with pytest.raises(RowCountError, match="who"):
        accept_row_counts(warehouse_url, POINT, by=" ", why="x")
    assert accept_row_counts(warehouse_url, POINT, by="王工", why="两个项目合并") == "run3"
    _record(warehouse_url, "run4", 50, 100)
    assert _flagged(warehouse_url) == []
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute(
            "select accepted_by, reason from ops.dq_row_count_baselines where run_id = 'run3'"
        ).fetchall() == [("王工", "两个项目合并")]


def test_accepting_needs_a_recorded_run(warehouse_url: str) -> None:
    with pytest.raises(RowCountError, match="no row counts"):
        accept_row_counts(warehouse_url, POINT, by="王工", why="x")
    with pytest.raises(RowCountError, match="recorded no row counts"):
        _record(warehouse_url, "run1", 1, 1)
        accept_row_counts(warehouse_url, POINT, by="王工", why="x", run_id="nope")


def test_recording_counts_twice_in_one_run_overwrites(warehouse_url: str) -> None:
    # no marts yet: only the raw entities are counted (all empty)
    first = record_row_counts(warehouse_url, POINT, "run1")
    again = record_row_counts(warehouse_url, POINT, "run1")
    assert first == again and set(first) == {
        "raw.budget_requests",
        "raw.evaluations",
        "raw.performance_targets",
        "raw.pre_assessments",
        "raw.projects",
    }
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.dq_row_counts").fetchone() == (5,)
