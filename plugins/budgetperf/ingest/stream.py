"""Streaming one file into ``raw.<entity>``: convert, check, COPY, and spool the rejects.

The file's rows go to PostgreSQL with ``COPY ... FROM STDIN (FORMAT csv)`` while Python
parses the next batch (a background thread sends the data), so the server and the parser
work at the same time on the two cores. Rejected rows are spooled to a temp file and
copied into ``ops.rejected_rows`` at the end, so memory stays flat however many there are.
"""

from __future__ import annotations

import gc
import logging
import queue
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress, repeat
from typing import IO, Any

import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.copy import LibpqWriter

from budgetperf.ingest.columns import ERR, SEPARATED_MONEY, ColumnConverter, csv_field
from budgetperf.ingest.duplicates import KeyIndex, reject_duplicates
from budgetperf.ingest.entities import ENTITIES
from budgetperf.ingest.landing import Candidate
from budgetperf.ingest.manifest import ManifestEntry, count_mismatch
from budgetperf.ingest.readers import FileRejected, Reader
from budgetperf.ingest.rules import References, RowErrors, apply_column_errors, row_rules
from budgetperf.ingest.values import Problem, money_or_none

# progress of big files has a logger of its own: the CLI prints its own table of outcomes
# and keeps only these
progress_log = logging.getLogger("budgetperf.ingest.progress")

_PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}
_PROGRESS_EVERY = 5.0  # seconds between progress log lines


@dataclass(frozen=True)
class Progress:
    """Where the load of one big file stands (passed to the progress callback)."""

    file_path: str
    rows: int
    position: int  # bytes (CSV) or rows (XLSX) read
    total: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


@dataclass
class StreamCounts:
    rows_read: int = 0  # data rows of the file (not title, header or blank lines)
    rows_loaded: int = 0
    rows_rejected: int = 0


class RejectSpool:
    """Rejected rows as COPY CSV in a temp file (memory stays flat however many)."""

    def __init__(self, load_id: int, file_path: str) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
        self._prefix = f"{load_id},{csv_field(file_path)},"
        self.count = 0

    def add(self, line_no: int, problems: Sequence[tuple[str | None, Problem]], raw: str) -> None:
        columns = list(dict.fromkeys(c for c, _ in problems if c))
        zh = "；".join(f"{c} {p.zh}" if c else p.zh for c, p in problems)
        en = "; ".join(f"{c} {p.en}" if c else p.en for c, p in problems)
        reason = f"第 {line_no} 行 {zh} / line {line_no}: {en}"
        fields = [
            str(line_no),
            csv_field(",".join(columns)) if columns else "",
            problems[0][1].rule,
            csv_field(reason),
            csv_field(raw) if raw else "",
        ]
        self._file.write((self._prefix + ",".join(fields) + "\n").encode("utf-8"))
        self.count += 1

    def copy_into(self, conn: psycopg.Connection) -> None:
        if not self.count:
            return
        self._file.seek(0)
        with (
            conn.cursor() as cur,
            cur.copy(
                "copy ops.rejected_rows (load_id, file_path, line_no, column_name, rule, reason,"
                " raw_line) from stdin with (format csv)"
            ) as copy,
        ):
            while block := self._file.read(1 << 20):
                copy.write(block)

    def close(self) -> None:
        self._file.close()


class BackgroundWriter(LibpqWriter):
    """Sends COPY data from a thread, so that parsing the next batch in Python overlaps
    the server's work on the previous one. The queue is short: memory stays bounded when
    the server is the slower side."""

    def __init__(self, cursor: psycopg.Cursor[Any], depth: int = 3) -> None:
        super().__init__(cursor)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            while (data := self._queue.get()) is not None:
                LibpqWriter.write(self, memoryview(data))
        except BaseException as exc:
            self._error = exc
            while self._queue.get() is not None:  # unblock the producer
                pass

    def write(self, data: Buffer) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="copy-writer", daemon=True)
            self._thread.start()
        self._queue.put(bytes(data))

    def finish(self, exc: BaseException | None = None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None and exc is None:
            raise self._error
        super().finish(exc)


def assemble(line_nos: Sequence[int], columns: list[list[bytes]], tail: bytes) -> bytes:
    """Rows as COPY CSV: line_no, the converted columns, load_id."""
    numbers = map(b"%d".__mod__, line_nos)
    rows = map(b",".join, zip(numbers, *columns, repeat(tail)))
    return b"\n".join(rows) + b"\n"


def pass_through(line_nos: Sequence[int], lines: list[bytes], suffix: bytes) -> bytes:
    """Rows as COPY CSV from the file's own lines: ``line_no,`` + line + ``,...,load_id``.

    Used when every cell of a batch is already in its canonical form (the usual machine
    export): no cell is copied, only each line gets its number in front.
    """
    out = [suffix] * (3 * len(lines))
    out[0::3] = map(b"%d,".__mod__, line_nos)
    out[1::3] = lines
    return b"".join(out)


@contextmanager
def no_gc() -> Iterator[None]:
    # Millions of short-lived lists and bytes, none of them cyclic: the cyclic collector
    # would only rescan them (measured: a third of the parse time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stream_rows(
    conn: psycopg.Connection,
    load_id: int,
    candidate: Candidate,
    reader: Reader,
    refs: References,
    entry: ManifestEntry | None,
    counts: StreamCounts,
    progress: ProgressCallback | None,
    key_memory_rows: int,
) -> None:
    entity = ENTITIES[candidate.entity]
    header = reader.header
    # COPY columns follow the file: its entity columns in file order, then the entity's
    # columns the file lacks (their defaults), so that a file's own lines can be passed on
    file_columns = sorted(header.positions, key=header.positions.__getitem__)
    missing = [n for n in entity.column_names if n not in header.positions]
    layout = [*file_columns, *missing]
    converters = {n: ColumnConverter(entity.column(n), reader.encoding) for n in layout}
    rules = row_rules(entity, refs, reader.encoding)
    key_index = [layout.index(k) for k in entity.key]
    year_index = layout.index(entity.year_column) if entity.year_column else None
    money = (
        entity.money_column if entry is not None and entry.amount_yuan_total is not None else None
    )
    codec = "utf-8" if reader.encoding.startswith("utf-8") else reader.encoding
    tail = str(load_id).encode()
    whole_lines = header.width == len(file_columns)  # no ignored or unnamed columns
    spool = RejectSpool(load_id, candidate.rel_path)
    keys = KeyIndex(single=len(key_index) == 1, memory_rows=key_memory_rows)
    years: Counter[bytes] = Counter()
    rows_read = rows_valid = 0
    total = Decimal(0)
    started = last_report = time.monotonic()
    statement = sql.SQL("copy raw.{} ({}) from stdin with (format csv, encoding {})").format(
        sql.Identifier(entity.name),
        sql.SQL(", ").join(map(sql.Identifier, ("line_no", *layout, "load_id"))),
        sql.Literal(_PG_ENCODING[reader.encoding]),
    )
    try:
        with (
            no_gc(),
            conn.cursor() as cur,
            cur.copy(statement, writer=BackgroundWriter(cur)) as copy,
        ):
            for batch in reader.batches():
                size = batch.size
                rows_read += size + len(batch.broken)
                for line_no, raw, problem in batch.broken:
                    spool.add(line_no, [(None, problem)], raw)
                converted: list[list[bytes]] = []
                unchanged = batch.lines is not None and whole_lines
                errors: RowErrors = {}
                for name in layout:
                    cells = batch.cells.get(name)
                    if cells is None:
                        cells = [b""] * size
                    out, column_errors = converters[name].convert(cells, batch.clean)
                    refused = batch.cell_problems.get(name)
                    if refused:
                        # the reader refused these cells (whatever they would convert to)
                        out = list(out)
                        for index in refused:
                            out[index] = ERR
                        column_errors = {**column_errors, **refused}
                    converted.append(out)
                    if column_errors:
                        apply_column_errors(name, column_errors, errors)
                    if name in header.positions:
                        unchanged = unchanged and out is cells
                    elif unchanged and size:
                        unchanged = out.count(out[0]) == size  # a constant default
                by_name = dict(zip(layout, converted, strict=True))
                for rule in rules:
                    rule.apply(by_name, errors)
                if money is not None and money in batch.cells:
                    total += money_total(batch.cells[money], codec)
                line_nos: Sequence[int] = batch.line_nos
                if errors:
                    unchanged = False
                    for index in sorted(errors):
                        spool.add(line_nos[index], errors[index], batch.raw(index))
                        key = tuple(converted[k][index] for k in key_index)
                        if ERR not in key:
                            keys.add_rejected(key, line_nos[index])
                    keep = [i not in errors for i in range(size)]
                    converted = [list(compress(col, keep)) for col in converted]
                    line_nos = list(compress(line_nos, keep))
                if line_nos:
                    keys.add_valid([converted[k] for k in key_index], line_nos)
                    if year_index is not None:
                        year_column = converted[year_index]
                        if year_column.count(year_column[0]) == len(year_column):
                            years[year_column[0]] += len(year_column)  # one year: no Counter walk
                        else:
                            years.update(year_column)
                    rows_valid += len(line_nos)
                    if unchanged and batch.lines is not None:
                        defaults = b"".join(b"," + converted[layout.index(n)][0] for n in missing)
                        copy.write(
                            pass_through(line_nos, batch.lines, defaults + b"," + tail + b"\n")
                        )
                    else:
                        copy.write(assemble(line_nos, converted, tail))
                now = time.monotonic()
                if progress is not None or now - last_report >= _PROGRESS_EVERY:
                    event = Progress(
                        candidate.rel_path, rows_read, batch.position, reader.total, now - started
                    )
                    if progress is not None:
                        progress(event)
                    if now - last_report >= _PROGRESS_EVERY:
                        last_report = now
                        progress_log.info(
                            "budgetperf: %s: %d rows, %.0f%%, %.0f rows/s",
                            event.file_path,
                            event.rows,
                            100 * event.position / max(event.total, 1),
                            event.rows_per_second,
                        )
        counts.rows_read = rows_read
        if entry is not None:
            mismatch = count_mismatch(entry, rows_read, total if money is not None else None)
            if mismatch is not None:
                raise FileRejected(mismatch.zh, mismatch.en)
        removed = reject_duplicates(conn, load_id, entity, reader, keys, spool, years)
        spool.copy_into(conn)
    finally:
        spool.close()
    counts.rows_loaded = rows_valid - removed
    counts.rows_rejected = spool.count
    if entity.year_column is None:
        by_year = {0: counts.rows_loaded} if counts.rows_loaded else {}
    else:
        by_year = {int(year): n for year, n in years.items() if n > 0}
    if by_year:
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.load_fiscal_years (load_id, fiscal_year, rows_loaded)"
                " values (%s, %s, %s)",
                [(load_id, year, n) for year, n in sorted(by_year.items())],
            )


def money_total(cells: list[bytes], codec: str) -> Decimal:
    """The sum of the cells that parse as money (the manifest's ``amount_yuan_total``)."""
    joined = b"\n".join(cells)
    if SEPARATED_MONEY.fullmatch(joined):  # the usual column: every cell an amount
        return sum(map(Decimal, joined.replace(b",", b"").decode("ascii").split("\n")), Decimal(0))
    total = Decimal(0)
    for cell in cells:
        amount = money_or_none(cell.decode(codec))
        if amount is not None:
            total += amount
    return total
