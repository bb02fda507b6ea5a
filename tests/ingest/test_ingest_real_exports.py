"""What real exports look like, and must be accepted (DATA_CONTRACT.md section 1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from ingest_helpers import (
    AS_OF,
    EXECUTION,
    PROJECTS,
    base_delivery,
    deliver,
    ledger,
    load_and_rerun,
    query,
    rejects,
)
from openpyxl import Workbook

from budgetperf.ingest import load_landing

BE = f"{AS_OF}/budget_execution.csv"


def test_gb18030_with_chinese_headers_and_a_title_row(warehouse_url: str, landing: Path) -> None:
    content = (
        "2023年预算执行明细表,,,,,,\n"
        "支付流水号,预算年度,项目编码,支付日期,支付金额(元),凭证号,收款方\n"
        'ZF001,2023,P001,2023年3月1日,"1,234.56",记-03-001,平罗县第一建筑公司\n'
        "ZF002,2023,P002,2023/4/1,-100,,\n"
        "\n"
        "ZF003,2023,P002,20230501,7.5,记-05-003,𠀀字号商行\n"  # a GB18030 4-byte character
    )
    base_delivery(landing, budget_execution__csv=content.encode("gb18030"))
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["status"], entry["encoding"], entry["rows_loaded"]) == ("loaded", "gb18030", 3)
    assert rejects(warehouse_url) == []
    rows = query(
        warehouse_url,
        "select line_no, record_id, payment_date, amount_yuan, voucher_no, payee"
        " from raw.budget_execution order by line_no",
    )
    assert rows == [
        (3, "ZF001", dt.date(2023, 3, 1), Decimal("1234.56"), "记-03-001", "平罗县第一建筑公司"),
        (4, "ZF002", dt.date(2023, 4, 1), Decimal("-100.00"), None, None),
        (6, "ZF003", dt.date(2023, 5, 1), Decimal("7.50"), "记-05-003", "𠀀字号商行"),
    ]


def test_gbk_without_quotes_uses_the_fast_path_and_reads_the_same(
    warehouse_url: str, landing: Path
) -> None:
    base_delivery(landing, budget_execution__csv=EXECUTION.encode("gbk"))
    load_and_rerun(warehouse_url, landing)
    assert ledger(warehouse_url)[BE]["encoding"] == "gb18030"
    payees = query(warehouse_url, "select payee from raw.budget_execution order by line_no")
    assert payees == [("甲公司",), ("甲公司",), ("乙公司",)]


def test_utf8_with_bom_and_crlf_line_ends(warehouse_url: str, landing: Path) -> None:
    content = b"\xef\xbb\xbf" + EXECUTION.replace("\n", "\r\n").encode()
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["encoding"], entry["rows_loaded"], entry["rows_rejected"]) == ("utf-8-sig", 3, 0)
    assert query(warehouse_url, "select max(line_no) from raw.budget_execution") == [(4,)]


def test_a_file_that_turns_gbk_after_an_ascii_start_is_read_as_gb18030(
    warehouse_url: str, landing: Path
) -> None:
    ascii_rows = "".join(
        f"A{i:06d},2023,P001,2023-03-01,1.00,V,payee\n" for i in range(40_000)
    )  # more than the 1 MB the encoding is guessed from
    content = (
        EXECUTION.split("\n", 1)[0] + "\n" + ascii_rows + "Z1,2023,P002,2023-03-02,2.00,V,乙公司\n"
    )
    base_delivery(landing, budget_execution__csv=content.encode("gbk"))
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["encoding"], entry["rows_loaded"]) == ("gb18030", 40_001)
    assert query(
        warehouse_url, "select payee from raw.budget_execution where record_id = 'Z1'"
    ) == [("乙公司",)]


def test_quoted_cells_with_separators_and_line_breaks_keep_physical_line_numbers(
    warehouse_url: str, landing: Path
) -> None:
    content = (
        "record_id,fiscal_year,project_code,payment_date,amount_yuan,voucher_no,payee\n"
        'R1,2023,P001,2023-03-01,"1,000.00",V1,"甲公司, 第一分公司"\n'
        'R2,2023,P001,2023-03-02,2,V2,"多行\n收款方 ""引号"""\n'
        "R3,2023,P001,2023-13-02,3,V3,丙\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    rows = query(warehouse_url, "select line_no, payee from raw.budget_execution order by 1")
    assert rows == [(2, "甲公司, 第一分公司"), (3, '多行\n收款方 "引号"')]
    assert [(r[1], r[2]) for r in rejects(warehouse_url)] == [(5, "payment_date")]


def test_a_fully_quoted_export_reads_like_an_unquoted_one(
    warehouse_url: str, landing: Path
) -> None:
    content = (
        '"record_id","fiscal_year","project_code","payment_date","amount_yuan","voucher_no","payee"\n'
        '"R1","2023","P001","2023-03-01","1000.00","V1","甲公司"\n'
        '"R2","2023","P001","2023-04-01","-200.00","",""\n'
        '"R3","2023","P002","2023-13-01","300.50","V3","乙公司"\n'
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert query(
        warehouse_url,
        "select line_no, record_id, amount_yuan, voucher_no, payee from raw.budget_execution"
        " order by 1",
    ) == [
        (2, "R1", Decimal("1000.00"), "V1", "甲公司"),
        (3, "R2", Decimal("-200.00"), None, None),  # "" is blank, as unquoted
    ]
    found = rejects(warehouse_url)
    assert [(r[1], r[2]) for r in found] == [(4, "payment_date")]
    assert found[0][5] == '"R3","2023","P002","2023-13-01","300.50","V3","乙公司"'


def test_every_date_and_flag_spelling_and_labels(warehouse_url: str, landing: Path) -> None:
    targets = (
        "预算年度,项目编码,指标编码,一级指标,二级指标,指标名称,比较方式,目标值,计量单位,分值,申报日期,是否公开\n"
        "2023,P001,I1,产出指标,数量指标,维修面积,≥,1200,平方米,30,2023-01-05,是\n"
        "2023,P001,I2,产出,质量,验收合格率,>=,100,%,20,2023/1/5,Y\n"
        "2023,P001,I3,效益指标,社会效益指标,受益学生,≤,5000,人,20,20230105,true\n"
        "2023,P001,I4,满意度指标,,师生满意度,定性,,,30,2023年1月5日,1\n"
        "2023,P002,I1,output,timeliness,完工及时率,=,100,%,50,,否\n"
        "2023,P002,I2,benefit,ecological,减少扬尘,qualitative,,,50,,N\n"
        "2023,P002,I3,satisfaction,,满意度,>=,90,%,0,,false\n"  # weight 0: refused
        "2023,P002,I4,产出指标,经济效益指标,错配,>=,1,,10,,0\n"  # level2 of another level1
        "2023,P002,I5,产出指标,数量指标,缺目标,>=,,,10,,0\n"  # target required
    )
    projects = PROJECTS.replace(
        "budget_amount_yuan\n",
        "budget_amount_yuan,是否新增,是否重点监控,是否PPP,是否政府债务项目\n",
    )
    projects = projects.replace("1000000.00\n", "1000000.00,是,Y,true,0\n").replace(
        "500000\n", "500000,否,,,\n"
    )
    base_delivery(landing, projects__csv=projects, performance_targets__csv=targets)
    load_and_rerun(warehouse_url, landing)
    assert query(
        warehouse_url,
        "select project_code, is_new, is_monitored, is_ppp, is_debt, category, budget_type,"
        " fund_source from raw.projects order by 1",
    ) == [
        ("P001", True, True, True, False, "other", "general_public", "county"),
        ("P002", False, False, False, False, "other", "general_public", "central_transfer"),
    ]
    assert query(
        warehouse_url,
        "select project_code, indicator_code, level1, level2, comparator, target_value,"
        " declared_on, is_published from raw.performance_targets order by 1, 2",
    ) == [
        ("P001", "I1", "output", "quantity", ">=", Decimal(1200), dt.date(2023, 1, 5), True),
        ("P001", "I2", "output", "quality", ">=", Decimal(100), dt.date(2023, 1, 5), True),
        ("P001", "I3", "benefit", "social", "<=", Decimal(5000), dt.date(2023, 1, 5), True),
        ("P001", "I4", "satisfaction", None, "qualitative", None, dt.date(2023, 1, 5), True),
        ("P002", "I1", "output", "timeliness", "=", Decimal(100), None, False),
        ("P002", "I2", "benefit", "ecological", "qualitative", None, None, False),
    ]
    path = f"{AS_OF}/performance_targets.csv"
    assert [(r[1], r[2], r[3]) for r in rejects(warehouse_url, path)] == [
        (8, "weight", "range"),
        (9, "level2", "reference_value"),
        (10, "target_value", "required"),
    ]


def test_xlsx_first_sheet_whatever_sheet_is_active(warehouse_url: str, landing: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "明细"
    first.append(["2023年预算执行明细表"])
    first.append(
        ["支付流水号", "预算年度", "项目编码", "支付日期", "支付金额(元)", "凭证号", "收款方"]
    )
    first.append(["R1", 2023, "P001", dt.date(2023, 3, 1), 1000.5, "V1", "甲公司"])
    first.append(["R2", 2023.0, "P001", dt.datetime(2023, 4, 1, 9, 30), -200, None, None])
    first.append([None] * 7)
    first.append(["R3", "2023", "P002", 20230501, "1,234.56", 7, "=SUM(A1)"])
    first["G6"].data_type = "s"  # a text cell that looks like a formula
    first.append(["R4", 2023, "P002", 44377, 12.345, None, None])  # a serial, 3 decimals
    other = book.create_sheet("说明")
    other.append(["this sheet is active but not the first"])
    book.active = 1
    book.save(landing / "x.xlsx")
    base_delivery(landing, budget_execution__csv=None)
    (landing / "x.xlsx").rename(landing / AS_OF / "budget_execution.xlsx")
    load_and_rerun(warehouse_url, landing)
    path = f"{AS_OF}/budget_execution.xlsx"
    entry = ledger(warehouse_url)[path]
    assert (entry["status"], entry["rows_loaded"], entry["encoding"]) == ("loaded", 3, None)
    assert "明细" in entry["notes"]
    assert "column voucher_no has 1 cell(s) typed as numbers" in entry["notes"]
    assert query(
        warehouse_url,
        "select line_no, record_id, fiscal_year, payment_date, amount_yuan, voucher_no, payee"
        " from raw.budget_execution order by line_no",
    ) == [
        (3, "R1", 2023, dt.date(2023, 3, 1), Decimal("1000.50"), "V1", "甲公司"),
        (4, "R2", 2023, dt.date(2023, 4, 1), Decimal("-200.00"), None, None),
        (6, "R3", 2023, dt.date(2023, 5, 1), Decimal("1234.56"), "7", "=SUM(A1)"),
    ]
    found = rejects(warehouse_url, path)
    assert [(r[1], r[2], r[3]) for r in found] == [(7, "payment_date,amount_yuan", "parse")]
    assert "'44377' 不是有效日期" in found[0][4] and "'12.345' 超过 2 位小数" in found[0][4]
    assert found[0][5] == "R4\t2023\tP002\t44377\t12.345"


def test_a_complete_delivery_of_all_eight_entities(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    deliver(
        landing,
        "performance_targets.csv",
        "fiscal_year,project_code,indicator_code,level1,indicator_name,comparator,target_value,weight\n"
        "2023,P001,I1,output,面积,>=,100,50\n2023,P001,I2,satisfaction,满意度,qualitative,,50\n",
    )
    deliver(
        landing,
        "pre_assessments.csv",
        "project_code,fiscal_year,assessed_on,necessity,economy,target_rationality,feasibility,"
        "compliance,conclusion\n"
        "P900,2023,2022-11-01,18,17.5,16,15,20,予以支持\n"  # not a project: not checked
        "P901,2023,2022-11-01,21,,,,,不予支持\n",  # 21 > 20
    )
    deliver(
        landing,
        "indicator_actuals.csv",
        "fiscal_year,project_code,indicator_code,as_of,actual_value\n"
        "2023,P001,I1,2023-06-30,60\n2023,P001,I2,2023-06-30,0.8\n"
        "2023,P001,I2,2023-05-31,1.5\n"  # qualitative: a fraction
        "2023,P001,I9,2023-06-30,1\n",  # not declared
    )
    deliver(
        landing,
        "evaluations.csv",
        "fiscal_year,subject_type,subject_code,evaluator,score,grade,evaluated_on\n"
        "2023,项目,P001,自评,91.5,优,2023-06-30\n2023,department,D01,第三方评价,75,中,\n"
        "2023,project,P404,finance,80,,\n2023,department,D01,finance,101,,\n",
    )
    deliver(
        landing,
        "budget_requests.csv",
        "budget_year,project_code,department_code,requested_yuan,prior_project_code\n"
        "2024,P001,D01,900000,P001\n2024,N001,D02,1000,\n2024,N002,D02,1000,P404\n"
        "2024,N003,D09,1000,\n",
    )
    load_and_rerun(warehouse_url, landing)
    files = ledger(warehouse_url)
    assert {p.split("/")[1]: (f["rows_loaded"], f["rows_rejected"]) for p, f in files.items()} == {
        "departments.csv": (2, 0),
        "projects.csv": (2, 0),
        "performance_targets.csv": (2, 0),
        "pre_assessments.csv": (1, 1),
        "budget_execution.csv": (3, 0),
        "indicator_actuals.csv": (2, 2),
        "evaluations.csv": (2, 2),
        "budget_requests.csv": (2, 2),
    }
    reasons = {(r[0].split("/")[1], r[1]): (r[2], r[3]) for r in rejects(warehouse_url)}
    assert reasons == {
        ("pre_assessments.csv", 3): ("necessity", "range"),
        ("indicator_actuals.csv", 4): ("actual_value", "range"),
        ("indicator_actuals.csv", 5): ("indicator_code", "reference"),
        ("evaluations.csv", 4): ("subject_code", "reference"),
        ("evaluations.csv", 5): ("score", "range"),
        ("budget_requests.csv", 4): ("prior_project_code", "reference"),
        ("budget_requests.csv", 5): ("department_code", "reference"),
    }
    assert query(
        warehouse_url, "select subject_type, evaluator, grade from raw.evaluations order by 1"
    ) == [("department", "third_party", "fair"), ("project", "self", "excellent")]
    assert query(warehouse_url, "select fiscal_year from ops.load_fiscal_years y join ops.loads l"
                 " using (load_id) where l.entity = 'budget_requests'") == [(2024,)]  # fmt: skip


def test_unknown_columns_are_ignored_and_absent_optional_columns_are_null(
    warehouse_url: str, landing: Path
) -> None:
    content = (
        "备注,payment_date,record_id,支付金额,fiscal_year,project_code,\n"
        "x,2023-03-01,R1,1.00,2023,P001,\n"
        "y,2023-03-02,R2,2.00,2023,P002,\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["rows_loaded"], entry["rows_rejected"]) == (2, 0)
    assert entry["notes"] == "忽略了不认识的列 备注 / ignored unknown column(s) 备注"
    assert query(
        warehouse_url,
        "select record_id, amount_yuan, voucher_no, payee from raw.budget_execution order by 1",
    ) == [("R1", Decimal("1.00"), None, None), ("R2", Decimal("2.00"), None, None)]


def test_absent_optional_columns_take_their_defaults(warehouse_url: str, landing: Path) -> None:
    projects = PROJECTS  # no category, is_new, is_monitored, is_ppp, is_debt columns
    base_delivery(landing, projects__csv=projects)
    load_and_rerun(warehouse_url, landing)
    assert query(
        warehouse_url,
        "select distinct category, is_new, is_monitored, is_ppp, is_debt from raw.projects",
    ) == [("other", False, False, False, False)]


def test_progress_is_reported_for_each_batch(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    events = []
    load_landing(warehouse_url, landing, progress=events.append)
    execution = [e for e in events if e.file_path == BE]
    assert execution and execution[-1].rows == 3 and execution[-1].position > 0


def test_departments_without_departments_file(warehouse_url: str, landing: Path) -> None:
    """Entities may be absent from a delivery: references use what is in effect."""
    base_delivery(landing, as_of="20230331", projects__csv=None, budget_execution__csv=None)
    base_delivery(landing, departments__csv=None)
    load_and_rerun(warehouse_url, landing)
    files = ledger(warehouse_url)
    assert f"{AS_OF}/departments.csv" not in files
    assert (files[f"{AS_OF}/projects.csv"]["rows_loaded"], files[f"{AS_OF}/projects.csv"]
            ["rows_rejected"]) == (2, 0)  # fmt: skip
    # the earlier delivery's departments are in effect on the later date
    assert query(
        warehouse_url,
        "select l.file_path from ops.effective_loads(%s) as e join ops.loads as l"
        " using (load_id) where e.entity = 'departments'",
        (dt.date(2023, 6, 30),),
    ) == [("20230331/departments.csv",)]


def _write_xlsx(path: Path, csv_text: str) -> None:
    """The CSV's rows as a workbook of text cells (what a code column holds in Excel)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in csv_text.splitlines():
        sheet.append(line.split(","))
    book.save(path)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_codes_keep_their_leading_zeros(
    warehouse_url: str, landing: Path, file_format: str
) -> None:
    departments = "department_code,department_name,kind\n001,县财政局,department\n010,城关镇,乡镇\n"
    projects = (
        "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
        "budget_amount_yuan\n"
        "2023,001,001,校舍维修,general_public,county,1000000.00\n"
        "2023,0002,010,道路硬化,general_public,county,500000\n"
    )
    execution = (
        "record_id,fiscal_year,project_code,payment_date,amount_yuan,voucher_no\n"
        "0001,2023,001,2023-03-01,1000.00,007\n"
        "0002,2023,0002,2023-04-01,20.00,\n"
    )
    files = {"departments": departments, "projects": projects, "budget_execution": execution}
    (landing / AS_OF).mkdir()
    for entity, text in files.items():
        if file_format == "csv":
            deliver(landing, f"{entity}.csv", text)
        else:
            _write_xlsx(landing / AS_OF / f"{entity}.xlsx", text)
    load_and_rerun(warehouse_url, landing)
    entries = ledger(warehouse_url)
    assert {p: (f["status"], f["rows_loaded"], f["rows_rejected"]) for p, f in entries.items()} == {
        f"{AS_OF}/{entity}.{file_format}": ("loaded", 2, 0) for entity in files
    }
    assert not any("typed as numbers" in (f["notes"] or "") for f in entries.values())
    assert query(warehouse_url, "select department_code from raw.departments order by 1") == [
        ("001",),
        ("010",),
    ]
    assert query(
        warehouse_url, "select project_code, department_code from raw.projects order by 1"
    ) == [("0002", "010"), ("001", "001")]
    assert query(
        warehouse_url,
        "select record_id, project_code, voucher_no from raw.budget_execution order by 1",
    ) == [("0001", "001", "007"), ("0002", "0002", None)]
    # stored as text, not as numbers that print the same
    assert query(
        warehouse_url,
        "select pg_typeof(department_code)::text from raw.departments limit 1",
    ) == [("text",)]
