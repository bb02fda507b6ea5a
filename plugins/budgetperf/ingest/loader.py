"""Load every delivery of a landing into ``raw.*``, one transaction per file.

For each file, in delivery date order and entity dependency order:
  1. hash it (sha256) and take an advisory lock on (entity, as_of), so two loaders on the
     same landing never load a file twice;
  2. skip it if the latest load of its (entity, as_of) has the same fingerprint (same
     bytes, same manifest entry, same references): re-running writes nothing;
  3. otherwise write its ledger row, stream its valid rows into ``raw.<entity>`` with
     COPY and its rejected rows into ``ops.rejected_rows``, and record the fiscal years
     it holds valid rows for (what it supersedes). All of it commits together: a crash
     leaves the file absent, and the next run loads it once.
A file that cannot be read as its entity is rejected whole: a ledger row with the
reason, one ``ops.rejected_rows`` row (rule ``file``), nothing in ``raw``.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, repeat
from pathlib import Path
from typing import IO, Any, BinaryIO

import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.copy import LibpqWriter

from budgetperf.ingest.columns import ERR, ColumnConverter, csv_field, csv_unfield
from budgetperf.ingest.entities import ENTITIES, Entity, Kind
from budgetperf.ingest.landing import (
    Candidate,
    Delivery,
    Finding,
    discover,
    open_folder,
    open_regular,
    sha256_of,
)
from budgetperf.ingest.manifest import ManifestEntry, count_mismatch, sha_mismatch
from budgetperf.ingest.readers import (
    CsvReader,
    EncodingMismatch,
    FileRejected,
    Reader,
    XlsxReader,
    check_format,
)
from budgetperf.ingest.rules import (
    References,
    RowErrors,
    apply_column_errors,
    load_references,
    row_rules,
)
from budgetperf.ingest.values import Problem, money_or_none
from budgetperf.warehouse import connect

log = logging.getLogger("budgetperf.ingest")
# progress of big files has a logger of its own: the CLI prints its own table of outcomes
# and keeps only these
progress_log = logging.getLogger("budgetperf.ingest.progress")

_LOCK_NAMESPACE = 8_240_603  # advisory lock class of "loading one (entity, as_of)"
_PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}
_PROGRESS_EVERY = 5.0  # seconds between progress log lines
_SHOWN_LINES = 5  # other lines named in a duplicate-key reason


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
class FileResult:
    """The outcome of one file in one run (``skipped``: already loaded, nothing written)."""

    entity: str
    as_of: dt.date
    file_path: str
    status: str  # loaded | rejected | skipped
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    reason: str | None = None
    encoding: str | None = None
    notes: str | None = None
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


@dataclass
class LoadReport:
    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing rejected, refused or ignored in this run."""
        return not self.findings and all(
            f.status != "rejected" and f.rows_rejected == 0
            for f in self.files
            if f.status != "skipped"
        )


def load_landing(
    url: str,
    landing: Path,
    *,
    up_to: dt.date | None = None,
    as_of: dt.date | None = None,
    progress: ProgressCallback | None = None,
    key_memory_rows: int = 5_000_000,
) -> LoadReport:
    """Load every not-yet-loaded file of every delivery with ``as_of <= up_to`` (or only
    the delivery ``as_of``), deliveries in date order, entities in dependency order.

    ``progress`` is called after each batch of a file (about 4 MB). ``key_memory_rows``
    bounds the rows whose key hashes are kept in memory (16 bytes each) to find keys
    shared within a file; beyond it PostgreSQL does that set-wise.
    """
    deliveries, findings = discover(landing, up_to=up_to, as_of=as_of)
    report = LoadReport(findings=findings)
    with connect(url) as conn:
        _record_findings(conn, findings)
        for delivery in deliveries:
            for candidate in delivery.ordered():
                conflict = _conflict_identity(delivery, candidate)
                result = _load_candidate(
                    conn, delivery, candidate, conflict, progress, key_memory_rows
                )
                report.files.append(result)
                log.info(
                    "budgetperf: %s %s: %d rows read, %d loaded, %d rejected%s",
                    result.file_path,
                    result.status,
                    result.rows_read,
                    result.rows_loaded,
                    result.rows_rejected,
                    f" ({result.reason})" if result.reason else "",
                )
    return report


def _record_findings(conn: psycopg.Connection, findings: Sequence[Finding]) -> None:
    if not findings:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into ops.landing_findings (as_of, path, kind, reason, identity)"
            " values (%s, %s, %s, %s, %s) on conflict (path, kind, identity) do nothing",
            [(f.as_of, f.path, f.kind, f.reason, f.identity) for f in findings],
        )


# -- one file ------------------------------------------------------------------------------


def _fingerprint(parts: dict[str, object]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _conflict_identity(delivery: Delivery, candidate: Candidate) -> list[list[str]] | None:
    """For a csv + xlsx pair, what identifies the pair: both of its files' contents.

    Both ledger rows of a pair carry one fingerprint, so a re-run skips both; a change to
    either file (or removing one) makes a new decision.
    """
    if not candidate.conflict:
        return None
    identity: list[list[str]] = []
    for other in delivery.candidates:
        if other.entity == candidate.entity:
            with _maybe_open(delivery, other) as (handle, problem):
                if handle is not None:
                    sha = sha256_of(handle)[0]
                else:
                    sha = other.identity or (problem.en if problem else "")
            identity.append([other.name, sha])
    return sorted(identity)


def _load_candidate(
    conn: psycopg.Connection,
    delivery: Delivery,
    candidate: Candidate,
    conflict: list[list[str]] | None,
    progress: ProgressCallback | None,
    key_memory_rows: int,
) -> FileResult:
    started = time.monotonic()
    refused = candidate.refused
    sha, size = hashlib.sha256(candidate.identity.encode()).hexdigest(), 0
    with _maybe_open(delivery, candidate) as (handle, open_problem):
        if open_problem is not None:
            refused = open_problem
        elif handle is not None:
            sha, size = sha256_of(handle)
        entry = (delivery.manifest or {}).get(candidate.name)
        result = FileResult(candidate.entity, candidate.as_of, candidate.rel_path, "loaded")
        with conn.transaction():
            conn.execute(
                "select pg_advisory_xact_lock(%s, hashtext(%s))",
                (_LOCK_NAMESPACE, f"{candidate.entity}/{candidate.as_of.isoformat()}"),
            )
            refs = (
                load_references(conn, candidate.entity, candidate.as_of)
                if refused is None
                else References(as_of=candidate.as_of)
            )
            fingerprint = _fingerprint(
                {
                    "sha256": sha if conflict is None else None,
                    "format": candidate.file_format if conflict is None else None,
                    "refused": refused.en if refused and conflict is None else None,
                    "conflict": conflict,
                    "manifest": entry.identity() if entry else None,
                    "manifest_problem": delivery.manifest_problem.en
                    if delivery.manifest_problem
                    else None,
                    "references": refs.context,
                }
            )
            latest = _latest_decision(conn, candidate, fingerprint)
            if latest is not None:
                return FileResult(
                    candidate.entity,
                    candidate.as_of,
                    candidate.rel_path,
                    "skipped",
                    load_id=int(latest[0]),
                    rows_read=int(latest[3]),
                    rows_loaded=int(latest[4]),
                    rows_rejected=int(latest[5]),
                    reason=f"unchanged since load {latest[0]} ({latest[2]})",
                    encoding=latest[7],
                    seconds=time.monotonic() - started,
                )
            row = conn.execute(
                "insert into ops.loads (entity, as_of, file_path, file_format, sha256, bytes,"
                " status, fingerprint) values (%s, %s, %s, %s, %s, %s, 'loading', %s)"
                " returning load_id",
                (
                    candidate.entity,
                    candidate.as_of,
                    candidate.rel_path,
                    candidate.file_format,
                    sha,
                    size,
                    fingerprint,
                ),
            ).fetchone()
            assert row is not None
            result.load_id = load_id = int(row[0])
            problem = refused or _whole_file_problem(delivery, candidate, entry, sha, size)
            if problem is None and handle is not None:
                problem = _stream_with_retry(
                    conn, load_id, candidate, handle, size, refs, entry, delivery, result,
                    progress, key_memory_rows,
                )  # fmt: skip
            if problem is not None:
                _reject_whole(conn, load_id, candidate.rel_path, problem, result)
            conn.execute(
                "update ops.loads set status = %s, rows_read = %s, rows_loaded = %s,"
                " rows_rejected = %s, reason = %s, encoding = %s, notes = %s,"
                " finished_at = clock_timestamp() where load_id = %s",
                (
                    result.status,
                    result.rows_read,
                    result.rows_loaded,
                    result.rows_rejected,
                    result.reason,
                    result.encoding,
                    result.notes,
                    load_id,
                ),
            )
    result.seconds = time.monotonic() - started
    return result


def _latest_decision(
    conn: psycopg.Connection, candidate: Candidate, fingerprint: str
) -> tuple[Any, ...] | None:
    """This file's load, if the latest decision about its (entity, as_of) has its
    fingerprint: then the file is already what the ledger says, and is skipped.

    The latest decision is the newest load of (entity, as_of) and the loads just before it
    that share its fingerprint (a csv + xlsx pair is one decision written as two rows).
    """
    rows = conn.execute(
        "select load_id, fingerprint, status, rows_read, rows_loaded, rows_rejected,"
        " reason, encoding, file_path from ops.loads where entity = %s and as_of = %s"
        " order by load_id desc",
        (candidate.entity, candidate.as_of),
    ).fetchall()
    for row in rows:
        if row[1] != fingerprint:
            return None
        if row[8] == candidate.rel_path:
            return tuple(row)
    return None


@contextmanager
def _maybe_open(
    delivery: Delivery, candidate: Candidate
) -> Iterator[tuple[BinaryIO | None, Problem | None]]:
    """The candidate's file, opened through its folder's descriptor without following links."""
    if candidate.refused is not None:
        yield None, None
        return
    try:
        with open_folder(delivery.path) as folder_fd:
            fd = open_regular(folder_fd, candidate.name)
    except OSError as exc:
        # swapped for a link or a non-regular file after the scan, or unreadable
        yield (
            None,
            Problem(
                "file",
                f"无法安全打开（{exc.strerror or exc}），已拒绝读取",
                f"cannot be opened safely ({exc.strerror or exc}): refused",
            ),
        )
        return
    with os.fdopen(fd, "rb") as handle:
        yield handle, None


def _whole_file_problem(
    delivery: Delivery,
    candidate: Candidate,
    entry: ManifestEntry | None,
    sha: str,
    size: int,
) -> Problem | None:
    if candidate.conflict:
        return Problem(
            "file",
            f"同一交付中 {candidate.entity} 既有 .csv 又有 .xlsx，无法确定以哪个为准，两个都被拒绝",
            f"the delivery holds both {candidate.entity}.csv and {candidate.entity}.xlsx: "
            "which one is right cannot be known, both are rejected",
        )
    if delivery.manifest_problem is not None:
        return delivery.manifest_problem
    if entry is not None:
        mismatch = sha_mismatch(entry, sha)
        if mismatch is not None:
            return mismatch
    if size == 0:
        return Problem("file", "文件为空（0 字节）", "the file is empty (0 bytes)")
    return None


def _reject_whole(
    conn: psycopg.Connection, load_id: int, file_path: str, problem: Problem, result: FileResult
) -> None:
    reason = f"{problem.zh} / {problem.en}"
    result.status = "rejected"
    result.reason = reason
    result.rows_loaded = 0
    result.rows_rejected = result.rows_read
    conn.execute(
        "insert into ops.rejected_rows (load_id, file_path, line_no, column_name, rule, reason)"
        " values (%s, %s, null, null, %s, %s)",
        (load_id, file_path, problem.rule, reason),
    )


def _open_reader(handle: BinaryIO, candidate: Candidate, size: int, encoding: str | None) -> Reader:
    handle.seek(0)
    check_format(handle.read(8), candidate.file_format)
    entity = ENTITIES[candidate.entity]
    if candidate.file_format == "xlsx":
        return XlsxReader(handle, entity)
    return CsvReader(handle, entity, size=size, encoding=encoding)


def _stream_with_retry(
    conn: psycopg.Connection,
    load_id: int,
    candidate: Candidate,
    handle: BinaryIO,
    size: int,
    refs: References,
    entry: ManifestEntry | None,
    delivery: Delivery,
    result: FileResult,
    progress: ProgressCallback | None,
    key_memory_rows: int,
) -> Problem | None:
    """Stream the file inside a savepoint; on a whole-file problem roll the rows back."""
    encoding: str | None = None
    while True:
        reader: Reader | None = None
        try:
            with conn.transaction():  # a savepoint: rolled back on any exception below
                reader = _open_reader(handle, candidate, size, encoding)
                result.encoding = reader.encoding if reader.file_format == "csv" else None
                _stream(
                    conn, load_id, candidate, reader, refs, entry, result, progress,
                    key_memory_rows,
                )  # fmt: skip
            notes = _notes(reader, delivery, entry)
            result.notes = "; ".join(notes) if notes else None
            return None
        except EncodingMismatch:
            if encoding is not None:
                raise
            # valid UTF-8 at first, not further on: the whole file must be one encoding
            encoding = "gb18030"
        except FileRejected as exc:
            return exc.problem
        except (
            UnicodeDecodeError,
            psycopg.errors.CharacterNotInRepertoire,
            psycopg.errors.UntranslatableCharacter,
        ) as exc:
            # bytes that do not decode, found by Python or by PostgreSQL: find the line
            failure = _decode_failure(reader, exc)
            if isinstance(failure, EncodingMismatch) and encoding is None:
                encoding = "gb18030"
            elif isinstance(failure, FileRejected):
                return failure.problem
            else:
                return _server_problem(exc)
        except psycopg.errors.DataError as exc:
            # the server refused a value our checks let through: the file is rejected
            # whole, with the server's words
            return _server_problem(exc)
        result.rows_read = result.rows_loaded = result.rows_rejected = 0


def _decode_failure(reader: Reader | None, exc: Exception) -> Exception | None:
    locate = getattr(reader, "locate_undecodable", None)
    if locate is None or reader is None:
        return None
    line = locate()
    if line is None:
        return None
    return reader.decode_failure(line)  # type: ignore[attr-defined]


def _server_problem(exc: BaseException) -> Problem:
    diag = getattr(exc, "diag", None)
    detail = (diag.message_primary if diag else None) or str(exc)
    context = (diag.context if diag else None) or ""
    return Problem(
        "file",
        f"数据库拒绝了该文件：{detail} {context}".strip(),
        f"the database refused the file: {detail} {context}".strip(),
    )


def _notes(reader: Reader, delivery: Delivery, entry: ManifestEntry | None) -> list[str]:
    notes: list[str] = []
    if reader.header.ignored:
        names = ", ".join(reader.header.ignored)
        notes.append(f"忽略了不认识的列 {names} / ignored unknown column(s) {names}")
    if delivery.manifest is not None and entry is None:
        notes.append(
            "_manifest.json 未列出此文件，未核对 / not listed in _manifest.json, not verified"
        )
    for column, count in getattr(reader, "numeric_text_cells", {}).items():
        notes.append(
            f"列 {column} 有 {count} 个单元格是数字格式，Excel 可能已丢掉前导零（如 001 → 1）"
            f" / column {column} has {count} cell(s) typed as numbers: Excel may have dropped"
            " leading zeros (001 -> 1)"
        )
    sheet = getattr(reader, "sheet_name", None)
    if sheet:
        notes.append(f"读取第一个工作表 {sheet!r} / read the first worksheet {sheet!r}")
    return notes


# -- streaming -----------------------------------------------------------------------------


class _RejectSpool:
    """Rejected rows as COPY text in a temp file (memory stays flat however many)."""

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


class _Keys:
    """Keys of the rows seen, to find rows that share a key within the file.

    Valid rows keep only a 64-bit hash and their line (16 bytes a row, however long the
    key); rows rejected for another reason keep their exact key (they are few). Rows whose
    hashes collide are then compared exactly, from what was loaded. Past ``memory_rows``
    valid rows (a file far beyond any real export) the hashes are dropped and the database
    finds the shared keys set-wise instead, so memory stays flat whatever the file size.
    """

    def __init__(self, single: bool, memory_rows: int) -> None:
        import numpy as np

        self._np = np
        self.single = single
        self.memory_rows = memory_rows
        self.count = 0
        self.overflow = False
        self.hashes: list[Any] = []  # numpy int64 arrays, one per batch
        self.lines: list[Any] = []
        self.rejected: dict[bytes | tuple[bytes, ...], list[int]] = {}

    def add_valid(self, key_columns: list[list[bytes]], line_nos: Sequence[int]) -> None:
        if self.overflow:
            return
        self.count += len(line_nos)
        if self.count > self.memory_rows:
            self.overflow = True
            self.hashes, self.lines = [], []
            return
        np = self._np
        keys: Iterator[object] = (
            map(hash, key_columns[0]) if self.single else map(hash, zip(*key_columns, strict=True))
        )
        self.hashes.append(np.fromiter(keys, dtype=np.int64, count=len(line_nos)))
        if isinstance(line_nos, range):
            self.lines.append(np.arange(line_nos.start, line_nos.stop, dtype=np.int64))
        else:
            self.lines.append(np.array(line_nos, dtype=np.int64))

    def add_rejected(self, key: tuple[bytes, ...], line_no: int) -> None:
        self.rejected.setdefault(key[0] if self.single else key, []).append(line_no)

    def candidate_lines(self) -> list[int] | None:
        """Lines of valid rows that may share their key with another row (None: ask the
        database, the hashes were dropped)."""
        if self.overflow:
            return None
        np = self._np
        if not self.hashes:
            return []
        hashes = np.concatenate(self.hashes)
        ordered = np.sort(hashes)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if self.rejected:
            rejected = np.array([hash(k) for k in self.rejected], dtype=np.int64)
            repeated = np.concatenate([repeated, rejected])
        if not len(repeated):
            return []
        lines = np.concatenate(self.lines)
        return sorted(lines[np.isin(hashes, repeated)].tolist())


class _BackgroundWriter(LibpqWriter):
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


def _assemble(line_nos: Sequence[int], columns: list[list[bytes]], tail: bytes) -> bytes:
    """Rows as COPY CSV: line_no, the converted columns, load_id."""
    numbers = map(b"%d".__mod__, line_nos)
    rows = map(b",".join, zip(numbers, *columns, repeat(tail)))
    return b"\n".join(rows) + b"\n"


def _pass_through(line_nos: Sequence[int], lines: list[bytes], suffix: bytes) -> bytes:
    """Rows as COPY CSV from the file's own lines: ``line_no,`` + line + ``,...,load_id``.

    Used when every cell of a batch is already in its canonical form (the usual machine
    export): no cell is copied, only each line gets its number in front.
    """
    out = [suffix] * (3 * len(lines))
    out[0::3] = map(b"%d,".__mod__, line_nos)
    out[1::3] = lines
    return b"".join(out)


@contextmanager
def _no_gc() -> Iterator[None]:
    # Millions of short-lived lists and bytes, none of them cyclic: the cyclic collector
    # would only rescan them (measured: a third of the parse time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stream(
    conn: psycopg.Connection,
    load_id: int,
    candidate: Candidate,
    reader: Reader,
    refs: References,
    entry: ManifestEntry | None,
    result: FileResult,
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
    spool = _RejectSpool(load_id, candidate.rel_path)
    keys = _Keys(single=len(key_index) == 1, memory_rows=key_memory_rows)
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
            _no_gc(),
            conn.cursor() as cur,
            cur.copy(statement, writer=_BackgroundWriter(cur)) as copy,
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
                    total += _money_total(batch.cells[money], codec)
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
                            _pass_through(line_nos, batch.lines, defaults + b"," + tail + b"\n")
                        )
                    else:
                        copy.write(_assemble(line_nos, converted, tail))
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
        result.rows_read = rows_read
        if entry is not None:
            mismatch = count_mismatch(entry, rows_read, total if money is not None else None)
            if mismatch is not None:
                raise FileRejected(mismatch.zh, mismatch.en)
        removed = _reject_duplicates(conn, load_id, entity, reader, keys, spool, years)
        spool.copy_into(conn)
    finally:
        spool.close()
    result.rows_loaded = rows_valid - removed
    result.rows_rejected = spool.count
    if entity.year_column is None:
        counts = {0: result.rows_loaded} if result.rows_loaded else {}
    else:
        counts = {int(year): n for year, n in years.items() if n > 0}
    if counts:
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.load_fiscal_years (load_id, fiscal_year, rows_loaded)"
                " values (%s, %s, %s)",
                [(load_id, year, n) for year, n in sorted(counts.items())],
            )


def _money_total(cells: list[bytes], codec: str) -> Decimal:
    total = Decimal(0)
    for cell in cells:
        amount = money_or_none(cell.decode(codec))
        if amount is not None:
            total += amount
    return total


def _reject_duplicates(
    conn: psycopg.Connection,
    load_id: int,
    entity: Entity,
    reader: Reader,
    keys: _Keys,
    spool: _RejectSpool,
    years: Counter[bytes],
) -> int:
    """Reject every loaded row whose key another row of the file shares; return how many."""
    candidates = keys.candidate_lines()
    if candidates == []:
        return 0
    codec = "utf-8" if reader.encoding.startswith("utf-8") else reader.encoding
    rejected_lines: dict[tuple[str, ...], list[int]] = {}
    for rejected_key, lines in keys.rejected.items():
        parts = (rejected_key,) if isinstance(rejected_key, bytes) else rejected_key
        exact = tuple(csv_unfield(p.decode(codec)) for p in parts)
        rejected_lines.setdefault(exact, []).extend(lines)
    key_sql = sql.SQL(", ").join(
        sql.SQL("to_char({}, 'YYYY-MM-DD')").format(sql.Identifier(k))
        if entity.column(k).kind is Kind.DATE
        else sql.SQL("{}::text").format(sql.Identifier(k))
        for k in entity.key
    )
    year_expr = (
        sql.SQL("{}::text").format(sql.Identifier(entity.year_column))
        if entity.year_column
        else sql.SQL("null::text")
    )
    table = sql.Identifier(entity.name)
    params: tuple[object, ...]
    if candidates is not None:
        query = sql.SQL(
            "select line_no, {year}, {keys} from raw.{table} where load_id = %s"
            " and line_no = any(%s)"
        ).format(year=year_expr, keys=key_sql, table=table)
        params = (load_id, candidates)
    else:
        # too many rows to hash in memory: the database groups the loaded keys itself
        arrays = [[k[i] for k in rejected_lines] for i in range(len(entity.key))]
        query = sql.SQL(
            "select line_no, {year}, {keys} from raw.{table} where load_id = %s and ({keys}) in"
            " (select {keys} from raw.{table} where load_id = %s group by {keys}"
            "  having count(*) > 1 union all select * from unnest({arrays}))"
        ).format(
            year=year_expr,
            keys=key_sql,
            table=table,
            arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in entity.key),
        )
        params = (load_id, load_id, *arrays)
    groups: dict[tuple[str, ...], list[tuple[int, str | None]]] = {}
    for row in conn.execute(query, params):
        groups.setdefault(tuple(row[2:]), []).append((int(row[0]), row[1]))
    duplicates: list[tuple[int, str | None, tuple[str, ...], list[int]]] = []
    for exact_key, loaded in groups.items():
        all_lines = sorted([line for line, _ in loaded] + rejected_lines.get(exact_key, []))
        if len(all_lines) < 2:
            continue
        for line, year in loaded:
            # name a few of the other lines, not all: a key may repeat thousands of times
            others = [x for x in all_lines[: _SHOWN_LINES + 1] if x != line][:_SHOWN_LINES]
            duplicates.append((line, year, exact_key, [*others, len(all_lines) - 1]))
    if not duplicates:
        return 0
    lines_to_drop = [d[0] for d in duplicates]
    conn.execute(
        sql.SQL("delete from raw.{} where load_id = %s and line_no = any(%s)").format(
            sql.Identifier(entity.name)
        ),
        (load_id, lines_to_drop),
    )
    raws = reader.raw_lines(set(lines_to_drop))
    key_names = ",".join(entity.key)
    for line, year, exact_key, listed in sorted(duplicates):
        shown = ", ".join(exact_key)
        others, total = listed[:-1], listed[-1]
        other_zh = f"第 {'、'.join(map(str, others))} 行" + (
            f"等 {total} 行" if total > len(others) else ""
        )
        other_en = ", ".join(map(str, others)) + (
            f" ({total} in all)" if total > len(others) else ""
        )
        problem = Problem(
            "duplicate_key",
            f"({shown}) 与{other_zh}重复（同一文件中键相同的行全部拒绝，无法判断哪一行正确）",
            f"({shown}) is also the key of line(s) {other_en} (rows sharing a key are all "
            "rejected: which one is right cannot be known)",
        )
        spool.add(line, [(key_names, problem)], raws.get(line, ""))
        if year is not None:
            years[year.encode()] -= 1
    return len(duplicates)
