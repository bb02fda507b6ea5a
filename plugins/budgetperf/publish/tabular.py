"""Tables for people and systems: XLSX (openpyxl) and CSV (UTF-8 with BOM), safely.

Every export goes through here, so every export is safe the same way:
- no live formulas: a text cell is always stored as text (an inline string, never
  ``<f>``), and text that starts like a formula (``= + - @``, tab, CR) also gets Excel's
  quote prefix, so editing the cell does not turn it into a formula either; in CSV such
  text gets a leading apostrophe (OWASP's CSV-injection advice);
- numbers stay numbers: a negative amount is a number, never "text starting with -";
- money is Decimal up to the cell: converted to float only when written into XLSX, and
  written exactly (``format(value, "f")``) into CSV;
- byte-stable: the same rows give the same file (fixed document dates and zip entry
  times), so re-running an export does not make a file look changed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.publish.formatting import wan_decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FIXED_TIME = dt.datetime(2000, 1, 1)  # document and zip dates: bytes must not change per run


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


def workbook_bytes(sheets: Sequence[Sheet], *, title: str, when: dt.datetime = FIXED_TIME) -> bytes:
    """An XLSX file of the sheets: header in bold with a fill, frozen below the header,
    column widths set, totals emphasised.

    Written in openpyxl's write-only mode: rows stream to the file instead of living as a
    grid of cell objects, so a disclosure of hundreds of thousands of indicator rows (a
    province's counties) takes seconds and tens of MB, not minutes and gigabytes.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    total_fill = PatternFill("solid", fgColor="F2F2F2")
    bold = Font(bold=True)
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title[:31])
        width = len(spec.columns)
        # sheet-level settings must be in place before the first row is written
        for index, column in enumerate(spec.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width or _width(column)
        header_row = 2 if spec.caption else 1
        sheet.freeze_panes = f"A{header_row + 1}"
        if spec.rows:
            last = f"{get_column_letter(width)}{header_row + len(spec.rows)}"
            sheet.auto_filter.ref = f"A{header_row}:{last}"
        if spec.caption:
            caption = _text_cell(sheet, spec.caption)
            caption.font = Font(bold=True, size=14)
            caption.alignment = Alignment(horizontal="center")
            if width > 1:
                sheet.merged_cells.add(f"A1:{get_column_letter(width)}1")
            sheet.append([caption])
        header = []
        for column in spec.columns:
            cell = _text_cell(sheet, column.header)
            cell.font = bold
            cell.fill = header_fill
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            header.append(cell)
        sheet.append(header)
        # Registering a style object costs a lookup by hash: do it once per kind of cell
        # (column format x plain/emphasised x formula-like text), then copy the style's
        # index array into each cell.
        styles = _CellStyles(sheet, border, bold, total_fill)
        for position, record in enumerate(spec.rows):
            emphasised = position in spec.emphasised
            line = []
            for column in spec.columns:
                value = cell_value(column, record.get(column.key))
                cell = WriteOnlyCell(sheet)
                if isinstance(value, str):
                    cell.value = value
                    cell.data_type = "s"  # text, never a formula
                    quoted = starts_like_formula(value)
                else:
                    if isinstance(value, Decimal):
                        value = float(value * 100 if column.kind == "points" else value)
                    cell.value = value
                    quoted = False
                kind = column.kind if value is not None else "text"
                cell._style = copy(styles.of(kind, emphasised, quoted))
                line.append(cell)
            sheet.append(line)
        if spec.notes:
            sheet.append([])  # a blank line between the table and its notes
        for note in spec.notes:
            sheet.append([_text_cell(sheet, note)])
    workbook.properties.title = title
    workbook.properties.creator = "budgetperf"
    workbook.properties.lastModifiedBy = "budgetperf"
    workbook.properties.created = when
    workbook.properties.modified = when
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _stable_zip(buffer.getvalue(), when)


class _CellStyles:
    """The styles of a sheet's data cells, registered once each."""

    def __init__(self, sheet: Any, border: Any, bold: Any, total_fill: Any) -> None:
        self.sheet, self.border, self.bold, self.total_fill = sheet, border, bold, total_fill
        self.known: dict[tuple[str, bool, bool], Any] = {}

    def of(self, kind: str, emphasised: bool, quoted: bool) -> Any:
        from openpyxl.cell import WriteOnlyCell

        key = (kind, emphasised, quoted)
        if key not in self.known:
            template = WriteOnlyCell(self.sheet)
            if kind in NUMBER_FORMATS:
                template.number_format = NUMBER_FORMATS[kind]
            template.border = self.border
            if emphasised:
                template.font = self.bold
                template.fill = self.total_fill
            if quoted:
                template.quotePrefix = True
            self.known[key] = template._style
        return self.known[key]


def _text_cell(sheet: Any, text: str) -> Any:
    # openpyxl reads "=..." as a formula on assignment; force text, and mark formula-like
    # text with Excel's quote prefix so it stays text when someone edits the cell
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    if starts_like_formula(text):
        cell.quotePrefix = True
    return cell


def _width(column: Column) -> float:
    by_kind = {"wan": 14, "yuan": 16, "rate": 10, "points": 10, "int": 8, "date": 12, "code": 16}
    base = by_kind.get(column.kind, 24)
    return float(max(base, min(40, len(column.header) * 2 + 2)))


def _stable_zip(data: bytes, when: dt.datetime) -> bytes:
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            stable = zipfile.ZipInfo(info.filename, date_time=stamp)
            stable.compress_type = zipfile.ZIP_DEFLATED
            stable.external_attr = 0o644 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the time of saving, whatever we set
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + when.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    content,
                )
            target.writestr(stable, content)
    return out.getvalue()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
