"""Detect a complete delivery for a checkpoint, or pull it: the body of the DAG's sensor.

Which source is used comes from ``BUDGETPERF_SOURCE`` (``sources/config.py``):

- ``folder`` (default): the integration system's export job drops files into the landing,
  possibly through a mounted share. A run for point ``c`` waits for a folder dated in
  ``(previous point, c]``. A folder is complete when its ``_manifest.json`` is present and
  every file it lists is there (a copy tool may bring the manifest first: ``_`` sorts
  before letters), with matching checksums or quiet for
  ``BUDGETPERF_DELIVERY_STABLE_SECONDS`` (default 300 s; a file still differing after
  that is not being copied, it is wrong, and the loader rejects it with the reason); or,
  without a manifest, when no file has changed for that long. With
  ``BUDGETPERF_REQUIRED_ENTITIES`` (e.g. ``budget_execution``), the complete folders of
  the window must also hold those entities.
- ``sql`` / ``http``: the sensor pulls the delivery for ``c`` into the landing
  (``sources/pull.py``); the loader then loads it like any other. A source that is
  unreachable or not ready is poked again later; a source that refuses or is
  misconfigured fails the task at once.

While waiting, every poke logs one line per thing that is missing, then one line naming
each missing or incomplete entity file (``20210930/budget_execution.csv 缺失 (missing)``),
so the timeout's alert (the sensor's ``waiting_for`` message and its last log lines, mailed
by the ``alert_data_engineers`` task) names exactly what never arrived.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from budgetperf.ingest.entities import ENTITIES, ENTITY_ORDER
from budgetperf.ingest.manifest import ManifestError, parse_manifest

if TYPE_CHECKING:
    from budgetperf.sources.config import SourceSettings

MANIFEST = "_manifest.json"
_MANIFEST_LIMIT = 1 << 20
MISSING = "缺失 (missing)"  # a file listed or required, not there
INCOMPLETE = "不完整 (incomplete)"  # there, but not (yet) what the manifest lists


def stable_seconds() -> int:
    return int(os.environ.get("BUDGETPERF_DELIVERY_STABLE_SECONDS") or 300)


def required_entities(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``BUDGETPERF_REQUIRED_ENTITIES``: entities a checkpoint's deliveries must hold."""
    env = os.environ if environ is None else environ
    names = [n.strip() for n in (env.get("BUDGETPERF_REQUIRED_ENTITIES") or "").split(",")]
    unknown = [n for n in names if n and n not in ENTITIES]
    if unknown:
        raise ValueError(
            f"BUDGETPERF_REQUIRED_ENTITIES names {', '.join(unknown)}, not entities "
            f"({', '.join(ENTITY_ORDER)})"
        )
    return tuple(n for n in ENTITY_ORDER if n in names)


def delivery_window(checkpoint: dt.date) -> tuple[dt.date, dt.date]:
    """The as_of dates a run for ``checkpoint`` waits for: after the previous point, up to it."""
    from budgetperf.timetable import configured_timetable  # imports Airflow

    previous = configured_timetable().previous_point(checkpoint)
    return previous + dt.timedelta(days=1), checkpoint


def _as_of(name: str) -> dt.date | None:
    if len(name) != 8 or not name.isdigit():
        return None
    try:
        return dt.datetime.strptime(name, "%Y%m%d").date()
    except ValueError:
        return None


def _entity_of(name: str) -> str | None:
    stem, _, ext = name.partition(".")
    return stem if ext in ("csv", "xlsx") and stem in ENTITIES else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FolderCheck:
    """Why a folder is not a complete delivery yet (no problems: it is)."""

    problems: list[str] = field(default_factory=list)
    entities: set[str] = field(default_factory=set)  # entity files present
    absent: list[str] = field(default_factory=list)  # listed in the manifest, not there
    unfinished: list[str] = field(default_factory=list)  # there, not yet right or quiet


@dataclass
class DeliveryScan:
    landing: Path
    first_day: dt.date
    last_day: dt.date
    complete: list[Path] = field(default_factory=list)
    incomplete: list[tuple[Path, str]] = field(default_factory=list)
    required: tuple[str, ...] = ()
    entities: set[str] = field(default_factory=set)  # held by the complete folders
    # entity files of the incomplete folders: ("20210930/budget_execution.csv", MISSING)
    files: list[tuple[str, str]] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)  # entities the incomplete folders hold

    def names(self) -> list[str]:
        return [p.name for p in self.complete]

    @property
    def window(self) -> str:
        return f"{self.first_day:%Y%m%d}–{self.last_day:%Y%m%d}"

    def missing_required(self) -> list[str]:
        return [e for e in self.required if e not in self.entities]

    @property
    def ready(self) -> bool:
        return bool(self.complete) and not self.missing_required()

    def missing_files(self) -> list[str]:
        """Each entity file still missing or incomplete, named by its path in the landing:
        files an incomplete folder's manifest lists, and required entities that no folder
        of the window holds (expected in the checkpoint's folder)."""
        named = [f"{path} {state}" for path, state in self.files]
        for entity in self.missing_required():
            if entity not in self.pending:
                named.append(f"{self.last_day:%Y%m%d}/{entity}.csv {MISSING}")
        return named

    def waiting_lines(self) -> list[str]:
        """One line per thing missing: the last lines of the sensor's log name them."""
        lines = [f"waiting for the delivery dated {self.window} in {self.landing}"]
        for path, why in self.incomplete:
            lines.append(f"missing: {path.name}/ is not complete: {why}")
        if self.complete:
            for entity in self.missing_required():
                lines.append(
                    f"missing: {entity}.csv or {entity}.xlsx in the deliveries dated "
                    f"{self.window} ({', '.join(self.names())} hold "
                    f"{', '.join(sorted(self.entities)) or 'no entity file'}); "
                    "required by BUDGETPERF_REQUIRED_ENTITIES"
                )
        elif not self.incomplete:
            wanted = ", ".join(f"{e}.csv" for e in self.required) or "the entity files"
            lines.append(
                f"missing: no delivery folder dated {self.window}; expected e.g. "
                f"{self.landing / f'{self.last_day:%Y%m%d}'}/ with {wanted} and {MANIFEST}"
            )
        files = self.missing_files()
        if files:
            lines.append(f"missing files: {'; '.join(files)}")
        return lines

    def waiting_message(self) -> str:
        return "; ".join(self.waiting_lines())


def _folder_problems(folder: Path, now: float, stable: int) -> FolderCheck:
    """Why ``folder`` is not a complete delivery yet (no problems: it is), its entities,
    and the files that are missing or not yet right."""
    files = [
        f
        for f in folder.iterdir()
        if not f.name.startswith(".") and f.is_file() and not f.is_symlink()
    ]
    check = FolderCheck(entities={e for e in map(_entity_of, (f.name for f in files)) if e})
    if not files:
        check.problems.append("the folder is empty")
        return check
    quiet_for = now - max(f.stat().st_mtime for f in files)
    quiet = quiet_for >= stable
    manifest = folder / MANIFEST
    if not manifest.is_file():
        if quiet:
            return check
        fresh = sorted(f.name for f in files if now - f.stat().st_mtime < stable)
        check.problems.append(
            f"no {MANIFEST}, and {', '.join(fresh)} changed {quiet_for:.0f} s ago "
            f"(waiting for {stable} s without change, in case a copy is in progress)"
        )
        check.unfinished += [name for name in fresh if _entity_of(name)]
        return check
    try:
        with manifest.open("rb") as fh:
            listed = parse_manifest(fh.read(_MANIFEST_LIMIT))
    except (ManifestError, OSError) as exc:
        if not quiet:  # once quiet, the loader rejects the delivery with the reason
            check.problems.append(f"{MANIFEST} cannot be read yet ({exc})")
        return check
    check.absent = [name for name in sorted(listed) if not (folder / name).is_file()]
    if check.absent:
        check.problems += [f"{name} is listed in {MANIFEST} but not there" for name in check.absent]
        return check
    if not quiet:
        check.unfinished = [
            name
            for name, entry in sorted(listed.items())
            if entry.sha256 is not None and _sha256(folder / name) != entry.sha256
        ]
        check.problems += [
            f"{name} does not match its sha256 in {MANIFEST} yet (still being copied?)"
            for name in check.unfinished
        ]
    return check


def find_complete_deliveries(
    landing: Path,
    first_day: dt.date,
    last_day: dt.date,
    *,
    required: tuple[str, ...] = (),
    now: float | None = None,
) -> DeliveryScan:
    scan = DeliveryScan(landing, first_day, last_day, required=required)
    if not landing.is_dir():
        return scan
    moment = time.time() if now is None else now
    stable = stable_seconds()
    for entry in sorted(landing.iterdir()):
        as_of = _as_of(entry.name)
        if as_of is None or not (first_day <= as_of <= last_day):
            continue
        if entry.is_symlink() or not entry.is_dir():
            scan.incomplete.append((entry, "not a plain folder (the loader does not read it)"))
            continue
        check = _folder_problems(entry, moment, stable)
        if check.problems:
            scan.incomplete.append((entry, "; ".join(check.problems)))
            scan.files += [(f"{entry.name}/{name}", MISSING) for name in check.absent]
            scan.files += [(f"{entry.name}/{name}", INCOMPLETE) for name in check.unfinished]
            listed = {e for e in map(_entity_of, check.absent) if e}
            scan.pending |= check.entities | listed
        else:
            scan.complete.append(entry)
            scan.entities |= check.entities
    return scan


# -- the sensor's poke ---------------------------------------------------------------------


@dataclass
class DetectOutcome:
    done: bool
    lines: list[str]  # what to log: what arrived, or each thing still missing
    xcom: dict[str, Any] = field(default_factory=dict)


def detect(
    checkpoint: dt.date,
    *,
    landing: Path,
    window: tuple[dt.date, dt.date],
    source: SourceSettings,
    required: tuple[str, ...] = (),
    say: Callable[[str], None] | None = None,
) -> DetectOutcome:
    """One poke: is the delivery for ``checkpoint`` there (folder), or can it be pulled
    now (sql, http)? Raises ``SourceError`` when a person must fix something first."""
    if source.pulls:
        return _pull(checkpoint, landing, source, say)
    scan = find_complete_deliveries(landing, *window, required=required)
    if scan.ready:
        line = f"delivery ready for {checkpoint}: {', '.join(scan.names())}"
        return DetectOutcome(True, [line], {"deliveries": scan.names(), "source": "folder"})
    return DetectOutcome(False, scan.waiting_lines())


def _pull(
    checkpoint: dt.date,
    landing: Path,
    settings: SourceSettings,
    say: Callable[[str], None] | None,
) -> DetectOutcome:
    from budgetperf.sources import SourceError, open_source, pull_delivery

    source = open_source(settings)
    try:
        result = pull_delivery(source, landing, checkpoint, state_dir=settings.state_dir, say=say)
    except SourceError as exc:
        if not exc.transient:
            raise
        return DetectOutcome(
            False,
            [
                f"waiting for the delivery of {checkpoint} from {source.name}",
                f"missing: {exc}",
            ],
        )
    return DetectOutcome(
        True,
        [result.one_line()],
        {"deliveries": [result.folder.name], "source": source.name, "pull": result.summary()},
    )
