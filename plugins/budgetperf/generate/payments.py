"""Spending through the year: a project's plan (how much is paid by each point) and the
treasury payment records (支付流水) that realise it, reversals included.

The plan is what the monitoring figures see (R2): spent at 06-30, 09-30, 11-30 and 12-31
as a share of the budget, shaped by the project's health. Payments split each period's
increment exactly, so the records sum to the plan to the fen.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from functools import cache

from budgetperf.generate.county import Project
from budgetperf.generate.money import apportion, lognormal_weights
from budgetperf.generate.names import (
    PAYEE_BRANDS,
    PAYEE_PREFIXES,
    PAYEE_SUFFIXES,
    PAYEE_TRADES,
    UTILITY_PAYEES,
    VILLAGES,
)
from budgetperf.generate.seeds import rng_for
from budgetperf.generate.workdays import workdays_between

# expected(c) = month / 12 in basis points (R1): 0.5, 0.75, 11/12, 1.0
EXPECTED_BP = (5000, 7500, 9167, 10000)
REVERSAL_RATE = 0.004
PAYMENTS_PER_SQRT_WAN = 5.0  # payments ~ 5 * sqrt(budget in 万元)

Payment = tuple[str, int, str, dt.date, int, str, str | None]


def checkpoints(year: int) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """The monitoring checkpoints and the year-end point (R1)."""
    return (
        dt.date(year, 6, 30),
        dt.date(year, 9, 30),
        dt.date(year, 11, 30),
        dt.date(year, 12, 31),
    )


@cache
def _periods(year: int) -> tuple[tuple[dt.date, ...], ...]:
    points = checkpoints(year)
    starts = (dt.date(year, 1, 1), *(p + dt.timedelta(days=1) for p in points[:-1]))
    return tuple(workdays_between(s, e) for s, e in zip(starts, points, strict=True))


def spending_plan(project: Project, seed: int) -> tuple[int, int, int, int]:
    """Cumulative fen paid by each of the four points."""
    budget = project.budget_fen
    if budget <= 0 or project.health in ("no_budget", "cancelled"):
        return (0, 0, 0, 0)
    rng = rng_for(seed, project.code, "plan")
    u = rng.uniform
    health = project.health
    if health == "late":
        gaps = [u(2000, 3800), u(1300, 2500), u(0, 800)]
        final = u(9500, 10000)
    elif health == "lagging":
        gaps = [u(1200, 2800) for _ in range(3)]
        final = u(7500, 9000)
    elif health == "serious":
        gaps = [u(3300, 5000) for _ in range(3)]
        final = u(3500, 6800)
    else:  # on_track, overspent
        gaps = [u(-600, 900) for _ in range(3)]
        final = u(10100, 10300) if health == "overspent" else u(9300, 10000)
    rates: list[int] = []
    for expected, gap in zip(EXPECTED_BP, gaps, strict=False):
        rate = min(9990, max(0, int(expected - gap)))
        rates.append(max(rate, rates[-1]) if rates else rate)
    rates.append(max(int(final), rates[-1]))
    plan = [budget * r // 10000 for r in rates]
    return plan[0], plan[1], plan[2], plan[3]


def payee_pool(project: Project, rng: random.Random) -> list[str]:
    """The suppliers and recipients a project pays, by what kind of project it is."""
    county = project.department.county.name
    short = county[:-1]
    name = project.name

    def company(trade_kind: str) -> str:
        prefix = rng.choice(PAYEE_PREFIXES).format(county=county)
        trade = rng.choice(PAYEE_TRADES[trade_kind])
        return f"{prefix}{rng.choice(PAYEE_BRANDS)}{trade}{rng.choice(PAYEE_SUFFIXES)}"

    pool: list[str] = []
    if any(
        k in name for k in ("建设", "改造", "维修", "工程", "治理", "公路", "桥", "PPP", "债券")
    ):
        pool += [company("construction") for _ in range(rng.randint(1, 4))]
        pool.append(company("services"))
    if any(
        k in name for k in ("补贴", "补助", "救助", "津贴", "保险", "资助", "低保", "养老", "贴息")
    ):
        pool.append(f"宁夏黄河农村商业银行股份有限公司{short}支行（代发）")
        pool.append(f"中国农业银行股份有限公司{short}县支行（代发）")
    if project.department.kind == "township" or project.category in (
        "agriculture_forestry_water",
        "poverty_alleviation",
    ):
        pool += [f"{v}村民委员会" for v in rng.sample(VILLAGES, rng.randint(2, 5))]
        pool.append(company("agriculture"))
    if project.category == "education":
        pool += [
            f"{county}{s}"
            for s in rng.sample(
                ("第一小学", "第二小学", "第三小学", "第四中学", "第五中学", "第一幼儿园"), 3
            )
        ]
    if len(pool) < 3:
        pool += [company(rng.choice(("goods", "services"))) for _ in range(rng.randint(2, 5))]
        if rng.random() < 0.3:  # running costs: power, telecom, fuel, withheld tax
            pool.append(rng.choice(UTILITY_PAYEES).format(county=county))
    return pool


def payments(project: Project, seed: int) -> Iterator[Payment]:
    """The year's payment records of ``project``, in date order, with stable record ids."""
    plan = spending_plan(project, seed)
    if plan[-1] <= 0:
        return
    rng = rng_for(seed, project.code, "payments")
    pool = payee_pool(project, rng)
    n_total = max(
        2, round(PAYMENTS_PER_SQRT_WAN * (plan[-1] / 1_000_000) ** 0.5 * rng.uniform(0.6, 1.4))
    )
    # (date, order within the day, amount, payee): a reversal sorts after its payment.
    records: list[tuple[dt.date, int, int, str | None]] = []
    previous = 0
    for days, cumulative in zip(_periods(project.fiscal_year), plan, strict=True):
        increment = cumulative - previous
        previous = cumulative
        if increment <= 0:
            continue
        m = min(increment, max(1, round(n_total * increment / plan[-1])))
        minimum = min(10_000, increment // m)  # at least 100 yuan where the money allows
        amounts = apportion(increment, lognormal_weights(rng, m, 0.9), minimum=minimum)
        for amount in amounts:
            at = rng.randrange(len(days))
            # A few records come without a payee (internal transfers, fees).
            payee = rng.choice(pool) if rng.random() > 0.02 else None
            if rng.random() < REVERSAL_RATE:
                # A duplicate payment, reversed (冲销) a few working days later.
                undo = days[min(len(days) - 1, at + rng.randint(0, 6))]
                records.append((days[at], 0, amount, payee))
                records.append((undo, 1, -amount, payee))
            records.append((days[at], 0, amount, payee))
    records.sort(key=lambda r: (r[0], r[1]))
    per_month: dict[int, int] = {}
    year = project.fiscal_year
    for seq, (day, _order, amount, payee) in enumerate(records, start=1):
        per_month[day.month] = per_month.get(day.month, 0) + 1
        voucher = f"记-{day.month:02d}-{per_month[day.month]:04d}"
        yield (f"ZF{project.code}{seq:05d}", year, project.code, day, amount, voucher, payee)
