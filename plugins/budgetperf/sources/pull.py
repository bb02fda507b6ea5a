"""Pull one delivery: source -> snapshot store -> ``<landing>/<as_of YYYYMMDD>/``.

For each configured entity, in the contract's dependency order:
  1. decide full or incremental: incremental only when the entity has an incremental
     column, a previous pull of the same configuration and source left a watermark, and
     no full pull was asked for;
  2. stream the source's rows into the store (full: they replace the entity; incremental:
     they replace the stored rows with the same key), tracking the new watermark;
then write every entity's file from the store (rows dated after ``as_of`` left out), the
manifest, and publish the folder in one rename. The store commits only after that, so
a failure anywhere leaves both the landing and the pull state as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from budgetperf.ingest.entities import ENTITIES, Entity
from budgetperf.sources.base import Source, SourceRow, SourceSession
from budgetperf.sources.cells import CellError, cell_text, cutoff_day
from budgetperf.sources.config import EntitySource
from budgetperf.sources.delivery import DeliveryFolder, landing_lock
from budgetperf.sources.errors import SourceBusy, SourceDataError, SourceNotReady
from budgetperf.sources.store import SnapshotStore, StoreBusy
from budgetperf.sources.watermark import Watermark

log = logging.getLogger("budgetperf.sources")

Say = Callable[[str], None]


@dataclass
class EntityPull:
    entity: str
    mode: str  # full | incremental
    fetched: int  # rows the source returned in this pull
    replaced: int  # stored rows an incremental pull replaced (same key)
    rows: int = 0  # rows in the delivered file (dated up to as_of)
    file: str = ""
    sha256: str = ""
    watermark: str | None = None
    seconds: float = 0.0


@dataclass
class PullResult:
    source: str
    as_of: dt.date
    folder: Path
    status: str  # created | replaced | unchanged
    entities: list[EntityPull] = field(default_factory=list)
    seconds: float = 0.0

    def one_line(self) -> str:
        rows = sum(e.rows for e in self.entities)
        fetched = sum(e.fetched for e in self.entities)
        what = {
            "created": "pulled",
            "replaced": "pulled (replacing the earlier pull of the same date)",
            "unchanged": "pulled, unchanged since the last pull (same bytes)",
        }[self.status]
        return (
            f"delivery {self.folder.name} {what} from {self.source}: {len(self.entities)} "
            f"file(s), {rows:,} rows ({fetched:,} read from the source) in {self.seconds:.1f} s"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "folder": str(self.folder),
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "entities": [asdict(e) for e in self.entities],
        }


def state_folder(state_dir: Path, source_name: str) -> Path:
    return state_dir / re.sub(r"[^A-Za-z0-9_.-]+", "-", source_name)


def pull_delivery(
    source: Source,
    landing: Path,
    as_of: dt.date,
    *,
    state_dir: Path,
    full: bool = False,
    check_ready: bool = True,
    say: Say | None = None,
) -> PullResult:
    """Pull the state of ``source`` as of ``as_of`` into ``<landing>/<as_of>/``."""
    emit: Say = say or (lambda message: log.info("budgetperf: %s", message))
    started = time.monotonic()
    if check_ready:
        reason = source.not_ready(as_of)
        if reason is not None:
            raise SourceNotReady(source.name, f"not ready for {as_of}: {reason}")
    identity = json.dumps(source.identity(), sort_keys=True, default=str)
    with landing_lock(landing, source.name):
        store = SnapshotStore(state_folder(state_dir, source.name) / "snapshots.sqlite")
        try:
            with store.transaction():
                folder = DeliveryFolder(landing, as_of)
                try:
                    pulls: list[EntityPull] = []
                    with source.session() as session:
                        for spec in source.entities:
                            entity = ENTITIES[spec.entity]
                            pulled = _refresh(
                                store, session, source.name, spec, as_of, full, identity
                            )
                            # each file is written as soon as its entity is read: the
                            # hidden folder fills up as the pull goes
                            written = folder.write(entity, store.rows(entity, as_of))
                            pulled.rows, pulled.file = written.rows, written.name
                            pulled.sha256 = written.sha256
                            pulls.append(pulled)
                            emit(_progress_line(pulled))
                    status = folder.publish()
                except BaseException:
                    folder.discard()
                    raise
        except StoreBusy as exc:
            raise SourceBusy(source.name, f"{exc}; try again") from None
        finally:
            store.close()
    result = PullResult(
        source=source.name,
        as_of=as_of,
        folder=folder.target,
        status=status,
        entities=pulls,
        seconds=time.monotonic() - started,
    )
    emit(result.one_line())
    return result


def _progress_line(p: EntityPull) -> str:
    extra = f", {p.replaced:,} stored rows updated" if p.mode == "incremental" else ""
    mark = f"; watermark {p.watermark}" if p.watermark else ""
    return (
        f"{p.entity}: {p.fetched:,} rows read ({p.mode}{extra}), {p.rows:,} rows in {p.file} "
        f"in {p.seconds:.1f} s{mark}"
    )


def _fingerprint(spec: EntitySource, identity: str) -> str:
    return hashlib.sha256(f"{spec.fingerprint}|{identity}".encode()).hexdigest()


def _refresh(
    store: SnapshotStore,
    session: SourceSession,
    source_name: str,
    spec: EntitySource,
    as_of: dt.date,
    full: bool,
    identity: str,
) -> EntityPull:
    started = time.monotonic()
    entity = ENTITIES[spec.entity]
    fingerprint = _fingerprint(spec, identity)
    state = store.state(entity.name)
    previous = state.watermark if state is not None and state.fingerprint == fingerprint else None
    incremental = spec.incremental is not None and not full and previous is not None
    since = None
    if incremental:
        assert spec.incremental is not None and previous is not None
        since = previous.minus_days(spec.incremental.lookback_days)
    extract = session.extract(spec, as_of, since)
    if incremental:
        store.begin_delta(entity)
    else:
        store.replace_all(entity)
    cutoff_at = entity.column_names.index(spec.as_of_column) if spec.as_of_column else None
    fetched = 0
    highest: Any = None
    for batch in extract.batches:
        cells, highest = _cells(batch, entity, cutoff_at, fetched, highest, source_name)
        fetched += len(batch)
        store.add(entity, cells, delta=incremental)
    replaced = store.merge_delta(entity) if incremental else 0
    mark = Watermark.of(highest)
    if incremental and previous is not None:
        mark = mark.later(previous) if mark is not None else previous
    store.record(entity.name, fingerprint, mark)
    return EntityPull(
        entity=entity.name,
        mode="incremental" if incremental else "full",
        fetched=fetched,
        replaced=replaced,
        watermark=mark.text if mark is not None else None,
        seconds=time.monotonic() - started,
    )


def _cells(
    batch: Sequence[SourceRow],
    entity: Entity,
    cutoff_at: int | None,
    before: int,
    highest: Any,
    source_name: str,
) -> tuple[Iterator[tuple[str | None, ...]], Any]:
    """The batch as store rows (cells..., cutoff day), and the highest cursor so far."""
    out: list[tuple[str | None, ...]] = []
    columns = entity.columns
    kinds = [c.kind for c in columns]
    for offset, (values, cursor) in enumerate(batch):
        try:
            cells = list(map(cell_text, values, kinds))
        except CellError:
            for v, c in zip(values, columns, strict=True):
                try:
                    cell_text(v, c.kind)
                except CellError as exc:
                    raise SourceDataError(
                        source_name,
                        f"column {c.name}: {exc}",
                        entity=entity.name,
                        row=before + offset + 1,
                    ) from None
            raise
        cutoff = cutoff_day(values[cutoff_at]) if cutoff_at is not None else None
        out.append((*cells, cutoff))
        if cursor is not None and cursor != "":
            try:
                if highest is None or cursor > highest:
                    highest = cursor
            except TypeError:
                raise SourceDataError(
                    source_name,
                    f"the incremental column holds values that cannot be compared "
                    f"({highest!r} and {cursor!r})",
                    entity=entity.name,
                    row=before + offset + 1,
                ) from None
    return iter(out), highest
