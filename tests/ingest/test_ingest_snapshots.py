"""Snapshot semantics through the raw.effective_* views the dbt models read.

For a point c, the effective data of an (entity, fiscal_year) is the latest delivery with
as_of <= c that has valid rows for that year; a corrected file of the same folder
supersedes; header-only and wholly rejected files supersede nothing; history stays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from ingest_helpers import (
    DEPARTMENTS,
    EXECUTION_HEADER,
    assert_consistent,
    deliver,
    execute,
    query,
)

from budgetperf.ingest import load_landing

HEADER = (
    "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
    "budget_amount_yuan\n"
)


def projects(*rows: tuple[int, str, str]) -> str:
    return HEADER + "".join(
        f"{year},{code},D01,项目{code},general_public,county,{budget}\n"
        for year, code, budget in rows
    )


def points(url: str, *days: str) -> None:
    for day in days:
        execute(
            url,
            "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year) values (%s, %s)",
            (day, int(day[:4])),
        )


def effective(url: str, view: str = "projects") -> dict[str, list[tuple[object, ...]]]:
    rows = query(
        url,
        f"select checkpoint_date, fiscal_year, project_code, budget_amount_yuan"
        f" from raw.effective_{view} order by 1, 2, 3",
    )
    out: dict[str, list[tuple[object, ...]]] = {}
    for day, year, code, budget in rows:
        out.setdefault(day.isoformat(), []).append((year, code, budget))
    return out


def test_snapshot_semantics(warehouse_url: str, landing: Path) -> None:
    url = warehouse_url
    deliver(landing, "departments.csv", DEPARTMENTS, as_of="20230101")
    deliver(
        landing, "projects.csv", projects((2023, "P1", "100"), (2023, "P2", "5")), as_of="20230331"
    )
    deliver(landing, "projects.csv", projects((2023, "P1", "200")), as_of="20230630")
    # a file holding only 2024 rows leaves 2023 as it was
    deliver(landing, "projects.csv", projects((2024, "Q1", "7")), as_of="20230930")
    # header-only and wholly rejected files supersede nothing
    deliver(landing, "projects.csv", HEADER, as_of="20231130")
    deliver(landing, "projects.csv", b"\xff\xfe\x00garbage\n", as_of="20231231")
    points(url, "2023-03-31", "2023-05-31", "2023-06-30", "2023-09-30", "2023-11-30", "2023-12-31")
    load_landing(url, landing)
    assert_consistent(url)
    # the loaded tables have planner statistics before anything queries them; the
    # entities no file loaded into are left alone
    analysed = query(
        url,
        "select relname from pg_stat_user_tables"
        " where schemaname = 'raw' and last_analyze is not null order by 1",
    )
    assert analysed == [("departments",), ("projects",)]
    # and so do the load ledgers every effective view joins (migration 0600)
    ledgers = query(
        url,
        "select relname from pg_stat_user_tables"
        " where schemaname = 'ops' and last_analyze is not null order by 1",
    )
    assert ledgers == [("checkpoint_runs",), ("load_fiscal_years",), ("loads",)]
    one = Decimal("100.00")
    expected = {
        "2023-03-31": [(2023, "P1", one), (2023, "P2", Decimal("5.00"))],
        "2023-05-31": [(2023, "P1", one), (2023, "P2", Decimal("5.00"))],
        "2023-06-30": [(2023, "P1", Decimal("200.00"))],
        "2023-09-30": [(2023, "P1", Decimal("200.00")), (2024, "Q1", Decimal("7.00"))],
        "2023-11-30": [(2023, "P1", Decimal("200.00")), (2024, "Q1", Decimal("7.00"))],
        "2023-12-31": [(2023, "P1", Decimal("200.00")), (2024, "Q1", Decimal("7.00"))],
    }
    assert effective(url) == expected
    statuses = query(
        url, "select as_of, status from ops.loads where entity = 'projects' order by 1"
    )
    assert [s for _, s in statuses] == ["loaded", "loaded", "loaded", "loaded", "rejected"]

    # a corrected file in the same folder supersedes the earlier load of that folder
    deliver(landing, "projects.csv", projects((2023, "P1", "250")), as_of="20230630")
    report = load_landing(url, landing)
    assert [f.status for f in report.files if f.as_of == dt.date(2023, 6, 30)] == ["loaded"]
    assert_consistent(url)
    corrected = Decimal("250.00")
    assert effective(url)["2023-06-30"] == [(2023, "P1", corrected)]
    assert effective(url)["2023-12-31"] == [(2023, "P1", corrected), (2024, "Q1", Decimal("7.00"))]
    # ... and a later point never sees an earlier point's data change unless it was as of then
    assert effective(url)["2023-05-31"] == expected["2023-05-31"]

    # history is never deleted: every load's rows are still there
    assert query(url, "select load_id, count(*) from raw.projects group by 1 order by 1") == [
        (2, 2),
        (3, 1),
        (4, 1),
        (7, 1),
    ]


def test_execution_snapshots_follow_their_fiscal_year(warehouse_url: str, landing: Path) -> None:
    url = warehouse_url
    deliver(landing, "departments.csv", DEPARTMENTS, as_of="20230101")
    deliver(
        landing,
        "projects.csv",
        projects((2023, "P1", "100"), (2024, "P1", "100")),
        as_of="20230101",
    )
    both_years = EXECUTION_HEADER + "A,2023,P1,2023-03-01,1,,\nB,2024,P1,2024-01-02,2,,\n"
    deliver(landing, "budget_execution.csv", both_years, as_of="20240131")
    only_2024 = EXECUTION_HEADER + "C,2024,P1,2024-02-01,3,,\n"
    deliver(landing, "budget_execution.csv", only_2024, as_of="20240229")
    every_row_rejected = EXECUTION_HEADER + "D,2024,P1,2023-02-01,3,,\n"  # wrong year
    deliver(landing, "budget_execution.csv", every_row_rejected, as_of="20240331")
    points(url, "2024-01-31", "2024-02-29", "2024-03-31")
    load_landing(url, landing)
    rows = query(
        url,
        "select checkpoint_date::text, fiscal_year, record_id from raw.effective_budget_execution"
        " order by 1, 2, 3",
    )
    assert rows == [
        ("2024-01-31", 2023, "A"),
        ("2024-01-31", 2024, "B"),
        ("2024-02-29", 2023, "A"),
        ("2024-02-29", 2024, "C"),
        ("2024-03-31", 2023, "A"),
        ("2024-03-31", 2024, "C"),  # the all-rejected file supersedes nothing
    ]
