"""Rows that share a key within one file: all of them are rejected (DATA_CONTRACT.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from budgetperf.ingest.columns import csv_unfield
from budgetperf.ingest.entities import Entity, Kind
from budgetperf.ingest.readers import Reader
from budgetperf.ingest.values import Problem

if TYPE_CHECKING:
    from budgetperf.ingest.stream import RejectSpool

_SHOWN_LINES = 5  # other lines named in a duplicate-key reason


class KeyIndex:
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
        # keep the peak low: each list of per-batch arrays is dropped once concatenated
        hashes = np.concatenate(self.hashes)
        self.hashes = []
        ordered = np.sort(hashes)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        del ordered
        if self.rejected:
            rejected = np.array([hash(k) for k in self.rejected], dtype=np.int64)
            repeated = np.concatenate([repeated, rejected])
        if not len(repeated):
            self.lines = []
            return []
        lines = np.concatenate(self.lines)
        self.lines = []
        return sorted(lines[np.isin(hashes, repeated)].tolist())


def reject_duplicates(
    conn: psycopg.Connection,
    load_id: int,
    entity: Entity,
    reader: Reader,
    keys: KeyIndex,
    spool: RejectSpool,
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
