"""`budgetperf airflow dags next-execution budget_monitoring` as a user runs it: a subprocess
with a BUDGETPERF_HOME of its own (a fresh Airflow metadata DB) and BUDGETPERF_WAREHOUSE_URL
on a test database, so no embedded server starts.

Airflow prints logical dates, which it takes from the start of each data interval: the run
of checkpoint ``c`` covers [day after the previous point, day after ``c``) at midnight in
Asia/Shanghai, printed in UTC (16:00 the day before). The DAG does not catch up, so the
first run listed is the latest checkpoint that has passed (its start_date 2021-01-01 is long
past); the expected dates are therefore computed from today's date, independently of the
timetable code, and checked against the printed lines exactly.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

BUDGETPERF = str(Path(sys.executable).parent / "budgetperf")
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def _env(home: Path, url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "BUDGETPERF_LANDING",
        "BUDGETPERF_OUTBOX",
        "BUDGETPERF_OUTPUTS",
        "BUDGETPERF_CHECKPOINTS",
        "BUDGETPERF_TIMEZONE",
        "AIRFLOW_HOME",
    ):
        env.pop(key, None)
    env["BUDGETPERF_HOME"] = str(home)
    env["BUDGETPERF_WAREHOUSE_URL"] = url
    env.update(extra)
    return env


def _next_execution(
    env: dict[str, str], *extra: str
) -> tuple[subprocess.CompletedProcess[str], dt.date, dt.date]:
    """Run the command; return it with the local (Shanghai) dates before and after it ran."""
    before = dt.datetime.now(SHANGHAI).date()
    result = subprocess.run(
        [BUDGETPERF, "airflow", "dags", "next-execution", "budget_monitoring", "-n", "4", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    after = dt.datetime.now(SHANGHAI).date()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, before, after


def _expected_runs(
    points: list[tuple[int, int]], today: dt.date, n: int
) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """(checkpoint, interval start, interval end) in UTC of the next ``n`` runs listed when
    the DAG was parsed on local date ``today``: starting with the latest point before it."""
    every = sorted(
        dt.date(year, m, d) for year in range(today.year - 2, today.year + 4) for m, d in points
    )
    first = max(i for i, point in enumerate(every) if point < today)
    runs = []
    for i in range(first, first + n):
        previous, point = every[i - 1], every[i]
        start = dt.datetime.combine(previous + dt.timedelta(days=1), dt.time(), SHANGHAI)
        end = dt.datetime.combine(point + dt.timedelta(days=1), dt.time(), SHANGHAI)
        runs.append((point, start.astimezone(UTC), end.astimezone(UTC)))
    return runs


def _printed(moment: dt.datetime) -> str:
    return moment.isoformat()  # what next-execution prints: 2021-06-30T16:00:00+00:00


def test_next_execution_lists_the_four_checkpoints_of_a_year(
    tmp_path: Path, warehouse_url: str
) -> None:
    home = tmp_path / "home"
    result, before, after = _next_execution(_env(home, warehouse_url))
    lines = result.stdout.strip().splitlines()

    points = [(6, 30), (9, 30), (11, 30), (12, 31)]
    candidates = {
        tuple(_printed(start) for _, start, _ in _expected_runs(points, day, 4))
        for day in (before, after)
    }
    assert tuple(lines) in candidates, f"printed {lines}, expected one of {candidates}"

    # Read as the bureau would: each is local midnight of the day after the previous point,
    # 16:00 UTC the day before; four runs cover each checkpoint of the year exactly once.
    starts = [dt.datetime.fromisoformat(line) for line in lines]
    local = [start.astimezone(SHANGHAI) for start in starts]
    assert all(start.utcoffset() == dt.timedelta(0) for start in starts)
    assert all((start.hour, start.minute, start.second) == (16, 0, 0) for start in starts)
    assert all(moment.time() == dt.time(0, 0) for moment in local)
    assert sorted((m.month, m.day) for m in local) == [(1, 1), (7, 1), (10, 1), (12, 1)]
    assert all(b - a > dt.timedelta(days=27) for a, b in pairwise(starts))
    # the year boundary: after the 12-31 run (from 12-01) comes the next year's 06-30 run,
    # whose interval starts on 01-01 of that year
    boundary = [i for i, m in enumerate(local) if (m.month, m.day) == (1, 1)]
    assert len(boundary) == 1
    i = boundary[0]
    if i > 0:
        assert (local[i - 1].month, local[i - 1].day) == (12, 1)
        assert local[i].year == local[i - 1].year + 1
    if i + 1 < len(local):
        assert (local[i + 1].month, local[i + 1].day, local[i + 1].year) == (7, 1, local[i].year)
    # no run of 2021 or earlier: start_date does not make the DAG catch up
    assert starts[0].date() > dt.date(2021, 12, 31)
    # the configured warehouse was used: no embedded server under this home
    assert not (home / "warehouse").exists()


def test_next_execution_follows_budgetperf_checkpoints(tmp_path: Path, warehouse_url: str) -> None:
    home = tmp_path / "home"
    env = _env(home, warehouse_url, BUDGETPERF_CHECKPOINTS="03-31,12-31")
    result, before, after = _next_execution(env, "--table")
    rows = [
        [cell.strip() for cell in line.split("|")]
        for line in result.stdout.splitlines()
        if line[:1].isdigit() and "|" in line
    ]
    assert len(rows) == 4, result.stdout
    printed = [tuple(dt.datetime.fromisoformat(cell) for cell in row) for row in rows]

    points = [(3, 31), (12, 31)]
    candidates = [
        [(start, start, end, end) for _, start, end in _expected_runs(points, day, 4)]
        for day in (before, after)
    ]
    assert printed in candidates, f"printed {printed}"

    # checkpoint = day before the interval end; they alternate 03-31, 12-31 over two years
    checkpoints = [
        (end.astimezone(SHANGHAI) - dt.timedelta(days=1)).date() for _, _, end, _ in printed
    ]
    assert [(c.month, c.day) for c in checkpoints] in (
        [(3, 31), (12, 31), (3, 31), (12, 31)],
        [(12, 31), (3, 31), (12, 31), (3, 31)],
    )
    for (logical, start, end, run_after), checkpoint in zip(printed, checkpoints, strict=True):
        # the logical date is the interval start; the run starts once the checkpoint is over
        assert logical == start and run_after == end
        local_start = start.astimezone(SHANGHAI)
        assert local_start.time() == dt.time(0, 0)
        # the interval after 12-31 starts on 01-01, the one after 03-31 on 04-01
        if (checkpoint.month, checkpoint.day) == (3, 31):
            assert (local_start.year, local_start.month, local_start.day) == (
                checkpoint.year,
                1,
                1,
            )
        else:
            assert (local_start.year, local_start.month, local_start.day) == (
                checkpoint.year,
                4,
                1,
            )
    assert not (home / "warehouse").exists()
