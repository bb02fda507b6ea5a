"""Tables for people and systems: XLSX (XlsxWriter) and CSV (UTF-8 with BOM), safely.

Every export goes through here, so every export is safe the same way:
- no live formulas: a text cell is always stored as a string (never ``<f>``), and text
  that starts like a formula (``= + - @``, tab, CR) also gets Excel's quote prefix, so
  editing the cell does not turn it into a formula either; in CSV such text gets a
  leading apostrophe (OWASP's CSV-injection advice);
- numbers stay numbers: a negative amount is a number, never "text starting with -";
- money is Decimal up to the cell: converted to float only when written into XLSX, and
  written exactly (``format(value, "f")``) into CSV;
- byte-stable: the same rows give the same file (a fixed document date; XlsxWriter
  fixes the zip entry times itself), so re-running an export does not make a file look
  changed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.publish.formatting import wan_decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FIXED_TIME = dt.datetime(2000, 1, 1)  # the document date: bytes must not change per run


def starts_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def neutralise(value: Any) -> Any:
    """For CSV: text that a spreadsheet would run gets a leading apostrophe. Only text:
    numbers (negative amounts included) pass unchanged."""
    if isinstance(value, str) and starts_like_formula(value):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    """One column of an export. ``kind`` says how a value is written:

    text, code (text, kept with leading zeros), int, wan (元 value shown in 万元),
    yuan (元, two decimals), rate (fraction shown as a percentage), points (a gap in
    percentage points), decimal (a measured value), date.
    """

    key: str
    header: str
    kind: str = "text"
    width: float | None = None


@dataclass
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    caption: str | None = None  # a title line above the header (the header stays frozen)
    notes: Sequence[str] = field(default_factory=tuple)  # lines below the table
    # rows (by index into ``rows``) shown as subtotal/total lines
    emphasised: frozenset[int] = frozenset()


def cell_value(column: Column, value: Any) -> Any:
    """The exact value a column holds (Decimal for money), before any file format."""
    if value is None:
        return None
    if column.kind == "wan":
        return wan_decimal(value)
    if column.kind in ("yuan", "rate", "points", "decimal"):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if column.kind == "int":
        return int(value)
    if column.kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return str(value)


def _csv_text(column: Column, value: Any) -> str:
    exact = cell_value(column, value)
    if exact is None:
        return ""
    if column.kind == "points":
        exact = exact * 100
    if isinstance(exact, Decimal):
        return format(exact, "f")
    if isinstance(exact, dt.date):
        return exact.isoformat()
    if isinstance(exact, int):
        return str(exact)
    return str(neutralise(exact))


def csv_bytes(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV with a BOM (so Excel reads it as UTF-8), headers in Chinese, exact values."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c.header) for c in columns])
    for row in rows:
        writer.writerow([_csv_text(c, row.get(c.key)) for c in columns])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


NUMBER_FORMATS = {
    "wan": "0.00",  # the county writes 79862.92, without separators
    "yuan": "0.00",
    "rate": "0.00%",
    "points": "0.00",
    "int": "0",
    "date": "yyyy-mm-dd",
}
BORDER_COLOUR = "#999999"
HEADER_FILL = "#DDE4EE"
TOTAL_FILL = "#F2F2F2"
# Above this many data rows a workbook is streamed through temporary files (XlsxWriter's
# constant_memory mode: a row is written out as soon as it is complete, strings inline).
# Below it the whole file is built in memory, which is what makes a one-sheet notice
# attachment cost about 2 ms instead of 8 (no temporary files).
STREAM_ABOVE_ROWS = 5_000


def workbook_bytes(sheets: Sequence[Sheet], *, title: str, when: dt.datetime = FIXED_TIME) -> bytes:
    """An XLSX file of the sheets: header in bold with a fill, frozen below the header,
    column widths set, totals emphasised.

    Written with XlsxWriter, which writes a text cell as a string (``write_string``: never
    a formula, whatever the text) and, with the creation date fixed, the same rows as the
    same bytes. Big workbooks (a province's disclosure: hundreds of thousands of
    indicator rows) stream row by row, so memory does not grow with the rows.
    """
    import xlsxwriter

    stream = sum(len(spec.rows) for spec in sheets) > STREAM_ABOVE_ROWS
    with tempfile.TemporaryDirectory(prefix="budgetperf-xlsx-") as scratch:
        target: Any = Path(scratch) / "workbook.xlsx" if stream else io.BytesIO()
        options = {"constant_memory": True, "tmpdir": scratch} if stream else {"in_memory": True}
        workbook = xlsxwriter.Workbook(target, options)
        workbook.set_properties({"title": title, "author": "budgetperf", "created": when})
        styles = _Styles(workbook)
        for spec in sheets:
            _write_sheet(workbook.add_worksheet(spec.title[:31]), spec, styles)
        workbook.close()
        return target.read_bytes() if stream else target.getvalue()


def _write_sheet(sheet: Any, spec: Sheet, styles: _Styles) -> None:
    width = len(spec.columns)
    for index, column in enumerate(spec.columns):
        sheet.set_column(index, index, column.width or _width(column))
    header_row = 1 if spec.caption else 0  # zero-based, as XlsxWriter counts
    sheet.freeze_panes(header_row + 1, 0)
    if spec.rows:
        sheet.autofilter(header_row, 0, header_row + len(spec.rows), width - 1)
    if spec.caption:
        if width > 1:
            sheet.merge_range(0, 0, 0, width - 1, spec.caption, styles.caption)
        else:
            sheet.write_string(0, 0, spec.caption, styles.caption)
    for index, column in enumerate(spec.columns):
        sheet.write_string(header_row, index, column.header, styles.header)
    row_number = header_row
    for position, record in enumerate(spec.rows):
        row_number += 1
        emphasised = position in spec.emphasised
        for index, column in enumerate(spec.columns):
            value = cell_value(column, record.get(column.key))
            if value is None:
                sheet.write_blank(row_number, index, None, styles.of("text", emphasised, False))
            elif isinstance(value, str):
                quoted = starts_like_formula(value)
                sheet.write_string(row_number, index, value, styles.of("text", emphasised, quoted))
            elif isinstance(value, dt.date):
                sheet.write_datetime(row_number, index, value, styles.of("date", emphasised, False))
            else:
                number = value * 100 if column.kind == "points" else value
                # XLSX stores numbers as doubles; the exact Decimal is kept in the CSV
                style = styles.of(column.kind, emphasised, False)
                sheet.write_number(row_number, index, float(number), style)
    if spec.notes:
        row_number += 1  # a blank line between the table and its notes
    for note in spec.notes:
        row_number += 1
        sheet.write_string(row_number, 0, note, styles.note(starts_like_formula(note)))


class _Styles:
    """The workbook's cell formats, each created once: XlsxWriter keeps one entry per
    format object, so a format per cell would bloat the file."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        border = {"border": 1, "border_color": BORDER_COLOUR}
        self.caption = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
        self.header = workbook.add_format(
            {**border, "bold": True, "bg_color": HEADER_FILL, "align": "center"}
            | {"valign": "vcenter", "text_wrap": True}
        )
        self.border = border
        self.known: dict[tuple[str, bool, bool], Any] = {}
        self.notes: dict[bool, Any] = {}

    def of(self, kind: str, emphasised: bool, quoted: bool) -> Any:
        key = (kind, emphasised, quoted)
        if key not in self.known:
            properties: dict[str, Any] = dict(self.border)
            if kind in NUMBER_FORMATS:
                properties["num_format"] = NUMBER_FORMATS[kind]
            if emphasised:
                properties |= {"bold": True, "bg_color": TOTAL_FILL}
            if quoted:
                # Excel's quote prefix: the text stays text when someone edits the cell
                properties["quote_prefix"] = True
            self.known[key] = self.workbook.add_format(properties)
        return self.known[key]

    def note(self, quoted: bool) -> Any:
        if quoted not in self.notes:
            self.notes[quoted] = self.workbook.add_format({"quote_prefix": quoted})
        return self.notes[quoted]


def _width(column: Column) -> float:
    by_kind = {"wan": 14, "yuan": 16, "rate": 10, "points": 10, "int": 8, "date": 12, "code": 16}
    base = by_kind.get(column.kind, 24)
    return float(max(base, min(40, len(column.header) * 2 + 2)))


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
