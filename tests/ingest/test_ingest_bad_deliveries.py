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
    assert [r[:5] for r in rejects(warehouse_url)] == [
        (
            BE,
            5,
            "amount_yuan",
            "range",
            "第 5 行 amount_yuan 金额不能为 0 / line 5: amount_yuan amount must not be 0",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3
    assert_clean(warehouse_url, DE, PR)


def test_a_non_numeric_amount_is_rejected(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION + "R4,2023,P002,2023-06-01,12元,V4,丁公司\nR5,2023,P002,2023-06-01,1.005,,\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url)
    assert [(r[0], r[1], r[2], r[3]) for r in found] == [
        (BE, 5, "amount_yuan", "parse"),
        (BE, 6, "amount_yuan", "parse"),
    ]
    assert found[0][4].startswith("第 5 行 amount_yuan '12元' 不是有效金额")
    assert "line 5: amount_yuan '12元'" in found[0][4]
    assert found[1][4].startswith("第 6 行 amount_yuan '1.005' 超过 2 位小数")  # never rounded
    assert found[0][5] == "R4,2023,P002,2023-06-01,12元,V4,丁公司"
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3
    assert_clean(warehouse_url, DE, PR)


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
    assert [r[:5] for r in rejects(warehouse_url)] == [
        (
            BE,
            9,
            "payment_date",
            "range",
            "第 9 行 payment_date 2022-12-28 不在预算年度 2023 内"
            " / line 9: payment_date 2022-12-28 is outside fiscal year 2023",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 7
    assert_clean(warehouse_url, DE, PR)


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
    assert [r[:5] for r in rejects(warehouse_url)] == [
        (
            PR,
            4,
            "budget_amount_yuan",
            "range",
            "第 4 行 budget_amount_yuan -100.00 不能为负数"
            " / line 4: budget_amount_yuan -100.00 must not be negative",
        )
    ]
    assert ledger(warehouse_url)[PR]["rows_loaded"] == 2
    assert query(warehouse_url, "select project_code from raw.projects order by 1") == [
        ("P001",),
        ("P002",),
    ]
    assert_clean(warehouse_url, DE, BE)  # payments to P001 and P002 still load


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
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]
    assert_clean(warehouse_url, DE, PR)


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
    assert rejects(warehouse_url) == [
        (
            BE,
            5,
            None,
            "parse",
            "第 5 行 有 3 个字段，表头有 7 个（行不完整或分隔符有误）"
            " / line 5: has 3 fields where the header has 7 (truncated line or stray separator)",
            "R4,2023,P00",
        )
    ]
    assert ledger(warehouse_url)[BE]["rows_loaded"] == 3
    assert ledger(warehouse_url)[BE]["rows_read"] == 4
    assert_clean(warehouse_url, DE, PR)


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
    assert rejects(warehouse_url) == []
    assert_clean(warehouse_url, DE, PR, BE)


def test_an_empty_file_is_rejected(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv="")
    load_and_rerun(warehouse_url, landing)
    assert_rejected_whole(warehouse_url, BE, "文件为空", "empty")
    assert_clean(warehouse_url, DE, PR)


def test_formula_looking_cells_load_as_text(warehouse_url: str, landing: Path) -> None:
    content = (
        EXECUTION_HEADER
        + "R1,2023,P001,2023-03-01,-5.00,=HYPERLINK(x),=SUM(A1:A3)\n"
        + "R2,2023,P001,2023-03-01,+12.50,@cmd,+86 951 1234\n"
        + "R3,2023,P001,2023-03-01,7,-1,-danger\n"
    )
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    assert_clean(warehouse_url, DE, PR, BE)
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


def _workbook_with_formulas(path: Path) -> None:
    """An XLSX as openpyxl writes it (formulas without a cached value), then some cached
    values put in by hand, as Excel saves them."""
    import io
    import re
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2023年预算执行明细表"])
    sheet.append(EXECUTION_HEADER.strip().split(","))
    sheet.append(["R1", 2023, "P001", "2023-03-01", 1000, "V1", "甲公司"])
    sheet.append(["R2", 2023, "P001", "2023-04-01", "=E3*2", "V2", "甲公司"])  # no value
    sheet.append(["R3", 2023, "P002", "2023-05-01", 300.5, "V3", '=B5&"公司"'])  # no value
    sheet.append(["R4", 2023, "P002", "2023-05-02", 7, "=SUM(A1)", "乙公司"])
    sheet["F6"].data_type = "s"  # text that looks like a formula
    sheet.append(["R5", 2023, "P002", "2023-05-03", "=1+1", "V5", '=UPPER("x")'])  # cached
    sheet.append(["R6", 2023, "P002", "2023-05-04", 3, "V6", '=IF(1,"","x")'])  # cached ""
    sheet.append(["R7", 2023, "P002", "2023-05-05", 4, "V7", "乙公司", "=TODAY()"])  # unread
    sheet.append([])
    sheet.append([None, None, None, None, "=SUM(E3:E9)"])  # a totals row, no value
    buffer = io.BytesIO()
    book.save(buffer)
    cached = {  # cell, type and value as Excel saves them
        ("E7", "1+1"): ("", "2"),
        ("G7", 'UPPER("x")'): (' t="str"', "X"),
        ("G8", 'IF(1,"","x")'): (' t="str"', ""),  # a formula whose value is empty text
    }
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for (cell, formula), (kind, value) in cached.items():
                    # openpyxl writes the empty value as <v />, or as <v></v> with lxml
                    written = re.compile(
                        rf'<c r="{cell}"><f>{re.escape(formula)}</f>(?:<v ?/>|<v></v>)</c>'
                    )
                    assert len(written.findall(text)) == 1, written.pattern
                    text = written.sub(
                        lambda _, cell=cell, kind=kind, formula=formula, value=value: (
                            f'<c r="{cell}"{kind}><f>{formula}</f><v>{value}</v></c>'
                        ),
                        text,
                    )
                data = text.encode()
            target.writestr(info, data)


def test_xlsx_formulas_without_a_cached_value_are_rejected_not_loaded_empty(
    warehouse_url: str, landing: Path
) -> None:
    base_delivery(landing, budget_execution__csv=None)
    _workbook_with_formulas(landing / AS_OF / "budget_execution.xlsx")
    load_and_rerun(warehouse_url, landing)
    path = f"{AS_OF}/budget_execution.xlsx"
    entry = ledger(warehouse_url)[path]
    assert (entry["status"], entry["rows_read"], entry["rows_loaded"]) == ("loaded", 8, 5)
    assert_clean(warehouse_url, DE, PR)
    # formulas are never evaluated: a cached value loads as Excel shows it, text that looks
    # like a formula as text, a formula with no cached value is refused (never a blank)
    assert query(
        warehouse_url,
        "select line_no, record_id, amount_yuan::text, voucher_no, payee"
        " from raw.budget_execution order by line_no",
    ) == [
        (3, "R1", "1000.00", "V1", "甲公司"),
        (6, "R4", "7.00", "=SUM(A1)", "乙公司"),
        (7, "R5", "2.00", "V5", "X"),
        (8, "R6", "3.00", "V6", None),
        (9, "R7", "4.00", "V7", "乙公司"),
    ]
    found = rejects(warehouse_url)
    assert [r[:4] for r in found] == [
        (path, 4, "amount_yuan", "parse"),
        (path, 5, "payee", "parse"),
        (path, 11, "record_id,fiscal_year,project_code,payment_date,amount_yuan", "required"),
    ]
    assert found[0][4] == (
        "第 4 行 amount_yuan 是 Excel 公式 '=E3*2'，但工作簿中没有保存它的计算结果"
        "（公式不会被求值；请在 Excel 中打开并保存工作簿，或将公式粘贴为数值，再重新交付）"
        " / line 4: amount_yuan is an Excel formula '=E3*2' saved without its calculated value"
        " (formulas are never evaluated: open and save the workbook in Excel, or paste the"
        " values, and deliver it again)"
    )
    assert found[0][5] == "R2\t2023\tP001\t2023-04-01\t=E3*2\tV2\t甲公司"
    assert (
        "payee is an Excel formula '=B5&\"公司\"' saved without its calculated value"
        in (found[1][4])
    )
    assert "amount_yuan is an Excel formula '=SUM(E3:E9)'" in found[2][4]
    assert found[2][5] == "\t\t\t\t=SUM(E3:E9)"


def test_uncached_formulas_are_found_outside_the_range_calamine_reads() -> None:
    """calamine's rows begin at the first used column and end at the last cell with a
    value: a formula without a value left of, right of or below that range is found too."""
    import io

    from openpyxl import Workbook

    from budgetperf.ingest.entities import ENTITIES
    from budgetperf.ingest.readers import XlsxReader

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for column, name in zip("BCDEF", ["record_id", "fiscal_year", "project_code",
                                      "payment_date", "amount_yuan"], strict=True):  # fmt: skip
        sheet[f"{column}2"] = name
        sheet[f"{column}3"] = {"record_id": "R1", "amount_yuan": 5}.get(name, "x")
    sheet["A3"] = "=1+1"  # left of the range, in no column of the entity
    sheet["F4"] = "=F3*2"  # below the range: a row of its own
    buffer = io.BytesIO()
    book.save(buffer)
    reader = XlsxReader(buffer, ENTITIES["budget_execution"])
    assert reader.header.positions["record_id"] == 1  # column A is part of every row now
    (batch,) = reader.batches()
    assert list(batch.line_nos) == [3, 4]
    assert batch.cells["amount_yuan"] == [b"5", b"=F3*2"]
    assert set(batch.cell_problems) == {"amount_yuan"}
    assert set(batch.cell_problems["amount_yuan"]) == {1}
    assert [batch.raw(i) for i in range(2)] == ["=1+1\tR1\tx\tx\tx\t5", "\t\t\t\t\t=F3*2"]


def _workbook_zip(sheet_xml: str) -> bytes:
    import io
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{package}"><Relationship Id="rId1"'
            f' Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="明细" sheetId="1" r:id="rId7"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{package}"><Relationship Id="rId7"'
            f' Type="{rel}/worksheet" Target="worksheets/data.xml"/></Relationships>',
        )
        book.writestr("xl/worksheets/data.xml", sheet_xml.replace("MAIN", main))
    return buffer.getvalue()


def test_uncached_formulas_are_read_from_any_well_formed_sheet() -> None:
    import io

    from budgetperf.ingest.readers import uncached_formulas

    cells = (
        '<x:c{B}><x:f>A1&amp;"&lt;"</x:f></x:c>'  # no value
        '<x:c{C} t="str"><x:f>""</x:f><x:v></x:v></x:c>'  # a cached empty text
        "<x:c{D}><x:f>1</x:f><x:v>1</x:v></x:c>"  # a cached value
        '<x:c{E}><x:f t="shared" si="0"/><x:v/></x:c>'  # no value, no text of its own
    )
    sheet = '<x:worksheet xmlns:x="MAIN"><x:sheetData><x:row r="3">{}</x:row></x:sheetData>'
    expected = {3: {1: '=A1&"<"', 4: "=(shared formula)"}}
    # cells with references (read by the fast scan), and without (parsed as XML)
    with_references = cells.format(B=' r="B3"', C=' r="C3"', D=' r="D3"', E=' r="E3"')
    without = cells.format(B="", C="", D="", E="").replace("<x:c>", "<x:c >")
    filler = '<x:c r="A3"><x:v>1</x:v></x:c>'
    for body in (with_references, filler + without):
        data = _workbook_zip(sheet.format(body) + "</x:worksheet>")
        assert uncached_formulas(io.BytesIO(data), "明细") == expected, body


def test_rows_with_several_problems_are_rejected_once(warehouse_url: str, landing: Path) -> None:
    content = EXECUTION + ",2023,P999,2023-13-01,0,V4,\n"
    base_delivery(landing, budget_execution__csv=content)
    load_and_rerun(warehouse_url, landing)
    found = rejects(warehouse_url)
    assert len(found) == 1
    path, line, column, rule, reason, raw = found[0]
    assert (path, line, column, rule) == (
        BE,
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
