"""The county model: departments, the 2021 and 2022 projects and every designation that the
report's figures depend on (monitored, new and pre-assessed, evaluated, adjusted).

Everything random is drawn from one ``random.Random`` per county, seeded from the scenario
seed and the county's index, in a fixed order; nothing iterates a set or depends on hash
order, so a seed always yields the same county. Calibrated totals are split with integer
arithmetic (money.apportion) and hit to the fen.

Per-project detail that is large (payments, indicators, actuals) is not held here: the
streams regenerate it from a per-project seed when they write it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from budgetperf.generate.calibration import PINGLUO_2021, ReportFigures
from budgetperf.generate.catalog import (
    PROJECT_POOLS,
    TRANSFER_POOLS,
    ProjectTemplate,
    TransferTemplate,
)
from budgetperf.generate.money import BUDGET_STEP_FEN, apportion, lognormal_weights
from budgetperf.generate.names import EMAIL_DOMAIN, OTHER_COUNTIES, PINGLUO, UNITS, County, UnitSpec

FISCAL_YEAR = 2021
BUDGET_YEAR = 2022

# Projects the report names among the monitored ones: always present, always monitored.
FEATURED = ("城乡义务教育补助经费", "道路交通安全隐患治理")

# The shape of the year around the calibrated figures (not figures of the report).
COUNTY_PROJECTS_2021 = (600, 625)
TRANSFERS_2021 = 40
NEW_WITHOUT_PRE_ASSESSMENT_2021 = 13
WITHOUT_TARGETS_2021 = 12
ZERO_BUDGET_2021 = 2
ADJUSTED_2021 = 12  # of which 2 recovered to a budget of 0
OTHER_BUDGET_YUAN_2021 = (420_000_000, 500_000_000)
REJECTED_PRE_ASSESSMENTS = {2021: 6, 2022: 4}
FINANCE_EVALUATIONS = {"monitored": 24, "serious": 3, "lagging": 3}
THIRD_PARTY_EVALUATIONS = {"monitored": 10, "serious": 2}
PHASES = ("", "二", "三", "四", "五", "六", "七", "八", "九", "十")
WORKS = ("建设", "改造", "工程", "治理", "维修", "修缮", "整治")

# Relative budget size by template pool: a bureau's special funds dwarf a school's.
POOL_BUDGET_FACTOR = {
    "township": 0.6,
    "school": 0.35,
    "unit": 0.35,
    "culture_unit": 0.3,
    "agri_unit": 0.4,
    "hospital": 0.9,
    "census": 0.5,
}
SPECIAL_BUDGET_FACTOR = 1.6

HEALTH_SHARES = (("on_track", 0.72), ("late", 0.08), ("lagging", 0.13), ("serious", 0.07))


@dataclass(slots=True, eq=False)
class Department:
    code: str
    name: str
    kind: str
    sector: str | None
    email: str
    spec: UnitSpec
    county: County


@dataclass(slots=True, eq=False)
class Project:
    fiscal_year: int
    code: str
    department: Department
    name: str
    template: ProjectTemplate | TransferTemplate
    budget_type: str
    fund_source: str
    category: str
    is_ppp: bool = False
    is_debt: bool = False
    is_new: bool = False
    is_monitored: bool = False
    has_targets: bool = True
    budget_fen: int = 0  # effective at year-end, after budget adjustments
    initial_budget_fen: int = 0  # as first delivered
    # Spending and indicator profile through the year: on_track, late (catches up),
    # lagging, serious, overspent, no_budget (0 from the start), cancelled (recovered to 0).
    health: str = "on_track"
    prior: Project | None = None
    pre_assessed: bool = False
    finance_score: Decimal | None = None
    third_party_score: Decimal | None = None

    @property
    def is_transfer(self) -> bool:
        return self.fund_source != "county"

    @property
    def adjusted(self) -> bool:
        return self.budget_fen != self.initial_budget_fen


@dataclass(frozen=True, slots=True)
class DepartmentEvaluation:
    department: Department
    evaluator: str
    score: Decimal


@dataclass(eq=False)
class CountyModel:
    index: int
    code: str
    county: County
    departments: list[Department]
    projects: dict[int, list[Project]] = field(default_factory=dict)
    department_evaluations: list[DepartmentEvaluation] = field(default_factory=list)
    # Pre-assessed proposals that never entered the budget (conclusion 不予支持).
    rejected_proposals: dict[int, list[str]] = field(default_factory=dict)
    # Contacts that changed by the year-end re-delivery of departments.
    email_changes: dict[str, str] = field(default_factory=dict)


def county_code(index: int) -> str:
    """Pingluo's administrative division code; synthetic codes for the --scale copies."""
    return "640221" if index == 0 else f"9{index:05d}"


def county_of(index: int) -> County:
    return PINGLUO if index == 0 else OTHER_COUNTIES[(index - 1) % len(OTHER_COUNTIES)]


def build_county(seed: int, index: int, figures: ReportFigures = PINGLUO_2021) -> CountyModel:
    """The whole county for fiscal year 2021 and budget year 2022, calibrated to ``figures``."""
    rng = random.Random(f"budgetperf:{seed}:county:{index}")
    code = county_code(index)
    county = county_of(index)
    model = CountyModel(index, code, county, _departments(code, county))
    _Builder(model, rng, figures).build()
    return model


def _departments(code: str, county: County) -> list[Department]:
    short = county.name[:-1]
    domain = EMAIL_DOMAIN.format(pinyin=county.pinyin)
    out = []
    for spec in sorted(UNITS, key=lambda u: u.code):
        name = spec.name.format(county=county.name, short=short)
        email = f"{county.abbr}{spec.abbr}@{domain}"
        out.append(Department(code + spec.code, name, spec.kind, spec.sector, email, spec, county))
    return out


def score_between(rng: random.Random, low: int, high: int) -> Decimal:
    """A score with 2 decimals in ``[low, high)``."""
    return Decimal(rng.randrange(low * 100, high * 100)).scaleb(-2)


class _Builder:
    def __init__(self, model: CountyModel, rng: random.Random, figures: ReportFigures) -> None:
        self.model = model
        self.rng = rng
        self.figures = figures
        self.seq: dict[int, int] = {}

    def build(self) -> None:
        fy = self.figures.fiscal_year
        by = self.figures.budget_year
        p21 = self._projects_2021()
        self.model.projects[fy] = p21
        self._designate_2021(p21)
        self._budgets_2021(p21)
        self._health_2021(p21)
        self._evaluations_2021(p21)
        p22 = self._projects_2022(p21)
        self.model.projects[by] = p22
        self._budgets_2022(p22)
        for year in (fy, by):
            self.model.rejected_proposals[year] = [
                self._next_code(year, reserve=True) for _ in range(REJECTED_PRE_ASSESSMENTS[year])
            ]
        for dept in self.rng.sample(self.model.departments, 3):
            local, domain = dept.email.split("@")
            self.model.email_changes[dept.code] = f"{local}bgs@{domain}"

    # -- codes ---------------------------------------------------------------------------

    def _next_code(self, year: int, *, reserve: bool = False) -> str:
        # Proposals that never entered the budget get codes from a range of their own.
        key = year + 10_000 if reserve else year
        self.seq[key] = self.seq.get(key, 900_000 if reserve else 0) + 1
        return f"{self.model.code}{year % 100:02d}{self.seq[key]:06d}"

    # -- 2021 ----------------------------------------------------------------------------

    def _projects_2021(self) -> list[Project]:
        fy = self.figures.fiscal_year
        units = [d for d in self.model.departments if fy in d.spec.years]
        total = self.rng.randint(*COUNTY_PROJECTS_2021)
        counts = self._counts(units, total)
        projects: list[Project] = []
        for dept, n in zip(units, counts, strict=True):
            for template, name in _pick(
                self.rng, PROJECT_POOLS[dept.spec.pool], n, dept.spec.categories
            ):
                projects.append(self._county_project(fy, dept, template, name))
        projects.extend(self._transfers(fy, TRANSFERS_2021, {}))
        return projects

    def _counts(self, units: list[Department], total: int) -> list[int]:
        # Special departments declare at least one project per category and one more.
        minimums = [len(d.spec.categories) + 1 if d.spec.categories else 1 for d in units]
        noise = lognormal_weights(self.rng, len(units), 0.25)
        weights = [d.spec.weight * w for d, w in zip(units, noise, strict=True)]
        extra = apportion(total - sum(minimums), weights)
        return [m + e for m, e in zip(minimums, extra, strict=True)]

    def _county_project(
        self, year: int, dept: Department, template: ProjectTemplate, name: str
    ) -> Project:
        return Project(
            fiscal_year=year,
            code=self._next_code(year),
            department=dept,
            name=name,
            template=template,
            budget_type=template.budget_type,
            fund_source="county",
            category=template.category,
            is_ppp=template.ppp,
            is_debt=template.debt,
        )

    def _transfers(
        self, year: int, count: int, priors: dict[tuple[str, str], Project]
    ) -> list[Project]:
        """``count`` transfer projects; (department, fund) pairs of ``priors`` come first."""
        pairs = [
            (dept, t)
            for dept in self.model.departments
            for t in TRANSFER_POOLS.get(dept.spec.pool, ())
        ]
        featured = [p for p in pairs if p[1].name in FEATURED]
        continuing = [p for p in pairs if (p[0].code, p[1].name) in priors and p not in featured]
        rest = [p for p in pairs if p not in featured and p not in continuing]
        self.rng.shuffle(continuing)
        self.rng.shuffle(rest)
        chosen = (featured + continuing + rest)[:count]
        chosen.sort(key=lambda p: (p[0].code, p[1].name))
        out = []
        for dept, t in chosen:
            project = Project(
                fiscal_year=year,
                code=self._next_code(year),
                department=dept,
                name=t.name,
                template=t,
                budget_type="general_public",
                fund_source=t.source,
                category=t.category,
            )
            project.prior = priors.get((dept.code, t.name))
            out.append(project)
        return out

    def _designate_2021(self, projects: list[Project]) -> None:
        rng = self.rng
        evaluated = [d for d in self.model.departments if d.spec.evaluated]
        in_evaluated = {id(d) for d in evaluated}

        # Monitored (重点监控): the transfers outside the evaluated pilots, the featured
        # projects, then county special funds of the 13 departments, to exactly 79.
        transfers = [p for p in projects if p.is_transfer and id(p.department) not in in_evaluated]
        featured = [p for p in projects if p.name in FEATURED and not p.is_transfer]
        candidates = [
            p for p in projects if not p.is_transfer and p.category != "other" and p not in featured
        ]
        needed = self.figures.monitored - len(transfers) - len(featured)
        if needed < 0 or needed > len(candidates):
            raise ValueError("the county model cannot hold the monitored figure")
        for p in transfers + featured + rng.sample(candidates, needed):
            p.is_monitored = True

        # New projects (新增项目): county projects that are neither monitored nor a
        # must-have line (those are recurring by nature); 247 of them pre-assessed.
        new_pool = [
            p
            for p in projects
            if not p.is_transfer and not p.is_monitored and not getattr(p.template, "must", False)
        ]
        n_new = self.figures.pre_assessed + NEW_WITHOUT_PRE_ASSESSMENT_2021
        new = rng.sample(new_pool, n_new)
        for i, p in enumerate(new):
            p.is_new = True
            p.pre_assessed = i < self.figures.pre_assessed

        # Placeholders with no budget and no target yet, and small lines without a target.
        plain = [
            p
            for p in projects
            if not p.is_transfer
            and not p.is_monitored
            and not p.is_new
            and p.category == "other"
            and id(p.department) not in in_evaluated
            and not getattr(p.template, "must", False)
        ]
        chosen = rng.sample(plain, ZERO_BUDGET_2021 + WITHOUT_TARGETS_2021)
        for i, p in enumerate(chosen):
            p.has_targets = False
            if i < ZERO_BUDGET_2021:
                p.health = "no_budget"

    def _budgets_2021(self, projects: list[Project]) -> None:
        rng = self.rng
        step = BUDGET_STEP_FEN
        monitored = [p for p in projects if p.is_monitored]
        units = apportion(
            int(self.figures.monitored_yuan) * 100 // step,
            lognormal_weights(rng, len(monitored), 0.8),
            minimum=5_000,  # 50 万元
        )
        for p, u in zip(monitored, units, strict=True):
            p.budget_fen = u * step

        # The pilots of 部门整体支出绩效评价: their whole 2021 budget is set to a total
        # that rounds to the report's 2.13 亿元, kept clear of the rounding edges.
        evaluated = [p for p in projects if p.department.spec.evaluated]
        if any(p.is_monitored for p in evaluated):
            raise ValueError("evaluated departments must not hold monitored projects")
        low, high = self.figures.departments_evaluated_yuan_range
        margin = (high - low) / 5
        total_units = rng.randint(int(low + margin) // 100, int(high - margin) // 100)
        units = apportion(total_units, self._budget_weights(evaluated), minimum=100)
        for p, u in zip(evaluated, units, strict=True):
            p.budget_fen = u * step

        others = [
            p
            for p in projects
            if not p.is_monitored and not p.department.spec.evaluated and p.health != "no_budget"
        ]
        total_units = rng.randint(*OTHER_BUDGET_YUAN_2021) // 100
        units = apportion(total_units, self._budget_weights(others), minimum=100)
        for p, u in zip(others, units, strict=True):
            p.budget_fen = u * step

        for p in projects:
            p.initial_budget_fen = p.budget_fen

        # Budget adjustments delivered at 09-30: never a monitored project or an
        # evaluated department, so those figures hold at every checkpoint.
        adjustable = [p for p in others if p.has_targets and not p.is_new]
        for i, p in enumerate(rng.sample(adjustable, ADJUSTED_2021)):
            if i < 2:
                p.budget_fen = 0  # 收回: the project was dropped, its funds recovered
                p.health = "cancelled"
            else:
                factor = rng.uniform(0.6, 0.9) if i % 2 else rng.uniform(1.1, 1.3)
                p.budget_fen = max(1, round(p.initial_budget_fen // step * factor)) * step

    def _budget_weights(self, projects: list[Project]) -> list[int]:
        weights = lognormal_weights(self.rng, len(projects), 1.0)
        out = []
        for p, w in zip(projects, weights, strict=True):
            spec = p.department.spec
            factor = POOL_BUDGET_FACTOR.get(spec.pool, 1.0)
            if spec.categories and p.category != "other":
                factor = SPECIAL_BUDGET_FACTOR
            if p.is_transfer:
                factor = 3.0
            out.append(max(1, int(w * factor)))
        return out

    def _health_2021(self, projects: list[Project]) -> None:
        rng = self.rng
        for p in projects:
            if p.health in ("no_budget", "cancelled"):
                continue
            roll = rng.random()
            for health, share in HEALTH_SHARES:
                if roll < share:
                    p.health = health
                    break
                roll -= share
            else:
                p.health = "on_track"
        # One project pays out beyond its budget by year-end (an 超支 to be explained).
        plain = [
            p
            for p in projects
            if p.health == "on_track"
            and not p.is_monitored
            and not p.adjusted
            and not p.is_transfer
        ]
        rng.choice(plain).health = "overspent"

    def _evaluations_2021(self, projects: list[Project]) -> None:
        rng = self.rng
        funded = [p for p in projects if p.budget_fen > 0 and p.has_targets]
        monitored = [p for p in funded if p.is_monitored]
        serious = [p for p in funded if not p.is_monitored and p.health == "serious"]
        lagging = [p for p in funded if not p.is_monitored and p.health == "lagging"]

        finance = (
            rng.sample(monitored, FINANCE_EVALUATIONS["monitored"])
            + rng.sample(serious, FINANCE_EVALUATIONS["serious"])
            + rng.sample(lagging, FINANCE_EVALUATIONS["lagging"])
        )
        for p in finance:
            p.finance_score = self._graded_score(p)
        rest_monitored = [p for p in monitored if p.finance_score is None]
        rest_serious = [p for p in serious if p.finance_score is None]
        third = rng.sample(rest_monitored, THIRD_PARTY_EVALUATIONS["monitored"]) + rng.sample(
            rest_serious, THIRD_PARTY_EVALUATIONS["serious"]
        )
        for p in third:
            p.third_party_score = self._graded_score(p)
        # The report's results application needs 中 and 差 among the evaluated: the
        # serious projects evaluated by the finance bureau or a third party are graded so.
        graded_serious = [p for p in finance + third if p.health == "serious"]
        for i, p in enumerate(graded_serious):
            score = score_between(rng, 45, 60) if i % 2 == 0 else score_between(rng, 62, 78)
            if p.third_party_score is not None:
                p.third_party_score = score
            else:
                p.finance_score = score

        first, second = [d for d in self.model.departments if d.spec.evaluated]
        self.model.department_evaluations = [
            DepartmentEvaluation(first, "self", score_between(rng, 86, 92)),
            DepartmentEvaluation(first, "third_party", score_between(rng, 72, 79)),
            DepartmentEvaluation(second, "self", score_between(rng, 90, 96)),
            DepartmentEvaluation(second, "finance", score_between(rng, 83, 89)),
        ]

    def _graded_score(self, p: Project) -> Decimal:
        rng = self.rng
        if p.health in ("on_track", "overspent"):
            return score_between(rng, 90, 98) if rng.random() < 0.6 else score_between(rng, 82, 90)
        if p.health == "late":
            return score_between(rng, 80, 92)
        if p.health == "lagging":
            return score_between(rng, 80, 88) if rng.random() < 0.4 else score_between(rng, 65, 80)
        return score_between(rng, 50, 75)

    # -- 2022 ----------------------------------------------------------------------------

    def _projects_2022(self, p21: list[Project]) -> list[Project]:
        by = self.figures.budget_year
        rng = self.rng
        units = [d for d in self.model.departments if by in d.spec.years]
        if len(units) != self.figures.county_target_departments:
            raise ValueError(
                f"{len(units)} units hold 2022 county projects, the figure is "
                f"{self.figures.county_target_departments}"
            )
        counts = self._counts(units, self.figures.county_targets)
        by_dept: dict[str, list[Project]] = {}
        for p in p21:
            if not p.is_transfer and p.budget_fen > 0:
                by_dept.setdefault(p.department.code, []).append(p)

        projects: list[Project] = []
        for dept, n in zip(units, counts, strict=True):
            priors = self._prior_order(by_dept.get(dept.code, []), dept.spec.categories)
            n_cont = min(len(priors), n - round(n * rng.uniform(0.15, 0.35)))
            # New lines must be able to cover the special categories the continuing miss.
            while n_cont > 0 and len(_missing(priors[:n_cont], dept)) > n - n_cont:
                n_cont -= 1
            continuing = priors[:n_cont]
            for prior in continuing:
                template = prior.template
                assert isinstance(template, ProjectTemplate)
                project = self._county_project(by, dept, template, prior.name)
                project.prior = prior
                project.is_monitored = prior.is_monitored
                projects.append(project)
            covered = {p.template for p in continuing}
            missing = _missing(continuing, dept)
            pool = tuple(t for t in PROJECT_POOLS[dept.spec.pool] if not (t.must and t in covered))
            used = {p.name for p in continuing}
            for template, name in _pick(rng, pool, n - len(continuing), missing, used):
                project = self._county_project(by, dept, template, name)
                project.is_new = True
                project.pre_assessed = True
                projects.append(project)

        transfer_priors = {(p.department.code, p.name): p for p in p21 if p.is_transfer}
        transfers = self._transfers(by, self.figures.transfer_targets, transfer_priors)
        for t in transfers:
            t.is_monitored = t.prior is not None and t.prior.is_monitored
        return projects + transfers

    def _prior_order(self, priors: list[Project], categories: tuple[str, ...]) -> list[Project]:
        """Continuing lines first: must-have lines, one per special category, the graded."""
        rng = self.rng
        rest = list(priors)
        rng.shuffle(rest)
        order: list[Project] = []

        def take(p: Project) -> None:
            order.append(p)
            rest.remove(p)

        for p in list(rest):
            if getattr(p.template, "must", False) or p.name in FEATURED:
                take(p)
        for c in categories:
            if all(p.category != c for p in order):
                hit = next((p for p in rest if p.category == c), None)
                if hit is not None:
                    take(hit)
        for p in list(rest):
            if p.finance_score is not None or p.third_party_score is not None:
                take(p)
        return order + rest

    def _budgets_2022(self, projects: list[Project]) -> None:
        rng = self.rng
        step = BUDGET_STEP_FEN
        county = [p for p in projects if not p.is_transfer]
        transfers = [p for p in projects if p.is_transfer]
        typical = sorted(p.prior.budget_fen for p in county if p.prior is not None)
        median = typical[len(typical) // 2] if typical else 50 * step
        weights = []
        for p in county:
            if p.prior is not None:
                weights.append(int(p.prior.budget_fen * rng.lognormvariate(0.0, 0.2)) + 1)
            else:
                factor = POOL_BUDGET_FACTOR.get(p.department.spec.pool, 1.0)
                weights.append(int(median * factor * rng.lognormvariate(0.0, 0.9)) + 1)
        units = apportion(int(self.figures.county_target_yuan) * 100 // step, weights, minimum=100)
        for p, u in zip(county, units, strict=True):
            p.budget_fen = p.initial_budget_fen = u * step
        weights = [
            int((p.prior.budget_fen if p.prior else 3_000_000 * 100) * rng.lognormvariate(0, 0.3))
            + 1
            for p in transfers
        ]
        units = apportion(
            int(self.figures.transfer_target_yuan) * 100 // step, weights, minimum=1_000
        )
        for p, u in zip(transfers, units, strict=True):
            p.budget_fen = p.initial_budget_fen = u * step


def _repeat_name(name: str, cycle: int) -> str:
    """A line funded again in the same year: works get a phase (（二期）), funds a batch
    (（第二批）), the way allocations are named."""
    number = PHASES[cycle] if cycle < len(PHASES) else str(cycle + 1)
    if any(k in name for k in WORKS):
        return f"{name}（{number}期）"
    return f"{name}（第{number}批）"


def _missing(projects: list[Project], dept: Department) -> tuple[str, ...]:
    return tuple(c for c in dept.spec.categories if all(p.category != c for p in projects))


def _pick(
    rng: random.Random,
    pool: tuple[ProjectTemplate, ...],
    n: int,
    categories: tuple[str, ...],
    used: set[str] | None = None,
) -> list[tuple[ProjectTemplate, str]]:
    """``n`` (template, project name) pairs from ``pool``: must-have and featured templates
    first, then one of each required category, then the rest shuffled; a template used
    again becomes a later phase or batch, so names stay unique within the department."""
    if n <= 0:
        return []
    if not pool:
        pool = PROJECT_POOLS["unit"]
    first = [t for t in pool if t.must or t.name in FEATURED]
    rest = [t for t in pool if t not in first]
    rng.shuffle(rest)
    order = list(first)
    for c in categories:
        if all(t.category != c for t in order):
            hit = next((t for t in rest if t.category == c), None)
            if hit is not None:
                order.append(hit)
                rest.remove(hit)
    # Any unit also has the everyday lines (业务工作经费, 办公设备购置…): used before a
    # template repeats as a later phase, which only reads well for works.
    everyday = [t for t in PROJECT_POOLS["unit"] if t.name not in {x.name for x in pool}]
    rng.shuffle(everyday)
    order += rest + everyday
    taken = set(used or ())
    out: list[tuple[ProjectTemplate, str]] = []
    i = 0
    while len(out) < n:
        cycle, at = divmod(i, len(order))
        i += 1
        template = order[at]
        name = template.name if cycle == 0 else _repeat_name(template.name, cycle)
        if name in taken:
            continue
        taken.add(name)
        out.append((template, name))
    return out
