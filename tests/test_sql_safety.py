"""A file name, a header or a cell of a delivery never becomes SQL (docs/operations.md).

A delivery full of SQL-looking text goes through the real loader, connected as the
warehouse owner (who could drop anything, were any of it run): cells in CSV and XLSX,
an unknown header, file and folder names that are not entities, a manifest naming a
file that is not there. Every cell is stored verbatim or its row rejected with a reason;
every odd name is refused and recorded verbatim; every table is still there, with the
counts the delivery gives.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ingest.ingest_helpers import (
    AS_OF,
    EXECUTION,
    deliver,
    ledger,
    load_and_rerun,
    query,
    rejects,
    state,
)

DROP_PROJECTS = "x'); drop table raw.projects;--"
SLEEP = '"; select pg_sleep(5);--'
DROP_LOADS_HEADER = 'a"; drop table ops.loads;--'
TRUNCATE = "'; truncate ops.loads, raw.departments cascade;--"
DROP_SCHEMA = "Robert'); drop schema raw cascade;--"
BAD_CODE = "P001'); delete from raw.budget_execution;--"
ODD_FILES = ["projects;drop.csv", "projects'); drop table ops.loads;--.csv"]
ODD_FOLDER = "20230630'; drop table ops.loads;--"
ODD_LISTED = "budget_execution'); drop table raw.projects;--.csv"


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


PROJECTS = (
    "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
    f"budget_amount_yuan,{_csv_cell(DROP_LOADS_HEADER)}\n"
    f"2023,P001,D01,校舍维修,general_public,county,1000000.00,{_csv_cell(TRUNCATE)}\n"
    f"2023,P002,D02,{_csv_cell(SLEEP)},一般公共预算,中央转移支付,500000,x\n"
    f"2023,P003,D01,{DROP_PROJECTS},general_public,county,1000.00,{_csv_cell(SLEEP)}\n"
)
REJECTED_LINE = f"R5,2023,{BAD_CODE},2023-05-03,5.00,V5,乙公司"
EXECUTION_HOSTILE = (
    EXECUTION
    + f"R4,2023,P003,2023-05-02,10.00,{DROP_PROJECTS},{_csv_cell(SLEEP)}\n"
    + REJECTED_LINE
    + "\n"
)


def _tables(url: str) -> list[tuple[str, str]]:
    return query(
        url,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('raw', 'ops') order by 1, 2",
    )


def _departments_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "'; drop table raw.departments--"
    sheet.append(["department_code", "department_name", "kind", DROP_LOADS_HEADER])
    sheet.append(["D01", "县教育局", "department", TRUNCATE])
    sheet.append(["D02", DROP_SCHEMA, "township", SLEEP])
    book.save(path)


@pytest.fixture
def hostile_delivery(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    deliver(landing, "projects.csv", PROJECTS)
    deliver(landing, "budget_execution.csv", EXECUTION_HOSTILE)
    _departments_xlsx(landing / AS_OF / "departments.xlsx")
    for name in ODD_FILES:
        deliver(landing, name, PROJECTS)
    # a folder that is not a delivery, and a manifest naming a file that is not there
    deliver(landing, "projects.csv", PROJECTS, as_of=ODD_FOLDER)
    (landing / AS_OF / "_manifest.json").write_text(
        json.dumps({"files": {ODD_LISTED: {"rows": 1}}}), encoding="utf-8"
    )
    return landing


def test_sql_in_names_headers_and_cells_is_only_ever_data(
    warehouse_url: str, hostile_delivery: Path
) -> None:
    tables = _tables(warehouse_url)
    started = time.monotonic()
    load_and_rerun(warehouse_url, hostile_delivery)  # also: the ledger adds up, a rerun is a no-op
    assert time.monotonic() - started < 5, "pg_sleep(5) ran?"

    # every table is still there, holding what the delivery gives
    assert _tables(warehouse_url) == tables
    counts = state(warehouse_url)
    assert counts["raw.departments"] == 2
    assert counts["raw.projects"] == 3
    assert counts["raw.budget_execution"] == 4
    assert counts["ops.loads"] == 3
    assert counts["ops.rejected_rows"] == 1

    # cells are stored verbatim
    assert query(
        warehouse_url, "select project_code, project_name from raw.projects order by 1"
    ) == [("P001", "校舍维修"), ("P002", SLEEP), ("P003", DROP_PROJECTS)]
    assert query(
        warehouse_url,
        "select voucher_no, payee from raw.budget_execution where record_id = 'R4'",
    ) == [(DROP_PROJECTS, SLEEP)]
    assert query(
        warehouse_url, "select department_code, department_name from raw.departments order by 1"
    ) == [("D01", "县教育局"), ("D02", DROP_SCHEMA)]

    # a code that refers to nothing: the row is rejected with a reason, kept verbatim
    [(path, line, column, rule, reason, raw_line)] = rejects(warehouse_url)
    assert (path, line, column) == (f"{AS_OF}/budget_execution.csv", 6, "project_code")
    assert rule and BAD_CODE in reason
    assert raw_line == REJECTED_LINE

    # the unknown header is ignored, and named verbatim in the ledger
    files = ledger(warehouse_url)
    assert {p: f["status"] for p, f in files.items()} == {
        f"{AS_OF}/budget_execution.csv": "loaded",
        f"{AS_OF}/departments.xlsx": "loaded",
        f"{AS_OF}/projects.csv": "loaded",
    }
    for name in ("projects.csv", "departments.xlsx"):
        assert f"ignored unknown column(s) {DROP_LOADS_HEADER}" in files[f"{AS_OF}/{name}"]["notes"]

    # names that are not entities or deliveries are refused and recorded verbatim
    findings = query(warehouse_url, "select path, kind from ops.landing_findings order by 1")
    assert sorted(findings) == sorted(
        [(f"{AS_OF}/{name}", "unknown_file") for name in ODD_FILES]
        + [(ODD_FOLDER, "not_a_delivery"), (f"{AS_OF}/{ODD_LISTED}", "manifest_file_missing")]
    )
