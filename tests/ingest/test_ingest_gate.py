"""The gate on rejects: what blocks a checkpoint, tolerances, and explicit acceptance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from ingest_helpers import EXECUTION, EXECUTION_HEADER, base_delivery, execute, ledger, query

from budgetperf.ingest import accept_rejects, load_landing, reject_problems, set_tolerance
from budgetperf.ingest.gate import GateError, tolerances

JUNE, SEPTEMBER = dt.date(2023, 6, 30), dt.date(2023, 9, 30)
BAD_ROWS = EXECUTION + "R4,2023,P001,2022-12-28,1.00,,\nR5,2023,P001,2023-01-01,0,,\n"


def view(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "select checkpoint_date, file_path, problem, rows_rejected, tolerance"
        " from ops.checkpoint_reject_problems order by 1, 2",
    )


def test_rejected_rows_block_until_tolerated_or_accepted(warehouse_url: str, landing: Path) -> None:
    url = warehouse_url
    base_delivery(landing, budget_execution__csv=BAD_ROWS)
    load_landing(url, landing)
    execute(
        url,
        "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year) values (%s, 2023)",
        (JUNE,),
    )
    load = ledger(url)["20230630/budget_execution.csv"]["load_id"]

    problems = reject_problems(url, JUNE)
    assert [(p.file_path, p.problem, p.rows_rejected, p.tolerance) for p in problems] == [
        ("20230630/budget_execution.csv", "rejected_rows", 2, 0)
    ]
    assert problems[0].reason.startswith(
        "range 2; 第 5 行 payment_date 2022-12-28 不在预算年度 2023 内"
    )
    message = problems[0].message
    assert "20230630/budget_execution.csv：2 行被拒绝" in message
    assert f"budgetperf rejects --as-of 20230630 --load-id {load}" in message
    assert view(url) == [(JUNE, "20230630/budget_execution.csv", "rejected_rows", 2, 0)]
    assert reject_problems(url, dt.date(2023, 6, 29)) == []  # before the delivery

    set_tolerance(url, "budget_execution", 1, by="张三", why="试运行")
    assert len(reject_problems(url, JUNE)) == 1
    set_tolerance(url, "budget_execution", 2, by="张三", why="两行已核实为系统测试数据")
    assert reject_problems(url, JUNE) == []
    current = {t.entity: t for t in tolerances(url)}
    assert current["budget_execution"].max_rejected_rows == 2
    assert current["budget_execution"].set_by == "张三"
    assert current["projects"].max_rejected_rows == 0
    assert query(url, "select count(*) from ops.reject_tolerances") == [(2,)]  # history kept

    set_tolerance(url, "budget_execution", 0, by="张三", why="恢复默认")
    assert len(reject_problems(url, JUNE)) == 1
    accept_rejects(url, load, by="李四", why="预算执行系统已更正，下次交付覆盖")
    assert reject_problems(url, JUNE) == []
    assert view(url) == []
    assert query(url, "select accepted_by from ops.reject_acceptances") == [("李四",)]


def test_accepting_needs_a_load_with_rejects_and_who_and_why(
    warehouse_url: str, landing: Path
) -> None:
    base_delivery(landing)
    load_landing(warehouse_url, landing)
    clean = ledger(warehouse_url)["20230630/projects.csv"]["load_id"]
    with pytest.raises(GateError, match="no rejected rows"):
        accept_rejects(warehouse_url, clean, by="x", why="y")
    with pytest.raises(GateError, match="no load 999"):
        accept_rejects(warehouse_url, 999, by="x", why="y")
    with pytest.raises(GateError, match="who"):
        accept_rejects(warehouse_url, clean, by=" ", why="y")
    with pytest.raises(GateError, match="unknown entity"):
        set_tolerance(warehouse_url, "payments", 1, by="x", why="y")


def test_a_rejected_file_blocks_until_a_later_load_supersedes_it(
    warehouse_url: str, landing: Path
) -> None:
    url = warehouse_url
    base_delivery(landing, budget_execution__csv=b"\xff\xfe\xfd\n")
    base_delivery(landing, as_of="20230930", departments__csv=None, projects__csv=None,
                  budget_execution__csv=EXECUTION_HEADER)  # fmt: skip
    load_landing(url, landing)
    problems = reject_problems(url, SEPTEMBER)
    assert [(p.file_path, p.problem) for p in problems] == [
        ("20230630/budget_execution.csv", "rejected_file")
    ]
    assert "整个文件被拒绝" in problems[0].message
    # a header-only later file holds no valid rows: it supersedes nothing
    (landing / "20230930" / "budget_execution.csv").write_text(EXECUTION)
    load_landing(url, landing)
    assert reject_problems(url, SEPTEMBER) == []
    assert [p.problem for p in reject_problems(url, JUNE)] == ["rejected_file"]


def test_a_file_whose_every_row_was_rejected_blocks_like_a_rejected_file(
    warehouse_url: str, landing: Path
) -> None:
    url = warehouse_url
    every_row_bad = EXECUTION_HEADER + "R1,2023,P001,2022-01-01,1,,\n"
    base_delivery(landing, budget_execution__csv=every_row_bad)
    load_landing(url, landing)
    problems = reject_problems(url, JUNE)
    assert [(p.problem, p.rows_rejected) for p in problems] == [("rejected_rows", 1)]


def test_a_superseded_load_no_longer_blocks_later_points(warehouse_url: str, landing: Path) -> None:
    url = warehouse_url
    base_delivery(landing, budget_execution__csv=BAD_ROWS)
    base_delivery(landing, as_of="20230930", departments__csv=None, projects__csv=None)
    load_landing(url, landing)
    assert [p.as_of for p in reject_problems(url, JUNE)] == [JUNE]
    assert reject_problems(url, SEPTEMBER) == []


def test_tolerance_counts_every_effective_load_of_the_entity(
    warehouse_url: str, landing: Path
) -> None:
    url = warehouse_url
    projects = (
        "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
        "budget_amount_yuan\n"
        "2023,P001,D01,a,general_public,county,1\n2023,P002,D01,b,general_public,county,1\n"
        "2024,P001,D01,a,general_public,county,1\n"
    )
    base_delivery(landing, projects__csv=projects, budget_execution__csv=BAD_ROWS)
    year_2024 = EXECUTION_HEADER + "S1,2024,P001,2024-01-02,1,,\nS2,2024,P001,2023-01-02,1,,\n"
    base_delivery(landing, as_of="20230930", departments__csv=None, projects__csv=None,
                  budget_execution__csv=year_2024)  # fmt: skip
    load_landing(url, landing)
    # 2023 comes from June (2 rejects), 2024 from September (1 reject): 3 in all
    set_tolerance(url, "budget_execution", 2, by="x", why="y")
    assert [p.rows_rejected for p in reject_problems(url, SEPTEMBER)] == [2, 1]
    set_tolerance(url, "budget_execution", 3, by="x", why="y")
    assert reject_problems(url, SEPTEMBER) == []
