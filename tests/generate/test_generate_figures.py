"""The report's figures, computed from the generated files the way the marts define them
(DOMAIN.md R9). The lead's end-to-end tests assert the same through the real marts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from generate_readback import BY, FY, MONITORING_POINTS, POINTS, YEAR_END, Generated

from budgetperf.generate import PINGLUO_2021

pytestmark = pytest.mark.xdist_group("generate")
F = PINGLUO_2021


def _with_targets(g: Generated, year: int, point: object) -> set[object]:
    return {
        t["project_code"]
        for t in g.landing.effective("performance_targets", point)  # type: ignore[arg-type]
        if t["fiscal_year"] == year
    }


@pytest.mark.parametrize("point", POINTS)
def test_247_new_projects_pre_assessed(pingluo: Generated, point: object) -> None:
    projects = [p for p in pingluo.landing.effective("projects", point) if p["fiscal_year"] == FY]  # type: ignore[arg-type]
    assessed = {
        a["project_code"]
        for a in pingluo.landing.effective("pre_assessments", point)  # type: ignore[arg-type]
        if a["fiscal_year"] == FY
    }
    pre_assessed = [p for p in projects if p["is_new"] and p["project_code"] in assessed]
    assert len(pre_assessed) == F.pre_assessed == 247
    # Some new projects went without, and some proposals were assessed but never funded.
    assert len([p for p in projects if p["is_new"]]) > 247
    assert len(assessed) > 247


def test_two_departments_evaluated_as_a_whole_for_2_13_yi(pingluo: Generated) -> None:
    evaluations = pingluo.landing.effective("evaluations", YEAR_END)
    departments = {
        e["subject_code"]
        for e in evaluations
        if e["subject_type"] == "department" and e["fiscal_year"] == FY
    }
    assert len(departments) == F.departments_evaluated == 2
    projects = [
        p for p in pingluo.landing.effective("projects", YEAR_END) if p["fiscal_year"] == FY
    ]
    money = sum(
        (p["budget_amount_yuan"] for p in projects if p["department_code"] in departments),
        Decimal(0),
    )
    low, high = F.departments_evaluated_yuan_range
    assert low <= money < high
    assert (money / 100_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal(
        "2.13"
    )


def test_2022_county_funds_118_departments_619_targets_79862_92_wan(pingluo: Generated) -> None:
    declared = _with_targets(pingluo, BY, YEAR_END)
    county = [
        p
        for p in pingluo.landing.effective("projects", YEAR_END)
        if p["fiscal_year"] == BY and p["fund_source"] == "county" and p["project_code"] in declared
    ]
    assert len(county) == F.county_targets == 619
    assert len({p["department_code"] for p in county}) == F.county_target_departments == 118
    total = sum((p["budget_amount_yuan"] for p in county), Decimal(0))
    assert total == F.county_target_yuan == Decimal("798629200.00")


def test_2022_transfers_23_targets_10781_77_wan(pingluo: Generated) -> None:
    declared = _with_targets(pingluo, BY, YEAR_END)
    transfers = [
        p
        for p in pingluo.landing.effective("projects", YEAR_END)
        if p["fiscal_year"] == BY
        and p["fund_source"] in ("central_transfer", "region_transfer")
        and p["project_code"] in declared
    ]
    assert len(transfers) == F.transfer_targets == 23
    assert {p["fund_source"] for p in transfers} == {"central_transfer", "region_transfer"}
    total = sum((p["budget_amount_yuan"] for p in transfers), Decimal(0))
    assert total == F.transfer_target_yuan == Decimal("107817700.00")


@pytest.mark.parametrize("point", MONITORING_POINTS)
def test_79_monitored_projects_93794_72_wan_at_every_checkpoint(
    pingluo: Generated, point: object
) -> None:
    monitored = [
        p
        for p in pingluo.landing.effective("projects", point)  # type: ignore[arg-type]
        if p["fiscal_year"] == FY and p["is_monitored"]
    ]
    assert len(monitored) == F.monitored == 79
    total = sum((p["budget_amount_yuan"] for p in monitored), Decimal(0))
    assert total == F.monitored_yuan == Decimal("937947200.00")
    names = {p["project_name"] for p in monitored}
    assert {"城乡义务教育补助经费", "道路交通安全隐患治理"} <= names


@pytest.mark.parametrize("year", [FY, BY])
def test_nine_categories_13_departments_7_sectors(pingluo: Generated, year: int) -> None:
    declared = _with_targets(pingluo, year, YEAR_END)
    special = [
        p
        for p in pingluo.landing.effective("projects", YEAR_END)
        if p["fiscal_year"] == year and p["category"] != "other" and p["project_code"] in declared
    ]
    assert len({p["category"] for p in special}) == F.special_categories == 9
    codes = {p["department_code"] for p in special}
    assert len(codes) == F.special_departments == 13
    departments = {
        d["department_code"]: d for d in pingluo.landing.effective("departments", YEAR_END)
    }
    sectors = {departments[c]["sector"] for c in codes}
    assert None not in sectors
    assert len(sectors) == F.special_sectors == 7
