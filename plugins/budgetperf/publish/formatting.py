"""How figures are written for people: 万元 with two decimals as the county writes them
(79862.92 万元), rates as percentages, dates in Chinese, labels from the seeds.

Money stays Decimal here; rounding is half away from zero, like PostgreSQL's round().
Display rounding only: no rule is computed in this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
TEN_THOUSAND = Decimal(10000)
HUNDRED_MILLION = Decimal(100_000_000)
DASH = "—"


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected from the warehouse; be exact anyway
        return Decimal(repr(value))
    return Decimal(value)


def wan_decimal(yuan: Any) -> Decimal | None:
    """元 to 万元, rounded to the cent of 万元 (two decimals)."""
    amount = to_decimal(yuan)
    if amount is None:
        return None
    return (amount / TEN_THOUSAND).quantize(CENT, ROUND_HALF_UP)


def wan(yuan: Any) -> str:
    """元 to a 万元 figure as the county writes it: ``79862.92`` (no separators)."""
    amount = wan_decimal(yuan)
    return DASH if amount is None else f"{amount:f}"


def yi(yuan: Any) -> str:
    """元 to 亿元 with two decimals (the report's "2.13亿元")."""
    amount = to_decimal(yuan)
    if amount is None:
        return DASH
    return f"{(amount / HUNDRED_MILLION).quantize(CENT, ROUND_HALF_UP):f}"


def percent(rate: Any, places: int = 2) -> str:
    """A rate (0.4321) as ``43.21%``."""
    value = to_decimal(rate)
    if value is None:
        return DASH
    quantum = Decimal(1).scaleb(-places)
    return f"{(value * 100).quantize(quantum, ROUND_HALF_UP):f}%"


def points(gap: Any) -> str:
    """A gap between rates (0.0679) in percentage points: ``6.79``."""
    value = to_decimal(gap)
    if value is None:
        return DASH
    return f"{(value * 100).quantize(CENT, ROUND_HALF_UP):f}"


def number(value: Any) -> str:
    """A count or a measured value without trailing zeros: 12, 0.95, 1200."""
    amount = to_decimal(value)
    if amount is None:
        return DASH
    if amount == amount.to_integral_value():
        return f"{amount.quantize(Decimal(1)):f}"
    return f"{amount.normalize():f}"


def date_zh(day: dt.date | None) -> str:
    if day is None:
        return DASH
    return f"{day.year}年{day.month}月{day.day}日"


_DIGITS = "零一二三四五六七八九"


def cn_count(value: Any) -> str:
    """Small counts in Chinese numerals, as the report writes "九大类", "七个行业十三个部门";
    larger numbers stay in digits, as it writes "247个"."""
    n = int(value)
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class Labels:
    """Chinese labels of codes, from the seeds ``marts.reference_labels`` and ``marts.grades``."""

    by_domain: dict[str, dict[str, str]]

    def get(self, domain: str, code: Any) -> str:
        if code is None:
            return DASH
        return self.by_domain.get(domain, {}).get(str(code), str(code))


def load_labels(conn: Any) -> Labels:
    by_domain: dict[str, dict[str, str]] = {}
    for domain, code, label in conn.execute(
        "select domain, code, label_zh from marts.reference_labels"
    ):
        by_domain.setdefault(domain, {})[code] = label
    for grade, label in conn.execute("select grade, label_zh from marts.grades"):
        by_domain.setdefault("grade", {}).setdefault(grade, label)
    return Labels(by_domain)


def rows(conn: Any, query: str, params: Any = ()) -> list[dict[str, Any]]:
    """Rows of a query as dicts (column name -> value)."""
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(conn: Any, query: str, params: Any = ()) -> dict[str, Any] | None:
    found = rows(conn, query, params)
    return found[0] if found else None
