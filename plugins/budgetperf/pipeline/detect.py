"""Detect a complete delivery for a checkpoint.

A run for point ``c`` waits for a delivery folder dated in ``(previous point, c]``. A
folder is complete when its ``_manifest.json`` is present (the export job writes it last)
or, without one, when no file in it has changed for ``BUDGETPERF_DELIVERY_STABLE_SECONDS``
(default 300 s, so a copy still in progress is never loaded half-way).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from budgetperf.timetable import configured_timetable

MANIFEST = "_manifest.json"


def stable_seconds() -> int:
    return int(os.environ.get("BUDGETPERF_DELIVERY_STABLE_SECONDS") or 300)


def delivery_window(checkpoint: dt.date) -> tuple[dt.date, dt.date]:
    """The as_of dates a run for ``checkpoint`` waits for: after the previous point, up to it."""
    previous = configured_timetable().previous_point(checkpoint)
    return previous + dt.timedelta(days=1), checkpoint


def _as_of(name: str) -> dt.date | None:
    if len(name) != 8 or not name.isdigit():
        return None
    try:
        return dt.datetime.strptime(name, "%Y%m%d").date()
    except ValueError:
        return None


@dataclass
class DeliveryScan:
    landing: Path
    first_day: dt.date
    last_day: dt.date
    complete: list[Path] = field(default_factory=list)
    incomplete: list[tuple[Path, str]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [p.name for p in self.complete]

    def waiting_message(self) -> str:
        window = f"{self.first_day:%Y%m%d}–{self.last_day:%Y%m%d}"
        if self.incomplete:
            details = "; ".join(f"{p.name}: {why}" for p, why in self.incomplete)
            return f"waiting for delivery {window} in {self.landing}: {details}"
        return (
            f"no delivery dated {window} in {self.landing} yet: expected a folder such as "
            f"{self.landing / f'{self.last_day:%Y%m%d}'}/ with budget_execution.csv or .xlsx"
        )


def find_complete_deliveries(landing: Path, first_day: dt.date, last_day: dt.date) -> DeliveryScan:
    scan = DeliveryScan(landing, first_day, last_day)
    if not landing.is_dir():
        return scan
    now = time.time()
    for entry in sorted(landing.iterdir()):
        as_of = _as_of(entry.name)
        if as_of is None or not (first_day <= as_of <= last_day):
            continue
        if entry.is_symlink() or not entry.is_dir():
            scan.incomplete.append((entry, "not a plain folder"))
            continue
        files = [f for f in entry.iterdir() if f.is_file() and not f.name.startswith(".")]
        if not files:
            scan.incomplete.append((entry, "empty"))
            continue
        if (entry / MANIFEST).is_file():
            scan.complete.append(entry)
            continue
        newest = max(f.stat().st_mtime for f in files)
        quiet_for = now - newest
        if quiet_for >= stable_seconds():
            scan.complete.append(entry)
        else:
            scan.incomplete.append(
                (
                    entry,
                    f"no {MANIFEST}; files changed {quiet_for:.0f}s ago, "
                    f"waiting for {stable_seconds()}s of quiet",
                )
            )
    return scan
