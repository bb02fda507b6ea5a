"""The figures of the report (DOMAIN.md) that the scenario reproduces exactly at scale 1.

Amounts are in yuan. The lead's end-to-end tests compare the marts with these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ReportFigures:
    fiscal_year: int
    budget_year: int
    pre_assessed: int
    departments_evaluated: int
    # Money of the evaluated departments, rounded to 亿元 with 2 decimals (2.13 亿元).
    departments_evaluated_yi: Decimal
    county_targets: int
    county_target_departments: int
    county_target_yuan: Decimal
    transfer_targets: int
    transfer_target_yuan: Decimal
    monitored: int
    monitored_yuan: Decimal
    special_categories: int
    special_departments: int
    special_sectors: int

    @property
    def departments_evaluated_yuan_range(self) -> tuple[Decimal, Decimal]:
        """[low, high) of the yuan totals that round (half up) to the 亿元 figure."""
        half = Decimal("0.005") * 100_000_000
        centre = self.departments_evaluated_yi * 100_000_000
        return centre - half, centre + half


PINGLUO_2021 = ReportFigures(
    fiscal_year=2021,
    budget_year=2022,
    pre_assessed=247,
    departments_evaluated=2,
    departments_evaluated_yi=Decimal("2.13"),
    county_targets=619,
    county_target_departments=118,
    county_target_yuan=Decimal("798629200.00"),
    transfer_targets=23,
    transfer_target_yuan=Decimal("107817700.00"),
    monitored=79,
    monitored_yuan=Decimal("937947200.00"),
    special_categories=9,
    special_departments=13,
    special_sectors=7,
)
