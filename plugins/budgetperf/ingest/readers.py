"""Readers: a delivered CSV or XLSX file -> batches of raw cells, with physical line numbers.

CSV
  Encoding is detected strictly: UTF-8 (with or without BOM) when every byte of the file
  decodes as UTF-8, otherwise GB18030 (a superset of GBK) when every byte decodes as
  that; anything else rejects the file whole. Nothing is ever "repaired" into mojibake.
  The bytes of cells that go to COPY are verified by PostgreSQL itself (it checks every
  byte against the declared encoding, strictly, as Python does); Python decodes and so
  verifies everything else (title and header lines, ignored columns, rejected rows,
  quoted files). Any failure is located by a strict rescan of the file (see
  ``locate_undecodable``). A file that begins as UTF-8 with non-ASCII text and turns out
  not to be UTF-8 further on mixes encodings and is rejected, never re-read as GB18030.
  Files are streamed in chunks of whole lines. A chunk without quotes is split with
  bytes operations (the shape machine exports have), and so is a chunk where every cell
  is quoted and no cell holds a quote, comma or line break (the quotes then carry
  nothing). From the first chunk with real quoting on, the rest of the file goes through
  the ``csv`` module, which handles quoted separators and line breaks. Cells stay bytes
  in the file's encoding: splitting GB18030 on ``,``/``\\n``/``"`` is safe because those
  bytes never occur inside a multi-byte character.
XLSX
  The first worksheet by position (not the active one), read with python-calamine. Typed
  cells become the text a person sees in Excel: whole numbers without ``.0`` (a code
  cell typed as the number 1001 reads ``1001``; leading zeros of numeric cells are gone
  in the workbook itself and cannot be recovered), other numbers at Excel's 15
  significant digits, date cells as dates, formulas as their cached values (the value
  Excel shows; a formula is never evaluated here). A formula saved without a cached value
  (as libraries such as openpyxl write them) would read as an empty cell; the sheet's XML
  is scanned for those (see ``uncached_formulas``), and a row with one in a column of the
  entity is rejected, naming the column and the formula, instead of loading a blank.

Both find the header among the first rows (a title row may come first), accept English
names or Chinese labels, and report each data row with its physical line (CSV) or sheet
row (XLSX) number, title and header lines included.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from typing import Any, BinaryIO, Protocol
from xml.etree import ElementTree

from budgetperf.ingest.entities import HEADER_ALIASES, Entity, Kind, normalize_header
from budgetperf.ingest.values import Problem, quote

CHUNK_BYTES = 4 * 1024 * 1024
CSV_BATCH_ROWS = 20_000
XLSX_BATCH_ROWS = 20_000
HEADER_SEARCH_ROWS = 10  # the header must be among the first 10 non-blank rows

UTF8_BOM = codecs.BOM_UTF8
# every byte but the field and line separators (and quotes), for bytes.translate(None, ...)
_NOT_SEPARATORS = bytes(b for b in range(256) if b not in b",\n")
_NOT_QUOTES_OR_SEPARATORS = bytes(b for b in range(256) if b not in b'",\n')


class FileRejected(Exception):
    """The file cannot be read as its entity: rejected whole, with a reason."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.problem = Problem("file", zh, en)


class EncodingMismatch(Exception):
    """A file that began as valid UTF-8 holds non-UTF-8 bytes further on: read it again
    from the start as GB18030 (the whole file must decode under one encoding)."""


@dataclass(frozen=True)
class Header:
    line_no: int
    width: int  # number of fields in the header row
    positions: dict[str, int]  # column name -> field index
    ignored: tuple[str, ...]  # header cells that name no column of the entity


@dataclass
class Batch:
    """Rows of a file, column-wise: ``cells[column][i]`` is row i's raw cell (bytes)."""

    line_nos: list[int] | range
    cells: dict[str, list[bytes]]
    raw: Callable[[int], str]  # the verbatim text of row i, for the rejects table
    broken: list[tuple[int, str, Problem]] = field(default_factory=list)
    position: int = 0  # bytes (CSV) or rows (XLSX) consumed so far, for progress
    # True when no cell can hold whitespace, a quote, a separator, a line break or NUL:
    # text cells then need no trimming or quoting (checked once for the whole chunk)
    clean: bool = False
    # the rows' original lines, when each is a valid CSV record as it stands (unquoted
    # chunks): the loader may pass them on to COPY unchanged
    lines: list[bytes] | None = None
    # cells refused by the reader itself: column -> row index -> why (XLSX formulas
    # without a cached value); the loader rejects those rows, naming the column
    cell_problems: dict[str, dict[int, Problem]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.line_nos)


class Reader(Protocol):
    encoding: str  # what the cells are in: utf-8 | utf-8-sig | gb18030
    file_format: str
    header: Header
    total: int  # bytes (CSV) or rows (XLSX), for progress

    def batches(self) -> Iterator[Batch]: ...

    def raw_lines(self, wanted: set[int]) -> dict[int, str]: ...


# -- header -------------------------------------------------------------------------------


def find_header(candidates: list[tuple[int, list[str]]], entity: Entity) -> Header:
    """The first row naming every required column of the entity."""
    required = set(entity.required_columns)
    known = set(entity.column_names)
    best: tuple[int, set[str]] | None = None
    for line_no, cells in candidates:
        positions: dict[str, int] = {}
        ignored: list[str] = []
        duplicates: list[str] = []
        for index, cell in enumerate(cells):
            name = HEADER_ALIASES.get(normalize_header(cell))
            if name is None or name not in known:
                if cell.strip():
                    ignored.append(cell.strip())
                continue
            if name in positions:
                duplicates.append(name)
            positions[name] = index
        if not positions:
            continue
        if duplicates:
            names = ", ".join(sorted(set(duplicates)))
            raise FileRejected(
                f"第 {line_no} 行表头中列 {names} 出现了不止一次",
                f"line {line_no}: the header names column {names} more than once",
            )
        if required <= positions.keys():
            return Header(line_no, len(cells), positions, tuple(ignored))
        if best is None or len(positions) > len(best[1]):
            best = (line_no, set(positions))
    if best is None:
        expected = "、".join(f"{c.name}（{c.label}）" for c in entity.columns if c.required)
        expected_en = ", ".join(f"{c.name} ({c.label})" for c in entity.columns if c.required)
        raise FileRejected(
            f"前 {HEADER_SEARCH_ROWS} 行中找不到 {entity.name} 的表头（应包含 {expected}）",
            f"no {entity.name} header row in the first {HEADER_SEARCH_ROWS} rows "
            f"(expected columns {expected_en})",
        )
    line_no, found = best
    missing = [c for c in entity.columns if c.required and c.name not in found]
    zh = "、".join(f"{c.name}（{c.label}）" for c in missing)
    en = ", ".join(f"{c.name} ({c.label})" for c in missing)
    raise FileRejected(
        f"第 {line_no} 行表头缺少必填列 {zh}",
        f"line {line_no}: the header lacks required column(s) {en}",
    )


# -- CSV ----------------------------------------------------------------------------------


def _undecodable(line_no: int) -> FileRejected:
    return FileRejected(
        f"第 {line_no} 行含有既不是 UTF-8 也不是 GB18030/GBK 的字节，无法识别编码，整个文件被拒绝"
        "（请以 UTF-8 或 GBK 重新导出）",
        f"line {line_no} holds bytes that are neither UTF-8 nor GB18030/GBK: the file is "
        "rejected whole (export it again as UTF-8 or GBK)",
    )


def sniff_encoding(head: bytes, *, complete: bool) -> str:
    """The file's encoding, from its start (``complete``: the sample is the whole file).

    UTF-8 if the sample decodes as UTF-8, else GB18030 if it decodes as that. If neither
    does, the file is rejected here, naming the line where the decoder that got further
    failed: a file that is UTF-8 up to line 5 mixes encodings at line 5.
    """
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if not complete and exc.reason == "unexpected end of data":
            return "utf-8"  # a character cut by the end of the sample
        utf8_failure = exc.start
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        if not complete and exc.reason == "incomplete multibyte sequence":
            return "gb18030"
        gb_failure = exc.start
    if utf8_failure > gb_failure:
        raise _mixed(head.count(b"\n", 0, utf8_failure) + 1)
    raise _undecodable(head.count(b"\n", 0, gb_failure) + 1)


def _mixed(line_no: int) -> FileRejected:
    return FileRejected(
        f"文件开头是 UTF-8 编码，但第 {line_no} 行不是：同一文件混用了编码，整个文件被拒绝"
        "（请以一种编码重新导出）",
        f"the file starts as UTF-8 but line {line_no} is not UTF-8: it mixes encodings and "
        "is rejected whole (export it again in one encoding)",
    )


class CsvReader:
    file_format = "csv"

    def __init__(
        self,
        handle: BinaryIO,
        entity: Entity,
        *,
        size: int,
        encoding: str | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self._handle = handle
        self._entity = entity
        self._chunk_bytes = chunk_bytes
        self.total = size
        handle.seek(0)
        sample = min(chunk_bytes, 1 << 20)
        head = handle.read(sample)
        if encoding is None:
            encoding = sniff_encoding(head, complete=len(head) < sample)
        self.encoding = encoding
        # no evidence either way in the sample: a later non-UTF-8 byte means GB18030
        self._sample_ascii = head.isascii()
        # cells are compared and copied in the underlying codec; the BOM is just skipped
        self._codec = "utf-8" if encoding.startswith("utf-8") else encoding
        self.header = self._read_header()

    # -- chunks of whole lines --------------------------------------------------------------

    def _chunks(self) -> Iterator[tuple[bytes, int, int]]:
        """(chunk, first line number, bytes consumed): whole lines, CRLF -> LF."""
        handle = self._handle
        handle.seek(0)
        tail = b""
        line_no = 1
        position = 0
        first = True
        while True:
            block = handle.read(self._chunk_bytes)
            position += len(block)
            if first:
                if block.startswith(UTF8_BOM):
                    block = block[len(UTF8_BOM) :]
                first = False
            if block:
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # no line end yet: keep reading
                    tail += block
                    continue
                # one copy of the block: the cut-off partial line waits for the next one
                view = memoryview(block)[:cut]
                chunk = b"".join((tail, view)) if tail else bytes(view)
                tail = block[cut:]
            else:
                chunk, tail = tail, b""
            if chunk:
                if b"\r" in chunk:
                    chunk = chunk.replace(b"\r\n", b"\n")
                yield chunk, line_no, position
                line_no += chunk.count(b"\n")
            if not block:
                return

    def decode_failure(self, line_no: int) -> Exception:
        """What a byte that does not decode on ``line_no`` means for this file."""
        if self.encoding == "utf-8":
            return EncodingMismatch(line_no) if self._sample_ascii else _mixed(line_no)
        if self.encoding == "utf-8-sig":
            return _mixed(line_no)
        return _undecodable(line_no)

    def locate_undecodable(self) -> int | None:
        """The first line holding bytes that do not decode, by a strict rescan."""
        for chunk, first_line, _ in self._chunks():
            if chunk.isascii():
                continue
            try:
                chunk.decode(self._codec)
            except UnicodeDecodeError as exc:
                return first_line + chunk.count(b"\n", 0, exc.start)
        return None

    def _decode(self, line: bytes, line_no: int) -> str:
        try:
            return line.decode(self._codec)
        except UnicodeDecodeError:
            raise self.decode_failure(line_no) from None

    def _read_header(self) -> Header:
        candidates: list[tuple[int, list[str]]] = []
        for chunk, first_line, _ in self._chunks():
            lines = chunk.split(b"\n")
            for offset, line in enumerate(lines):
                if not line.strip(b" \t\r,"):
                    continue
                text = self._decode(line, first_line + offset)
                cells = next(csv.reader([text]), [])
                candidates.append((first_line + offset, cells))
                if len(candidates) >= HEADER_SEARCH_ROWS:
                    break
            break  # the header is in the first chunk or nowhere
        if not candidates:
            raise FileRejected("文件为空（没有表头）", "the file is empty (no header row)")
        return find_header(candidates, self._entity)

    # -- batches ----------------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        header = self.header
        chunks = self._chunks()
        for chunk, first_line, position in chunks:
            if first_line <= header.line_no:
                if first_line + chunk.count(b"\n") <= header.line_no:
                    continue
                # drop the title and header lines: they are lines, not data rows
                skip = header.line_no - first_line + 1
                start = 0
                for _ in range(skip):
                    start = chunk.index(b"\n", start) + 1
                chunk, first_line = chunk[start:], header.line_no + 1
                if not chunk:
                    continue
            if b'"' in chunk:
                if self._simply_quoted(chunk):
                    # every cell quoted, none holding a quote, comma or line break: the
                    # quotes carry no meaning, the bytes path reads it without them
                    yield self._fast_batch(chunk, first_line, position, quoted=True)
                    continue
                # real quoting from here on: the csv module handles it, to the end
                yield from self._csv_batches(chunk, first_line, position, chunks)
                return
            yield self._fast_batch(chunk, first_line, position)

    def _simply_quoted(self, chunk: bytes) -> bool:
        """Every line is ``"a","b",...,"z"`` with no quote, comma or break inside a cell."""
        lines = chunk.count(b"\n")
        record = b'"' + b'","' * (self.header.width - 1) + b'"\n'
        return chunk.endswith(b"\n") and (
            chunk.translate(None, _NOT_QUOTES_OR_SEPARATORS) == record * lines
        )

    def _fast_batch(
        self, chunk: bytes, first_line: int, position: int, *, quoted: bool = False
    ) -> Batch:
        header = self.header
        width = header.width
        commas = width - 1
        codec = self._codec
        original = chunk
        if quoted:
            chunk = chunk.replace(b'"', b"")  # checked by _simply_quoted: quotes only
        lines = chunk.split(b"\n")
        ends_with_newline = lines[-1] == b""
        if ends_with_newline:
            lines.pop()
        blank = b"," * commas
        broken: list[tuple[int, str, Problem]] = []
        line_nos: list[int] | range
        # Every line has exactly width-1 commas when the chunk's separators alone read
        # ",,,,,,\n" n times over: one C pass instead of one count per line.
        regular = (
            ends_with_newline
            and chunk.translate(None, _NOT_SEPARATORS) == (blank + b"\n") * len(lines)
            and blank not in lines
        )
        if regular:
            good = lines
            line_nos = range(first_line, first_line + len(lines))
            flat = chunk.replace(b"\n", b",").split(b",")
            if ends_with_newline:
                flat.pop()
        else:
            good = []
            line_nos = []
            counts = list(map(bytes.count, lines, repeat(b",")))
            for offset, (line, count) in enumerate(zip(lines, counts, strict=True)):
                if count == commas and line != blank:
                    good.append(line)
                    line_nos.append(first_line + offset)
                elif not line.strip(b" \t\r,"):
                    continue  # a blank line is not a row
                else:
                    line_no = first_line + offset
                    problem = _field_count(count + 1, width)
                    broken.append((line_no, self._decode(line, line_no), problem))
            flat = b",".join(good).split(b",") if good else []
        cells = {name: flat[index::width] for name, index in header.positions.items()}
        if len(cells) < width and not chunk.isascii():
            # cells of ignored columns never reach PostgreSQL, which verifies the others:
            # decode them here so that the whole file is held to one encoding
            used = set(header.positions.values())
            for index in range(width):
                if index not in used:
                    column = b"\n".join(flat[index::width])
                    try:
                        column.decode(codec)
                    except UnicodeDecodeError as exc:
                        row = column.count(b"\n", 0, exc.start)
                        raise self.decode_failure(line_nos[row]) from None
        clean = not (
            b" " in chunk
            or b"\t" in chunk
            or b"\r" in chunk
            or b"\x00" in chunk
            or b"\x0b" in chunk
            or b"\x0c" in chunk
        )
        raw_lines = good
        if quoted:
            # rejects keep the line as delivered, quotes included; the quoted lines are
            # not passed on to COPY (a quoted empty cell would be '' there, not NULL)
            originals = original.split(b"\n")
            raw_lines = [originals[n - first_line] for n in line_nos]
        return Batch(
            line_nos=line_nos,
            cells=cells,
            raw=lambda i: self._decode(raw_lines[i], line_nos[i]),
            broken=broken,
            position=position,
            clean=clean,
            lines=None if quoted else good,
        )

    def _csv_batches(
        self,
        chunk: bytes,
        first_line: int,
        position: int,
        rest: Iterator[tuple[bytes, int, int]],
    ) -> Iterator[Batch]:
        header = self.header
        width = header.width
        pulled: list[str] = []
        state = {"line": first_line, "position": position}

        def physical_lines() -> Iterator[str]:
            number = first_line
            for data, pos in _chain_chunks(chunk, position, rest):
                state["position"] = pos
                for line in data.split(b"\n")[: data.count(b"\n")] + _last(data):
                    text = self._decode(line, number) + "\n"
                    number += 1
                    pulled.append(text)
                    yield text

        reader = csv.reader(physical_lines())
        rows: list[list[str]] = []
        line_nos: list[int] = []
        raws: list[str] = []
        broken: list[tuple[int, str, Problem]] = []
        line = first_line
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                fields = None
                error = str(exc)
            raw = "".join(pulled).rstrip("\n")
            start, line = line, line + len(pulled)
            pulled.clear()
            if fields is None:
                broken.append(
                    (
                        start,
                        raw,
                        Problem("parse", f"CSV 格式错误：{error}", f"malformed CSV: {error}"),
                    )
                )
            elif len(fields) != width:
                if not any(f.strip() for f in fields):
                    continue  # blank line
                broken.append((start, raw, _field_count(len(fields), width)))
            else:
                rows.append(fields)
                line_nos.append(start)
                raws.append(raw)
            if len(rows) >= CSV_BATCH_ROWS:
                yield self._csv_batch(rows, line_nos, raws, broken, state["position"])
                rows, line_nos, raws, broken = [], [], [], []
        if rows or broken:
            yield self._csv_batch(rows, line_nos, raws, broken, state["position"])

    def _csv_batch(
        self,
        rows: list[list[str]],
        line_nos: list[int],
        raws: list[str],
        broken: list[tuple[int, str, Problem]],
        position: int,
    ) -> Batch:
        codec = self._codec
        cells = {
            name: [row[index].encode(codec) for row in rows]
            for name, index in self.header.positions.items()
        }
        # a row whose cells are all blank is a blank line, not a row
        keep = [i for i, row in enumerate(rows) if any(f.strip() for f in row)]
        if len(keep) != len(rows):
            cells = {name: [col[i] for i in keep] for name, col in cells.items()}
            line_nos = [line_nos[i] for i in keep]
            raws = [raws[i] for i in keep]
        return Batch(
            line_nos=line_nos,
            cells=cells,
            raw=raws.__getitem__,
            broken=broken,
            position=position,
        )

    def raw_lines(self, wanted: set[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for batch in self.batches():
            for index, line_no in enumerate(batch.line_nos):
                if line_no in wanted:
                    found[line_no] = batch.raw(index)
            if len(found) == len(wanted):
                break
        return found


def _chain_chunks(
    chunk: bytes, position: int, rest: Iterator[tuple[bytes, int, int]]
) -> Iterator[tuple[bytes, int]]:
    yield chunk, position
    for data, _, pos in rest:
        yield data, pos


def _last(data: bytes) -> list[bytes]:
    """The final line of a file that does not end with a line break (maybe truncated)."""
    tail = data[data.rfind(b"\n") + 1 :]
    return [tail] if tail else []


def _field_count(found: int, width: int) -> Problem:
    return Problem(
        "parse",
        f"有 {found} 个字段，表头有 {width} 个（行不完整或分隔符有误）",
        f"has {found} fields where the header has {width} (truncated line or stray separator)",
    )


# -- XLSX ---------------------------------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"


def _float_text(value: float) -> str:
    # Excel keeps 15 significant digits; anything beyond is binary noise, not data
    text = f"{value:.15g}"
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def cell_text(value: object, kind: Kind) -> str:
    """An XLSX cell as the text a person sees in Excel."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if kind is Kind.DATE:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def check_format(head: bytes, file_format: str) -> None:
    """Refuse a file whose bytes are not what its extension says."""
    if file_format == "xlsx":
        if head.startswith(XLSX_MAGIC):
            return
        if head.startswith(XLS_MAGIC):
            raise FileRejected(
                "文件扩展名是 .xlsx，但内容是旧版 Excel (.xls) 格式；请另存为 .xlsx 或 .csv",
                "the file is named .xlsx but holds a legacy Excel (.xls) workbook; "
                "save it as .xlsx or .csv",
            )
        raise FileRejected(
            "文件扩展名是 .xlsx，但内容不是 Excel 工作簿（看起来是文本/CSV）；"
            "请改名为 .csv 或重新导出",
            "the file is named .xlsx but is not an Excel workbook (it looks like text/CSV); "
            "rename it .csv or export it again",
        )
    if head.startswith(XLSX_MAGIC) or head.startswith(XLS_MAGIC):
        raise FileRejected(
            "文件扩展名是 .csv，但内容是 Excel 工作簿；请改名为 .xlsx 或导出为 CSV",
            "the file is named .csv but holds an Excel workbook; rename it .xlsx or export CSV",
        )


class XlsxReader:
    file_format = "xlsx"
    encoding = "utf-8"

    def __init__(self, handle: BinaryIO, entity: Entity) -> None:
        from python_calamine import CalamineWorkbook, SheetTypeEnum

        self._entity = entity
        handle.seek(0)
        try:
            book = CalamineWorkbook.from_filelike(handle)
            sheets = [
                index
                for index, meta in enumerate(book.sheets_metadata)
                if meta.typ == SheetTypeEnum.WorkSheet
            ]
            if not sheets:
                raise FileRejected("工作簿中没有工作表", "the workbook has no worksheet")
            # the first sheet by position, whatever sheet was active when it was saved
            self._sheet = book.get_sheet_by_index(sheets[0])
            self.sheet_name = str(self._sheet.name)
            # text columns (codes) holding cells typed as numbers: reported, because
            # Excel has already dropped any leading zeros of those (001 -> 1)
            self.numeric_text_cells: dict[str, int] = {}
            self.total = int(self._sheet.total_height)
            # formulas without a cached value: calamine reads them as empty cells
            formulas = uncached_formulas(handle, self.sheet_name)
            start = self._sheet.start
            # calamine's rows begin at the sheet's first used column
            first = int(start[1]) if start is not None else 0
            offset = min([first, *(c for cells in formulas.values() for c in cells)])
            self._pad = first - offset if start is not None else 0
            self._formulas = {
                row: {column - offset: text for column, text in cells.items()}
                for row, cells in formulas.items()
            }
        except FileRejected:
            raise
        except Exception as exc:  # calamine raises its own error types for broken files
            raise FileRejected(
                f"无法读取 Excel 工作簿：{exc}", f"cannot read the Excel workbook: {exc}"
            ) from None
        self.header = self._read_header()

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        # iter_rows starts at the sheet's first row: the index is the row number - 1
        formulas = self._formulas
        if not formulas:
            for index, row in enumerate(self._sheet.iter_rows()):
                yield index + 1, row
            return
        # a formula without a cached value reads as its formula text (then rejected),
        # also where calamine's range ends before it
        pad = [""] * self._pad
        last = 0
        for index, row in enumerate(self._sheet.iter_rows()):
            last = index + 1
            if pad:
                row = pad + row
            cells = formulas.get(last)
            yield last, _with_formulas(row, cells) if cells else row
        for row_no in sorted(n for n in formulas if n > last):
            yield row_no, _with_formulas([], formulas[row_no])

    def _read_header(self) -> Header:
        candidates: list[tuple[int, list[str]]] = []
        for row_no, row in self._rows():
            cells = [cell_text(v, Kind.TEXT) for v in row]
            if not any(c.strip() for c in cells):
                continue
            candidates.append((row_no, cells))
            if len(candidates) >= HEADER_SEARCH_ROWS:
                break
        if not candidates:
            raise FileRejected(
                "工作表为空（没有表头）", "the first worksheet is empty (no header row)"
            )
        return find_header(candidates, self._entity)

    def batches(self) -> Iterator[Batch]:
        header = self.header
        kinds = {c.name: c.kind for c in self._entity.columns}
        positions = list(header.positions.items())
        rows: list[list[object]] = []
        line_nos: list[int] = []
        for row_no, row in self._rows():
            if row_no <= header.line_no:
                continue
            if row.count("") + row.count(None) == len(row):
                continue
            rows.append(row)
            line_nos.append(row_no)
            if len(rows) >= XLSX_BATCH_ROWS:
                yield self._batch(rows, line_nos, positions, kinds, row_no)
                rows, line_nos = [], []
        if rows:
            yield self._batch(rows, line_nos, positions, kinds, self.total)

    def _batch(
        self,
        rows: list[list[object]],
        line_nos: list[int],
        positions: list[tuple[str, int]],
        kinds: dict[str, Kind],
        position: int,
    ) -> Batch:
        cells: dict[str, list[bytes]] = {}
        for name, index in positions:
            kind = kinds[name]
            values = [row[index] if index < len(row) else "" for row in rows]
            types = set(map(type, values))
            if types == {str}:
                cells[name] = [str(v).encode("utf-8") for v in values]  # text cells as they are
                continue
            if kind is Kind.TEXT and (float in types or int in types):
                numeric = sum(1 for v in values if type(v) in (float, int))
                self.numeric_text_cells[name] = self.numeric_text_cells.get(name, 0) + numeric
            cells[name] = [cell_text(v, kind).encode("utf-8") for v in values]

        def raw(i: int) -> str:
            return "\t".join(cell_text(v, Kind.TEXT) for v in rows[i]).rstrip("\t")

        problems: dict[str, dict[int, Problem]] = {}
        if self._formulas:
            for i, line_no in enumerate(line_nos):
                formulas = self._formulas.get(line_no)
                if formulas:
                    for name, index in positions:
                        if index in formulas:
                            problem = uncached_formula_problem(formulas[index])
                            problems.setdefault(name, {})[i] = problem
        return Batch(
            line_nos=line_nos, cells=cells, raw=raw, position=position, cell_problems=problems
        )

    def raw_lines(self, wanted: set[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for row_no, row in self._rows():
            if row_no in wanted:
                found[row_no] = "\t".join(cell_text(v, Kind.TEXT) for v in row).rstrip("\t")
        return found


def _with_formulas(row: list[Any], formulas: dict[int, str]) -> list[Any]:
    row = list(row)
    for index, text in formulas.items():
        if index >= len(row):
            row.extend([""] * (index + 1 - len(row)))
        row[index] = text
    return row


def uncached_formula_problem(formula: str) -> Problem:
    return Problem(
        "parse",
        f"是 Excel 公式 {quote(formula)}，但工作簿中没有保存它的计算结果（公式不会被求值；"
        "请在 Excel 中打开并保存工作簿，或将公式粘贴为数值，再重新交付）",
        f"is an Excel formula {quote(formula)} saved without its calculated value (formulas"
        " are never evaluated: open and save the workbook in Excel, or paste the values,"
        " and deliver it again)",
    )


# -- XLSX formulas without a cached value ----------------------------------------------------

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"  # a namespace prefix, as some producers write (x:c)
# the start tag of a formula element (<f>, <f t="shared" .../>, <x:f>), checked where a
# plain bytes search finds "<f" or ":f": a sheet without formulas costs one decompression
_FORMULA_TAG = re.compile(rb"<(" + _PREFIX + rb")f[\s/>]")
_ROW_END = re.compile(rb"</" + _PREFIX + rb"row>")
_F_ELEMENT = re.compile(
    rb"<" + _PREFIX + rb"f(?:\s[^>]*?)?(?:/>|>(.*?)</" + _PREFIX + rb"f>)", re.S
)
_V_ELEMENT = re.compile(
    rb"<" + _PREFIX + rb"v(?:\s[^>]*?)?(?:/>|>(.*?)</" + _PREFIX + rb"v>)", re.S
)
_R_ATTRIBUTE = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_T_ATTRIBUTE = re.compile(rb"""\st\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")
_SHARED = "=(shared formula)"
_BLOCK = 1 << 20


class _NotPlain(Exception):
    """The sheet's XML is not in the plain shape the fast scan reads: parse it instead."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _zip_member(book: zipfile.ZipFile, name: str) -> str | None:
    if name in book.NameToInfo:
        return name
    lowered = name.lower()  # part names are case-insensitive in OPC
    return next((n for n in book.namelist() if n.lower() == lowered), None)


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a part ("" for the package)."""
    folder, name = posixpath.split(part)
    member = _zip_member(book, posixpath.join(folder, "_rels", name + ".rels"))
    if member is None:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for element in ElementTree.fromstring(book.read(member)):
        target = element.get("Target")
        if _local(element.tag) != "Relationship" or not target:
            continue
        if element.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(folder, target))
        found[element.get("Id", "")] = (element.get("Type", ""), path)
    return found


def _sheet_part(book: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding the worksheet named ``sheet_name``."""
    workbook = next(
        (p for t, p in _relationships(book, "").values() if t.endswith("/officeDocument")),
        "xl/workbook.xml",
    )
    member = _zip_member(book, workbook)
    if member is None:
        return None
    relations = _relationships(book, workbook)
    for element in ElementTree.fromstring(book.read(member)).iter():
        if _local(element.tag) != "sheet" or element.get("name") != sheet_name:
            continue
        for key, value in element.attrib.items():
            if key.startswith("{") and _local(key) == "id" and value in relations:
                return _zip_member(book, relations[value][1])
    return None


def _cell_position(reference: str) -> tuple[int, int] | None:
    """(row number, column index) of a reference like ``B12`` (column A is 0)."""
    match = _CELL_REF.fullmatch(reference)
    if match is None:
        return None
    index = 0
    for letter in match.group(1).upper():
        index = index * 26 + ord(letter) - 64
    return int(match.group(2)), index - 1


def _formula_text(text: str | None) -> str:
    text = (text or "").strip()
    return "=" + text if text else _SHARED  # a shared formula's other cells carry no text


def uncached_formulas(handle: BinaryIO, sheet_name: str) -> dict[int, dict[int, str]]:
    """The formula cells of a worksheet saved without a cached value: row number ->
    column index (0 = column A) -> the formula as Excel shows it (``=A1+1``).

    Excel always saves a formula's last value (``<c><f>A1+1</f><v>2</v></c>``); libraries
    may write the formula alone (``<v/>`` or no ``<v>``), leaving the value to be computed
    when Excel opens the file. calamine reads such a cell as empty, which would load a
    blank where the sheet shows a value. A formula whose cached value is an empty string
    (``t="str"``, ``<v></v>``) is a real blank and is not listed. The sheet is decompressed
    once more, in blocks; only formula cells are looked at, and only the listed cells are
    kept in memory.
    """
    handle.seek(0)
    with zipfile.ZipFile(handle) as book:
        member = _sheet_part(book, sheet_name)
        if member is None:
            raise FileRejected(
                f"找不到工作表 {sheet_name!r} 的内容", f"the worksheet {sheet_name!r} is missing"
            )
        try:
            return _scan_formula_cells(book, member)
        except _NotPlain:
            return _parse_formula_cells(book, member)


def _scan_formula_cells(book: zipfile.ZipFile, member: str) -> dict[int, dict[int, str]]:
    """The fast way: find each ``<f`` and read the cell around it. Blocks are cut after a
    ``</row>`` (``<`` is never text in XML), so a cell is never split."""
    found: dict[int, dict[int, str]] = {}
    carry = b""
    with book.open(member) as stream:
        while True:
            block = stream.read(_BLOCK)
            data = carry + block
            if block:
                cut = _last_row_end(data)
                if cut < 0:
                    carry = data  # a row longer than a block: read on
                    continue
                data, carry = data[:cut], data[cut:]
            for match in _formula_tags(data):
                _formula_cell(data, match, found)
            if not block:
                return found


def _formula_tags(data: bytes) -> Iterator[re.Match[bytes]]:
    for needle in (b"<f", b":f"):
        index = data.find(needle)
        while index >= 0:
            start = index if needle == b"<f" else data.rfind(b"<", 0, index)
            match = _FORMULA_TAG.match(data, max(start, 0), index + 3)
            if match is not None and match.end() == index + 3:
                yield match
            index = data.find(needle, index + 2)


def _last_row_end(data: bytes) -> int:
    index = len(data)
    while (index := data.rfind(b"row>", 0, index)) >= 0:
        opening = data.rfind(b"</", 0, index)
        if opening >= 0 and _ROW_END.fullmatch(data, opening, index + 4):
            return index + 4
    return -1


def _formula_cell(data: bytes, match: re.Match[bytes], found: dict[int, dict[int, str]]) -> None:
    prefix = match.group(1)
    opening = b"<" + prefix + b"c"
    start = data.rfind(opening, 0, match.start())
    while start >= 0 and data[start + len(opening) : start + len(opening) + 1] not in (
        b" ", b"\t", b"\r", b"\n", b">",
    ):  # fmt: skip
        start = data.rfind(opening, 0, start)
    end = data.find(b"</" + prefix + b"c>", match.start())
    if start < 0 or end < 0:
        raise _NotPlain
    cell = data[start:end]
    tag_end = cell.find(b">")
    reference = _R_ATTRIBUTE.search(cell, 0, tag_end)
    formula = _F_ELEMENT.search(cell, tag_end)
    if reference is None or formula is None:
        raise _NotPlain
    value = _V_ELEMENT.search(cell, tag_end)
    kind = _T_ATTRIBUTE.search(cell, 0, tag_end)
    if value is not None and (value.group(1) or (kind is not None and kind.group(1) == b"str")):
        return  # a cached value (possibly empty text): what Excel shows, read by calamine
    try:
        position = _cell_position(reference.group(1).decode("ascii"))
        text = html.unescape(formula.group(1).decode("utf-8")) if formula.group(1) else ""
    except UnicodeDecodeError:
        raise _NotPlain from None
    if position is None:
        raise _NotPlain
    row_no, column = position
    found.setdefault(row_no, {})[column] = _formula_text(text)


def _parse_formula_cells(book: zipfile.ZipFile, member: str) -> dict[int, dict[int, str]]:
    """The thorough way, for XML the fast scan does not read (cells without a reference,
    other encodings): parse every element."""
    found: dict[int, dict[int, str]] = {}
    row_no, column = 0, -1
    sheet_data: ElementTree.Element | None = None
    with book.open(member) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "row":
                    number = element.get("r")
                    row_no = int(number) if number and number.isdigit() else row_no + 1
                    column = -1
                elif name == "sheetData":
                    sheet_data = element
                continue
            if name == "c":
                reference = element.get("r")
                position = _cell_position(reference) if reference else None
                if position is not None:
                    row_no, column = position
                else:
                    column += 1
                formula = value = None
                for child in element:
                    local = _local(child.tag)
                    if local == "f":
                        formula = child
                    elif local == "v":
                        value = child
                if formula is not None and not (
                    value is not None and (value.text or element.get("t") == "str")
                ):
                    found.setdefault(row_no, {})[column] = _formula_text(formula.text)
                element.clear()
            elif name == "row" and sheet_data is not None:
                sheet_data.clear()  # rows already read: keep memory flat
    return found
