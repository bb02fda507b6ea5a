"""Helpers for the ingestion tests: write deliveries, load them, read the ledgers back.

(A module of its own, not conftest.py: test modules import these by name.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from budgetperf.ingest import ENTITIES, LoadReport, load_landing

AS_OF = "20230630"

DEPARTMENTS = (
    "department_code,department_name,kind,sector,contact_email\n"
    "D01,县教育局,部门,教育,edu@example.cn\n"
    "D02,城关镇,township,,\n"
)
PROJECTS = (
    "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
    "budget_amount_yuan\n"
    "2023,P001,D01,校舍维修,general_public,county,1000000.00\n"
    "2023,P002,D02,道路硬化,一般公共预算,中央转移支付,500000\n"
)
EXECUTION_HEADER = "record_id,fiscal_year,project_code,payment_date,amount_yuan,voucher_no,payee\n"
EXECUTION = (
    EXECUTION_HEADER
    + "R1,2023,P001,2023-03-01,1000.00,V1,甲公司\n"
    + "R2,2023,P001,2023-04-01,-200.00,V2,甲公司\n"
    + "R3,2023,P002,2023-05-01,300.50,V3,乙公司\n"
)


def deliver(
    landing: Path, name: str, content: str | bytes, *, as_of: str = AS_OF, encoding: str = "utf-8"
) -> Path:
    folder = landing / as_of
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def base_delivery(landing: Path, *, as_of: str = AS_OF, **files: str | bytes | None) -> None:
    """departments, projects and budget_execution (valid), with ``files`` overriding them
    (``name=None`` leaves a file out)."""
    contents: dict[str, str | bytes | None] = {
        "departments.csv": DEPARTMENTS,
        "projects.csv": PROJECTS,
        "budget_execution.csv": EXECUTION,
    }
    contents.update({k.replace("__", "."): v for k, v in files.items()})
    for name, content in contents.items():
        if content is not None:
            deliver(landing, name, content, as_of=as_of)


def query(url: str, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def execute(url: str, sql: str, params: Any = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(sql, params)  # type: ignore[arg-type]


def ledger(url: str) -> dict[str, dict[str, Any]]:
    """The latest load of each file path, as a dict of its ledger columns."""
    rows = query(
        url,
        "select distinct on (file_path) file_path, load_id, entity, status, rows_read,"
        " rows_loaded, rows_rejected, reason, encoding, notes"
        " from ops.loads order by file_path, load_id desc",
    )
    keys = ["load_id", "entity", "status", "rows_read", "rows_loaded", "rows_rejected", "reason"]
    keys += ["encoding", "notes"]
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def rejects(url: str, file_path: str | None = None) -> list[tuple[Any, ...]]:
    """(file_path, line_no, column_name, rule, reason, raw_line) in line order."""
    return query(
        url,
        "select file_path, line_no, column_name, rule, reason, raw_line from ops.rejected_rows"
        " where %(path)s::text is null or file_path = %(path)s"
        " order by file_path, line_no nulls first, reject_id",
        {"path": file_path},
    )


def state(url: str) -> dict[str, int]:
    """Row counts of every table the loader writes: equal before and after a no-op run."""
    tables = ["ops.loads", "ops.rejected_rows", "ops.load_fiscal_years", "ops.landing_findings"]
    tables += [f"raw.{e}" for e in ENTITIES]
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[index]
            for t in tables
        }


def assert_consistent(url: str) -> None:
    """Every count in the ledger matches the rows it describes: nothing counted twice."""
    for load_id, entity, status, read, loaded, rejected in query(
        url,
        "select load_id, entity, status, rows_read, rows_loaded, rows_rejected from ops.loads",
    ):
        raw_rows = query(url, f"select count(*) from raw.{entity} where load_id = %s", (load_id,))
        years = query(
            url,
            "select coalesce(sum(rows_loaded), 0) from ops.load_fiscal_years where load_id = %s",
            (load_id,),
        )
        row_rejects = query(
            url,
            "select count(*) from ops.rejected_rows where load_id = %s and line_no is not null",
            (load_id,),
        )
        file_rejects = query(
            url,
            "select count(*) from ops.rejected_rows where load_id = %s and line_no is null",
            (load_id,),
        )
        assert raw_rows[0][0] == loaded, (load_id, entity)
        assert years[0][0] == loaded, (load_id, entity)
        if status == "loaded":
            assert read == loaded + rejected, (load_id, entity)
            assert row_rejects[0][0] == rejected, (load_id, entity)
            assert file_rejects[0][0] == 0
        else:
            assert status == "rejected"
            assert loaded == 0 and row_rejects[0][0] == 0 and file_rejects[0][0] == 1
    orphans = [
        query(
            url,
            f"select count(*) from raw.{e} r where not exists"
            " (select 1 from ops.loads l where l.load_id = r.load_id)",
        )[0][0]
        for e in ENTITIES
    ]
    assert orphans == [0] * len(ENTITIES)


def load_and_rerun(url: str, landing: Path) -> LoadReport:
    """Load; check the ledger; load again and check that nothing at all changed."""
    report = load_landing(url, landing)
    assert_consistent(url)
    before = state(url)
    again = load_landing(url, landing)
    assert [f.status for f in again.files] == ["skipped"] * len(again.files)
    assert state(url) == before
    return report


def by_path(report: LoadReport) -> dict[str, Any]:
    return {f.file_path: f for f in report.files}
