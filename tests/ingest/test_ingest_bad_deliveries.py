"""A corpus of bad deliveries, each checked for its exact outcome.

For each: the valid rest of the delivery still loads, the reject names the file, line,
column and reason, nothing is counted twice (``assert_consistent``), and running the
load again changes nothing (``load_and_rerun``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingest_helpers import (
    AS_OF,
    DEPARTMENTS,
    EXECUTION,
    EXECUTION_HEADER,
    PROJECTS,
    base_delivery,
    deliver,
    ledger,
    load_and_rerun,
    query,
    rejects,
)

BE = f"{AS_OF}/budget_execution.csv"
PR = f"{AS_OF}/projects.csv"
DE = f"{AS_OF}/departments.csv"


def assert_clean(url: str, *paths: str) -> None:
    files = ledger(url)
    for path in paths:
        assert files[path]["status"] == "loaded", path
        assert files[path]["rows_rejected"] == 0, path


def assert_rejected_whole(url: str, path: str, *fragments: str) -> str:
    entry = ledger(url)[path]
    assert entry["status"] == "rejected"
    assert entry["rows_loaded"] == 0
    for fragment in fragments:
        assert fragment in entry["reason"], (fragment, entry["reason"])
    found = rejects(url, path)
    assert [(r[1], r[2], r[3]) for r in found] == [(None, None, "file")]
    assert found[0][4] == entry["reason"]
    return str(entry["reason"])


def test_undecodable_bytes_reject_the_file_whole(warehouse_url: str, landing: Path) -> None:
    # GBK up to line 4, then bytes that no encoding has
    content = EXECUTION.encode("gbk") + b"R9,2023,P001,2023-03-01,5.00,V9,\xff\xfe\n"
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    reason = assert_rejected_whole(
        warehouse_url, BE, "第 5 行", "UTF-8", "GB18030", "line 5", "rejected whole"
    )
    assert reason.index("第 5 行") < reason.index(" / ") < reason.index("line 5")
    assert_clean(warehouse_url, DE, PR)
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]


def test_a_file_mixing_utf8_and_gbk_is_rejected_not_turned_into_mojibake(
    warehouse_url: str, landing: Path
) -> None:
    content = EXECUTION.encode("utf-8") + "R4,2023,P001,2023-03-01,5.00,V4,丙公司\n".encode("gbk")
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(warehouse_url, BE, "第 5 行", "混用了编码", "mixes encodings")


def test_missing_required_column_rejects_the_file(warehouse_url: str, landing: Path) -> None:
    content = (
        "record_id,fiscal_year,project_code,payment_date,voucher_no\nR1,2023,P001,2023-03-01,V\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(
        warehouse_url, BE, "第 1 行表头缺少必填列 amount_yuan（支付金额(元)）", "amount_yuan"
    )
    assert_clean(warehouse_url, DE, PR)


def test_rows_sharing_a_key_are_all_rejected(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION + "R1,2023,P002,2023-06-01,70.00,V6,丁公司\nR4,2023,P002,2023-06-02,1.00,,\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url, BE)
    assert [(r[1], r[2], r[3]) for r in found] == [
        (2, "record_id", "duplicate_key"),
        (5, "record_id", "duplicate_key"),
    ]
    assert found[0][4] == (
        "第 2 行 record_id (R1) 与第 5 行重复（同一文件中键相同的行全部拒绝，无法判断哪一行正确）"
        " / line 2: record_id (R1) is also the key of line(s) 5 (rows sharing a key are all"
        " rejected: which one is right cannot be known)"
    )
    assert found[0][5] == "R1,2023,P001,2023-03-01,1000.00,V1,甲公司"
    assert found[1][5] == "R1,2023,P002,2023-06-01,70.00,V6,丁公司"
    loaded = query(warehouse_url, "select record_id from raw.budget_execution order by 1")
    assert loaded == [("R2",), ("R3",), ("R4",)]
    assert ledger(warehouse_url)[BE]["rows_read"] == 5


def test_shared_keys_are_found_set_wise_past_the_memory_bound(
    warehouse_url: str, landing: Path
) -> None:
    from budgetperf.ingest import load_landing

    rows = "".join(f"X{i % 3},2023,P001,2023-03-01,1.00,,\n" for i in range(9))
    content = EXECUTION + rows + "R2,2023,P001,2023-03-01,bad,,\n"
    base_delivery(landing, budget_execution__csv=content)
    load_landing(warehouse_url, landing, key_memory_rows=2)
    found = rejects(warehouse_url, BE)
    assert [(r[1], r[3]) for r in found] == [(3, "duplicate_key")] + [
        (line, "duplicate_key") for line in range(5, 14)
    ] + [(14, "parse")]
    assert "(X0) 与第 8、11 行重复" in found[1][4]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 2


def test_a_key_repeated_many_times_names_a_few_lines(warehouse_url: str, landing: Path) -> None:
    rows = "".join(f"X,2023,P001,2023-03-01,{i + 1}.00,,\n" for i in range(50))
    base_delivery(landing, budget_execution__csv=EXECUTION + rows)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url, BE)
    assert len(found) == 50
    assert "(X) 与第 6、7、8、9、10 行等 49 行重复" in found[0][4]
    assert "also the key of line(s) 6, 7, 8, 9, 10 (49 in all)" in found[0][4]


def test_a_duplicate_of_a_row_rejected_for_another_reason_is_rejected_too(
    warehouse_url: str, landing: Path
) -> None:
    content = EXECUTION + "R3,2023,P002,2023-06-01,zero,V6,丁公司\n"
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url, BE)
    assert [(r[1], r[2], r[3]) for r in found] == [
        (4, "record_id", "duplicate_key"),
        (5, "amount_yuan", "parse"),
    ]
    assert "与第 5 行重复" in found[0][4]


def test_an_amount_of_zero_is_rejected(warehouse_url: str, landing: Path) -> None:
    content = EXECUTION + "R4,2023,P002,2023-06-01,0.00,V4,丁公司\n"
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert [r[1:5] for r in rejects(warehouse_url)] == [
        (
            5,
            "amount_yuan",
            "range",
            "第 5 行 amount_yuan 金额不能为 0 / line 5: amount_yuan amount must not be 0",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3


def test_a_non_numeric_amount_is_rejected(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION + "R4,2023,P002,2023-06-01,12元,V4,丁公司\nR5,2023,P002,2023-06-01,1.005,,\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url)
    assert [(r[1], r[2], r[3]) for r in found] == [
        (5, "amount_yuan", "parse"),
        (6, "amount_yuan", "parse"),
    ]
    assert "'12元' 不是有效金额" in found[0][4]
    assert "'1.005' 超过 2 位小数" in found[1][4]  # never rounded to 1.01 or 1.00
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3


def test_a_payment_outside_its_fiscal_year_is_rejected(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION_HEADER
        + "R1,2023,P001,2023-03-01,1000.00,V1,甲公司\n" * 1
        + "R2,2023,P001,2023-04-01,-200.00,V2,甲公司\n"
        + "R3,2023,P002,2023-05-01,300.50,V3,乙公司\n"
        + "R4,2023,P002,2023-06-01,1.00,V4,乙公司\n"
        + "R5,2023,P002,2023-06-02,1.00,V5,乙公司\n"
        + "R6,2023,P002,2023-06-03,1.00,V6,乙公司\n"
        + "R7,2023,P002,2023/12/31,1.00,V7,乙公司\n"
        + "R8,2023,P002,2022-12-28,1.00,V8,乙公司\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert [r[1:5] for r in rejects(warehouse_url)] == [
        (
            9,
            "payment_date",
            "range",
            "第 9 行 payment_date 2022-12-28 不在预算年度 2023 内"
            " / line 9: payment_date 2022-12-28 is outside fiscal year 2023",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 7


def test_codes_that_refer_to_nothing_are_rejected(warehouse_url: str, landing: Path) -> None:
    projects = PROJECTS + "2023,P003,D99,无主项目,general_public,county,10\n"
    execution = EXECUTION + "R4,2023,P999,2023-06-01,1.00,V4,丁公司\nR5,2023,P003,2023-06-01,1,,\n"
    base_delivery(landing, projects__csv=projects, budget_execution__csv=execution)
    load_and_rerun(warehouse_url, landing)
    assert [r[1:5] for r in rejects(warehouse_url, PR)] == [
        (
            4,
            "department_code",
            "reference",
            "第 4 行 department_code 部门 'D99' 不存在（截至 2023-06-30 的部门名录中没有）"
            " / line 4: department_code department 'D99' is not a known department"
            " (as of 2023-06-30)",
        )
    ]
    # P003 was refused with its file: payments to it refer to nothing either
    assert [(r[1], r[2], r[3]) for r in rejects(warehouse_url, BE)] == [
        (5, "project_code", "reference"),
        (6, "project_code", "reference"),
    ]
    assert "项目 'P999' 不是 2023 年度的项目（截至 2023-06-30）" in rejects(warehouse_url, BE)[0][4]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3


def test_a_bad_reference_value_is_rejected(warehouse_url: str, landing: Path) -> None:
    projects = PROJECTS + "2023,P003,D01,项目三,一般预算,county,10\n"
    base_delivery(landing, projects__csv=projects)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url)
    assert [(r[1], r[2], r[3]) for r in found] == [(4, "budget_type", "reference_value")]
    assert found[0][4].startswith(
        "第 4 行 budget_type '一般预算' 不是有效值，可选：general_public（一般公共预算）"
    )
    assert "expected one of: general_public (一般公共预算)" in found[0][4]
    assert ledger(warehouse_url)[PR]["rows_loaded"] == 2
    assert_clean(warehouse_url, DE, BE)


def test_a_negative_budget_is_rejected(warehouse_url: str, landing: Path) -> None:
    projects = PROJECTS + "2023,P003,D01,项目三,general_public,county,-100.00\n"
    base_delivery(landing, projects__csv=projects)
    load_and_rerun(warehouse_url, landing)
    assert [r[1:5] for r in rejects(warehouse_url)] == [
        (
            4,
            "budget_amount_yuan",
            "range",
            "第 4 行 budget_amount_yuan -100.00 不能为负数"
            " / line 4: budget_amount_yuan -100.00 must not be negative",
        )
    ]


def _manifest(landing: Path, **entry: object) -> None:
    deliver(landing, "_manifest.json", json.dumps({"files": {"budget_execution.csv": entry}}))


def test_manifest_row_count_mismatch(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    _manifest(landing, rows=4)
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(
        warehouse_url, BE, "数据行数应为 4，实际为 3", "4 data rows expected, 3 found"
    )
    assert ledger(warehouse_url)[BE]["rows_read"] == 3
    assert_clean(warehouse_url, DE, PR)  # not listed in the manifest: loaded
    assert "not listed in _manifest.json" in ledger(warehouse_url)[PR]["notes"]


def test_manifest_checksum_mismatch(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    _manifest(landing, sha256="0" * 64)
    load_and_rerun(warehouse_url, landing)
    actual = hashlib.sha256(EXECUTION.encode()).hexdigest()
    assert_rejected_whole(warehouse_url, BE, f"sha256 应为 {'0' * 64}，实际为 {actual}")
    assert_clean(warehouse_url, DE, PR)


def test_manifest_total_mismatch(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    _manifest(landing, amount_yuan_total="1100.49")
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(warehouse_url, BE, "金额合计应为 1100.49，实际为 1100.50")


def test_a_matching_manifest_passes_and_totals_count_rejected_rows_too(
    warehouse_url: str, landing: Path
) -> None:
    content = EXECUTION + 'R4,2023,P002,2021-06-01,"1,000.00",V4,丁公司\n'  # wrong year
    base_delivery(landing, budget_execution__csv=content)
    sha = hashlib.sha256(content.encode()).hexdigest()
    _manifest(landing, rows=4, sha256=sha.upper(), amount_yuan_total="2100.50")
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["status"], entry["rows_loaded"], entry["rows_rejected"]) == ("loaded", 3, 1)


def test_a_truncated_last_line_is_a_rejected_row(warehouse_url: str, landing: Path) -> None:
    content = EXECUTION + "R4,2023,P00"  # the export was cut off mid-line
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert [r[1:] for r in rejects(warehouse_url)] == [
        (
            5,
            None,
            "parse",
            "第 5 行 有 3 个字段，表头有 7 个（行不完整或分隔符有误）"
            " / line 5: has 3 fields where the header has 7 (truncated line or stray separator)",
            "R4,2023,P00",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3


def test_an_xlsx_that_is_really_a_csv_is_rejected(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv=None, budget_execution__xlsx=EXECUTION)
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(
        warehouse_url,
        f"{AS_OF}/budget_execution.xlsx",
        "不是 Excel 工作簿",
        "not an Excel workbook (it looks like text/CSV)",
    )
    assert_clean(warehouse_url, DE, PR)


def test_csv_and_xlsx_of_one_entity_are_both_rejected(warehouse_url: str, landing: Path) -> None:
    from openpyxl import Workbook

    base_delivery(landing)
    book = Workbook()
    for line in EXECUTION.splitlines():
        book.active.append(line.split(","))  # type: ignore[union-attr]
    book.save(landing / AS_OF / "budget_execution.xlsx")
    load_and_rerun(warehouse_url, landing)
    for path in (BE, f"{AS_OF}/budget_execution.xlsx"):
        assert_rejected_whole(warehouse_url, path, "既有 .csv 又有 .xlsx", "both are rejected")
    assert_clean(warehouse_url, DE, PR)
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]


def test_a_header_only_file_loads_nothing_and_rejects_nothing(
    warehouse_url: str, landing: Path
) -> None:
    base_delivery(landing, budget_execution__csv=EXECUTION_HEADER)
    load_and_rerun(warehouse_url, landing)
    entry = ledger(warehouse_url)[BE]
    assert (entry["status"], entry["rows_read"], entry["rows_loaded"]) == ("loaded", 0, 0)
    years = query(
        warehouse_url, "select count(*) from ops.load_fiscal_years where load_id = %s",
        (entry["load_id"],),
    )  # fmt: skip
    assert years == [(0,)]  # it supersedes nothing


def test_an_empty_file_is_rejected(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv="")
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(warehouse_url, BE, "文件为空", "empty")


def test_formula_looking_cells_load_as_text(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION_HEADER
        + "R1,2023,P001,2023-03-01,-5.00,=HYPERLINK(x),=SUM(A1:A3)\n"
        + "R2,2023,P001,2023-03-01,+12.50,@cmd,+86 951 1234\n"
        + "R3,2023,P001,2023-03-01,7,-1,-danger\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert_clean(warehouse_url, BE)
    rows = query(
        warehouse_url,
        "select record_id, amount_yuan::text, voucher_no, payee from raw.budget_execution"
        " order by record_id",
    )
    assert rows == [
        ("R1", "-5.00", "=HYPERLINK(x)", "=SUM(A1:A3)"),  # -5.00: a reversal, a number
        ("R2", "12.50", "@cmd", "+86 951 1234"),
        ("R3", "7.00", "-1", "-danger"),
    ]


def test_rows_with_several_problems_are_rejected_once(warehouse_url: str, landing: Path) -> None:
    content = EXECUTION + ",2023,P999,2023-13-01,0,V4,\n"
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url)
    assert len(found) == 1
    line, column, rule, reason, raw = found[0][1:]
    assert (line, column, rule) == (
        5,
        "record_id,payment_date,amount_yuan,project_code",
        "required",
    )
    assert reason.startswith(
        "第 5 行 record_id 必填，但为空；payment_date '2023-13-01' 不是有效日期"
    )
    assert raw == ",2023,P999,2023-13-01,0,V4,"
    assert ledger(warehouse_url)[BE]["rows_rejected"] == 1


def test_departments_are_the_whole_entity(warehouse_url: str, landing: Path) -> None:
    base_delivery(
        landing, departments__csv=DEPARTMENTS + "D03,,department,,\nD04,部门四,agency,,\n"
    )
    load_and_rerun(warehouse_url, landing)
    assert [(r[1], r[2], r[3]) for r in rejects(warehouse_url, DE)] == [
        (4, "department_name", "required"),
        (5, "kind", "reference_value"),
    ]
    years = query(
        warehouse_url,
        "select y.fiscal_year, y.rows_loaded from ops.load_fiscal_years y"
        " join ops.loads l using (load_id) where l.entity = 'departments'",
    )
    assert years == [(0, 2)]
