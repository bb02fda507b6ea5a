"""Source values -> the text of a delivery cell, and source names -> contract columns.

A pulled file must be byte-identical whenever the source holds the same data, so every
value has exactly one spelling: dates ``2021-06-30``, flags ``Y``/``N``, numbers in plain
notation (never ``1E+2``), text as the source gave it. Nothing is interpreted beyond
that: a reference label stays the label (the loader accepts labels), and a value the
loader will refuse still reaches it, where it is rejected with a reason people can see.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgetperf.ingest.entities import HEADER_ALIASES, Entity, Kind, normalize_header
from budgetperf.ingest.values import ValueProblem, parse_date


class CellError(ValueError):
    """A source value that has no cell spelling (binary data, a nested object, NaN)."""


def _decimal(value: Decimal, kind: Kind) -> str:
    if not value.is_finite():
        raise CellError(f"{value} is not a finite number")
    return format(value, "f")


def _float(value: float, kind: Kind) -> str:
    if not math.isfinite(value):
        raise CellError(f"{value} is not a finite number")
    # repr is the shortest text that reads back as the same float: stable, exact
    return format(Decimal(repr(value)), "f")


def _datetime(value: dt.datetime, kind: Kind) -> str:
    # the contract's dates are days: a timestamp in a date column is its day
    if kind is Kind.DATE:
        return value.date().isoformat()
    return value.isoformat(sep=" ")


# by exact type: one dict lookup per cell instead of a chain of isinstance checks (the
# pull formats every cell of every row)
_BY_TYPE: dict[type, Any] = {
    bool: lambda value, kind: "Y" if value else "N",
    int: lambda value, kind: str(value),
    Decimal: _decimal,
    float: _float,
    dt.date: lambda value, kind: value.isoformat(),
    dt.datetime: _datetime,
}


def cell_text(value: Any, kind: Kind) -> str:
    """The one spelling of ``value`` in a column of ``kind``."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    format_as = _BY_TYPE.get(type(value))
    if format_as is not None:
        return str(format_as(value, kind))
    return _other(value, kind)


def _other(value: Any, kind: Kind) -> str:
    """Subclasses and everything else, in the same order of precedence."""
    if isinstance(value, str):
        return str(value)
    for base in (bool, int, Decimal, float, dt.datetime, dt.date):
        if isinstance(value, base):
            return str(_BY_TYPE[base](value, kind))
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise CellError("binary data cannot be a cell")
    if isinstance(value, (dict, list, tuple, set)):
        raise CellError(f"a nested {type(value).__name__} cannot be a cell")
    return str(value)


def cutoff_day(value: Any) -> str | None:
    """The ISO day of a dated value, or None when it cannot be read as a date (such a row
    is kept: the loader rejects it visibly instead of the pull hiding it)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:  # the usual ISO spelling, without the regular expressions
                return dt.date.fromisoformat(text).isoformat()
            except ValueError:
                return None
        try:
            return parse_date(text)
        except ValueProblem:
            return None
    return None


def contract_name(name: str, entity: Entity) -> str | None:
    """The entity column a source column or field is named for: its English name or its
    Chinese label (the contract's headers), else None."""
    if name in entity.column_names:
        return name
    column = HEADER_ALIASES.get(normalize_header(name))
    return column if column in entity.column_names else None


@dataclass(frozen=True)
class ColumnPlan:
    """Where each contract column (and the incremental cursor) is in a source row."""

    positions: tuple[int | None, ...]  # per contract column: index in the source row
    cursor: int | None  # index of the incremental column, if any
    ignored: tuple[str, ...] = ()


def plan_columns(
    names: Sequence[str],
    entity: Entity,
    *,
    cursor: str | None = None,
    strict: bool = True,
) -> ColumnPlan:
    """Match the source's column names to the entity. ``strict`` (SQL, where a query names
    its columns on purpose): an unknown column is an error; lenient (HTTP, where APIs add
    fields of their own): unknown fields are ignored. Raises ValueError with the reason."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    cursor_at: int | None = None
    for index, name in enumerate(names):
        if cursor is not None and name == cursor:
            cursor_at = index
        column = contract_name(name, entity)
        if column is None:
            if name != cursor:
                ignored.append(name)
            continue
        if column in positions:
            raise ValueError(
                f"two source columns give {column}: {names[positions[column]]!r} and {name!r}"
            )
        positions[column] = index
    if strict and ignored:
        raise ValueError(
            f"column(s) {', '.join(map(repr, ignored))} are not columns of {entity.name}; "
            f"name each output column after the contract ({', '.join(entity.column_names)}) "
            "or its Chinese label"
        )
    missing = [c for c in entity.required_columns if c not in positions]
    if missing:
        found = ", ".join(map(repr, names)) or "none"
        raise ValueError(f"no column for required {', '.join(missing)} (columns returned: {found})")
    if cursor is not None and cursor_at is None:
        raise ValueError(f"the incremental column {cursor!r} is not among the columns returned")
    return ColumnPlan(
        positions=tuple(positions.get(c) for c in entity.column_names),
        cursor=cursor_at,
        ignored=tuple(ignored),
    )


def pick(row: Sequence[Any], plan: ColumnPlan) -> tuple[tuple[Any, ...], Any]:
    """(contract values in contract order, cursor value) of one source row."""
    values = tuple(None if i is None else row[i] for i in plan.positions)
    return values, (row[plan.cursor] if plan.cursor is not None else None)


def kinds(entity: Entity) -> tuple[Kind, ...]:
    return tuple(c.kind for c in entity.columns)


def row_cells(values: Iterable[Any], column_kinds: Sequence[Kind]) -> list[str]:
    return [cell_text(v, k) for v, k in zip(values, column_kinds, strict=True)]
