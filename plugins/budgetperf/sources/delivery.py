"""Write a pulled delivery into the landing, whole or not at all.

Files are written into a hidden folder inside the landing (``.pull-<as_of>-<random>``):
the loader and the sensor only read folders named exactly ``YYYYMMDD``, so it is invisible
to them, and being on the same file system, one ``rename`` makes it the delivery. A pull
that fails removes its folder; one that is killed leaves it hidden, and the next pull
(holding the landing's pull lock, so no other pull is running) removes it.

Replacing a delivery takes two renames (POSIX has no atomic swap of two folders on every
file system; a landing is often a mounted share): the old folder goes to
``.pull-previous-<YYYYMMDD>``, then the new one takes its name. A pull killed between the
two leaves no ``<YYYYMMDD>`` folder, but keeps the old one whole under that name, and the
next pull, first thing under the lock, puts it back (or removes it when the new one did
make it into place).

CSV files are UTF-8 without BOM, English headers, ``\\n`` line ends, minimal quoting:
one spelling for one content. ``_manifest.json`` lists each file's rows, sha256 and
money total, computed as the loader recomputes them (``ingest.values.money_or_none``).
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from budgetperf.ingest.entities import Entity
from budgetperf.ingest.landing import MANIFEST_NAME
from budgetperf.ingest.values import money_or_none
from budgetperf.sources.errors import SourceBusy

log = logging.getLogger("budgetperf.sources")

TEMP_PREFIX = ".pull-"
PREVIOUS_PREFIX = TEMP_PREFIX + "previous-"  # a delivery being replaced: see publish
LOCK_NAME = ".pull.lock"
_FLUSH_ROWS = 4096


@dataclass(frozen=True)
class WrittenFile:
    name: str
    rows: int
    sha256: str
    size: int
    amount_yuan_total: Decimal | None


def manifest_bytes(files: Iterable[WrittenFile]) -> bytes:
    """``_manifest.json`` in the contract's shape, with one spelling (sorted keys)."""
    entries: dict[str, dict[str, object]] = {}
    for f in sorted(files, key=lambda f: f.name):
        entry: dict[str, object] = {"rows": f.rows, "sha256": f.sha256}
        if f.amount_yuan_total is not None:
            entry["amount_yuan_total"] = f"{f.amount_yuan_total:.2f}"
        entries[f.name] = entry
    text = json.dumps({"files": entries}, ensure_ascii=False, indent=2, sort_keys=True)
    return (text + "\n").encode("utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def landing_lock(landing: Path, source: str) -> Iterator[None]:
    """One pull at a time per landing; leftovers of killed pulls are removed under it."""
    landing.mkdir(parents=True, exist_ok=True)
    fd = os.open(landing / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SourceBusy(
                    source, f"another pull is writing into {landing} right now; try again"
                ) from None
            raise
        restore_replaced(landing)
        for leftover in landing.glob(TEMP_PREFIX + "*"):
            # we hold the lock: no live pull owns these; they are what a killed one left
            log.info("budgetperf: removing %s, left by an interrupted pull", leftover.name)
            _remove(leftover)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def restore_replaced(landing: Path) -> list[str]:
    """Put back the deliveries a pull killed while replacing them had moved aside (its new
    folder never took their place); call with the landing's pull lock held. Returns the
    names restored."""
    restored = []
    for previous in sorted(landing.glob(PREVIOUS_PREFIX + "*")):
        target = landing / previous.name.removeprefix(PREVIOUS_PREFIX)
        if target.exists() or target.is_symlink():
            continue  # the replacement is in place: the old one is removed as a leftover
        log.warning(
            "budgetperf: restoring delivery %s: a pull replacing it was interrupted", target.name
        )
        os.rename(previous, target)
        restored.append(target.name)
    if restored:
        _fsync_dir(landing)
    return restored


class DeliveryFolder:
    """A delivery being written: ``write`` each entity, then ``publish`` it, or ``discard``."""

    def __init__(self, landing: Path, as_of: dt.date) -> None:
        self.landing = landing
        self.as_of = as_of
        self.name = f"{as_of:%Y%m%d}"
        self.target = landing / self.name
        self.temp = landing / f"{TEMP_PREFIX}{self.name}-{uuid.uuid4().hex[:12]}"
        self.temp.mkdir()
        self.files: list[WrittenFile] = []

    def write(self, entity: Entity, rows: Iterable[tuple[str, ...]]) -> WrittenFile:
        name = f"{entity.name}.csv"
        money_at = entity.column_names.index(entity.money_column) if entity.money_column else None
        digest = hashlib.sha256()
        size = count = pending = 0
        total = Decimal(0)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(entity.column_names)
        with (self.temp / name).open("wb") as out:

            def flush() -> None:
                nonlocal size
                data = buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
                digest.update(data)
                out.write(data)
                size += len(data)

            for row in rows:
                writer.writerow(row)
                count += 1
                if money_at is not None:
                    amount = money_or_none(row[money_at])
                    if amount is not None:
                        total += amount
                pending += 1
                if pending >= _FLUSH_ROWS:
                    flush()
                    pending = 0
            flush()
            out.flush()
            os.fsync(out.fileno())
        written = WrittenFile(
            name, count, digest.hexdigest(), size, total if money_at is not None else None
        )
        self.files.append(written)
        return written

    def _same_as_target(self, manifest: bytes) -> bool:
        """True when the delivery in place already holds exactly these bytes."""
        if self.target.is_symlink() or not self.target.is_dir():
            return False
        expected = {f.name: f.sha256 for f in self.files}
        present = {p.name for p in self.target.iterdir()}
        if present != {*expected, MANIFEST_NAME}:
            return False
        if (self.target / MANIFEST_NAME).read_bytes() != manifest:
            return False
        for name, sha in expected.items():
            digest = hashlib.sha256()
            with (self.target / name).open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() != sha:
                return False
        return True

    def publish(self) -> str:
        """Put the delivery in place: ``created``, ``replaced`` (the folder held other
        bytes; the loader loads the new files as corrections) or ``unchanged`` (the same
        bytes are already there: nothing moves, the loader skips them)."""
        manifest = manifest_bytes(self.files)
        path = self.temp / MANIFEST_NAME
        with path.open("wb") as out:
            out.write(manifest)
            out.flush()
            os.fsync(out.fileno())
        _fsync_dir(self.temp)
        if self.target.exists() or self.target.is_symlink():
            if self._same_as_target(manifest):
                self.discard()
                return "unchanged"
            # Two renames: the folder is briefly absent, never partial. The old one waits
            # under a hidden name the next pull recognises: if this process dies before
            # the second rename, that pull restores it (restore_replaced).
            previous = self.landing / f"{PREVIOUS_PREFIX}{self.name}"
            _remove(previous)  # none under the lock; at worst a stale one
            os.rename(self.target, previous)
            _fsync_dir(self.landing)
            os.rename(self.temp, self.target)
            _fsync_dir(self.landing)
            _remove(previous)
            return "replaced"
        os.rename(self.temp, self.target)
        _fsync_dir(self.landing)
        return "created"

    def discard(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)
