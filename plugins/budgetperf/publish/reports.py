"""Reports for people: self-contained HTML pages (inline CSS and SVG charts, nothing
fetched), in Chinese, amounts in 万元, every figure read from the marts.

- ``monitoring_report.html`` at every point: execution by department against the
  expected-progress line, status distribution, the lagging projects, indicator
  deviations, idle funds (at the idle-funds point), the notices of the point and their
  delivery state, and the run's data-quality warnings;
- ``year_end_report.html`` at the year-end point: the year's figures stated the way the
  county's annual report states them (from ``rpt_annual_summary``), then coverage,
  grades, proposals and cuts, idle funds;
- ``index.html`` linking everything the run produced (see index.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import svg, tabular
from budgetperf.publish.config import publish_config, rule_parameters
from budgetperf.publish.formatting import (
    Labels,
    date_zh,
    load_labels,
    one,
    percent,
    rows,
    wan,
)
from budgetperf.publish.notices import checkpoint_info, status_order, summary_notice_data, templates
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)

STATUS_COLORS = {
    "seriously_lagging": svg.RED,
    "lagging": svg.ORANGE,
    "on_track": svg.GREEN,
    "overspent": svg.PURPLE,
    "no_budget": svg.GREY,
}
GRADE_COLORS = {"excellent": svg.GREEN, "good": svg.BLUE, "fair": svg.ORANGE, "poor": svg.RED}

# rpt_coverage.metric in Chinese (the mart documents them in its YAML; the seeds have no
# domain for them yet)
METRIC_ZH = {
    "target_declared": "绩效目标申报",
    "pre_assessed": "新增项目事前绩效评估",
    "monitored": "纳入绩效运行监控",
    "evaluated": "完成绩效评价",
    "indicator_quantified": "绩效指标量化",
    "target_published": "绩效目标公开",
    "department_evaluated": "部门整体支出绩效评价",
}
METRIC_UNITS = {
    "target_declared": "项目",
    "pre_assessed": "新增项目",
    "monitored": "项目",
    "evaluated": "项目",
    "indicator_quantified": "指标",
    "target_published": "项目",
    "department_evaluated": "部门",
}


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)
    warnings: int = 0

    def one_line(self) -> str:
        text = "reports: " + (", ".join(str(p) for p in self.files) or "none")
        if self.warnings:
            text += f" ({self.warnings} data-quality warning(s) shown)"
        return text

    def summary(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files], "warnings": self.warnings}


# -- data-quality warnings ---------------------------------------------------------------


def dq_warnings(url: str, checkpoint: dt.date) -> list[Any]:
    """The data-quality warnings of the checkpoint's latest gate runs (they do not block
    publication, so the report shows them)."""
    from budgetperf.quality.results import warnings_for

    return list(warnings_for(url, checkpoint))


# -- the monitoring report ---------------------------------------------------------------


def notice_states(conn: Any, checkpoint: dt.date) -> list[dict[str, Any]]:
    """The latest revision of every notice of the point, with its delivery state."""
    return rows(
        conn,
        """
        select distinct on (kind, coalesce(department_code, ''))
            notice_id, kind, department_code, recipient, status, is_correction, revision,
            attempts, sent_at, last_error
        from ops.notices
        where checkpoint_date = %s and kind in ('department', 'summary')
        order by kind, coalesce(department_code, ''), revision desc
        """,
        (checkpoint,),
    )


NOTICE_STATUS_ZH = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败（将重试）",
    "rejected": "被邮件服务器拒收",
    "no_recipient": "未登记邮箱，未发送",
    "superseded": "已被新版本取代",
}


def monitoring_report_data(url: str, checkpoint: dt.date) -> dict[str, Any]:
    with connect(url) as conn:
        info = checkpoint_info(conn, checkpoint)
        if info is None:
            raise RuntimeError(f"checkpoint {checkpoint} is missing from marts.dim_checkpoints")
        labels = load_labels(conn)
        summary = summary_notice_data(conn, checkpoint)
        lagging = rows(
            conn,
            """
            select * from marts.fct_project_progress
            where checkpoint_date = %s and progress_status in ('lagging', 'seriously_lagging')
            order by gap desc, project_code
            """,
            (checkpoint,),
        )
        deviations = rows(
            conn,
            """
            select i.*, p.project_name, p.department_code, p.department_name
            from marts.fct_indicator_progress as i
            inner join marts.fct_project_progress as p
                on p.checkpoint_date = i.checkpoint_date and p.project_code = i.project_code
            where i.checkpoint_date = %s and i.is_deviating
            order by i.completion, i.project_code, i.indicator_code
            """,
            (checkpoint,),
        )
        monitored = rows(
            conn,
            """
            select * from marts.fct_project_progress
            where checkpoint_date = %s and is_monitored
            order by department_code, project_code
            """,
            (checkpoint,),
        )
        idle = rows(
            conn,
            """
            select f.*, p.department_name from marts.fct_idle_funds as f
            left join marts.fct_project_progress as p
                on p.checkpoint_date = f.checkpoint_date and p.project_code = f.project_code
            where f.checkpoint_date = %s
            order by f.recoverable_yuan desc, f.project_code
            """,
            (checkpoint,),
        )
        notices = notice_states(conn, checkpoint)
    for row in [*lagging, *monitored]:
        row["status_zh"] = labels.get("progress_status", row["progress_status"])
    for row in deviations:
        row["comparator_zh"] = labels.get("comparator", row["comparator"])
        row["level1_zh"] = labels.get("level1", row["level1"])
    names = {r["department_code"]: r["department_name"] for r in summary["ranking"]}
    for row in notices:
        row["department_name"] = (
            names.get(row["department_code"]) if row["department_code"] else None
        )
        row["status_zh"] = NOTICE_STATUS_ZH.get(row["status"], row["status"])
    for row in summary["statuses"]:
        row["label"] = labels.get("progress_status", row["progress_status"])
    return {
        "info": info,
        "labels": labels,
        "ranking": summary["ranking"],
        "statuses": summary["statuses"],
        "totals": summary["totals"],
        "lagging": lagging,
        "deviations": deviations,
        "monitored": monitored,
        "idle_funds": idle,
        "notices": notices,
    }


def department_chart(ranking: list[dict[str, Any]], expected: Decimal, checkpoint: dt.date) -> str:
    bars = [
        svg.Bar(
            label=r["department_name"] or r["department_code"],
            value=r["execution_rate"],
            value_text=percent(r["execution_rate"]),
            color=svg.ORANGE if r["projects_needing_correction"] else svg.BLUE,
            tooltip=(
                f"{r['department_name'] or r['department_code']}"
                f"（预算{wan(r['budget_amount_yuan'])}万元，已支出{wan(r['spent_yuan'])}万元）"
            ),
        )
        for r in ranking
    ]
    return svg.hbar_chart(
        bars,
        title=f"各部门（单位）预算执行率（截至{date_zh(checkpoint)}）",
        reference=expected,
        reference_label=f"序时进度 {percent(expected)}",
        legend=[(svg.BLUE, "无需整改项目"), (svg.ORANGE, "有需整改项目")],
    )


def status_chart(statuses: list[dict[str, Any]]) -> str:
    by_count = [
        svg.Segment(
            s["label"],
            Decimal(s["projects"]),
            STATUS_COLORS.get(s["progress_status"], svg.GREY),
            f"{s['projects']}个",
        )
        for s in statuses
    ]
    by_money = [
        svg.Segment(
            s["label"],
            Decimal(s["budget_yuan"] or 0),
            STATUS_COLORS.get(s["progress_status"], svg.GREY),
            f"{wan(s['budget_yuan'])}万元",
        )
        for s in statuses
    ]
    return svg.share_chart(
        [("按项目数", by_count), ("按预算金额", by_money)], title="项目支出进度状态分布"
    )


def write_monitoring_report(rc: RunContext, warnings: list[dict[str, Any]]) -> Path:
    data = monitoring_report_data(rc.warehouse_url, rc.checkpoint)
    info = data["info"]
    html = templates.get_template("monitoring_report.html").render(
        **data,
        config=publish_config(),
        rules=rule_parameters(rc.settings.dbt_project_dir),
        checkpoint=rc.checkpoint,
        fiscal_year=int(info["fiscal_year"]),
        expected_rate=info["expected_rate"],
        is_year_end=info["checkpoint_kind"] == "year_end",
        warnings=warnings,
        department_chart=department_chart(data["ranking"], info["expected_rate"], rc.checkpoint),
        status_chart=status_chart(data["statuses"]),
        notified=[r for r in data["ranking"] if r["projects_needing_correction"]],
        run_id=rc.run_id,
    )
    return tabular.write_atomic(rc.output_dir / "monitoring_report.html", html.encode("utf-8"))


# -- the year-end report -----------------------------------------------------------------


class Figures:
    """rpt_annual_summary as ``figures[year, "figure"]`` rows, with a readable miss."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        self._rows = {(int(r["fiscal_year"]), r["figure"]): r for r in found}

    def get(self, year: int, figure: str) -> dict[str, Any] | None:
        return self._rows.get((year, figure))

    def value(self, year: int, figure: str) -> Any:
        row = self.get(year, figure)
        return row["value"] if row else None

    def wan(self, year: int, figure: str) -> str:
        row = self.get(year, figure)
        return wan(row["value_yuan"]) if row else "—"

    def rows_of(self, year: int) -> list[dict[str, Any]]:
        return sorted(
            (r for (y, _), r in self._rows.items() if y == year), key=lambda r: r["sort_order"]
        )


def year_end_report_data(url: str, fiscal_year: int) -> dict[str, Any]:
    budget_year = fiscal_year + 1
    with connect(url) as conn:
        labels = load_labels(conn)
        figures = Figures(
            rows(
                conn,
                "select * from marts.rpt_annual_summary where fiscal_year in (%s, %s)",
                (fiscal_year, budget_year),
            )
        )
        coverage = rows(
            conn,
            """
            select * from marts.rpt_coverage
            where fiscal_year in (%s, %s)
            order by fiscal_year, metric, fund_source, budget_type
            """,
            (fiscal_year, budget_year),
        )
        checkpoints = rows(
            conn,
            "select * from marts.dim_checkpoints where fiscal_year = %s order by checkpoint_date",
            (fiscal_year,),
        )
        progress_by_point = rows(
            conn,
            """
            select checkpoint_date, count(*) as projects,
                   sum(budget_amount_yuan) as budget_yuan, sum(spent_yuan) as spent_yuan,
                   sum(spent_yuan) / nullif(sum(budget_amount_yuan), 0) as execution_rate,
                   count(*) filter (where needs_correction) as needing_correction,
                   count(*) filter (where progress_status in ('lagging', 'seriously_lagging'))
                       as lagging
            from marts.fct_project_progress where fiscal_year = %s
            group by checkpoint_date order by checkpoint_date
            """,
            (fiscal_year,),
        )
        notices_by_point = {
            r["checkpoint_date"]: r
            for r in rows(
                conn,
                """
                select checkpoint_date,
                       count(*) filter (where status = 'sent') as sent,
                       count(*) filter (where status = 'no_recipient') as no_recipient,
                       count(*) filter (where is_correction and status = 'sent') as corrections
                from ops.notices
                where fiscal_year = %s and kind = 'department'
                group by checkpoint_date
                """,
                (fiscal_year,),
            )
        }
        department_evaluations = rows(
            conn,
            """
            select d.*, n.department_name from marts.fct_department_evaluation as d
            left join lateral (
                select department_name from marts.rpt_department_progress as r
                where r.department_code = d.department_code and r.fiscal_year = d.fiscal_year
                order by r.checkpoint_date desc limit 1
            ) as n on true
            where d.fiscal_year = %s and d.is_imported
            order by d.score desc nulls last, d.department_code
            """,
            (fiscal_year,),
        )
        grade_rates = rows(conn, "select * from marts.grades order by min_score desc")
        uniform = one(
            conn,
            """
            select min(uniform_cut_rate) as low, max(uniform_cut_rate) as high
            from marts.fct_budget_proposal where budget_year = %s
            """,
            (budget_year,),
        )
        cut_projects = rows(
            conn,
            """
            select b.*, p.project_name as prior_project_name
            from marts.fct_budget_proposal as b
            left join lateral (
                select project_name from marts.fct_project_progress as f
                where f.fiscal_year = %s and f.project_code = b.prior_project_code
                order by f.checkpoint_date desc limit 1
            ) as p on true
            where b.budget_year = %s and b.extra_cut_rate > 0
            order by b.cut_yuan desc, b.project_code
            """,
            (fiscal_year, budget_year),
        )
        idle = rows(
            conn,
            """
            select f.*, p.department_name from marts.fct_idle_funds as f
            left join marts.fct_project_progress as p
                on p.checkpoint_date = f.checkpoint_date and p.project_code = f.project_code
            where f.fiscal_year = %s
            order by f.recoverable_yuan desc, f.project_code
            """,
            (fiscal_year,),
        )
        categories = [
            labels.get("category", code)
            for code in in_domain_order(
                "category",
                [
                    r["category"]
                    for r in rows(
                        conn,
                        """
                        select distinct category from marts.fct_project_progress
                        where fiscal_year = %s and indicators > 0 and category <> 'other'
                        """,
                        (fiscal_year,),
                    )
                ],
            )
        ]
        department_names: dict[str, str] = dict(
            conn.execute(
                """
                select distinct on (department_code) department_code, department_name
                from marts.rpt_department_progress where fiscal_year = %s
                order by department_code, checkpoint_date desc
                """,
                (fiscal_year,),
            ).fetchall()
        )
    for row in department_evaluations:
        row["source_zh"] = labels.get("evaluator", row["source"])
    for row in cut_projects:
        row["department_name"] = department_names.get(row["department_code"])
        row["prior_grade_zh"] = labels.get("grade", row["prior_project_grade"])
        row["department_grade_zh"] = labels.get("grade", row["department_grade"])
    for point in progress_by_point:
        point["notices"] = notices_by_point.get(point["checkpoint_date"])
    extra = {r["grade"]: r for r in grade_rates}
    return {
        "figures": figures,
        "coverage": coverage,
        "checkpoints": checkpoints,
        "monitoring_points": [c for c in checkpoints if c["checkpoint_kind"] == "monitoring"],
        "progress_by_point": progress_by_point,
        "department_evaluations": department_evaluations,
        "grade_rates": grade_rates,
        "extra_fair": extra.get("fair", {}).get("extra_cut_rate"),
        "extra_poor": extra.get("poor", {}).get("extra_cut_rate"),
        "uniform": uniform or {},
        "cut_projects": cut_projects,
        "idle_funds": idle,
        "categories": categories,
        "labels": labels,
    }


def coverage_rows(
    coverage: list[dict[str, Any]], year: int, labels: Labels
) -> list[dict[str, Any]]:
    """The all/all coverage rows of a year, in the order of METRIC_ZH."""
    found = {
        r["metric"]: r
        for r in coverage
        if r["fiscal_year"] == year and r["fund_source"] == "all" and r["budget_type"] == "all"
    }
    out = []
    for metric, label in METRIC_ZH.items():
        if metric in found:
            out.append({**found[metric], "label": label, "unit": METRIC_UNITS[metric]})
    return out


def four_budgets(coverage: list[dict[str, Any]], year: int, labels: Labels) -> list[dict[str, Any]]:
    """target_declared by budget type (四本预算覆盖), in the order the budgets are named."""
    found = {
        r["budget_type"]: {**r, "label": labels.get("budget_type", r["budget_type"])}
        for r in coverage
        if r["fiscal_year"] == year
        and r["metric"] == "target_declared"
        and r["fund_source"] == "all"
        and r["budget_type"] != "all"
    }
    return [found[code] for code in in_domain_order("budget_type", list(found))]


# The order DOMAIN.md (and the county's report) names them in; presentation only.
DOMAIN_ORDER = {
    "budget_type": ("general_public", "government_fund", "state_capital", "social_insurance"),
    "category": (
        "education",
        "science_tech",
        "poverty_alleviation",
        "environment",
        "agriculture_forestry_water",
        "social_security",
        "culture_sports_media",
        "housing_security",
        "transportation",
        "other",
    ),
}


def in_domain_order(domain: str, codes: list[str]) -> list[str]:
    order = DOMAIN_ORDER.get(domain, ())
    return sorted(codes, key=lambda c: (order.index(c) if c in order else len(order), c))


def grade_chart(figures: Figures, year: int, grades: list[dict[str, Any]]) -> str:
    bars = []
    for grade in grades:
        row = figures.get(year, f"grade_{grade['grade']}")
        count = row["value"] if row else Decimal(0)
        bars.append(
            svg.Bar(
                label=f"{grade['label_zh']}（{wan(row['value_yuan']) if row else '0.00'}万元）",
                value=Decimal(count),
                value_text=f"{count}个",
                color=GRADE_COLORS.get(grade["grade"], svg.GREY),
            )
        )
    return svg.column_chart(bars, title=f"{year}年度项目绩效评价等级分布（项目数）", width=620)


def progress_chart(points: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> str:
    expected = {c["checkpoint_date"]: c["expected_rate"] for c in checkpoints}
    bars = [
        svg.Bar(
            label=f"{p['checkpoint_date'].month}月{p['checkpoint_date'].day}日",
            value=p["execution_rate"],
            value_text=percent(p["execution_rate"]),
        )
        for p in points
    ]
    reference = [
        (f"序时进度 {percent(expected.get(p['checkpoint_date']))}", expected[p["checkpoint_date"]])
        for p in points
        if expected.get(p["checkpoint_date"]) is not None
    ]
    return svg.column_chart(
        bars,
        title="全县项目支出预算执行率（各检查点）",
        reference=reference if len(reference) == len(bars) else (),
        axis_format="percent",
        width=620,
        legend=[(svg.BLUE, "预算执行率"), (svg.RED, "序时进度")],
    )


def write_year_end_report(rc: RunContext) -> Path:
    fiscal_year = rc.fiscal_year
    data = year_end_report_data(rc.warehouse_url, fiscal_year)
    labels: Labels = data["labels"]
    html = templates.get_template("year_end_report.html").render(
        **data,
        config=publish_config(),
        fiscal_year=fiscal_year,
        budget_year=fiscal_year + 1,
        checkpoint=rc.checkpoint,
        coverage_year=coverage_rows(data["coverage"], fiscal_year, labels),
        coverage_budget=coverage_rows(data["coverage"], fiscal_year + 1, labels),
        four_budgets_year=four_budgets(data["coverage"], fiscal_year, labels),
        four_budgets_budget=four_budgets(data["coverage"], fiscal_year + 1, labels),
        grade_chart=grade_chart(data["figures"], fiscal_year, data["grade_rates"]),
        progress_chart=progress_chart(data["progress_by_point"], data["checkpoints"]),
        metric_labels=METRIC_ZH,
        rules=rule_parameters(rc.settings.dbt_project_dir),
        run_id=rc.run_id,
    )
    return tabular.write_atomic(rc.output_dir / "year_end_report.html", html.encode("utf-8"))


# -- entry point -----------------------------------------------------------------------


def write_reports(rc: RunContext) -> ReportResult:
    """The reports of the run's point, and the run's index page."""
    from budgetperf.publish.index import write_index

    warnings = dq_warnings(rc.warehouse_url, rc.checkpoint)
    result = ReportResult(warnings=len(warnings))
    result.files.append(write_monitoring_report(rc, warnings))
    with connect(rc.warehouse_url) as conn:
        info = checkpoint_info(conn, rc.checkpoint)
    if info is not None and info["checkpoint_kind"] == "year_end":
        result.files.append(write_year_end_report(rc))
    result.files.append(write_index(rc))
    return result


__all__ = [
    "ReportResult",
    "dq_warnings",
    "monitoring_report_data",
    "status_order",
    "write_reports",
    "year_end_report_data",
]
