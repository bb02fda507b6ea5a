"""Performance targets (绩效目标) and their reported actuals (目标完成值).

A project declares output, benefit and satisfaction indicators weighted 50/30/10 (with
the 10 points of budget execution that makes the MoF's 100). Actuals follow the project's
health, so a lagging project's indicators lag too and the monitoring flags agree with
the spending flags.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from budgetperf.generate.catalog import CATEGORY_INDICATORS, GENERIC_INDICATORS, IndicatorTemplate
from budgetperf.generate.county import Project
from budgetperf.generate.money import apportion
from budgetperf.generate.payments import EXPECTED_BP
from budgetperf.generate.seeds import rng_for

COMPARATOR = {
    "count": ">=",
    "rate": ">=",
    "level": ">=",
    "satisfaction": ">=",
    "days": "<=",
    "unit_cost": "<=",
    "cost": "<=",
    "standard": "=",
    "qualitative": "qualitative",
}
LEVEL_WEIGHTS = {"output": 50, "benefit": 30, "satisfaction": 10}
MISSING_REPORT = (0.03, 0.03, 0.03, 0.01)  # share of indicators not reported at each point

ONE = Decimal(1)
CENT = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    level1: str
    level2: str | None
    name: str
    comparator: str
    target: Decimal | None
    unit: str | None
    weight: Decimal
    kind: str
    # Reported values at 06-30, 09-30, 11-30, 12-31 (None: not reported).
    actuals: tuple[Decimal | None, ...] = ()


def indicators_for(
    project: Project, seed: int, plan: tuple[int, int, int, int] | None = None
) -> list[Indicator]:
    """The declared indicators of ``project``; with ``plan`` (its spending plan), also the
    actuals reported at each point."""
    if not project.has_targets:
        return []
    # Targets and actuals draw from separate streams, so the declared targets are the
    # same whether or not the actuals are generated alongside.
    rng = rng_for(seed, project.code, "indicators")
    actual_rng = rng_for(seed, project.code, "actuals")
    chosen = _compose(project, rng)
    weights = _weights(chosen)
    progress = _progress(project, actual_rng)
    quality = _quality(project, actual_rng)
    out = []
    for n, (template, weight) in enumerate(zip(chosen, weights, strict=True), start=1):
        target = _target(template, project, rng)
        actuals: tuple[Decimal | None, ...] = ()
        if plan is not None:
            actuals = _actuals(template, target, progress, quality, plan, project, actual_rng)
        out.append(
            Indicator(
                code=f"{n:02d}",
                level1=template.level1,
                level2=template.level2,
                name=template.name,
                comparator=COMPARATOR[template.kind],
                target=target,
                unit=template.unit,
                weight=Decimal(weight),
                kind=template.kind,
                actuals=actuals,
            )
        )
    return out


def _compose(project: Project, rng: random.Random) -> list[IndicatorTemplate]:
    own = CATEGORY_INDICATORS.get(project.category, ())
    taken: list[IndicatorTemplate] = []

    def pick(level1: str, level2s: tuple[str | None, ...], k: int) -> None:
        def fits(t: IndicatorTemplate) -> bool:
            if t.level1 != level1 or t.level2 not in level2s or t in taken:
                return False
            # A project without money cannot declare a cost ceiling from its budget.
            return not (t.kind == "cost" and project.initial_budget_fen <= 0)

        for source in (own, GENERIC_INDICATORS):
            candidates = [t for t in source if fits(t)]
            while k > 0 and candidates:
                t = candidates.pop(rng.randrange(len(candidates)))
                taken.append(t)
                k -= 1

    pick("output", ("quantity",), rng.choice((1, 2, 2)))
    pick("output", ("quality",), 1)
    if rng.random() < 0.6:
        pick("output", ("timeliness",), 1)
    if rng.random() < 0.5:
        pick("output", ("cost",), 1)
    pick("benefit", ("economic", "social", "ecological", "sustainability"), rng.choice((1, 2, 2)))
    if rng.random() < 0.9:
        pick("satisfaction", (None,), 1)
    return taken


def _weights(chosen: list[IndicatorTemplate]) -> list[int]:
    has_satisfaction = any(t.level1 == "satisfaction" for t in chosen)
    budget = dict(LEVEL_WEIGHTS)
    if not has_satisfaction:
        budget["benefit"] += budget.pop("satisfaction")
    out = [0] * len(chosen)
    for level, points in budget.items():
        idx = [i for i, t in enumerate(chosen) if t.level1 == level]
        for i, w in zip(idx, apportion(points, [1] * len(idx)), strict=True):
            out[i] = w
    return out


def _nice(value: int) -> int:
    for step in (1000, 100, 10):
        if value >= step * 10:
            return value // step * step
    return value


def _target(template: IndicatorTemplate, project: Project, rng: random.Random) -> Decimal | None:
    kind = template.kind
    if kind == "qualitative":
        return None
    if kind == "cost":
        # The budget in 万元 (2 decimals: budgets are whole hundreds of yuan).
        return Decimal(project.initial_budget_fen).scaleb(-6).quantize(CENT)
    if kind == "standard":
        return Decimal(template.low)
    value = rng.randint(template.low, template.high)
    if kind in ("count", "unit_cost"):
        value = _nice(value)
    return Decimal(value)


def _progress(project: Project, rng: random.Random) -> list[float]:
    """Share of the year's output achieved by each point (for indicators that accumulate)."""
    u = rng.uniform
    expected = [bp / 10000 for bp in EXPECTED_BP]
    health = project.health
    if health == "late":
        raw = [u(0.25, 0.45), u(0.55, 0.7), u(0.85, 0.95), u(0.95, 1.05)]
    elif health == "lagging":
        raw = [e - u(0.12, 0.26) for e in expected[:3]] + [u(0.8, 0.93)]
    elif health == "serious":
        raw = [max(0.02, e - u(0.33, 0.45)) for e in expected[:3]] + [u(0.45, 0.75)]
    elif health == "cancelled":
        raw = [u(0.0, 0.1)] * 4
    else:
        raw = [e * u(0.92, 1.1) for e in expected[:3]] + [u(0.96, 1.08)]
    out: list[float] = []
    for value in raw:
        out.append(max(value, out[-1]) if out else value)
    return out


def _quality(project: Project, rng: random.Random) -> float:
    health = project.health
    if health == "lagging":
        return rng.uniform(0.92, 1.0)
    if health in ("serious", "cancelled"):
        return rng.uniform(0.8, 0.95)
    return rng.uniform(0.98, 1.02)


def _q(value: float, exp: Decimal) -> Decimal:
    return Decimal(repr(max(0.0, value))).quantize(exp, rounding=ROUND_HALF_UP)


def _actuals(
    template: IndicatorTemplate,
    target: Decimal | None,
    progress: list[float],
    quality: float,
    plan: tuple[int, int, int, int],
    project: Project,
    rng: random.Random,
) -> tuple[Decimal | None, ...]:
    kind = template.kind
    t = float(target) if target is not None else 1.0
    out: list[Decimal | None] = []
    running = 0.0
    for point, p in enumerate(progress):
        if rng.random() < MISSING_REPORT[point]:
            out.append(None)
            continue
        if project.health == "cancelled" and point > 0:
            out.append(None)  # a dropped project stops reporting
            continue
        value: Decimal | None
        if kind == "count":
            running = max(running, t * p * rng.uniform(0.95, 1.05))
            value = _q(running, ONE)
        elif kind == "qualitative":
            running = max(running, min(1.0, p * rng.uniform(0.95, 1.05)))
            value = _q(running, CENT)
        elif kind == "rate":
            value = _q(min(100.0, t * quality * rng.uniform(0.99, 1.01)), TENTH)
        elif kind == "level":
            value = _q(t * quality * rng.uniform(0.97, 1.1), ONE)
        elif kind == "days":
            value = _q(max(1.0, t * rng.uniform(0.6, 1.05) / quality), ONE)
        elif kind == "unit_cost":
            value = _q(t * rng.uniform(0.85, 1.02) / quality, ONE)
        elif kind == "standard":
            value = target if rng.random() < 0.95 else _q(t * 0.98, ONE)
        elif kind == "cost":
            # Money spent so far in 万元, from the same plan the payments realise.
            value = Decimal((plan[point] + 5_000) // 10_000).scaleb(-2)
        elif kind == "satisfaction":
            surveyed = point == 3 or (point == 2 and rng.random() < 0.4)
            value = (
                _q(min(100.0, t * quality * rng.uniform(1.0, 1.07)), TENTH) if surveyed else None
            )
        else:  # pragma: no cover - the catalog holds only the kinds above
            raise ValueError(f"unknown indicator kind {kind}")
        out.append(value)
    return tuple(out)


def completion(indicator: Indicator, actual: Decimal) -> Decimal | None:
    """R3's completion of one indicator (used to estimate the self-evaluation score)."""
    t = indicator.target
    if indicator.comparator == "qualitative":
        return actual
    if t is None:
        return None
    if indicator.comparator == ">=":
        return None if t == 0 else actual / t
    if indicator.comparator == "<=":
        return ONE if actual == 0 else t / actual
    if t == 0 and actual == 0:
        return ONE
    return min(actual, t) / max(actual, t)


def estimated_self_score(indicators: list[Indicator], spent: int, budget: int) -> Decimal | None:
    """The R4 self-evaluation score the data imply, rounded to 2 decimals."""
    if budget <= 0:
        return None
    rated_w: list[tuple[Decimal, Decimal]] = []
    for indicator in indicators:
        actual = indicator.actuals[-1] if indicator.actuals else None
        value = completion(indicator, actual) if actual is not None else None
        if value is not None:
            rated_w.append((indicator.weight, value))
    if not rated_w:
        return None
    execution = 10 * min(ONE, Decimal(spent) / Decimal(budget))
    total_w = sum((w for w, _ in rated_w), Decimal(0))
    achieved = sum((w * min(ONE, c) for w, c in rated_w), Decimal(0))
    return (execution + 90 * achieved / total_w).quantize(CENT, rounding=ROUND_HALF_UP)
