"""Streams: a county model turned into the rows of each delivered entity.

Each stream yields tuples in the column order of entities.ENTITY_COLUMNS, with typed
values (fen as int, Decimal, date, bool, None). Streams are generators, so a whole year of
payments never sits in memory: each project's records are made, written and dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

from budgetperf.generate.county import FISCAL_YEAR, CountyModel, Project, score_between
from budgetperf.generate.indicators import estimated_self_score, indicators_for
from budgetperf.generate.money import BUDGET_STEP_FEN
from budgetperf.generate.payments import checkpoints, payments, spending_plan
from budgetperf.generate.seeds import rng_for
from budgetperf.generate.workdays import workdays_between

Row = tuple[object, ...]
Stream = Callable[[CountyModel, int], Iterator[Row]]


def grade_of(score: Decimal) -> str:
    """The MoF band of a (rounded) score: 优 >= 90, 良 >= 80, 中 >= 60, else 差."""
    if score >= 90:
        return "excellent"
    if score >= 80:
        return "good"
    if score >= 60:
        return "fair"
    return "poor"


def _days(year: int, first: tuple[int, int], last: tuple[int, int]) -> tuple[dt.date, ...]:
    return workdays_between(dt.date(year, *first), dt.date(year, *last))


def departments(model: CountyModel, seed: int) -> Iterator[Row]:
    for d in model.departments:
        yield (d.code, d.name, d.kind, d.sector, d.email)


def departments_year_end(model: CountyModel, seed: int) -> Iterator[Row]:
    """The year-end re-delivery: the same units, a few contacts changed."""
    for d in model.departments:
        yield (d.code, d.name, d.kind, d.sector, model.email_changes.get(d.code, d.email))


def _project_row(p: Project, budget: int) -> Row:
    return (
        p.fiscal_year,
        p.code,
        p.department.code,
        p.name,
        p.budget_type,
        p.fund_source,
        p.category,
        p.is_new,
        budget,
        p.is_monitored,
        p.is_ppp,
        p.is_debt,
    )


def projects_initial(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        for p in model.projects[year]:
            yield _project_row(p, p.initial_budget_fen)

    return stream


def projects_adjusted(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        for p in model.projects[year]:
            yield _project_row(p, p.budget_fen)

    return stream


def targets(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        declare_days = _days(year - 1, (10, 15), (12, 20))
        for p in model.projects[year]:
            if not p.has_targets:
                continue
            rng = rng_for(seed, p.code, "declared")
            declared = declare_days[rng.randrange(len(declare_days))]
            # Most units publish all their targets; a few hold some back.
            all_published = rng.random() < 0.93
            for i in indicators_for(p, seed):
                published = all_published or rng.random() < 0.5
                yield (
                    year,
                    p.code,
                    i.code,
                    i.level1,
                    i.level2,
                    i.name,
                    i.comparator,
                    i.target,
                    i.unit,
                    i.weight,
                    declared,
                    published,
                )

    return stream


def pre_assessments(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        days = _days(year - 1, (9, 1), (11, 30))
        assessed = [p.code for p in model.projects[year] if p.is_new and p.pre_assessed]
        rejected = model.rejected_proposals.get(year, [])
        for code in assessed + rejected:
            rng = rng_for(seed, code, "pre_assessment")
            is_rejected = code in rejected
            # Five dimensions of 0-20 in half points; a rejected proposal scores low.
            low, high = (12, 23) if is_rejected else (28, 40)
            dims = [Decimal(rng.randint(low, high)) / 2 for _ in range(5)]
            total = sum(dims, Decimal(0))
            if is_rejected:
                conclusion = "reject"
            elif total >= 85:
                conclusion = "support"
            else:
                conclusion = "support_after_adjustment"
            yield (code, year, days[rng.randrange(len(days))], *dims, conclusion)

    return stream


def execution(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        for p in model.projects[year]:
            yield from payments(p, seed)

    return stream


def actuals(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        points = checkpoints(year)
        for p in model.projects[year]:
            if not p.has_targets:
                continue
            for i in indicators_for(p, seed, spending_plan(p, seed)):
                for point, value in zip(points, i.actuals, strict=True):
                    if value is not None:
                        yield (year, p.code, i.code, point, value)

    return stream


def evaluations(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        self_days = _days(year, (12, 1), (12, 20))
        review_days = _days(year, (12, 15), (12, 30))
        for p in model.projects[year]:
            rng = rng_for(seed, p.code, "evaluation")
            if p.budget_fen > 0 and p.has_targets and rng.random() < 0.92:
                plan = spending_plan(p, seed)
                estimate = estimated_self_score(
                    indicators_for(p, seed, plan), plan[-1], p.budget_fen
                )
                if estimate is not None:
                    # A unit's own score is near what its data say, never above 100.
                    score = min(
                        Decimal(100), max(Decimal(0), estimate + score_between(rng, 0, 5) - 3)
                    )
                    grade = grade_of(score) if rng.random() < 0.85 else None
                    yield (
                        year,
                        "project",
                        p.code,
                        "self",
                        score,
                        grade,
                        rng.choice(self_days),
                        None,
                    )
            for evaluator, score_or_none in (
                ("finance", p.finance_score),
                ("third_party", p.third_party_score),
            ):
                if score_or_none is not None:
                    quality = Decimal(rng.randint(800, 960)).scaleb(-1)
                    yield (
                        year,
                        "project",
                        p.code,
                        evaluator,
                        score_or_none,
                        grade_of(score_or_none),
                        rng.choice(review_days),
                        quality,
                    )
        for e in model.department_evaluations:
            rng = rng_for(seed, e.department.code, e.evaluator, "department_evaluation")
            review: Decimal | None = None
            if e.evaluator != "self":
                review = Decimal(rng.randint(850, 960)).scaleb(-1)
            yield (
                year,
                "department",
                e.department.code,
                e.evaluator,
                e.score,
                grade_of(e.score),
                rng.choice(review_days),
                review,
            )

    return stream


def requests(year: int) -> Stream:
    def stream(model: CountyModel, seed: int) -> Iterator[Row]:
        for p in model.projects[year]:
            rng = rng_for(seed, p.code, "request")
            # Units ask for more than they get; some ask exactly what is approved.
            requested = p.budget_fen
            if rng.random() < 0.7:
                asked = int(p.budget_fen * rng.uniform(1.0, 1.15))
                requested = -(-asked // BUDGET_STEP_FEN) * BUDGET_STEP_FEN
            prior = p.prior.code if p.prior is not None else None
            yield (year, p.code, p.department.code, requested, prior)

    return stream


STREAMS: dict[str, Stream] = {
    "departments": departments,
    "departments_year_end": departments_year_end,
    "projects_2021": projects_initial(FISCAL_YEAR),
    "projects_2021_adjusted": projects_adjusted(FISCAL_YEAR),
    "projects_2022": projects_initial(FISCAL_YEAR + 1),
    "targets_2021": targets(FISCAL_YEAR),
    "targets_2022": targets(FISCAL_YEAR + 1),
    "pre_assessments_2021": pre_assessments(FISCAL_YEAR),
    "pre_assessments_2022": pre_assessments(FISCAL_YEAR + 1),
    "execution_2021": execution(FISCAL_YEAR),
    "actuals_2021": actuals(FISCAL_YEAR),
    "evaluations_2021": evaluations(FISCAL_YEAR),
    "requests_2022": requests(FISCAL_YEAR + 1),
}
