"""The pulled snapshot of each entity, kept between pulls (SQLite, one file per source).

Why a store at all: the contract wants complete files, while an incremental pull only
brings what changed. The store holds the last complete state; a full pull replaces an
entity's rows, an incremental one replaces the rows whose key it brings again. The
delivery file is then written from the store in one canonical order (the entity's key,
then every cell, compared as text), so the same data always gives the same bytes, whether
it came in one full pull or in increments, and whatever order the source returned.
SQLite sorts on disk: no table is ever held in memory.

Rows that share a key within one full pull are all kept (the loader rejects every one of
them: the contract says which is right cannot be known). The store is changed inside one
transaction per pull, committed only after the delivery is in place: a pull that fails
leaves the store as it was, and the next one starts from the same watermark.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from budgetperf.ingest.entities import Entity
from budgetperf.sources.watermark import Watermark

_SCHEMA_VERSION = 1


class StoreBusy(Exception):
    """Another pull of the same source holds the store."""


@dataclass(frozen=True)
class EntityState:
    fingerprint: str
    watermark: Watermark | None
    pulled_at: str
    rows: int


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _ident(name: str) -> str:
    """A quoted SQLite identifier. Every identifier here is ours (``rows_<entity>`` of a
    contract entity, cell columns ``c0``...), never input; checked all the same."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not an identifier: {name!r}")
    return f'"{name}"'


def _compose(template: str, **parts: str | list[str] | int) -> str:
    """Fill a statement template with identifiers (a list becomes a comma list, a number
    that many ``?`` placeholders)."""
    filled = {}
    for key, value in parts.items():
        if isinstance(value, int):
            filled[key] = ", ".join("?" * value)
        elif isinstance(value, list):
            filled[key] = ", ".join(map(_ident, value))
        else:
            filled[key] = _ident(value)
    return template.format(**filled)


def _table(entity: str) -> str:
    return f"rows_{entity}"


def _cells(entity: Entity) -> list[str]:
    return [f"c{i}" for i in range(len(entity.columns))]


def _key(entity: Entity) -> list[str]:
    cells = _cells(entity)
    return [cells[entity.column_names.index(k)] for k in entity.key]


class SnapshotStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("pragma synchronous = full")
        self.db.execute(
            "create table if not exists entity_state (entity text primary key,"
            " fingerprint text not null, watermark_kind text, watermark text,"
            " pulled_at text not null, row_count integer not null, version integer not null)"
        )

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.db.execute("begin immediate")
        except sqlite3.OperationalError as exc:
            # another pull of the same source (into another landing) holds the store
            raise StoreBusy(f"{self.path} is in use by another pull ({exc})") from None
        try:
            yield
        except BaseException:
            self.db.execute("rollback")
            raise
        self.db.execute("commit")

    def state(self, entity: str) -> EntityState | None:
        row = self.db.execute(
            "select fingerprint, watermark_kind, watermark, pulled_at, row_count, version"
            " from entity_state where entity = ?",
            (entity,),
        ).fetchone()
        if row is None or row[5] != _SCHEMA_VERSION:
            return None
        mark = Watermark(row[1], row[2]) if row[1] is not None else None
        return EntityState(row[0], mark, row[3], row[4])

    def _ensure_table(self, entity: Entity) -> None:
        table = _table(entity.name)
        columns = ", ".join(f"{_ident(c)} text not null" for c in _cells(entity))
        self.db.execute(
            _compose("create table if not exists {table} (", table=table)
            + columns
            + ", cutoff text)"
        )
        self.db.execute(
            _compose(
                "create index if not exists {index} on {table} ({key})",
                index="key_" + entity.name,
                table=table,
                key=_key(entity),
            )
        )

    def replace_all(self, entity: Entity) -> None:
        """A full pull: the entity's rows are exactly what follows."""
        self.db.execute(_compose("drop table if exists {table}", table=_table(entity.name)))
        self._ensure_table(entity)

    def add(self, entity: Entity, rows: Iterable[tuple[str | None, ...]], *, delta: bool) -> None:
        """Append rows (cells..., cutoff); ``delta`` rows go to the merge table first."""
        target = "delta" if delta else _table(entity.name)
        width = len(entity.columns) + 1  # the cells, then the cutoff day
        self.db.executemany(
            _compose("insert into {target} values ({marks})", target=target, marks=width), rows
        )

    def begin_delta(self, entity: Entity) -> None:
        self._ensure_table(entity)
        self.db.execute("drop table if exists temp.delta")
        self.db.execute(
            _compose(
                "create temp table delta as select * from {table} where 0",
                table=_table(entity.name),
            )
        )

    def merge_delta(self, entity: Entity) -> int:
        """Rows of the delta replace every stored row with the same key; returns how many
        stored rows were replaced."""
        parts: dict[str, str | list[str] | int] = {
            "table": _table(entity.name),
            "key": _key(entity),
        }
        replaced = self.db.execute(
            _compose("delete from {table} where ({key}) in (select {key} from delta)", **parts)
        ).rowcount
        self.db.execute(_compose("insert into {table} select * from delta", **parts))
        self.db.execute("drop table temp.delta")
        return replaced

    def record(self, entity: str, fingerprint: str, watermark: Watermark | None) -> int:
        count = self.db.execute(
            _compose("select count(*) from {table}", table=_table(entity))
        ).fetchone()[0]
        self.db.execute(
            "insert or replace into entity_state values (?, ?, ?, ?, ?, ?, ?)",
            (
                entity,
                fingerprint,
                watermark.kind if watermark else None,
                watermark.text if watermark else None,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                count,
                _SCHEMA_VERSION,
            ),
        )
        return int(count)

    def rows(self, entity: Entity, as_of: dt.date) -> Iterator[tuple[str, ...]]:
        """The entity's rows as of ``as_of`` (rows dated later left out), in canonical
        order: key cells, then all cells, compared as text (SQLite's binary collation
        of UTF-8, i.e. code point order)."""
        cells = _cells(entity)
        key = _key(entity)
        yield from self.db.execute(
            _compose(
                "select {cells} from {table} where cutoff is null or cutoff <= ?"
                " order by {key}, {rest}",
                cells=cells,
                table=_table(entity.name),
                key=key,
                rest=[c for c in cells if c not in key] or key,
            ),
            (as_of.isoformat(),),
        )
