"""The source interface: what a system we pull from must answer.

A source knows its entities (how each is read) and opens sessions; a session extracts one
entity as batches of rows, already in contract column order, each with the value of its
incremental column. Everything after that (snapshot, canonical order, files, manifest,
atomic publication) is common to all sources and lives in ``pull.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from budgetperf.sources.config import EntitySource
from budgetperf.sources.watermark import Watermark

# One source row: the entity's values in contract column order, and the cursor value
# (the incremental column; None when the entity is not pulled incrementally).
SourceRow = tuple[tuple[Any, ...], Any]


@dataclass(frozen=True)
class Extract:
    """One entity as the source gives it, streamed."""

    batches: Iterator[list[SourceRow]]
    described: str  # what was asked, for messages: a view, a query's start, an endpoint


class SourceSession(Protocol):
    def extract(self, spec: EntitySource, as_of: dt.date, since: Watermark | None) -> Extract: ...


class Source(Protocol):
    name: str  # "sql:budgetperf_source": in messages and the pull state's folder name
    entities: tuple[EntitySource, ...]

    def identity(self) -> dict[str, Any]:
        """What makes this the same source system (no secrets)."""
        ...

    def not_ready(self, as_of: dt.date) -> str | None:
        """None when the source's data for ``as_of`` is complete, else why not."""
        ...

    def session(self) -> AbstractContextManager[SourceSession]: ...
