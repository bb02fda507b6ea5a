"""Atomic per file, exactly once: crashes mid-file and two loaders at the same time."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ingest_helpers import EXECUTION_HEADER, assert_consistent, base_delivery, query

from budgetperf.ingest import LoadReport, Progress, load_landing

BIG = EXECUTION_HEADER + "".join(
    f"R{i},2023,P00{1 + i % 2},2023-03-01,{i + 1}.00,V,甲公司\n" for i in range(60_000)
)  # big enough that the crash comes while COPY is still open

CRASH = """
import os, signal, sys
from pathlib import Path
from budgetperf.ingest import load_landing

def die(event):
    if event.file_path.endswith("budget_execution.csv"):
        os.kill(os.getpid(), signal.SIGKILL)  # mid-COPY, nothing committed for this file

load_landing(sys.argv[1], Path(sys.argv[2]), progress=die)
"""


def loads_of(url: str, entity: str) -> list[tuple[object, ...]]:
    return query(url, "select status, rows_loaded from ops.loads where entity = %s", (entity,))


def test_a_crash_leaves_the_file_absent_and_a_retry_loads_it_once(
    warehouse_url: str, landing: Path
) -> None:
    base_delivery(landing, budget_execution__csv=BIG)
    child = subprocess.run(
        [sys.executable, "-c", CRASH, warehouse_url, str(landing)], capture_output=True
    )
    assert child.returncode == -signal.SIGKILL
    # the files before it committed; the one being loaded left no trace
    assert loads_of(warehouse_url, "projects") == [("loaded", 2)]
    assert loads_of(warehouse_url, "budget_execution") == []
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]
    report = load_landing(warehouse_url, landing)
    assert [f.status for f in report.files] == ["skipped", "skipped", "loaded"]
    assert loads_of(warehouse_url, "budget_execution") == [("loaded", 60_000)]
    assert_consistent(warehouse_url)


def test_an_error_mid_file_rolls_the_file_back(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv=BIG)

    def fail(event: Progress) -> None:
        if event.file_path.endswith("budget_execution.csv"):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        load_landing(warehouse_url, landing, progress=fail)
    assert loads_of(warehouse_url, "budget_execution") == []
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]
    load_landing(warehouse_url, landing)
    assert loads_of(warehouse_url, "budget_execution") == [("loaded", 60_000)]


def test_two_loaders_at_once_load_each_file_once(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv=BIG)
    base_delivery(landing, as_of="20230930", budget_execution__csv=BIG)
    reports: list[LoadReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            reports.append(load_landing(warehouse_url, landing))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    outcomes: dict[str, list[str]] = {}
    for report in reports:
        for result in report.files:
            outcomes.setdefault(result.file_path, []).append(result.status)
    assert len(outcomes) == 6
    assert all(sorted(s) == ["loaded", "skipped"] for s in outcomes.values()), outcomes
    assert query(warehouse_url, "select entity, count(*) from ops.loads group by 1 order by 1") == [
        ("budget_execution", 2),
        ("departments", 2),
        ("projects", 2),
    ]
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(120_000,)]
    assert_consistent(warehouse_url)
