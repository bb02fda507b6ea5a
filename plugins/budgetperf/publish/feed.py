"""The budget proposal feed (R6 results application): ``fct_budget_proposal`` of the next
budget year, exported for the budget system and for people, after the year-end point.

Files go to ``$BUDGETPERF_OUTPUTS/<budget_year>/``:
- ``budget_proposals_<B>.csv`` — one row per request, exact amounts in 元 and 万元, UTF-8
  with BOM so Excel opens it; for systems (no subtotal lines);
- ``budget_proposals_<B>.xlsx`` — for people: the same rows grouped by department with a
  subtotal per department and a grand total, header frozen, amounts in 万元; a second
  sheet sums by department;
- ``_manifest.json`` — rows, sha256 and totals of both files, in the shape the
  platform's own inputs use, so a downstream system can check what it received.
Every text cell that could be read as a formula is neutralised (see tabular.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import tabular
from budgetperf.publish.formatting import load_labels, rows, wan
from budgetperf.warehouse import connect

# kept for callers of the first version
neutralise = tabular.neutralise
FORMULA_PREFIXES = tabular.FORMULA_PREFIXES


def proposal_columns(with_project_name: bool) -> list[tabular.Column]:
    columns = [
        tabular.Column("budget_year", "预算年度", "int", 9),
        tabular.Column("department_code", "部门编码", "code"),
        tabular.Column("department_name", "部门名称", "text", 28),
        tabular.Column("project_code", "项目编码", "code"),
    ]
    if with_project_name:
        columns.append(tabular.Column("project_name", "项目名称", "text", 30))
    columns += [
        tabular.Column("prior_project_code", "上年项目编码", "code"),
        tabular.Column("prior_project_name", "上年项目名称", "text", 28),
        tabular.Column("prior_project_grade_zh", "上年项目评价等级", "text", 10),
        tabular.Column("department_grade_zh", "上年部门评价等级", "text", 10),
        tabular.Column("requested_yuan", "申报金额（万元）", "wan"),
        tabular.Column("uniform_cut_rate", "统一压减比例", "rate"),
        tabular.Column("extra_cut_rate", "评价结果额外压减比例", "rate"),
        tabular.Column("total_cut_rate", "合计压减比例", "rate"),
        tabular.Column("proposed_yuan", "建议安排金额（万元）", "wan"),
        tabular.Column("cut_yuan", "压减金额（万元）", "wan"),
        tabular.Column("reason", "压减理由", "text", 48),
    ]
    return columns


# the CSV is for systems: exact 元 next to the 万元 people read
EXACT_COLUMNS = [
    tabular.Column("requested_exact", "申报金额（元）", "yuan"),
    tabular.Column("proposed_exact", "建议安排金额（元）", "yuan"),
    tabular.Column("cut_exact", "压减金额（元）", "yuan"),
]

DEPARTMENT_COLUMNS = [
    tabular.Column("department_code", "部门编码", "code"),
    tabular.Column("department_name", "部门名称", "text", 28),
    tabular.Column("requests", "申报项目数", "int"),
    tabular.Column("extra_cut_requests", "额外压减项目数", "int"),
    tabular.Column("requested_yuan", "申报金额（万元）", "wan"),
    tabular.Column("proposed_yuan", "建议安排金额（万元）", "wan"),
    tabular.Column("cut_yuan", "压减金额（万元）", "wan"),
]


@dataclass
class FeedResult:
    budget_year: int
    rows: int = 0
    files: list[Path] = field(default_factory=list)
    departments: int = 0
    requested_yuan: Decimal = Decimal(0)
    proposed_yuan: Decimal = Decimal(0)
    cut_yuan: Decimal = Decimal(0)
    extra_cut_requests: int = 0

    def one_line(self) -> str:
        where = ", ".join(str(p) for p in self.files) or "no file"
        return (
            f"budget proposal feed {self.budget_year}: {self.rows} proposals of "
            f"{self.departments} departments, requested {wan(self.requested_yuan)} 万元, "
            f"proposed {wan(self.proposed_yuan)} 万元 ({self.extra_cut_requests} cut further "
            f"by evaluation results) -> {where}"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "budget_year": self.budget_year,
            "rows": self.rows,
            "departments": self.departments,
            "requested_yuan": str(self.requested_yuan),
            "proposed_yuan": str(self.proposed_yuan),
            "cut_yuan": str(self.cut_yuan),
            "extra_cut_requests": self.extra_cut_requests,
            "files": [str(p) for p in self.files],
        }


def proposal_rows(url: str, budget_year: int) -> list[dict[str, Any]]:
    """fct_budget_proposal of the budget year with names and grade labels, by department."""
    with connect(url) as conn:
        labels = load_labels(conn)
        proposals = rows(
            conn,
            """
            select * from marts.fct_budget_proposal where budget_year = %s
            order by department_code, project_code
            """,
            (budget_year,),
        )
        # names as of the prior year's latest point: the feed is made after that year-end
        department_names: dict[str, str] = dict(
            conn.execute(
                """
                select distinct on (department_code) department_code, department_name
                from marts.rpt_department_progress where fiscal_year = %s
                order by department_code, checkpoint_date desc
                """,
                (budget_year - 1,),
            ).fetchall()
        )
        project_names: dict[str, str] = dict(
            conn.execute(
                """
                select distinct on (project_code) project_code, project_name
                from marts.fct_project_progress where fiscal_year = %s
                order by project_code, checkpoint_date desc
                """,
                (budget_year - 1,),
            ).fetchall()
        )
    for row in proposals:
        row["department_name"] = row.get("department_name") or department_names.get(
            row["department_code"]
        )
        row["prior_project_name"] = project_names.get(row["prior_project_code"])
        row["prior_project_grade_zh"] = (
            labels.get("grade", row["prior_project_grade"]) if row["prior_project_grade"] else None
        )
        row["department_grade_zh"] = (
            labels.get("grade", row["department_grade"]) if row["department_grade"] else None
        )
        row["requested_exact"] = row["requested_yuan"]
        row["proposed_exact"] = row["proposed_yuan"]
        row["cut_exact"] = row["cut_yuan"]
    return proposals


def _sum(items: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(r[key]) for r in items if r[key] is not None), Decimal(0))


def department_totals(proposals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_department: dict[str, list[dict[str, Any]]] = {}
    for row in proposals:
        by_department.setdefault(row["department_code"], []).append(row)
    return [
        {
            "department_code": code,
            "department_name": items[0]["department_name"],
            "requests": len(items),
            "extra_cut_requests": sum(1 for r in items if (r["extra_cut_rate"] or 0) > 0),
            "requested_yuan": _sum(items, "requested_yuan"),
            "proposed_yuan": _sum(items, "proposed_yuan"),
            "cut_yuan": _sum(items, "cut_yuan"),
        }
        for code, items in by_department.items()
    ]


def _with_subtotals(
    proposals: list[dict[str, Any]], totals: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], frozenset[int]]:
    """Detail rows with a 小计 line after each department and a 合计 line at the end."""
    lines: list[dict[str, Any]] = []
    emphasised: set[int] = set()
    by_code = {t["department_code"]: t for t in totals}
    for index, row in enumerate(proposals):
        lines.append(row)
        last_of_department = (
            index + 1 == len(proposals)
            or proposals[index + 1]["department_code"] != row["department_code"]
        )
        if last_of_department:
            total = by_code[row["department_code"]]
            emphasised.add(len(lines))
            lines.append(
                {
                    "department_code": row["department_code"],
                    "department_name": (
                        f"{row['department_name'] or ''}小计（{total['requests']}项）"
                    ),
                    "requested_yuan": total["requested_yuan"],
                    "proposed_yuan": total["proposed_yuan"],
                    "cut_yuan": total["cut_yuan"],
                }
            )
    if proposals:
        emphasised.add(len(lines))
        lines.append(
            {
                "department_name": f"合计（{len(totals)}个部门，{len(proposals)}项）",
                "requested_yuan": _sum(proposals, "requested_yuan"),
                "proposed_yuan": _sum(proposals, "proposed_yuan"),
                "cut_yuan": _sum(proposals, "cut_yuan"),
            }
        )
    return lines, frozenset(emphasised)


def feed_folder(rc: RunContext, budget_year: int) -> Path:
    return Path(rc.settings.outputs) / str(budget_year)


def export_budget_proposals(rc: RunContext) -> FeedResult:
    """Export next year's proposals (budget year = the run's fiscal year + 1)."""
    budget_year = rc.checkpoint.year + 1
    proposals = proposal_rows(rc.warehouse_url, budget_year)
    totals = department_totals(proposals)
    with_project_name = any(r.get("project_name") for r in proposals)
    columns = proposal_columns(with_project_name)
    result = FeedResult(
        budget_year,
        rows=len(proposals),
        departments=len(totals),
        requested_yuan=_sum(proposals, "requested_yuan"),
        proposed_yuan=_sum(proposals, "proposed_yuan"),
        cut_yuan=_sum(proposals, "cut_yuan"),
        extra_cut_requests=sum(t["extra_cut_requests"] for t in totals),
    )
    folder = feed_folder(rc, budget_year)
    title = f"{budget_year}年部门预算安排建议（绩效评价结果应用）"
    detail, emphasised = _with_subtotals(proposals, totals)
    overall = {
        "department_name": f"合计（{len(totals)}个部门）",
        "requests": len(proposals),
        "extra_cut_requests": result.extra_cut_requests,
        "requested_yuan": result.requested_yuan,
        "proposed_yuan": result.proposed_yuan,
        "cut_yuan": result.cut_yuan,
    }
    notes = [
        "金额单位：万元（两位小数，四舍五入）；精确到元的金额见同名 CSV 文件。",
        "建议安排金额 = 申报金额 ×（1 − 统一压减比例 − 评价结果额外压减比例），"
        "额外压减取上年项目与部门评价等级中较重者（中、差）。",
        f"依据：{rc.checkpoint.year}年度绩效评价结果（{rc.checkpoint.isoformat()} 年终评价点）。",
    ]
    xlsx = tabular.workbook_bytes(
        [
            tabular.Sheet(
                "预算安排建议", columns, detail, caption=title, notes=notes, emphasised=emphasised
            ),
            tabular.Sheet(
                "部门汇总",
                DEPARTMENT_COLUMNS,
                [*totals, overall],
                caption=f"{budget_year}年预算安排建议（按部门汇总）",
                emphasised=frozenset({len(totals)}),
            ),
        ],
        title=title,
        when=dt.datetime(rc.checkpoint.year, rc.checkpoint.month, rc.checkpoint.day),
    )
    csv = tabular.csv_bytes([*columns, *EXACT_COLUMNS], proposals)
    csv_path = tabular.write_atomic(folder / f"budget_proposals_{budget_year}.csv", csv)
    xlsx_path = tabular.write_atomic(folder / f"budget_proposals_{budget_year}.xlsx", xlsx)
    manifest = {
        "budget_year": budget_year,
        "source": f"marts.fct_budget_proposal after the {rc.checkpoint.isoformat()} point",
        "files": {
            path.name: {
                "rows": len(proposals),
                "sha256": hashlib.sha256(data).hexdigest(),
                "requested_yuan_total": format(result.requested_yuan, "f"),
                "proposed_yuan_total": format(result.proposed_yuan, "f"),
            }
            for path, data in ((csv_path, csv), (xlsx_path, xlsx))
        },
    }
    manifest_path = tabular.write_atomic(
        folder / "_manifest.json",
        (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
    )
    result.files = [csv_path, xlsx_path, manifest_path]
    from budgetperf.publish.index import write_index

    write_index(rc)
    return result
