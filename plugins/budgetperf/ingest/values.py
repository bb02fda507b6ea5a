"""Parsers for one cell value: text in, canonical text for PostgreSQL out, or a Problem.

Canonical forms are what ``COPY ... (FORMAT csv)`` reads: ``2021-06-30`` for dates,
``t``/``f`` for flags, plain decimals without separators, reference codes. Each parser
accepts exactly the spellings of DATA_CONTRACT.md ("what real exports look like") and
explains a refusal in Chinese first, then English.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from budgetperf.ingest.entities import Column, Kind

YEAR_MIN, YEAR_MAX = 1990, 2100
# numeric(18, 2): 16 digits before the point
MONEY_INTEGER_DIGITS = 16


@dataclass(frozen=True)
class Problem:
    """Why a value (or a row) is refused: a rule name and a reason in both languages."""

    rule: str  # parse | required | reference_value | range | duplicate_key | reference | file
    zh: str
    en: str


class ValueProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.en)
        self.problem = problem


def quote(value: str, limit: int = 60) -> str:
    """A value as shown in a reason: quoted, control characters visible, long ones cut."""
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


def required_problem() -> Problem:
    return Problem("required", "必填，但为空", "is required but empty")


# -- dates --------------------------------------------------------------------------

_DATE_DASH = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# a spreadsheet that went through text sometimes appends a midnight time: harmless
_MIDNIGHT = re.compile(r"[ T]00:00(?::00(?:\.0+)?)?$")

DATE_SPELLINGS_ZH = "应为 2021-06-30、2021/6/30、20210630 或 2021年6月30日"
DATE_SPELLINGS_EN = "expected 2021-06-30, 2021/6/30, 20210630 or 2021年6月30日"


def parse_date(text: str) -> str:
    value = _MIDNIGHT.sub("", text)
    match = (
        _DATE_DASH.fullmatch(value)
        or _DATE_COMPACT.fullmatch(value)
        or _DATE_CHINESE.fullmatch(value)
    )
    if match is not None:
        groups = [g for g in match.groups() if g not in ("-", "/")]
        try:
            day = dt.date(int(groups[0]), int(groups[1]), int(groups[2]))
        except ValueError:
            day = None
        if day is not None and YEAR_MIN <= day.year <= YEAR_MAX:
            return day.isoformat()
    raise ValueProblem(
        Problem(
            "parse",
            f"{quote(text)} 不是有效日期（{DATE_SPELLINGS_ZH}）",
            f"{quote(text)} is not a valid date ({DATE_SPELLINGS_EN})",
        )
    )


# -- years ----------------------------------------------------------------------------

_YEAR = re.compile(r"(\d{4})(?:\s*年(?:度)?)?")


def parse_year(text: str) -> str:
    match = _YEAR.fullmatch(text)
    if match is not None and YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        return match.group(1)
    raise ValueProblem(
        Problem(
            "parse",
            f"{quote(text)} 不是有效年度（应为 {YEAR_MIN}–{YEAR_MAX} 之间的四位年份，如 2021）",
            f"{quote(text)} is not a valid year (expected a 4-digit year "
            f"{YEAR_MIN}-{YEAR_MAX}, e.g. 2021)",
        )
    )


# -- flags ----------------------------------------------------------------------------

_FLAGS = {
    "y": "t", "yes": "t", "是": "t", "true": "t", "1": "t",
    "n": "f", "no": "f", "否": "f", "false": "f", "0": "f",
}  # fmt: skip


def parse_flag(text: str) -> str:
    flag = _FLAGS.get(unicodedata.normalize("NFKC", text).lower())
    if flag is None:
        raise ValueProblem(
            Problem(
                "parse",
                f"{quote(text)} 不是有效的是/否值（应为 Y/N、是/否、true/false 或 1/0）",
                f"{quote(text)} is not a yes/no value (expected Y/N, 是/否, true/false or 1/0)",
            )
        )
    return flag


# -- reference values -----------------------------------------------------------------


def choice_lookup(column: Column) -> dict[str, str]:
    """Every accepted spelling of a reference column -> its code."""
    lookup: dict[str, str] = {}
    for code, labels in column.choices.items():
        lookup[code.lower()] = code
        for label in labels:
            lookup[unicodedata.normalize("NFKC", label).lower()] = code
    return lookup


def choices_text(column: Column) -> tuple[str, str]:
    zh = "、".join(
        f"{code}（{'/'.join(labels)}）" if labels else code
        for code, labels in column.choices.items()
    )
    en = ", ".join(
        f"{code} ({'/'.join(labels)})" if labels else code
        for code, labels in column.choices.items()
    )
    return zh, en


def parse_choice(text: str, column: Column, lookup: dict[str, str]) -> str:
    code = lookup.get(unicodedata.normalize("NFKC", text).lower())
    if code is None:
        zh, en = choices_text(column)
        raise ValueProblem(
            Problem(
                "reference_value",
                f"{quote(text)} 不是有效值，可选：{zh}",
                f"{quote(text)} is not a valid value; expected one of: {en}",
            )
        )
    return code


# -- numbers --------------------------------------------------------------------------

# thousands separators only in their proper places (1,234,567.89), or none at all
_NUMBER = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+|(?=\.\d))(?:\.(\d+))?")


def _number_parts(text: str) -> tuple[str, str, str] | None:
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    sign, integer, decimals = match.group(1), match.group(2), match.group(3) or ""
    return ("-" if sign == "-" else ""), integer.replace(",", "") or "0", decimals


def _check_range(value: Decimal, text: str, column: Column) -> None:
    if column.nonzero and value == 0:
        raise ValueProblem(Problem("range", "金额不能为 0", "amount must not be 0"))
    low, high = column.minimum, column.maximum
    if low is not None and column.exclusive_minimum and value <= low:
        raise ValueProblem(
            Problem("range", f"{text} 必须大于 {low}", f"{text} must be greater than {low}")
        )
    if low is not None and value < low and high is None:
        if low == 0:
            raise ValueProblem(
                Problem("range", f"{text} 不能为负数", f"{text} must not be negative")
            )
        raise ValueProblem(
            Problem("range", f"{text} 不能小于 {low}", f"{text} must not be less than {low}")
        )
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueProblem(
            Problem(
                "range",
                f"{text} 超出范围 {low}–{high}",
                f"{text} is outside the range {low}-{high}",
            )
        )


def parse_money(text: str, column: Column) -> str:
    """元 with at most 2 decimals; never rounded (a third decimal rejects the row)."""
    parts = _number_parts(text)
    if parts is None:
        raise ValueProblem(
            Problem(
                "parse",
                f"{quote(text)} 不是有效金额（应为以元计的数字，如 1234.56 或 1,234.56）",
                f"{quote(text)} is not an amount (expected yuan such as 1234.56 or 1,234.56)",
            )
        )
    sign, integer, decimals = parts
    if len(decimals) > 2:
        raise ValueProblem(
            Problem(
                "parse",
                f"{quote(text)} 超过 2 位小数（金额以元计，精确到分，不做四舍五入）",
                f"{quote(text)} has more than 2 decimals (yuan to the fen; never rounded)",
            )
        )
    if len(integer.lstrip("0")) > MONEY_INTEGER_DIGITS:
        raise ValueProblem(
            Problem("range", f"{quote(text)} 金额过大", f"{quote(text)} is too large an amount")
        )
    canonical = f"{sign}{integer}.{decimals}" if decimals else f"{sign}{integer}"
    _check_range(Decimal(canonical), text, column)
    return canonical


def parse_number(text: str, column: Column) -> str:
    parts = _number_parts(text)
    if parts is None:
        raise ValueProblem(
            Problem(
                "parse",
                f"{quote(text)} 不是有效数字",
                f"{quote(text)} is not a number",
            )
        )
    sign, integer, decimals = parts
    canonical = f"{sign}{integer}.{decimals}" if decimals else f"{sign}{integer}"
    _check_range(Decimal(canonical), text, column)
    return canonical


def money_or_none(text: str) -> Decimal | None:
    """The amount if it parses as money (any sign, zero included), for manifest totals."""
    parts = _number_parts(text.strip())
    if parts is None or len(parts[2]) > 2:
        return None
    sign, integer, decimals = parts
    try:
        return Decimal(f"{sign}{integer}.{decimals or '0'}")
    except InvalidOperation:
        return None


def parse_value(text: str, column: Column, lookup: dict[str, str] | None = None) -> str:
    """Dispatch on the column's kind; ``text`` is already stripped and non-empty."""
    kind = column.kind
    if kind is Kind.TEXT:
        return text
    if kind is Kind.YEAR:
        return parse_year(text)
    if kind is Kind.DATE:
        return parse_date(text)
    if kind is Kind.FLAG:
        return parse_flag(text)
    if kind is Kind.CHOICE:
        return parse_choice(text, column, lookup if lookup is not None else choice_lookup(column))
    if kind is Kind.MONEY:
        return parse_money(text, column)
    return parse_number(text, column)
