"""How a file spells its values: the ways real exports of the integration system vary,
every one of them valid under DATA_CONTRACT.md section 1."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from budgetperf.generate.entities import ENTITY_COLUMNS, Column
from budgetperf.generate.labels import COLUMN_LABELS, LEVEL_SUFFIX, REFERENCE_LABELS
from budgetperf.generate.money import format_fen

DateStyle = Literal["iso", "slash", "compact", "chinese"]


@dataclass(frozen=True)
class FileStyle:
    format: Literal["csv", "xlsx"] = "csv"
    encoding: Literal["utf-8", "utf-8-sig", "gb18030"] = "utf-8"  # CSV only
    header: Literal["en", "zh"] = "en"
    title: str | None = None  # a title row above the header
    refs: Literal["code", "label"] = "code"
    flags: tuple[str, str] = ("Y", "N")
    dates: DateStyle = "iso"
    thousands: bool = False  # 1,234.56
    # Level labels with (True) or without (False) the 指标 suffix; None: as DOMAIN.md.
    level_suffix: bool | None = None
    newline: str = "\r\n"
    notes: bool = False  # XLSX: a second sheet 说明, as exports often carry
    columns: tuple[str, ...] | None = None  # column order, when an export reorders them

    def as_csv(self) -> FileStyle:
        """The same spelling as a UTF-8 CSV (big entities at scale)."""
        return dataclasses.replace(self, format="csv", encoding="utf-8-sig")

    @property
    def description(self) -> str:
        encoding = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "gb18030": "GB18030"}[self.encoding]
        kind = "XLSX" if self.format == "xlsx" else f"CSV {encoding}"
        header = "中文表头" if self.header == "zh" else "English header"
        return f"{kind}, {header}" + (", title row" if self.title else "")


Formatter = Callable[[object], str]


def format_date(d: dt.date, style: DateStyle) -> str:
    if style == "iso":
        return d.isoformat()
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return f"{d.year:04d}{d.month:02d}{d.day:02d}"
    return f"{d.year}年{d.month}月{d.day}日"


def _ref_labels(column: Column, style: FileStyle) -> dict[str, str]:
    assert column.domain is not None
    labels = REFERENCE_LABELS[column.domain]
    if style.refs == "code":
        return {code: code for code in labels}
    if column.domain in ("level1", "level2") and style.level_suffix is not None:
        bare = {code: label.removesuffix(LEVEL_SUFFIX) for code, label in labels.items()}
        if style.level_suffix:
            return {code: label + LEVEL_SUFFIX for code, label in bare.items()}
        return bare
    return dict(labels)


def formatter(column: Column, style: FileStyle) -> Formatter:
    """The function that writes one value of ``column`` as text (None -> empty)."""
    kind = column.kind
    if kind == "money":
        thousands = style.thousands

        def money(v: object) -> str:
            return "" if v is None else format_fen(v, thousands=thousands)  # type: ignore[arg-type]

        return money
    if kind == "date":
        cache: dict[object, str] = {}
        date_style = style.dates

        def date(v: object) -> str:
            if v is None:
                return ""
            text = cache.get(v)
            if text is None:
                assert isinstance(v, dt.date)
                text = cache[v] = format_date(v, date_style)
            return text

        return date
    if kind == "flag":
        yes, no = style.flags
        return lambda v: "" if v is None else (yes if v else no)
    if kind == "decimal":

        def decimal(v: object) -> str:
            if v is None:
                return ""
            assert isinstance(v, Decimal)
            return format(v, "f")

        return decimal
    if kind == "ref":
        labels = _ref_labels(column, style)
        return lambda v: "" if v is None else labels[v]  # type: ignore[index]

    def text(v: object) -> str:
        if v.__class__ is str:
            return v  # type: ignore[return-value]
        return "" if v is None else str(v)

    return text


@dataclass(frozen=True)
class Layout:
    """Header cells, and for each written column its position in the row and formatter."""

    header: list[str]
    positions: list[int]
    formatters: list[Formatter]

    def __post_init__(self) -> None:
        # The hot path of a large run: one pass over prepared (position, formatter) pairs.
        object.__setattr__(self, "_pairs", tuple(zip(self.positions, self.formatters, strict=True)))

    def cells(self, row: tuple[object, ...]) -> list[str]:
        return [f(row[i]) for i, f in self._pairs]  # type: ignore[attr-defined]


def layout(entity: str, style: FileStyle) -> Layout:
    columns = ENTITY_COLUMNS[entity]
    names = [c.name for c in columns]
    order = list(style.columns) if style.columns else names
    if sorted(order) != sorted(names):
        raise ValueError(f"column order of {entity} must name each column once: {order}")
    positions = [names.index(n) for n in order]
    header = [COLUMN_LABELS[n] if style.header == "zh" else n for n in order]
    return Layout(header, positions, [formatter(columns[i], style) for i in positions])
