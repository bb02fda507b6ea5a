"""Cell parsers and column converters: every spelling of DATA_CONTRACT.md, exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgetperf.ingest.columns import ERR, NULL, ColumnConverter
from budgetperf.ingest.entities import ENTITIES, HEADER_ALIASES, LABELS, normalize_header
from budgetperf.ingest.readers import cell_text
from budgetperf.ingest.values import (
    ValueProblem,
    money_or_none,
    parse_date,
    parse_flag,
    parse_money,
    parse_year,
)

EXECUTION = ENTITIES["budget_execution"]
PROJECTS = ENTITIES["projects"]
TARGETS = ENTITIES["performance_targets"]


@pytest.mark.parametrize(
    "text", ["2021-06-30", "2021/6/30", "2021/06/30", "20210630", "2021年6月30日", "2021年06月30日"]
)
def test_every_contract_date_spelling_parses(text: str) -> None:
    assert parse_date(text) == "2021-06-30"


@pytest.mark.parametrize(
    "text", ["2021-13-01", "2021-02-30", "30/06/2021", "2021.06.30", "6/30/2021", "44377", "昨天"]
)
def test_other_dates_are_refused_with_the_accepted_spellings(text: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_date(text)
    assert caught.value.problem.rule == "parse"
    assert "2021年6月30日" in caught.value.problem.zh
    assert "expected 2021-06-30" in caught.value.problem.en


@pytest.mark.parametrize(
    ("text", "flag"),
    [("Y", "t"), ("N", "f"), ("y", "t"), ("是", "t"), ("否", "f"), ("true", "t"),
     ("FALSE", "f"), ("1", "t"), ("0", "f")],
)  # fmt: skip
def test_every_flag_spelling(text: str, flag: str) -> None:
    assert parse_flag(text) == flag


def test_an_unknown_flag_is_refused() -> None:
    with pytest.raises(ValueProblem):
        parse_flag("maybe")


def test_years() -> None:
    assert parse_year("2021") == "2021"
    assert parse_year("2021年") == "2021"
    for bad in ["21", "2021.5", "1800", "二〇二一"]:
        with pytest.raises(ValueProblem):
            parse_year(bad)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("1234.56", "1234.56"), ("1,234.56", "1234.56"), ("1,234,567", "1234567"),
     ("-200", "-200"), ("0.5", "0.5"), ("+3.10", "3.10")],
)  # fmt: skip
def test_amounts_with_and_without_separators(text: str, canonical: str) -> None:
    assert parse_money(text, EXECUTION.column("amount_yuan")) == canonical


@pytest.mark.parametrize(
    ("text", "rule", "zh"),
    [
        ("12.345", "parse", "超过 2 位小数"),  # never rounded
        ("1,23.00", "parse", "不是有效金额"),  # separators in the wrong place
        ("12元", "parse", "不是有效金额"),
        ("1.2.3", "parse", "不是有效金额"),
        ("0", "range", "不能为 0"),
        ("-0.00", "range", "不能为 0"),
    ],
)
def test_bad_amounts(text: str, rule: str, zh: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_money(text, EXECUTION.column("amount_yuan"))
    assert caught.value.problem.rule == rule
    assert zh in caught.value.problem.zh


def test_a_budget_may_be_zero_but_not_negative() -> None:
    column = PROJECTS.column("budget_amount_yuan")
    assert parse_money("0", column) == "0"
    with pytest.raises(ValueProblem) as caught:
        parse_money("-1", column)
    assert caught.value.problem.zh == "-1 不能为负数"


def test_manifest_totals_count_every_amount_that_parses() -> None:
    assert money_or_none("1,234.50") == Decimal("1234.50")
    assert money_or_none("0") == Decimal(0)
    assert money_or_none("12.345") is None
    assert money_or_none("abc") is None


def test_headers_in_english_or_chinese_match_every_entity() -> None:
    assert HEADER_ALIASES[normalize_header("预算金额（元）")] == "budget_amount_yuan"
    assert HEADER_ALIASES[normalize_header("预算金额")] == "budget_amount_yuan"
    assert HEADER_ALIASES[normalize_header("*项目编码")] == "project_code"
    assert HEADER_ALIASES[normalize_header(" Fiscal Year ")] == "fiscal_year"
    # every label is known, and every entity column has one
    for entity in ENTITIES.values():
        for column in entity.columns:
            assert HEADER_ALIASES[normalize_header(column.label)] == column.name
            assert LABELS[column.name] == column.label


def convert(entity: str, column: str, values: list[bytes], encoding: str = "utf-8") -> list[bytes]:
    converter = ColumnConverter(ENTITIES[entity].column(column), encoding)
    out, _ = converter.convert(values, False)
    return out


def test_reference_values_as_code_or_label() -> None:
    assert convert("projects", "budget_type", ["一般公共预算".encode(), b"state_capital"]) == [
        b"general_public",
        b"state_capital",
    ]
    levels = ["产出指标", "产出", "效益指标", "满意度", "output"]
    assert convert("performance_targets", "level1", [v.encode() for v in levels]) == [
        b"output",
        b"output",
        b"benefit",
        b"satisfaction",
        b"output",
    ]
    level2 = ["数量指标", "数量", "经济效益指标", "可持续影响"]
    assert convert("performance_targets", "level2", [v.encode() for v in level2]) == [
        b"quantity",
        b"quantity",
        b"economic",
        b"sustainability",
    ]
    comparators = ["≥", ">=", "≤", "<=", "=", "定性", "qualitative", "＞＝"]
    assert convert("performance_targets", "comparator", [v.encode() for v in comparators]) == [
        b">=",
        b">=",
        b"<=",
        b"<=",
        b"=",
        b"qualitative",
        b"qualitative",
        b">=",
    ]
    assert convert("evaluations", "grade", [v.encode() for v in ["优", "良", "中", "差"]]) == [
        b"excellent",
        b"good",
        b"fair",
        b"poor",
    ]


def test_reference_values_in_gb18030_files() -> None:
    cells = ["中央转移支付".encode("gb18030"), "自治区转移支付".encode("gb18030")]
    assert convert("projects", "fund_source", cells, "gb18030") == [
        b"central_transfer",
        b"region_transfer",
    ]


def test_blank_optional_cells_take_their_default_and_required_ones_are_refused() -> None:
    assert convert("projects", "category", [b"", b" "]) == [b"other", b"other"]
    assert convert("projects", "is_new", [b""]) == [b"f"]
    assert convert("budget_execution", "payee", [b"", b"x"]) == [NULL, b"x"]
    converter = ColumnConverter(EXECUTION.column("record_id"), "utf-8")
    out, errors = converter.convert([b"R1", b"", b"  "], False)
    assert out == [b"R1", ERR, ERR]
    assert {i: p.rule for i, p in errors.items()} == {1: "required", 2: "required"}


def test_text_keeps_formulas_and_codes_verbatim() -> None:
    cells = [b"=SUM(A1:A3)", b"+86 951", b"-danger", b"@cmd", b"001", b"  P001  "]
    assert convert("budget_execution", "payee", cells) == [
        b"=SUM(A1:A3)",
        b"+86 951",
        b"-danger",
        b"@cmd",
        b"001",
        b"P001",
    ]
    # a cell holding a separator or a quote is quoted for COPY CSV
    assert convert("budget_execution", "payee", ['甲,乙"丙'.encode()]) == ['"甲,乙""丙"'.encode()]


def test_xlsx_cells_read_as_excel_shows_them() -> None:
    from budgetperf.ingest.entities import Kind

    assert cell_text(1001.0, Kind.TEXT) == "1001"  # a code typed as a number
    assert cell_text(2021.0, Kind.YEAR) == "2021"
    assert cell_text(1234.56, Kind.MONEY) == "1234.56"
    assert cell_text(0.1 + 0.2, Kind.MONEY) == "0.3"  # Excel's 15 significant digits
    assert cell_text(12.345, Kind.MONEY) == "12.345"  # then refused, never rounded
    assert cell_text(dt.date(2021, 6, 30), Kind.DATE) == "2021-06-30"
    assert cell_text(dt.datetime(2021, 6, 30, 13, 5), Kind.DATE) == "2021-06-30"
    assert cell_text(20210630.0, Kind.DATE) == "20210630"
    assert cell_text(True, Kind.FLAG) == "true"
    assert cell_text(1e-7, Kind.NUMBER) == "0.0000001"


@pytest.mark.parametrize(
    ("cells", "all_valid"),
    [
        ([b"1,234.56", b"3,007.29", b"12", b"-1,000,000.5", b"999,999,999,999.99"], True),
        ([b"1,234.56", b"0"], False),  # a zero amount among separated ones
        ([b"1,234.56", b"1,23.00", b"12.345", b""], False),  # misplaced, 3 decimals, blank
        ([b"1,234.56", b" 2,000.00 ", b"+3,000"], True),  # spaces, plus sign: the slow path
    ],
)
def test_a_money_column_converts_as_its_cells_do_one_by_one(
    cells: list[bytes], all_valid: bool
) -> None:
    # the whole-column path for separated amounts must agree with the exact per-cell parser
    converter = ColumnConverter(EXECUTION.column("amount_yuan"), "utf-8")
    out, errors = converter.convert(cells, False)
    for index, cell in enumerate(cells):
        expected = converter.parse_one(cell)
        if isinstance(expected, bytes):
            assert out[index] == expected and index not in errors
        else:
            assert out[index] == ERR and errors[index].rule == expected.rule
    assert (errors == {}) == all_valid


def test_manifest_money_totals_agree_with_the_per_cell_sum() -> None:
    from budgetperf.ingest.stream import money_total

    clean = [b"1,234.56", b"-1,000", b"0", b"7.1"]
    messy = [*clean, b"12.345", b"abc", b"", b" 5 "]
    assert money_total(clean, "utf-8") == Decimal("241.66")
    per_cell = sum(filter(None, (money_or_none(c.decode()) for c in messy)), Decimal(0))
    assert money_total(messy, "utf-8") == per_cell == Decimal("246.66")
    assert money_total(["1,234.50".encode("gb18030")], "gb18030") == Decimal("1234.50")
