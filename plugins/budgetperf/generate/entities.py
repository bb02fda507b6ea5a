"""The shape of each delivered entity: column order and the kind of value in each column.

Rows travel through the generator as tuples in this column order, holding typed values
(str, int, fen as int, Decimal, date, bool, None); a file style turns them into text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# text: free text; code: an identifier kept as text; int: an integer (years);
# money: integer fen written as yuan with 2 decimals; decimal: a Decimal written plainly;
# date; flag: a bool; ref: a code of the reference domain named in Column.domain.
Kind = Literal["text", "code", "int", "money", "decimal", "date", "flag", "ref"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    domain: str | None = None


def _cols(*spec: tuple[str, Kind] | tuple[str, Kind, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


ENTITY_COLUMNS: dict[str, tuple[Column, ...]] = {
    "departments": _cols(
        ("department_code", "code"),
        ("department_name", "text"),
        ("kind", "ref", "kind"),
        ("sector", "text"),
        ("contact_email", "text"),
    ),
    "projects": _cols(
        ("fiscal_year", "int"),
        ("project_code", "code"),
        ("department_code", "code"),
        ("project_name", "text"),
        ("budget_type", "ref", "budget_type"),
        ("fund_source", "ref", "fund_source"),
        ("category", "ref", "category"),
        ("is_new", "flag"),
        ("budget_amount_yuan", "money"),
        ("is_monitored", "flag"),
        ("is_ppp", "flag"),
        ("is_debt", "flag"),
    ),
    "performance_targets": _cols(
        ("fiscal_year", "int"),
        ("project_code", "code"),
        ("indicator_code", "code"),
        ("level1", "ref", "level1"),
        ("level2", "ref", "level2"),
        ("indicator_name", "text"),
        ("comparator", "ref", "comparator"),
        ("target_value", "decimal"),
        ("unit", "text"),
        ("weight", "decimal"),
        ("declared_on", "date"),
        ("is_published", "flag"),
    ),
    "pre_assessments": _cols(
        ("project_code", "code"),
        ("fiscal_year", "int"),
        ("assessed_on", "date"),
        ("necessity", "decimal"),
        ("economy", "decimal"),
        ("target_rationality", "decimal"),
        ("feasibility", "decimal"),
        ("compliance", "decimal"),
        ("conclusion", "ref", "conclusion"),
    ),
    "budget_execution": _cols(
        ("record_id", "code"),
        ("fiscal_year", "int"),
        ("project_code", "code"),
        ("payment_date", "date"),
        ("amount_yuan", "money"),
        ("voucher_no", "code"),
        ("payee", "text"),
    ),
    "indicator_actuals": _cols(
        ("fiscal_year", "int"),
        ("project_code", "code"),
        ("indicator_code", "code"),
        ("as_of", "date"),
        ("actual_value", "decimal"),
    ),
    "evaluations": _cols(
        ("fiscal_year", "int"),
        ("subject_type", "ref", "subject_type"),
        ("subject_code", "code"),
        ("evaluator", "ref", "evaluator"),
        ("score", "decimal"),
        ("grade", "ref", "grade"),
        ("evaluated_on", "date"),
        ("report_quality_score", "decimal"),
    ),
    "budget_requests": _cols(
        ("budget_year", "int"),
        ("project_code", "code"),
        ("department_code", "code"),
        ("requested_yuan", "money"),
        ("prior_project_code", "code"),
    ),
}

ENTITIES: tuple[str, ...] = tuple(ENTITY_COLUMNS)

# The money column the manifest totals (DATA_CONTRACT.md: amount_yuan_total).
MONEY_COLUMN: dict[str, str] = {
    "projects": "budget_amount_yuan",
    "budget_execution": "amount_yuan",
    "budget_requests": "requested_yuan",
}


def column_index(entity: str, name: str) -> int:
    """Position of column ``name`` in the row tuples of ``entity``."""
    for i, col in enumerate(ENTITY_COLUMNS[entity]):
        if col.name == name:
            return i
    raise KeyError(f"{entity} has no column {name}")
