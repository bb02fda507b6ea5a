"""The generator's building blocks: exact splitting of money, labels as the contract
spells them, the catalog's invariants, working days, writers."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
from generate_readback import read_entity_file

from budgetperf.generate.catalog import PROJECT_POOLS, TRANSFER_POOLS
from budgetperf.generate.labels import COLUMN_LABELS, REFERENCE_LABELS
from budgetperf.generate.money import apportion, format_fen, lognormal_weights, yuan_to_fen
from budgetperf.generate.names import UNITS
from budgetperf.generate.styles import FileStyle
from budgetperf.generate.workdays import workdays
from budgetperf.generate.writers import open_writer

pytestmark = pytest.mark.xdist_group("generate")


@pytest.mark.parametrize("seed", range(20))
def test_apportion_is_exact(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 700)
    total = rng.randint(n * 100, 10**10)
    weights = lognormal_weights(rng, n, 1.2)
    parts = apportion(total, weights, minimum=100)
    assert sum(parts) == total
    assert min(parts) >= 100
    assert parts == apportion(total, weights, minimum=100)


def test_apportion_edges() -> None:
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert apportion(5, [0, 0]) == [3, 2]
    assert apportion(0, []) == []
    with pytest.raises(ValueError):
        apportion(5, [1, 1], minimum=3)


def test_fen_formatting() -> None:
    assert format_fen(123456789) == "1234567.89"
    assert format_fen(123456789, thousands=True) == "1,234,567.89"
    assert format_fen(-5) == "-0.05"
    assert format_fen(100) == "1.00"
    assert yuan_to_fen("79862920.00") == 7986292000
    with pytest.raises(ValueError):
        yuan_to_fen(Decimal("1.005"))


# The labels of DATA_CONTRACT.md section 1, copied by hand: labels.py must not drift.
CONTRACT_LABELS = {
    "department_code": "部门编码",
    "department_name": "部门名称",
    "kind": "单位类型",
    "sector": "行业",
    "contact_email": "联系邮箱",
    "fiscal_year": "预算年度",
    "project_code": "项目编码",
    "project_name": "项目名称",
    "budget_type": "预算类型",
    "fund_source": "资金来源",
    "category": "专项类别",
    "is_new": "是否新增",
    "budget_amount_yuan": "预算金额(元)",
    "is_monitored": "是否重点监控",
    "is_ppp": "是否PPP",
    "is_debt": "是否政府债务项目",
    "indicator_code": "指标编码",
    "level1": "一级指标",
    "level2": "二级指标",
    "indicator_name": "指标名称",
    "comparator": "比较方式",
    "target_value": "目标值",
    "unit": "计量单位",
    "weight": "分值",
    "declared_on": "申报日期",
    "is_published": "是否公开",
    "assessed_on": "评估日期",
    "necessity": "必要性",
    "economy": "投入经济性",
    "target_rationality": "绩效目标合理性",
    "feasibility": "实施方案可行性",
    "compliance": "筹资合规性",
    "conclusion": "评估结论",
    "record_id": "支付流水号",
    "payment_date": "支付日期",
    "amount_yuan": "支付金额(元)",
    "voucher_no": "凭证号",
    "payee": "收款方",
    "as_of": "填报截止日期",
    "actual_value": "实际完成值",
    "subject_type": "评价对象类型",
    "subject_code": "评价对象编码",
    "evaluator": "评价主体",
    "score": "得分",
    "grade": "等级",
    "evaluated_on": "评价日期",
    "report_quality_score": "报告质量评审得分",
    "budget_year": "申报年度",
    "requested_yuan": "申报金额(元)",
    "prior_project_code": "上年项目编码",
}


def test_labels_are_the_contracts() -> None:
    assert COLUMN_LABELS == CONTRACT_LABELS
    assert REFERENCE_LABELS["category"]["culture_sports_media"] == "文化体育与传媒"
    assert REFERENCE_LABELS["comparator"] == {">=": "≥", "<=": "≤", "=": "=", "qualitative": "定性"}
    assert list(REFERENCE_LABELS["grade"].values()) == ["优", "良", "中", "差"]


def test_special_categories_stay_in_the_13_departments() -> None:
    special_pools = {u.pool for u in UNITS if u.categories}
    for pool, templates in PROJECT_POOLS.items():
        if pool not in special_pools:
            assert {t.category for t in templates} == {"other"}, pool
    for pool, transfers in TRANSFER_POOLS.items():
        if pool not in special_pools:
            assert {t.category for t in transfers} == {"other"}, pool
    for unit in UNITS:
        if unit.categories:
            assert set(unit.categories) <= {t.category for t in PROJECT_POOLS[unit.pool]}
    assert len([u for u in UNITS if u.categories]) == 13
    assert len({u.sector for u in UNITS if u.categories}) == 7
    assert len([u for u in UNITS if u.kind == "township"]) == 13


def test_workdays_follow_the_holiday_notice() -> None:
    days = set(workdays(2021))
    assert dt.date(2021, 10, 1) not in days  # National Day
    assert dt.date(2021, 10, 9) in days  # a make-up Saturday
    assert dt.date(2021, 2, 12) not in days  # Spring Festival
    assert dt.date(2021, 12, 31) in days
    assert len(days) == 250


@pytest.mark.parametrize(
    "style",
    [
        FileStyle("csv", "gb18030", "zh", "2021年预算执行明细表", dates="chinese", thousands=True),
        FileStyle("csv", "utf-8-sig", "en", dates="slash", newline="\n"),
        FileStyle("xlsx", header="zh", title="预算执行", notes=True, dates="compact"),
    ],
)
def test_writers_round_trip(tmp_path: Path, style: FileStyle) -> None:
    as_of = dt.date(2021, 6, 30)
    rows = [
        (
            "ZF001",
            2021,
            "0640221",
            dt.date(2021, 3, 5),
            123456789,
            "记-03-0001",
            "宁夏鑫源商贸有限公司",
        ),
        ("ZF002", 2021, "0640221", dt.date(2021, 3, 9), -5, None, None),
    ]
    path = tmp_path / f"budget_execution.{style.format}"
    writer = open_writer(path, "budget_execution", style, as_of)
    for row in rows:
        writer.write(row)
    written = writer.close()
    assert written.rows == 2
    assert written.amount_yuan_total == Decimal("1234567.84")
    back = read_entity_file(path, as_of)
    assert back.header_line == (1 if style.title else 0)
    assert back.records[0]["project_code"] == "0640221"  # codes keep their zeros
    assert back.records[0]["amount_yuan"] == Decimal("1234567.89")
    assert back.records[1]["amount_yuan"] == Decimal("-0.05")
    assert back.records[1]["payee"] is None
    assert back.records[0]["payment_date"] == dt.date(2021, 3, 5)
