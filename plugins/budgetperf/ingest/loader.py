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

This module keeps the ledger and decides; ``stream.py`` moves the rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from budgetperf.ingest.entities import ENTITIES
from budgetperf.ingest.landing import (
    Candidate,
    Delivery,
    Finding,
    discover,
    open_folder,
    open_regular,
    sha256_of,
)
from budgetperf.ingest.manifest import ManifestEntry, sha_mismatch
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
    load_references,
)
from budgetperf.ingest.stream import ProgressCallback, StreamCounts, stream_rows
from budgetperf.ingest.values import Problem
from budgetperf.warehouse import connect

log = logging.getLogger("budgetperf.ingest")

_LOCK_NAMESPACE = 8_240_603  # advisory lock class of "loading one (entity, as_of)"


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
        loaded_into: set[str] = set()
        for delivery in deliveries:
            for candidate in delivery.ordered():
                conflict = _conflict_identity(delivery, candidate)
                result = _load_candidate(
                    conn, delivery, candidate, conflict, progress, key_memory_rows
                )
                report.files.append(result)
                if result.rows_loaded:
                    loaded_into.add(candidate.entity)
                log.info(
                    "budgetperf: %s %s: %d rows read, %d loaded, %d rejected%s",
                    result.file_path,
                    result.status,
                    result.rows_read,
                    result.rows_loaded,
                    result.rows_rejected,
                    f" ({result.reason})" if result.reason else "",
                )
        # statistics before anything queries the new rows (migrations 0500, 0600 say why)
        for entity in sorted(loaded_into):
            with conn.transaction():
                conn.execute("select ops.analyze_raw_table(%s)", (entity,))
        if any(f.status != "skipped" for f in report.files):
            with conn.transaction():
                conn.execute("select ops.analyze_load_ledgers()")
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
                counts = StreamCounts()
                try:
                    stream_rows(
                        conn, load_id, candidate, reader, refs, entry, counts, progress,
                        key_memory_rows,
                    )  # fmt: skip
                finally:
                    result.rows_read = counts.rows_read
                result.rows_loaded = counts.rows_loaded
                result.rows_rejected = counts.rows_rejected
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
