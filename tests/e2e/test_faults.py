"""Faults injected into real DAG runs (issue 8): two runs of one checkpoint at once, and a
delivery that never arrives. Each test runs `budgetperf run` (Airflow `dags test`) and
checks that marts and ledgers stay right. The other faults are injected where they cost
least: the loader killed mid-file in tests/ingest/test_ingest_concurrency.py, an SMTP
outage and PostgreSQL restarted mid-run in the demo year (tests/e2e/test_demo_year.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg
import pytest
from e2e_helpers import (
    run,
    run_airflow,
    run_env,
    run_log,
    start_run,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_faults")]

DELIVERIES = Path(__file__).parent / "deliveries" / "r2_boundaries"
CHECKPOINT = "2023-06-30"
R2_STATUSES = {"lagging": 2, "no_budget": 1, "on_track": 3, "overspent": 1, "seriously_lagging": 1}
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    shutil.copytree(DELIVERIES, folder)
    return folder


def _wait_for(path: Path, text: str, process, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        if process.poll() is not None:
            raise AssertionError(f"run ended before {text!r} appeared in {path}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_two_runs_of_one_checkpoint_at_once_one_fails_cleanly(
    tmp_path: Path, landing: Path, database_factory
) -> None:
    url = database_factory()
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    second_env = run_env(second_home, url)
    # prepare the second run's Airflow home now, so it reaches its load stage quickly
    assert run_airflow(["version"], second_env).returncode == 0
    first = start_run(CHECKPOINT, run_env(first_home, url), landing)
    _wait_for(first_home / "logs" / f"run-{CHECKPOINT}.log", "starting task_id=load", first)
    second = start_run(CHECKPOINT, second_env, landing)
    first_out, _ = first.communicate(timeout=900)
    second.communicate(timeout=900)
    assert first.returncode == 0, first_out[-3000:]
    assert second.returncode != 0, "the second run should have stopped at the lease"
    assert "another run is updating the warehouse" in run_log(second_home, CHECKPOINT)

    # the warehouse is exactly what one run leaves: every file loaded once, the marts
    # right, each notice once, and the lease given back
    with psycopg.connect(url) as conn:
        loads = conn.execute(
            "select entity, status, count(*) from ops.loads group by 1, 2 order by 1"
        ).fetchall()
        statuses = dict(
            conn.execute(
                "select progress_status, count(*) from marts.fct_project_progress group by 1"
            ).fetchall()
        )
        notices = conn.execute(
            "select kind, coalesce(department_code, '-'), count(*) from ops.notices "
            "group by 1, 2 order by 1, 2"
        ).fetchall()
        holder = conn.execute("select run_id from ops.pipeline_lease").fetchone()
    assert loads == [
        ("budget_execution", "loaded", 1),
        ("departments", "loaded", 1),
        ("projects", "loaded", 1),
    ]
    assert statuses == R2_STATUSES
    assert [n for n in notices if n[0] != "alert"] == [
        ("department", "D01", 1),
        ("department", "D02", 1),
        ("summary", "-", 1),
    ]
    assert [n[2] for n in notices if n[0] == "alert"] == [1]  # the refused run was reported
    assert holder == (None,)


def test_a_delivery_that_never_arrives_times_out_and_alerts_naming_it(
    tmp_path: Path, landing: Path, database_factory
) -> None:
    url = database_factory()
    home = tmp_path / "home"
    # the landing holds 20230630 only: nothing for (06-30, 09-30]
    result = run("2023-09-30", run_env(home, url, BUDGETPERF_RETRY_DELAY_SECONDS="1"), landing)
    assert result.returncode != 0
    alerts = list((home / "outbox").glob("*alert*.eml"))
    assert len(alerts) == 1
    from email import message_from_bytes, policy

    message = message_from_bytes(alerts[0].read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "detect_delivery" in body
    assert "20230701–20230930" in body
    assert str(landing / "20230930") in body
    with psycopg.connect(url) as conn:
        loads = conn.execute("select count(*) from ops.loads").fetchone()
    assert loads == (0,)  # nothing loaded, nothing published
