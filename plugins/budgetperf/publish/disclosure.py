"""Disclosure (信息公开): performance targets and evaluation results for the county
government website, per fiscal year, of publishable data only.

What is publishable:
- targets: the indicator rows the integration system marks ``is_published``
  (是否公开), as of the year's latest point that has run;
- project evaluation results: projects whose declared target is published in full (all
  their indicator rows ``is_published``: the same test as R9's ``target_published``), so
  a result is never disclosed for a project whose target is withheld;
- department results: the imported overall evaluations (部门整体支出绩效评价), the formal
  evaluations the bureau commissions; the platform's budget-weighted department scores
  are internal and are not disclosed.
Nothing internal is exported: no contact addresses, payees, vouchers or self-check data.

Files go to ``$BUDGETPERF_OUTPUTS/<fiscal_year>/disclosure/``: one XLSX with a sheet per
table, and a CSV per table (UTF-8 with BOM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import tabular
from budgetperf.publish.formatting import date_zh, load_labels, one, rows
from budgetperf.warehouse import connect

TARGET_COLUMNS = [
    tabular.Column("fiscal_year", "预算年度", "int", 9),
    tabular.Column("department_name", "部门（单位）", "text", 28),
    tabular.Column("project_code", "项目编码", "code"),
    tabular.Column("project_name", "项目名称", "text", 30),
    tabular.Column("budget_amount_yuan", "预算金额（万元）", "wan"),
    tabular.Column("level1_zh", "一级指标", "text", 12),
    tabular.Column("level2_zh", "二级指标", "text", 14),
    tabular.Column("indicator_name", "三级指标（指标名称）", "text", 30),
    tabular.Column("comparator_zh", "比较方式", "text", 8),
    tabular.Column("target_value", "目标值", "decimal", 12),
    tabular.Column("unit", "计量单位", "text", 10),
    tabular.Column("weight", "分值", "decimal", 8),
]

PROJECT_RESULT_COLUMNS = [
    tabular.Column("fiscal_year", "预算年度", "int", 9),
    tabular.Column("department_name", "部门（单位）", "text", 28),
    tabular.Column("project_code", "项目编码", "code"),
    tabular.Column("project_name", "项目名称", "text", 30),
    tabular.Column("budget_amount_yuan", "预算金额（万元）", "wan"),
    tabular.Column("final_score", "评价得分", "decimal", 10),
    tabular.Column("grade_zh", "评价等级", "text", 8),
    tabular.Column("source_zh", "评价方式", "text", 12),
]

DEPARTMENT_RESULT_COLUMNS = [
    tabular.Column("fiscal_year", "预算年度", "int", 9),
    tabular.Column("department_name", "部门（单位）", "text", 28),
    tabular.Column("evaluated_budget_yuan", "评价涉及预算（万元）", "wan"),
    tabular.Column("score", "评价得分", "decimal", 10),
    tabular.Column("grade_zh", "评价等级", "text", 8),
    tabular.Column("source_zh", "评价方式", "text", 12),
]


@dataclass
class DisclosureResult:
    fiscal_year: int
    as_of: Any = None  # the point the data is as of
    targets: int = 0
    target_projects: int = 0
    withheld_targets: int = 0  # indicator rows not marked publishable
    project_results: int = 0
    withheld_results: int = 0  # evaluated projects whose target is not fully published
    department_results: int = 0
    files: list[Path] = field(default_factory=list)

    def one_line(self) -> str:
        text = (
            f"disclosure {self.fiscal_year}: {self.targets} published indicators of "
            f"{self.target_projects} projects ({self.withheld_targets} not publishable, "
            f"withheld)"
        )
        if self.project_results or self.department_results:
            text += (
                f"; {self.project_results} project results ({self.withheld_results} withheld), "
                f"{self.department_results} department results"
            )
        return text + " -> " + (", ".join(str(p) for p in self.files) or "no file")

    def summary(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "as_of": str(self.as_of) if self.as_of else None,
            "targets": self.targets,
            "target_projects": self.target_projects,
            "withheld_targets": self.withheld_targets,
            "project_results": self.project_results,
            "withheld_results": self.withheld_results,
            "department_results": self.department_results,
            "files": [str(p) for p in self.files],
        }


def disclosure_folder(rc: RunContext, fiscal_year: int) -> Path:
    return Path(rc.settings.outputs) / str(fiscal_year) / "disclosure"


def export_disclosure(rc: RunContext) -> DisclosureResult:
    """Export the run's fiscal year as of its latest point that has run: targets at any
    point, results once the year-end point has run. Re-running an earlier point writes
    the same files, never older data over newer."""
    fiscal_year = rc.fiscal_year
    result = DisclosureResult(fiscal_year)
    with connect(rc.warehouse_url) as conn:
        labels = load_labels(conn)
        point = one(
            conn,
            """
            select max(checkpoint_date) as as_of from marts.dim_checkpoints
            where fiscal_year = %s
            """,
            (fiscal_year,),
        )
        as_of = point["as_of"] if point else None
        result.as_of = as_of
        if as_of is None:
            return result
        indicators = rows(
            conn,
            """
            select i.fiscal_year, p.department_code, p.department_name, i.project_code,
                   p.project_name, p.budget_amount_yuan, i.indicator_code, i.level1, i.level2,
                   i.indicator_name, i.comparator, i.target_value, i.unit, i.weight,
                   i.is_published
            from marts.fct_indicator_progress as i
            inner join marts.fct_project_progress as p
                on p.checkpoint_date = i.checkpoint_date and p.project_code = i.project_code
            where i.checkpoint_date = %s
            order by p.department_code, i.project_code, i.indicator_code
            """,
            (as_of,),
        )
        evaluations = rows(
            conn,
            """
            select e.fiscal_year, p.department_code, p.department_name, e.project_code,
                   p.project_name, e.budget_amount_yuan, e.final_score, e.grade,
                   e.final_source
            from marts.fct_project_evaluation as e
            inner join marts.fct_project_progress as p
                on p.fiscal_year = e.fiscal_year and p.project_code = e.project_code
               and p.checkpoint_date = %s
            where e.fiscal_year = %s and e.final_score is not null
            order by p.department_code, e.project_code
            """,
            (as_of, fiscal_year),
        )
        departments = rows(
            conn,
            """
            select d.fiscal_year, d.department_code, n.department_name,
                   d.evaluated_budget_yuan, d.score, d.grade, d.source
            from marts.fct_department_evaluation as d
            left join marts.rpt_department_progress as n
                on n.department_code = d.department_code and n.checkpoint_date = %s
            where d.fiscal_year = %s and d.is_imported and d.score is not null
            order by d.department_code
            """,
            (as_of, fiscal_year),
        )
    published: dict[str, bool] = {}
    for row in indicators:
        code = row["project_code"]
        published[code] = published.get(code, True) and bool(row["is_published"])
    targets = [r for r in indicators if r["is_published"]]
    for row in targets:
        row["level1_zh"] = labels.get("level1", row["level1"])
        row["level2_zh"] = labels.get("level2", row["level2"]) if row["level2"] else None
        row["comparator_zh"] = labels.get("comparator", row["comparator"])
    disclosed_results = [r for r in evaluations if published.get(r["project_code"], False)]
    for row in disclosed_results:
        row["grade_zh"] = labels.get("grade", row["grade"])
        row["source_zh"] = labels.get("evaluator", row["final_source"])
    for row in departments:
        row["department_name"] = row["department_name"] or row["department_code"]
        row["grade_zh"] = labels.get("grade", row["grade"])
        row["source_zh"] = labels.get("evaluator", row["source"])
    result.targets = len(targets)
    result.target_projects = len({r["project_code"] for r in targets})
    result.withheld_targets = len(indicators) - len(targets)
    result.project_results = len(disclosed_results)
    result.withheld_results = len(evaluations) - len(disclosed_results)
    result.department_results = len(departments)

    folder = disclosure_folder(rc, fiscal_year)
    note = f"数据截至{date_zh(as_of)}；仅含标记为公开的绩效信息。金额单位：万元。"
    sheets = [
        tabular.Sheet(
            "绩效目标",
            TARGET_COLUMNS,
            targets,
            caption=f"{fiscal_year}年度项目支出绩效目标公开表",
            notes=[note],
        )
    ]
    files = [
        tabular.write_atomic(
            folder / f"performance_targets_{fiscal_year}.csv",
            tabular.csv_bytes(TARGET_COLUMNS, targets),
        )
    ]
    if evaluations or departments:
        sheets += [
            tabular.Sheet(
                "项目绩效评价结果",
                PROJECT_RESULT_COLUMNS,
                disclosed_results,
                caption=f"{fiscal_year}年度项目支出绩效评价结果公开表",
                notes=[note],
            ),
            tabular.Sheet(
                "部门整体支出评价结果",
                DEPARTMENT_RESULT_COLUMNS,
                departments,
                caption=f"{fiscal_year}年度部门整体支出绩效评价结果公开表",
                notes=[note],
            ),
        ]
        files += [
            tabular.write_atomic(
                folder / f"project_evaluation_results_{fiscal_year}.csv",
                tabular.csv_bytes(PROJECT_RESULT_COLUMNS, disclosed_results),
            ),
            tabular.write_atomic(
                folder / f"department_evaluation_results_{fiscal_year}.csv",
                tabular.csv_bytes(DEPARTMENT_RESULT_COLUMNS, departments),
            ),
        ]
    files.insert(
        0,
        tabular.write_atomic(
            folder / f"disclosure_{fiscal_year}.xlsx",
            tabular.workbook_bytes(sheets, title=f"{fiscal_year}年度预算绩效信息公开"),
        ),
    )
    result.files = files
    from budgetperf.publish.index import write_index

    write_index(rc)
    return result
