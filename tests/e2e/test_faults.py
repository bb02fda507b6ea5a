"""Faults injected into real DAG runs (issue 8): two runs of one checkpoint at once, and a
delivery that never arrives. Each test runs `budgetperf run` (Airflow `dags test`) and
checks that marts and ledgers stay right, and what the runs leave for people: the run
summaries, the index of a run that did not publish, the alert quoting the failed task's
log. The other faults are injected where they cost least: the loader killed mid-file in
tests/ingest/test_ingest_concurrency.py, an SMTP outage and PostgreSQL restarted mid-run
in the demo year (tests/e2e/test_demo_year.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from e2e_helpers import (
    run,
    run_airflow,
    run_env,
    run_log,
    start_run,
)
from psycopg.rows import dict_row

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


@dataclass(frozen=True)
class TwoRuns:
    url: str
    began: dt.datetime
    first_home: Path
    second_home: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, database_factory) -> TwoRuns:
    """Two runs of one checkpoint at once, on one warehouse: the second starts while the
    first is loading. Several tests read what they left."""
    url = database_factory()
    base = tmp_path_factory.mktemp("two-runs")
    landing = base / "landing"
    shutil.copytree(DELIVERIES, landing)
    first_home, second_home = base / "first", base / "second"
    second_env = run_env(second_home, url)
    # prepare the second run's Airflow home now, so it reaches its load stage quickly
    assert run_airflow(["version"], second_env).returncode == 0
    began = dt.datetime.now(dt.UTC)
    first = start_run(CHECKPOINT, run_env(first_home, url), landing)
    _wait_for(first_home / "logs" / f"run-{CHECKPOINT}.log", "starting task_id=load", first)
    second = start_run(CHECKPOINT, second_env, landing)
    first_out, _ = first.communicate(timeout=900)
    second_out, _ = second.communicate(timeout=900)
    return TwoRuns(
        url,
        began,
        first_home,
        second_home,
        subprocess.CompletedProcess(first.args, first.returncode, first_out, ""),
        subprocess.CompletedProcess(second.args, second.returncode, second_out, ""),
    )


def test_two_runs_of_one_checkpoint_at_once_one_fails_cleanly(two_runs: TwoRuns) -> None:
    url, first, second = two_runs.url, two_runs.first, two_runs.second
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode != 0, "the second run should have stopped at the lease"
    assert "another run is updating the warehouse" in run_log(two_runs.second_home, CHECKPOINT)

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


def _summary_row(url: str, run_id: str | None = None) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select * from ops.run_summaries"
            " where %(run)s::text is null or run_id = %(run)s order by finished_at",
            {"run": run_id},
        ).fetchall()
    return {row["status"]: row for row in rows}


def test_every_run_leaves_its_summary_in_ops_and_in_its_folder(two_runs: TwoRuns) -> None:
    """The run summary says what the run did: what loaded and was rejected, the gates'
    verdicts, what was published, seconds per stage, and when it really started."""
    rows = _summary_row(two_runs.url)
    assert set(rows) == {"success", "failed"}
    done, refused = rows["success"], rows["failed"]

    assert done["checkpoint_date"] == dt.date.fromisoformat(CHECKPOINT)
    summary = done["summary"]
    assert summary["status"] == "success" and summary["failed_tasks"] == []
    assert summary["checkpoint"] == CHECKPOINT and summary["run_id"] == done["run_id"]
    with psycopg.connect(two_runs.url) as conn:
        loaded = conn.execute("select sum(rows_loaded) from ops.loads").fetchone()
    assert (summary["files_loaded"], summary["rows_loaded"]) == (3, loaded[0]) == (3, 21)
    assert (summary["files_rejected"], summary["rows_rejected"]) == (0, 0)
    for gate in ("raw", "marts"):
        verdict = summary["gates"][gate]
        assert verdict["passed"] is True and verdict["failures"] == [], gate
        assert verdict["rules"] > 0 and Path(verdict["report"]).is_file(), gate
    published = summary["published"]
    assert published["publish_notices"]["state"] == "success"
    assert published["publish_notices"]["recorded"] == 3
    assert published["publish_proposal_feed"]["state"] == "skipped"  # a monitoring point
    assert published["publish_reports"]["state"] == "success"
    assert any(f.endswith("monitoring_report.html") for f in published["publish_reports"]["files"])
    stages = summary["stage_seconds"]
    assert {"load", "gate_raw", "build", "gate_marts", "publish_reports"} <= set(stages)
    assert all(seconds >= 0 for seconds in stages.values()) and stages["build"] > 0
    # started at the run's start: not when the summary was written, nor the logical date
    assert two_runs.began < done["started_at"] < done["finished_at"]
    elapsed = (done["finished_at"] - done["started_at"]).total_seconds()
    assert elapsed >= sum(stages.values()) - 1, (elapsed, stages)
    assert dt.datetime.fromisoformat(summary["started_at"]) == done["started_at"]

    # the same summary is in the run's folder, and the index links it
    folder = two_runs.first_home / "outputs" / "runs" / CHECKPOINT
    assert json.loads((folder / "run_summary.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(summary)
    )
    assert 'href="run_summary.json"' in (folder / "index.html").read_text(encoding="utf-8")

    # the refused run: failed at load, nothing loaded by it, gates never ran
    assert refused["status"] == refused["summary"]["status"] == "failed"
    assert "load" in refused["summary"]["failed_tasks"]
    assert refused["summary"]["task_states"]["load"] == "failed"
    assert refused["summary"]["rows_loaded"] is None
    assert refused["summary"]["gates"]["raw"] == {"passed": None, "state": "upstream_failed"}
    assert two_runs.began < refused["started_at"] < refused["finished_at"]


def test_a_run_that_did_not_publish_gets_an_index_saying_so(two_runs: TwoRuns) -> None:
    """publish_reports skipped (nothing passed the gates): finish writes the run folder's
    index.html itself, in Chinese and English, linking the summary."""
    folder = two_runs.second_home / "outputs" / "runs" / CHECKPOINT
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert "本次运行失败，未发布任何内容 / This run failed: nothing was published" in html
    assert 'href="run_summary.json"' in html
    assert "失败的任务 / failed tasks:" in html and "load" in html
    assert "monitoring_report.html" not in html  # nothing of another run's


def test_the_alert_quotes_the_failed_task_log(two_runs: TwoRuns) -> None:
    """`airflow dags test` writes no per-task log: the alert quotes the failed task's lines
    of the run log (here the lease's own exception, which no XCom holds)."""
    with psycopg.connect(two_runs.url) as conn:
        bodies = conn.execute("select body_text from ops.notices where kind = 'alert'").fetchall()
    assert len(bodies) == 1
    body = bodies[0][0]
    excerpt = body.split("日志摘录 / log excerpt:", 1)[1]
    assert "没有本地任务日志" not in excerpt
    assert "budgetperf.pipeline.lease.LeaseHeld: " in excerpt
    assert "Task failed with exception" in excerpt
    assert "starting task_id=alert_data_engineers" not in excerpt  # the load task's lines only


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
    # the sensor's own lines from the run log, not the "no local task log" fallback
    excerpt = body.split("日志摘录 / log excerpt:", 1)[1]
    assert "没有本地任务日志" not in excerpt
    assert "AirflowSensorTimeout: Sensor has timed out" in excerpt
    with psycopg.connect(url) as conn:
        loads = conn.execute("select count(*) from ops.loads").fetchone()
    assert loads == (0,)  # nothing loaded, nothing published
