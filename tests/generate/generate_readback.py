"""A small reader of delivery folders for the generator's self-check.

Independent of the platform's loader on purpose: it reads what the contract allows
(title rows, Chinese or English headers, GB18030/UTF-8 with or without BOM, XLSX first
sheet, thousands separators, the four date spellings, the flag spellings, codes or
labels) and applies snapshot semantics, so the tests can compute the report's figures
the way the marts define them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from python_calamine import CalamineWorkbook

from budgetperf.generate import GenerationReport
from budgetperf.generate.entities import ENTITY_COLUMNS, Column
from budgetperf.generate.labels import COLUMN_LABELS, LEVEL_SUFFIX, REFERENCE_LABELS

Record = dict[str, object]

FLAGS = {
    "y": True,
    "n": False,
    "是": True,
    "否": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}
DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d{1,2})?$|^-?\d+(\.\d{1,2})?$")


class ReadError(ValueError):
    pass


def decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def raw_rows(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.to_python()
        for row in rows:
            for cell in row:
                if not isinstance(cell, str):
                    raise ReadError(f"{path}: non-text cell {cell!r}")
        return [[str(c) for c in row] for row in rows]
    return list(csv.reader(io.StringIO(decode_csv(path.read_bytes()), newline="")))


def _header_names(entity: str) -> dict[str, str]:
    names = {c.name: c.name for c in ENTITY_COLUMNS[entity]}
    names.update({COLUMN_LABELS[c.name]: c.name for c in ENTITY_COLUMNS[entity]})
    return names


def _reference(column: Column, text: str) -> str:
    assert column.domain is not None
    labels = REFERENCE_LABELS[column.domain]
    if text in labels:
        return text
    for code, label in labels.items():
        bare = label.removesuffix(LEVEL_SUFFIX)
        if text in (label, bare, bare + LEVEL_SUFFIX):
            return code
    raise ReadError(f"{column.name}: {text!r} is not a value of {column.domain}")


def parse_value(column: Column, text: str) -> object:
    text = text.strip()
    if text == "":
        return None
    kind = column.kind
    if kind == "int":
        return int(text)
    if kind == "money":
        if not MONEY.match(text):
            raise ReadError(f"{column.name}: {text!r} is not an amount with at most 2 decimals")
        return Decimal(text.replace(",", ""))
    if kind == "decimal":
        return Decimal(text)
    if kind == "date":
        for pattern in DATE_PATTERNS:
            m = pattern.match(text)
            if m:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
        raise ReadError(f"{column.name}: {text!r} is not a date")
    if kind == "flag":
        return FLAGS[text.lower()]
    if kind == "ref":
        return _reference(column, text)
    return text


@dataclass
class EntityFile:
    path: Path
    entity: str
    as_of: dt.date
    records: list[Record]
    header_line: int


def read_entity_file(path: Path, as_of: dt.date) -> EntityFile:
    entity = path.stem
    names = _header_names(entity)
    rows = raw_rows(path)
    required = {c.name for c in ENTITY_COLUMNS[entity]}
    for at, row in enumerate(rows[:5]):  # noqa: B007 - `at` is used after the loop
        mapped = [names.get(cell.strip()) for cell in row]
        if {m for m in mapped if m} == required:
            header = mapped
            break
    else:
        raise ReadError(f"{path}: no header row")
    columns = {c.name: c for c in ENTITY_COLUMNS[entity]}
    records = []
    for row in rows[at + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        record = {
            name: parse_value(columns[name], cell)
            for name, cell in zip(header, row, strict=True)
            if name
        }
        records.append(record)
    return EntityFile(path, entity, as_of, records, at)


@dataclass
class Landing:
    files: list[EntityFile]

    def deliveries(self, entity: str) -> list[EntityFile]:
        return sorted((f for f in self.files if f.entity == entity), key=lambda f: f.as_of)

    def effective(self, entity: str, point: dt.date) -> list[Record]:
        """Snapshot semantics: per fiscal year, the latest delivery up to ``point``."""
        year_column = "budget_year" if entity == "budget_requests" else "fiscal_year"
        chosen: dict[int, EntityFile] = {}
        for f in self.deliveries(entity):
            if f.as_of > point:
                continue
            if entity == "departments":
                chosen[0] = f
                continue
            for year in {r[year_column] for r in f.records}:
                assert isinstance(year, int)
                chosen[year] = f
        out: list[Record] = []
        for year, f in sorted(chosen.items()):
            out.extend(r for r in f.records if entity == "departments" or r[year_column] == year)
        return out


def read_landing(root: Path) -> Landing:
    files = []
    for folder in sorted(root.iterdir()):
        if not re.fullmatch(r"\d{8}", folder.name):
            continue
        as_of = dt.datetime.strptime(folder.name, "%Y%m%d").date()
        for path in sorted(folder.iterdir()):
            if path.suffix in (".csv", ".xlsx"):
                files.append(read_entity_file(path, as_of))
    return Landing(files)


def by_key(records: Iterable[Record], *columns: str) -> dict[tuple[object, ...], Record]:
    out: dict[tuple[object, ...], Record] = {}
    for r in records:
        key = tuple(r[c] for c in columns)
        if key in out:
            raise ReadError(f"duplicate key {key}")
        out[key] = r
    return out


# The points of fiscal year 2021 (R1) and the years of the scenario.
FY = 2021
BY = 2022
POINTS = (dt.date(2021, 6, 30), dt.date(2021, 9, 30), dt.date(2021, 11, 30), dt.date(2021, 12, 31))
MONITORING_POINTS = POINTS[:3]
YEAR_END = POINTS[3]


@dataclass
class Generated:
    """The shared generated landing: what the generator reported and what was read back."""

    report: GenerationReport
    landing: Landing
    messages: list[str]
