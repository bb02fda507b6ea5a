"""Row rules that span columns, and references to what was loaded before.

A rule looks at a few converted columns of a row and returns a Problem or None. Rules run
once per *distinct* combination of their columns in a batch (a million payments touch a
few thousand (fiscal_year, project_code) pairs), so they cost almost nothing per row.

References are checked against the effective data as of the delivery's date, through
``ops.effective_loads(as_of)``: the same snapshot semantics the marts use, including a
file of the same delivery loaded just before (entities load in dependency order).
Deliberately not reference-checked: pre_assessments (a project that was not supported
never enters the budget, so its assessment has no project row) and performance_targets
(targets are declared before the budget is approved; a target of a project that never
enters the budget simply never counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from budgetperf.ingest.columns import ERR, NULL, ErrorMap, csv_unfield, encode_text
from budgetperf.ingest.entities import LEVEL2_OF_LEVEL1, Entity
from budgetperf.ingest.values import Problem, quote

if TYPE_CHECKING:
    import psycopg

# which entities a file of each entity is checked against
REFERENCED: dict[str, tuple[str, ...]] = {
    "departments": (),
    "projects": ("departments",),
    "performance_targets": (),
    "pre_assessments": (),
    "budget_execution": ("projects",),
    "indicator_actuals": ("performance_targets",),
    "evaluations": ("projects", "departments"),
    "budget_requests": ("departments", "projects"),
}


@dataclass
class References:
    """The effective reference data as of one delivery date."""

    as_of: dt.date
    context: list[tuple[str, int, int]] = field(default_factory=list)  # entity, year, load
    departments: set[str] = field(default_factory=set)
    projects: set[tuple[int, str]] = field(default_factory=set)
    targets: dict[tuple[int, str, str], str] = field(default_factory=dict)  # -> comparator


def load_references(conn: psycopg.Connection, entity: str, as_of: dt.date) -> References:
    refs = References(as_of=as_of)
    wanted = REFERENCED[entity]
    if not wanted:
        return refs
    refs.context = [
        (str(r[0]), int(r[1]), int(r[2]))
        for r in conn.execute(
            "select entity, fiscal_year, load_id from ops.effective_loads(%s)"
            " where entity = any(%s) order by entity, fiscal_year",
            (as_of, list(wanted)),
        )
    ]
    if "departments" in wanted:
        refs.departments = {
            str(r[0])
            for r in conn.execute(
                "select d.department_code from raw.departments as d"
                " join ops.effective_loads(%s) as e"
                "   on e.entity = 'departments' and e.load_id = d.load_id",
                (as_of,),
            )
        }
    if "projects" in wanted:
        refs.projects = {
            (int(r[0]), str(r[1]))
            for r in conn.execute(
                "select p.fiscal_year, p.project_code from raw.projects as p"
                " join ops.effective_loads(%s) as e on e.entity = 'projects'"
                "   and e.load_id = p.load_id and e.fiscal_year = p.fiscal_year",
                (as_of,),
            )
        }
    if "performance_targets" in wanted:
        refs.targets = {
            (int(r[0]), str(r[1]), str(r[2])): str(r[3])
            for r in conn.execute(
                "select t.fiscal_year, t.project_code, t.indicator_code, t.comparator"
                " from raw.performance_targets as t"
                " join ops.effective_loads(%s) as e on e.entity = 'performance_targets'"
                "   and e.load_id = t.load_id and e.fiscal_year = t.fiscal_year",
                (as_of,),
            )
        }
    return refs


Check = Callable[[tuple[bytes, ...]], Problem | None]
RowErrors = dict[int, list[tuple[str, Problem]]]


@dataclass(frozen=True)
class RowRule:
    columns: tuple[str, ...]
    report_column: str  # the column a reject names
    check: Check

    def apply(self, converted: dict[str, list[bytes]], errors: RowErrors) -> None:
        columns = [converted[c] for c in self.columns]
        first = columns[0]
        if len(columns) > 1 and first and first.count(first[0]) == len(first):
            # one value in the leading column (one fiscal year per file, typically): the
            # distinct combinations are that value with the distinct rest, far cheaper
            # than building a tuple per row
            head = first[0]
            rest = list(zip(*columns[1:], strict=True)) if len(columns) > 2 else columns[1]
            distinct = {(head, *r) if len(columns) > 2 else (head, r) for r in set(rest)}
        else:
            distinct = set(zip(*columns, strict=True))
        verdicts: dict[tuple[bytes, ...], Problem] = {}
        for combo in distinct:
            if ERR in combo:
                continue  # the cell itself was refused: already reported
            problem = self.check(combo)
            if problem is not None:
                verdicts[combo] = problem
        if verdicts:
            for index, combo in enumerate(zip(*columns, strict=True)):
                problem = verdicts.get(combo)
                if problem is not None:
                    errors.setdefault(index, []).append((self.report_column, problem))


def apply_column_errors(column: str, column_errors: ErrorMap, errors: RowErrors) -> None:
    for index, problem in column_errors.items():
        errors.setdefault(index, []).append((column, problem))


def row_rules(entity: Entity, refs: References, encoding: str) -> list[RowRule]:
    """The cross-column and reference rules of one entity, for a file in ``encoding``."""
    codec = "utf-8" if encoding.startswith("utf-8") else encoding

    def text(value: bytes) -> str:
        return csv_unfield(value.decode(codec))

    def enc(value: str) -> bytes:
        return encode_text(value, codec)

    as_of = refs.as_of.isoformat()
    departments = {enc(code) for code in refs.departments}
    projects = {(str(year).encode(), enc(code)) for year, code in refs.projects}
    targets: dict[tuple[bytes, ...], str] = {
        (str(year).encode(), enc(project), enc(indicator)): comparator
        for (year, project, indicator), comparator in refs.targets.items()
    }

    def department_exists(combo: tuple[bytes, ...]) -> Problem | None:
        (code,) = combo
        if code in departments:
            return None
        return Problem(
            "reference",
            f"部门 {quote(text(code))} 不存在（截至 {as_of} 的部门名录中没有）",
            f"department {quote(text(code))} is not a known department (as of {as_of})",
        )

    def project_exists(combo: tuple[bytes, ...]) -> Problem | None:
        year, code = combo
        if (year, code) in projects:
            return None
        return Problem(
            "reference",
            f"项目 {quote(text(code))} 不是 {year.decode()} 年度的项目（截至 {as_of}）",
            f"project {quote(text(code))} is not a project of fiscal year "
            f"{year.decode()} (as of {as_of})",
        )

    def payment_in_year(combo: tuple[bytes, ...]) -> Problem | None:
        year, day = combo
        if day[:4] == year:
            return None
        return Problem(
            "range",
            f"{day.decode()} 不在预算年度 {year.decode()} 内",
            f"{day.decode()} is outside fiscal year {year.decode()}",
        )

    def target_given(combo: tuple[bytes, ...]) -> Problem | None:
        comparator, target = combo
        if target != NULL or comparator == b"qualitative":
            return None
        return Problem(
            "required",
            f"比较方式为 {comparator.decode()} 时目标值必填（仅定性指标可不填）",
            f"is required when the comparator is {comparator.decode()} "
            "(only qualitative indicators may leave it blank)",
        )

    def level2_fits(combo: tuple[bytes, ...]) -> Problem | None:
        level1, level2 = combo
        if level2 == NULL or level2.decode() in LEVEL2_OF_LEVEL1[level1.decode()]:
            return None
        return Problem(
            "reference_value",
            f"二级指标 {level2.decode()} 不属于一级指标 {level1.decode()}",
            f"level2 {level2.decode()} does not belong to level1 {level1.decode()}",
        )

    def indicator_declared(combo: tuple[bytes, ...]) -> Problem | None:
        if combo in targets:
            return None
        year, project, indicator = combo
        return Problem(
            "reference",
            f"指标 {quote(text(indicator))} 未在项目 {quote(text(project))} "
            f"{year.decode()} 年度的绩效目标中申报（截至 {as_of}）",
            f"indicator {quote(text(indicator))} is not declared in the {year.decode()} "
            f"targets of project {quote(text(project))} (as of {as_of})",
        )

    def qualitative_fraction(combo: tuple[bytes, ...]) -> Problem | None:
        comparator = targets.get(combo[:3])
        if comparator != "qualitative":
            return None
        value = Decimal(combo[3].decode())
        if 0 <= value <= 1:
            return None
        return Problem(
            "range",
            f"{combo[3].decode()} 超出范围：定性指标的实际完成值是 0–1 之间的完成比例",
            f"{combo[3].decode()} is out of range: a qualitative indicator reports its "
            "achievement as a fraction between 0 and 1",
        )

    def subject_exists(combo: tuple[bytes, ...]) -> Problem | None:
        year, subject_type, code = combo
        if subject_type == b"department":
            return department_exists((code,))
        return project_exists((year, code))

    def prior_project_exists(combo: tuple[bytes, ...]) -> Problem | None:
        budget_year, prior = combo
        if prior == NULL:
            return None
        year = str(int(budget_year) - 1).encode()
        if (year, prior) in projects:
            return None
        return Problem(
            "reference",
            f"上年项目 {quote(text(prior))} 不是 {year.decode()} 年度的项目（截至 {as_of}）",
            f"prior project {quote(text(prior))} is not a project of {year.decode()} "
            f"(as of {as_of})",
        )

    rules: dict[str, list[RowRule]] = {
        "departments": [],
        "projects": [RowRule(("department_code",), "department_code", department_exists)],
        "performance_targets": [
            RowRule(("comparator", "target_value"), "target_value", target_given),
            RowRule(("level1", "level2"), "level2", level2_fits),
        ],
        "pre_assessments": [],
        "budget_execution": [
            RowRule(("fiscal_year", "payment_date"), "payment_date", payment_in_year),
            RowRule(("fiscal_year", "project_code"), "project_code", project_exists),
        ],
        "indicator_actuals": [
            RowRule(
                ("fiscal_year", "project_code", "indicator_code"),
                "indicator_code",
                indicator_declared,
            ),
            RowRule(
                ("fiscal_year", "project_code", "indicator_code", "actual_value"),
                "actual_value",
                qualitative_fraction,
            ),
        ],
        "evaluations": [
            RowRule(("fiscal_year", "subject_type", "subject_code"), "subject_code", subject_exists)
        ],
        "budget_requests": [
            RowRule(("department_code",), "department_code", department_exists),
            RowRule(("budget_year", "prior_project_code"), "prior_project_code",
                    prior_project_exists),
        ],
    }  # fmt: skip
    return rules[entity.name]
