"""Streaming, byte-deterministic writers of delivery files, and the folder manifest.

CSV is encoded and hashed as it is written. XLSX goes through openpyxl's write-only
mode, then its archive is rewritten with fixed entry dates and document properties, so
the same rows always give the same bytes (openpyxl stamps the current time otherwise).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from budgetperf.generate.entities import MONEY_COLUMN, column_index
from budgetperf.generate.money import fen_to_yuan, format_fen
from budgetperf.generate.styles import FileStyle, layout

BOM = b"\xef\xbb\xbf"
FLUSH_ROWS = 4096
EXPORT_SYSTEM = "预算管理一体化系统"


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    entity: str
    rows: int
    sha256: str
    size: int
    amount_yuan_total: Decimal | None


class DeliveryWriter(Protocol):
    entity: str
    rows: int

    def write(self, row: tuple[object, ...]) -> None: ...

    def close(self) -> WrittenFile: ...


def open_writer(path: Path, entity: str, style: FileStyle, as_of: dt.date) -> DeliveryWriter:
    if style.format == "xlsx":
        return XlsxWriter(path, entity, style, as_of)
    return CsvWriter(path, entity, style)


class _Totals:
    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.rows = 0
        self.total_fen = 0
        money = MONEY_COLUMN.get(entity)
        self._money_at = column_index(entity, money) if money else None

    def count(self, row: tuple[object, ...]) -> None:
        self.rows += 1
        if self._money_at is not None:
            amount = row[self._money_at]
            assert isinstance(amount, int)
            self.total_fen += amount

    @property
    def amount_yuan_total(self) -> Decimal | None:
        return fen_to_yuan(self.total_fen) if self._money_at is not None else None


class CsvWriter(_Totals):
    def __init__(self, path: Path, entity: str, style: FileStyle) -> None:
        super().__init__(entity)
        self.path = path
        self._layout = layout(entity, style)
        # utf-8-sig is written as a BOM once, then plain UTF-8 chunks.
        self._encoding = "utf-8" if style.encoding == "utf-8-sig" else style.encoding
        self._file = path.open("wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator=style.newline)
        self._writerow = self._csv.writerow
        self._cells = self._layout.cells
        self._pending = 0
        if style.encoding == "utf-8-sig":
            self._emit(BOM)
        if style.title:
            # As a spreadsheet saves a merged title cell: the title, then empty cells.
            self._csv.writerow([style.title] + [""] * (len(self._layout.header) - 1))
        self._csv.writerow(self._layout.header)

    def _emit(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)
        self._size += len(data)

    def _flush(self) -> None:
        text = self._buffer.getvalue()
        if text:
            self._emit(text.encode(self._encoding))
        self._buffer.seek(0)
        self._buffer.truncate()
        self._pending = 0

    def write(self, row: tuple[object, ...]) -> None:
        self._writerow(self._cells(row))
        self.count(row)
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self._flush()

    def close(self) -> WrittenFile:
        self._flush()
        self._file.close()
        return WrittenFile(
            self.path,
            self.entity,
            self.rows,
            self._hash.hexdigest(),
            self._size,
            self.amount_yuan_total,
        )


class XlsxWriter(_Totals):
    """First sheet: optional title row, header, data, every cell text (codes keep their
    zeros, amounts and dates keep the file's spelling); optional second sheet 说明."""

    def __init__(self, path: Path, entity: str, style: FileStyle, as_of: dt.date) -> None:
        from openpyxl import Workbook  # heavy: only when an XLSX is written

        super().__init__(entity)
        self.path = path
        self._style = style
        self._as_of = as_of
        self._layout = layout(entity, style)
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=(style.title or entity)[:31])
        if style.title:
            self._sheet.append([style.title])
        self._sheet.append(self._layout.header)

    def write(self, row: tuple[object, ...]) -> None:
        self._sheet.append([c if c != "" else None for c in self._layout.cells(row)])
        self.count(row)

    def close(self) -> WrittenFile:
        from openpyxl.writer.excel import ExcelWriter

        if self._style.notes:
            notes = self._book.create_sheet(title="说明")
            notes.append(["数据来源", EXPORT_SYSTEM])
            notes.append(
                ["导出日期", f"{self._as_of.year}年{self._as_of.month}月{self._as_of.day}日"]
            )
            notes.append(["金额单位", "元"])
            notes.append(["记录数", str(self.rows)])
        stamp = dt.datetime.combine(self._as_of, dt.time(18, 0))
        props = self._book.properties
        props.creator = props.lastModifiedBy = EXPORT_SYSTEM
        props.created = props.modified = stamp
        raw = self.path.with_name(self.path.name + ".raw")
        # ExcelWriter directly, not save_workbook(): the latter stamps `modified` with now.
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(self._book, archive).save()
        digest, size = _normalise_zip(raw, self.path, stamp)
        raw.unlink()
        return WrittenFile(self.path, self.entity, self.rows, digest, size, self.amount_yuan_total)


def _normalise_zip(source: Path, target: Path, stamp: dt.datetime) -> tuple[str, int]:
    """Copy ``source`` to ``target`` with every entry dated ``stamp``; return sha256 and size."""
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            with (
                src.open(info) as data,
                dst.open(entry, "w", force_zip64=info.file_size > 2**31) as out,
            ):
                while chunk := data.read(1 << 20):
                    out.write(chunk)
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest(), target.stat().st_size


def write_manifest(folder: Path, files: list[WrittenFile]) -> Path:
    """``_manifest.json`` for the files of one delivery folder (DATA_CONTRACT.md)."""
    entries: dict[str, dict[str, object]] = {}
    for f in sorted(files, key=lambda f: f.path.name):
        entry: dict[str, object] = {"rows": f.rows, "sha256": f.sha256}
        if f.amount_yuan_total is not None:
            entry["amount_yuan_total"] = format_fen(int(f.amount_yuan_total * 100))
        entries[f.path.name] = entry
    path = folder / "_manifest.json"
    text = json.dumps({"files": entries}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path.write_bytes(text.encode("utf-8"))
    return path
