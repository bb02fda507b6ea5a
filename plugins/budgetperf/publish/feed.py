"""The budget proposal feed (R6 results application): ``fct_budget_proposal`` of the next
budget year, exported for the budget system and for people, after the year-end point.

Files go to ``$BUDGETPERF_OUTPUTS/<budget_year>/`` as CSV (UTF-8 with BOM so Excel opens
it) and XLSX; every text cell that could be read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.warehouse import connect

COLUMNS: tuple[tuple[str, str], ...] = (
    ("budget_year", "预算年度"),
    ("department_code", "部门编码"),
    ("project_code", "项目编码"),
    ("prior_project_code", "上年项目编码"),
    ("prior_project_grade_zh", "上年项目评价等级"),
    ("department_grade_zh", "部门评价等级"),
    ("requested_wan", "申报金额（万元）"),
    ("uniform_cut_rate", "统一压减比例"),
    ("extra_cut_rate", "额外压减比例"),
    ("proposed_wan", "建议安排金额（万元）"),
    ("cut_wan", "压减金额（万元）"),
    ("requested_yuan", "申报金额（元）"),
    ("proposed_yuan", "建议安排金额（元）"),
    ("reason", "压减理由"),
)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell starting like a formula gets a leading apostrophe: shown, never run."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass
class FeedResult:
    budget_year: int
    rows: int = 0
    files: list[Path] = field(default_factory=list)

    def one_line(self) -> str:
        where = ", ".join(str(p) for p in self.files) or "no file"
        return f"budget proposal feed {self.budget_year}: {self.rows} proposals -> {where}"

    def summary(self) -> dict[str, Any]:
        return {
            "budget_year": self.budget_year,
            "rows": self.rows,
            "files": [str(p) for p in self.files],
        }


def _proposal_rows(url: str, budget_year: int) -> list[dict[str, Any]]:
    with connect(url) as conn:
        cursor = conn.execute(
            """
            select p.*, pg.label_zh as prior_project_grade_zh, dg.label_zh as department_grade_zh
            from marts.fct_budget_proposal as p
            left join marts.grades as pg on pg.grade = p.prior_project_grade
            left join marts.grades as dg on dg.grade = p.department_grade
            where p.budget_year = %s
            order by p.department_code, p.project_code
            """,
            (budget_year,),
        )
        names = [c.name for c in cursor.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    ten_thousand = Decimal(10000)
    for row in rows:
        row["requested_wan"] = (row["requested_yuan"] / ten_thousand).quantize(Decimal("0.01"))
        row["proposed_wan"] = (row["proposed_yuan"] / ten_thousand).quantize(Decimal("0.01"))
        row["cut_wan"] = (row["cut_yuan"] / ten_thousand).quantize(Decimal("0.01"))
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    partial = path.with_suffix(".csv.partial")
    with open(partial, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([label for _, label in COLUMNS])
        for row in rows:
            writer.writerow([neutralise(_cell(row[key])) for key, _ in COLUMNS])
    partial.replace(path)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def write_xlsx(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "预算安排建议"
    sheet.append([label for _, label in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    money_columns = {i + 1 for i, (key, _) in enumerate(COLUMNS) if key.endswith(("_wan", "_yuan"))}
    for row in rows:
        sheet.append([neutralise(_xlsx_value(row[key])) for key, _ in COLUMNS])
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if cell.column in money_columns:
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text: never a formula
    workbook.properties.title = title
    workbook.properties.creator = "budgetperf"
    partial = path.with_suffix(".xlsx.partial")
    workbook.save(partial)
    partial.replace(path)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
    return value


def export_budget_proposals(rc: RunContext) -> FeedResult:
    budget_year = rc.checkpoint.year + 1
    rows = _proposal_rows(rc.warehouse_url, budget_year)
    result = FeedResult(budget_year, rows=len(rows))
    folder = rc.settings.outputs / str(budget_year)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"budget_proposals_{budget_year}.csv"
    xlsx_path = folder / f"budget_proposals_{budget_year}.xlsx"
    write_csv(rows, csv_path)
    write_xlsx(rows, xlsx_path, f"{budget_year}年预算安排建议（{dt.date.today():%Y-%m-%d}）")
    result.files = [csv_path, xlsx_path]
    return result
