"""What a run leaves for people and systems, from the demo year's marts: the monitoring
and year-end reports (self-contained HTML with SVG charts, figures as in the marts), the
run's index, the budget proposal feed and the disclosure files (no live formulas, text
neutralised, numbers kept numbers)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
import pytest
from publish_helpers import (
    JUNE,
    MALICIOUS_NAME,
    NOVEMBER,
    YEAR_END,
    DemoYear,
    query,
    run_context,
    sheet_rows,
    wan,
    xlsx_formula_cells,
)

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import tabular
from budgetperf.publish.disclosure import DisclosureResult, export_disclosure
from budgetperf.publish.feed import FeedResult, export_budget_proposals
from budgetperf.publish.notices import publish_monitoring_notices
from budgetperf.publish.reports import write_reports

pytestmark = pytest.mark.xdist_group("publish")


@dataclass
class Outputs:
    url: str
    home: Path
    june: RunContext
    year_end: RunContext
    feed: FeedResult
    disclosure: DisclosureResult

    def report(self, rc: RunContext, name: str) -> str:
        return (rc.output_dir / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def outputs(copy_demo: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    url = copy_demo()
    home = tmp_path_factory.mktemp("home")
    june = run_context(url, home, JUNE, "scheduled__2021-06-30")
    november = run_context(url, home, NOVEMBER, "scheduled__2021-11-30")
    year_end = run_context(url, home, YEAR_END, "scheduled__2021-12-31")
    with psycopg.connect(url) as conn:
        # a warning of the 06-30 marts gate, as the quality gate writes it (with the rule's
        # texts in details, so a report needs no catalogue)
        conn.execute(
            """
            insert into ops.dq_results
                (run_id, checkpoint_date, gate, rule_id, severity, success, observed, details)
            values ('scheduled__2021-06-30', %s, 'marts', 'MART-BND-04', 'warning', false,
                    '2 of 664 outside [0, 1]', %s)
            """,
            (
                JUNE,
                json.dumps(
                    {
                        "relation": "marts.fct_project_progress",
                        "description_zh": "项目执行率不超过100%（超支项目需关注）",
                        "fix_zh": "核实超支项目是否有预算调整未同步，或支付流水是否重复",
                    },
                    ensure_ascii=False,
                ),
            ),
        )
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)  # notices go to the outbox
        publish_monitoring_notices(june)  # the June report lists its notices' states
        for rc in (june, november):
            write_reports(rc)
        write_reports(year_end)
        feed = export_budget_proposals(year_end)
        disclosure = export_disclosure(year_end)
    return Outputs(url, home, june, year_end, feed, disclosure)


class Page(HTMLParser):
    """Tags, attributes, SVG count and the visible text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text_parts: list[str] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        if tag in ("style", "svg"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "svg"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


def assert_self_contained(html: str) -> Page:
    """Opens offline: nothing loaded from anywhere (text may mention a URL, e.g. a project
    named like one, but no tag or style fetches it)."""
    page = Page(html)
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert tag not in page.tags, tag
    for name, value in page.attributes:
        if name in ("src", "href", "xlink:href", "data", "srcset", "action"):
            assert not re.match(r"\s*(https?:)?//", value), (name, value)
        if name == "style":
            assert "url(" not in value and "@import" not in value
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S)
    assert not [s for s in styles if "url(" in s or "@import" in s]
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", html)
    return page


def figure(url: str, year: int, name: str) -> dict[str, Any]:
    rows = query(
        url,
        "select * from marts.rpt_annual_summary where fiscal_year = %s and figure = %s",
        (year, name),
    )
    assert rows, f"rpt_annual_summary has no {name} for {year}"
    return rows[0]


def test_monitoring_report_is_self_contained_with_charts(outputs: Outputs) -> None:
    html = outputs.report(outputs.june, "monitoring_report.html")
    page = assert_self_contained(html)
    assert page.tags.count("svg") >= 2
    # the department chart: one bar per department with a rate, and the expected line
    departments = query(
        outputs.url,
        "select * from marts.rpt_department_progress where checkpoint_date = %s",
        (JUNE,),
    )
    chart = html.split("<svg", 2)[1]
    assert chart.count("<rect") >= sum(1 for d in departments if d["execution_rate"] is not None)
    assert "序时进度 50.00%" in chart and "stroke-dasharray" in chart


def test_monitoring_report_figures_match_the_marts(outputs: Outputs) -> None:
    page = assert_self_contained(outputs.report(outputs.june, "monitoring_report.html"))
    totals = query(
        outputs.url,
        """
        select count(*) as projects, sum(budget_amount_yuan) as budget,
               sum(spent_yuan) as spent,
               count(*) filter (where needs_correction) as needing,
               count(*) filter (where progress_status in ('lagging', 'seriously_lagging'))
                   as lagging,
               count(*) filter (where is_monitored) as monitored
        from marts.fct_project_progress where checkpoint_date = %s
        """,
        (JUNE,),
    )[0]
    text = page.text
    assert f"{totals['projects']}个项目，预算合计{wan(totals['budget'])}万元" in text
    assert f"已支出{wan(totals['spent'])}万元" in text
    assert f"支出进度滞后项目{totals['lagging']}个" in text
    assert f"需整改项目{totals['needing']}个" in text
    assert f"重点监控项目{totals['monitored']}个" in text
    deviating = query(
        outputs.url,
        "select count(*) as n from marts.fct_indicator_progress "
        "where checkpoint_date = %s and is_deviating",
        (JUNE,),
    )[0]["n"]
    assert f"绩效指标偏离{deviating}项" in text
    html = outputs.report(outputs.june, "monitoring_report.html")
    lagging_table = html.split('id="lagging"', 1)[1].split("</table>", 1)[0]
    assert lagging_table.count("<tr>") == 1 + totals["lagging"]
    # a status row of the distribution table
    by_status = query(
        outputs.url,
        "select count(*) as n, sum(budget_amount_yuan) as budget from marts.fct_project_progress "
        "where checkpoint_date = %s and progress_status = 'seriously_lagging'",
        (JUNE,),
    )[0]
    assert f"严重滞后{by_status['n']}{wan(by_status['budget'])}" in text.replace("\n", "")


def test_monitoring_report_lists_warnings_and_notice_states(
    outputs: Outputs, demo_year: DemoYear
) -> None:
    text = assert_self_contained(outputs.report(outputs.june, "monitoring_report.html")).text
    assert "MART-BND-04" in text and "项目执行率不超过100%" in text and "核实超支项目" in text
    missing = demo_year.tweaks["department_without_contact"]
    assert f"（{missing}）" in text and "未登记邮箱，未发送" in text
    assert text.count("已发送") >= 50
    # the formula-like project name is shown as text, escaped
    html = outputs.report(outputs.june, "monitoring_report.html")
    assert MALICIOUS_NAME.replace('"', "&#34;").replace("&A1", "&amp;A1") in html


def test_idle_funds_at_the_idle_funds_point(outputs: Outputs) -> None:
    rc = run_context(outputs.url, outputs.home, NOVEMBER)
    text = assert_self_contained(outputs.report(rc, "monitoring_report.html")).text
    idle = query(
        outputs.url,
        "select count(*) as n, sum(recoverable_yuan) as total from marts.fct_idle_funds "
        "where checkpoint_date = %s",
        (NOVEMBER,),
    )[0]
    assert idle["n"] > 0
    assert f"项目{idle['n']}个，拟收回闲置资金合计{wan(idle['total'])}万元" in text


def test_year_end_report_states_the_figures_the_way_the_county_does(outputs: Outputs) -> None:
    html = outputs.report(outputs.year_end, "year_end_report.html")
    page = assert_self_contained(html)
    assert page.tags.count("svg") >= 2
    opening = Page(html.split('id="opening"', 1)[1].split("</section>", 1)[0]).text
    url = outputs.url
    county = figure(url, 2022, "targets_declared_county")
    departments = figure(url, 2022, "departments_with_targets_county")
    transfer = figure(url, 2022, "targets_declared_transfer")
    monitored = figure(url, 2021, "monitored_projects")
    pre = figure(url, 2021, "pre_assessed_new_projects")
    evaluated_departments = figure(url, 2021, "department_evaluations")
    yi = (evaluated_departments["value_yuan"] / Decimal(10**8)).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    expected = [
        f"共有{departments['value']}个部门申报2022年县本级项目支出预算绩效目标"
        f"{county['value']}个，涉及预算资金{county['value_wan_yuan']}万元",
        f"转移支付项目资金绩效目标{transfer['value']}个，涉及预算资金"
        f"{transfer['value_wan_yuan']}万元",
        f"三个监控节点对{monitored['value']}个重点项目开展绩效运行监控，涉及财政资金"
        f"{monitored['value_wan_yuan']}万元",
        f"开展新增项目事前绩效评估项目{pre['value']}个",
        f"部门整体支出绩效评价{evaluated_departments['value']}家，整体支出绩效评价总金额{yi}亿元",
    ]
    for sentence in expected:
        assert sentence in opening
    # and those are the county's own 2021 figures (the calibration target of the demo)
    for county_figure in (
        "118个部门",
        "619个",
        "79862.92万元",
        "23个",
        "10781.77万元",
        "79个重点项目",
        "93794.72万元",
        "247个",
        "2.13亿元",
        "九大类",
        "七个行业十三个部门",
        "6月、9月、11月",
    ):
        assert county_figure in opening, county_figure
    grades = {
        g: figure(url, 2021, f"grade_{g}")["value"] for g in ("excellent", "good", "fair", "poor")
    }
    assert (
        f"“优”{grades['excellent']}个、“良”{grades['good']}个、“中”{grades['fair']}个、"
        f"“差”{grades['poor']}个"
    ) in opening
    cut = figure(url, 2022, "requests_cut_by_results")
    assert (
        f"再压减5%或10%，涉及项目{cut['value']}个，压减资金{cut['value_wan_yuan']}万元" in opening
    )


def test_year_end_report_appendix_is_the_annual_summary(outputs: Outputs) -> None:
    html = outputs.report(outputs.year_end, "year_end_report.html")
    table = html.split('id="annual-summary"', 1)[1].split("</table>", 1)[0]
    rows = query(
        outputs.url, "select * from marts.rpt_annual_summary where fiscal_year in (2021, 2022)"
    )
    assert table.count("<tr>") == 1 + len(rows)
    for row in rows:
        assert row["label_zh"] in table
        if row["value_wan_yuan"] is not None:
            assert f">{row['value_wan_yuan']}<" in table


def test_index_links_everything_of_the_run(outputs: Outputs) -> None:
    for rc, expected in (
        (outputs.june, ["monitoring_report.html", "notices/notice-summary.html"]),
        (
            outputs.year_end,
            [
                "monitoring_report.html",
                "year_end_report.html",
                "../../2022/budget_proposals_2022.xlsx",
                "../../2022/budget_proposals_2022.csv",
                "../../2021/disclosure/disclosure_2021.xlsx",
            ],
        ),
    ):
        html = (rc.output_dir / "index.html").read_text(encoding="utf-8")
        page = assert_self_contained(html)
        hrefs = [v for name, v in page.attributes if name == "href"]
        for href in expected:
            assert href in hrefs
        for href in hrefs:
            assert (rc.output_dir / href).exists(), href


# -- the budget proposal feed ----------------------------------------------------------------


def test_feed_files_carry_the_mart(outputs: Outputs) -> None:
    proposals = query(
        outputs.url,
        "select * from marts.fct_budget_proposal where budget_year = 2022 "
        "order by department_code, project_code",
    )
    folder = outputs.home / "outputs" / "2022"
    assert outputs.feed.rows == len(proposals)
    data = (folder / "budget_proposals_2022.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(proposals)
    for row, proposal in zip(rows, proposals, strict=True):
        assert row["项目编码"] == proposal["project_code"]
        assert Decimal(row["建议安排金额（元）"]) == proposal["proposed_yuan"]
        assert Decimal(row["建议安排金额（万元）"]) == wan(proposal["proposed_yuan"])
        assert Decimal(row["评价结果额外压减比例"]) == proposal["extra_cut_rate"]
    assert sum(Decimal(r["申报金额（元）"]) for r in rows) == sum(
        p["requested_yuan"] for p in proposals
    )


def test_feed_workbook_is_formatted_with_department_totals(outputs: Outputs) -> None:
    from openpyxl import load_workbook

    data = (outputs.home / "outputs" / "2022" / "budget_proposals_2022.xlsx").read_bytes()
    assert xlsx_formula_cells(data) == []
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A3"  # caption and header stay in view
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["预算年度", "部门编码", "部门名称", "项目编码"]
    proposed_column = header.index("建议安排金额（万元）") + 1
    assert sheet.cell(3, proposed_column).number_format == "0.00"
    names = [str(c.value or "") for c in sheet["C"]]
    departments = query(
        outputs.url,
        "select count(distinct department_code) as n, sum(proposed_yuan) as total "
        "from marts.fct_budget_proposal where budget_year = 2022",
    )[0]
    assert sum(1 for n in names if "小计" in n) == departments["n"]
    total_row = next(i for i, n in enumerate(names, start=1) if n.startswith("合计"))
    assert Decimal(str(sheet.cell(total_row, proposed_column).value)) == wan(departments["total"])
    summary = workbook.worksheets[1]
    assert summary.title == "部门汇总"


def test_feed_neutralises_formula_text(outputs: Outputs) -> None:
    folder = outputs.home / "outputs" / "2022"
    text = (folder / "budget_proposals_2022.csv").read_text(encoding="utf-8-sig")
    assert "'" + MALICIOUS_NAME.replace('"', '""') in text
    cells = [
        c
        for row in sheet_rows((folder / "budget_proposals_2022.xlsx").read_bytes())
        for c in row
        if c == MALICIOUS_NAME
    ]
    assert cells  # the prior project's name, shown as text


def test_feed_rerun_writes_the_same_bytes(outputs: Outputs) -> None:
    folder = outputs.home / "outputs" / "2022"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    export_budget_proposals(outputs.year_end)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# -- disclosure ----------------------------------------------------------------------------


def test_disclosure_holds_only_publishable_data(outputs: Outputs) -> None:
    folder = outputs.home / "outputs" / "2021" / "disclosure"
    indicators = query(
        outputs.url,
        "select project_code, indicator_name, is_published from marts.fct_indicator_progress "
        "where checkpoint_date = %s",
        (YEAR_END,),
    )
    published = [i for i in indicators if i["is_published"]]
    assert outputs.disclosure.targets == len(published)
    assert outputs.disclosure.withheld_targets == len(indicators) - len(published) > 0
    targets = list(
        csv.DictReader(
            io.StringIO((folder / "performance_targets_2021.csv").read_text("utf-8-sig"))
        )
    )
    assert len(targets) == len(published)
    withheld = {(i["project_code"], i["indicator_name"]) for i in indicators} - {
        (i["project_code"], i["indicator_name"]) for i in published
    }
    assert not {(r["项目编码"], r["三级指标（指标名称）"]) for r in targets} & withheld
    # results only for projects whose target is published in full
    fully = {
        r["project_code"]
        for r in query(
            outputs.url,
            "select project_code from marts.fct_indicator_progress where checkpoint_date = %s "
            "group by project_code having bool_and(is_published)",
            (YEAR_END,),
        )
    }
    results = list(
        csv.DictReader(
            io.StringIO((folder / "project_evaluation_results_2021.csv").read_text("utf-8-sig"))
        )
    )
    assert results and {r["项目编码"] for r in results} <= fully
    departments = list(
        csv.DictReader(
            io.StringIO((folder / "department_evaluation_results_2021.csv").read_text("utf-8-sig"))
        )
    )
    imported = query(
        outputs.url,
        "select score from marts.fct_department_evaluation "
        "where fiscal_year = 2021 and is_imported",
    )
    assert sorted(Decimal(r["评价得分"]) for r in departments) == sorted(
        r["score"] for r in imported
    )
    for path in folder.iterdir():
        content = path.read_bytes()
        if path.suffix == ".csv":  # nothing internal: no contact address of anyone
            assert not re.search(rb"[\w.+-]+@[\w-]+\.[\w.]+", content), path
        if path.suffix == ".xlsx":
            assert xlsx_formula_cells(content) == []
            assert len(sheet_rows(content, 0)) > 2


def test_every_export_is_free_of_live_formulas(outputs: Outputs) -> None:
    workbooks = list((outputs.home / "outputs").glob("**/*.xlsx"))
    assert len(workbooks) > 50  # notice copies, the feed, the disclosure
    for path in workbooks:
        assert xlsx_formula_cells(path.read_bytes()) == [], path


# -- the writer itself ---------------------------------------------------------------------


def test_text_that_looks_like_a_formula_is_neutralised_and_numbers_stay_numbers() -> None:
    columns = [
        tabular.Column("name", "名称"),
        tabular.Column("amount", "金额（元）", "yuan"),
        tabular.Column("money", "金额（万元）", "wan"),
    ]
    rows = [
        {"name": "=1+2", "amount": Decimal("-1234.50"), "money": Decimal("-12345678.90")},
        {"name": "+86 951", "amount": Decimal("0.00"), "money": None},
        {"name": "-负号开头", "amount": Decimal("7"), "money": Decimal("5000")},
        {"name": "@SUM(A1)", "amount": None, "money": Decimal("-5000")},
        {"name": "\t=tab", "amount": None, "money": None},
        {"name": "正常名称", "amount": None, "money": None},
    ]
    text = tabular.csv_bytes(columns, rows).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert [line[0] for line in lines[1:]] == [
        "'=1+2",
        "'+86 951",
        "'-负号开头",
        "'@SUM(A1)",
        "'\t=tab",
        "正常名称",
    ]
    assert lines[1][1:] == ["-1234.50", "-1234.57"]  # negative numbers are numbers
    assert lines[4][2] == "-0.50"
    data = tabular.workbook_bytes([tabular.Sheet("表", columns, rows)], title="t")
    assert xlsx_formula_cells(data) == []
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["A2"].value == "=1+2" and sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix
    assert sheet["B2"].value == -1234.5 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == -1234.57 and sheet["C2"].number_format == "0.00"
    assert sheet["A7"].value == "正常名称" and not sheet["A7"].quotePrefix


def test_a_big_workbook_streams_with_the_same_cells_and_the_same_bytes_each_time() -> None:
    # above STREAM_ABOVE_ROWS the workbook goes through temporary files (inline strings);
    # what a reader sees must not depend on which way it was written
    columns = [
        tabular.Column("name", "名称"),
        tabular.Column("money", "金额（万元）", "wan"),
        tabular.Column("rate", "执行率", "rate"),
        tabular.Column("day", "日期", "date"),
    ]
    count = tabular.STREAM_ABOVE_ROWS + 1
    rows = [
        {
            "name": "=HYPERLINK(1)" if i == 0 else f"项目{i}",
            "money": Decimal(-i * 10_000),  # 元: row 1 is -1.00 万元
            "rate": Decimal("0.5"),
            "day": dt.date(2021, 6, 30),
        }
        for i in range(count)
    ]
    sheets = [
        tabular.Sheet("表", columns, rows, caption="标题", notes=["+注"], emphasised=frozenset({1}))
    ]
    data = tabular.workbook_bytes(sheets, title="t")
    assert data == tabular.workbook_bytes(sheets, title="t")
    assert xlsx_formula_cells(data) == []
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == f"A2:D{count + 2}"
    assert sheet["A3"].value == "=HYPERLINK(1)" and sheet["A3"].quotePrefix
    assert sheet["B4"].value == -1.0 and sheet["B4"].number_format == "0.00"
    assert sheet["B4"].font.b and not sheet["B5"].font.b  # the emphasised row only
    assert sheet["C5"].value == 0.5 and sheet["C5"].number_format == "0.00%"
    assert sheet["D5"].value.date() == dt.date(2021, 6, 30)
    assert sheet.cell(count + 2, 1).value == f"项目{count - 1}"
    assert sheet.cell(count + 4, 1).value == "+注" and sheet.cell(count + 4, 1).quotePrefix
