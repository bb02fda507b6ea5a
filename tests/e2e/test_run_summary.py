"""The end of a run, without running Airflow: what ``finish`` records and writes for a run
whose raw gate failed (the run summary, and the run folder's index.html that
publish_reports never wrote), and where the failure alert finds the failed task's log
(Airflow's per-attempt task log, else the task's segment of the `budgetperf run` log).

The same code runs for real in tests/e2e/test_faults.py; here the failing-gate case, which
no cheap real run reaches, is driven with the task context ``finish`` reads: task states,
XComs and the DAG run.
"""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from budgetperf.pipeline.context import RunContext
from budgetperf.pipeline.runs import (
    NO_LOG,
    _log_excerpt,
    record_run_summary,
    run_log_path,
    run_started_at,
)
from budgetperf.settings import load_settings

CHECKPOINT = dt.date(2023, 6, 30)
RUN_ID = "manual__2026-01-05T08:00:00+00:00"
STARTED = dt.datetime(2026, 1, 5, 8, 0, 1, tzinfo=dt.UTC)


class FakeTaskInstance:
    """What ``finish`` asks of its task instance: the run's task states and XComs."""

    def __init__(self, states: dict[str, str], xcoms: dict[str, Any]) -> None:
        self.states = states
        self.xcoms = xcoms

    def get_task_states(self, dag_id: str, run_ids: list[str]) -> dict[str, dict[str, str]]:
        return {run_ids[0]: self.states}

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get(task_ids) if key == "return_value" else None


def _dag_run(start_date: dt.datetime | None = STARTED, **more: Any) -> SimpleNamespace:
    return SimpleNamespace(dag_id="budget_monitoring", run_id=RUN_ID, start_date=start_date, **more)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]


@pytest.fixture
def failed_gate_run(tmp_path: Path, warehouse_url: str) -> RunContext:
    """A run whose raw gate failed on the data: its quality report and Data Docs exist,
    the rest of the pipeline never ran; an older run left a report in the folder."""
    settings = load_settings({"BUDGETPERF_HOME": str(tmp_path / "home")})
    docs = settings.gx_state_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html>data docs</html>")
    rc = RunContext(CHECKPOINT, RUN_ID, warehouse_url, settings)
    folder = rc.output_dir
    folder.mkdir(parents=True)
    (folder / "quality_raw.html").write_text("<html>raw gate</html>")
    (folder / "quality_marts.html").write_text("<html>an older run's marts gate</html>")
    (folder / "monitoring_report.html").write_text("<html>an older run's report</html>")
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(
            "insert into ops.dq_results (run_id, checkpoint_date, gate, rule_id, severity,"
            " success) values (%s, %s, 'raw', 'RAW-REF-INT-01', 'fatal', false),"
            " (%s, %s, 'raw', 'RAW-CMP-02', 'warning', false),"
            " (%s, %s, 'raw', 'RAW-KEY-01', 'fatal', true)",
            (RUN_ID, CHECKPOINT) * 3,
        )
    return rc


def test_finish_after_a_failed_gate_records_the_summary_and_writes_an_index(
    failed_gate_run: RunContext,
) -> None:
    rc = failed_gate_run
    states = {
        "detect_delivery": "success",
        "load": "success",
        "gate_raw": "failed",
        "build": "upstream_failed",
        "gate_marts": "upstream_failed",
        "publish_notices": "upstream_failed",
        "publish_proposal_feed": "upstream_failed",
        "publish_disclosure": "upstream_failed",
        "publish_reports": "skipped",
    }
    load = {
        "files_loaded": 3,
        "files_rejected": 1,
        "rows_loaded": 20,
        "rows_rejected": 2,
        "_metrics": {"seconds": 1.5},
    }
    summary = record_run_summary(rc, _dag_run(), FakeTaskInstance(states, {"load": load}))

    assert summary["status"] == "failed"
    assert summary["started_at"] == STARTED.isoformat()
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (20, 2)
    assert (summary["files_loaded"], summary["files_rejected"]) == (3, 1)
    assert summary["gates"] == {
        "raw": {
            "passed": False,
            "state": "failed",
            "failures": ["RAW-REF-INT-01"],
            "warnings": ["RAW-CMP-02"],
            "report": str(rc.output_dir / "quality_raw.html"),
        },
        "marts": {"passed": None, "state": "upstream_failed"},
    }
    assert {task: entry["state"] for task, entry in summary["published"].items()} == {
        "publish_notices": "upstream_failed",
        "publish_proposal_feed": "upstream_failed",
        "publish_disclosure": "upstream_failed",
        "publish_reports": "skipped",
    }
    assert summary["stage_seconds"] == {"load": 1.5}

    with psycopg.connect(rc.warehouse_url, row_factory=dict_row) as conn:
        row = conn.execute("select * from ops.run_summaries").fetchone()
    assert row is not None
    assert (row["run_id"], row["checkpoint_date"], row["status"]) == (RUN_ID, CHECKPOINT, "failed")
    assert row["started_at"] == STARTED  # the run's start, not the time of the summary
    assert row["finished_at"] > row["started_at"]
    assert row["summary"] == json.loads(json.dumps(summary))

    html = (rc.output_dir / "index.html").read_text(encoding="utf-8")
    assert "本次运行失败，未发布任何内容 / This run failed: nothing was published" in html
    assert "失败的任务 / failed tasks: build, gate_marts, gate_raw" in html
    assert "数据质量 / Data quality" in html
    assert "Raw data quality gate report" in html
    links = _Links()
    links.feed(html)
    assert links.hrefs == [
        "run_summary.json",
        # the report an earlier run published stays reachable, marked as such
        "monitoring_report.html",
        "quality_raw.html",
        "../../../gx/gx/uncommitted/data_docs/local_site/index.html",  # under the home
    ]
    assert "此前成功运行发布的报告 / Reports of an earlier run" in html
    for href in links.hrefs:  # relative links that resolve in the folder
        assert (rc.output_dir / href).is_file(), href


def test_finish_of_a_successful_run_links_its_summary_in_the_full_index(
    failed_gate_run: RunContext,
) -> None:
    rc = failed_gate_run
    states = dict.fromkeys(("detect_delivery", "load", "gate_raw", "build"), "success")
    gate = {"passed": True, "rules": 3, "failures": [], "warnings": [], "report": None}
    xcoms = {"gate_raw": gate, "publish_reports": {"files": [], "_metrics": {"seconds": 0.2}}}
    summary = record_run_summary(rc, _dag_run(None), FakeTaskInstance(states, xcoms))
    assert summary["status"] == "success" and summary["started_at"] is None
    assert summary["gates"]["raw"] == gate
    html = (rc.output_dir / "index.html").read_text(encoding="utf-8")
    assert "This run failed" not in html
    links = _Links()
    links.feed(html)
    assert "run_summary.json" in links.hrefs
    assert "monitoring_report.html" in links.hrefs
    with psycopg.connect(rc.warehouse_url) as conn:
        started, finished = conn.execute(
            "select started_at, finished_at from ops.run_summaries"
        ).fetchone()  # type: ignore[misc]
    assert started == finished  # no start known: the finish stands for it


def test_the_start_of_a_run_is_when_it_ran_not_its_logical_date() -> None:
    logical = dt.datetime(2023, 6, 30, 4, 0, tzinfo=dt.UTC)
    # `airflow dags test` (budgetperf run) dates the run's start at its logical date
    assert run_started_at(_dag_run(logical, run_after=STARTED)) == STARTED
    # a scheduled or triggered run starts once due: its start date is the start
    later = STARTED + dt.timedelta(minutes=5)
    assert run_started_at(_dag_run(later, run_after=STARTED)) == later
    assert run_started_at(_dag_run(None, queued_at=later, run_after=STARTED)) == later
    assert run_started_at(_dag_run(None, run_after=STARTED)) == STARTED
    assert run_started_at(SimpleNamespace()) is None


# -- the failed task's log lines for the alert ----------------------------------------------

# the shape of a `budgetperf run` log (`airflow dags test` output), lines shortened
RUN_LOG = """\
08:00:00Z [info     ] Created dag run. [airflow.models.dagrun] dagrun=<DagRun {run_id}>
08:00:01Z [info     ] [DAG TEST] starting task_id=load map_index=-1 [airflow.sdk]
08:00:01Z [info     ] [DAG TEST] running task <TaskInstance: budget_monitoring.load {run_id}>
08:00:01Z [error    ] Task failed with exception     [task] loc=task_runner.py:1639
Traceback (most recent call last):
  File "/srv/plugins/budgetperf/pipeline/tasks.py", line 164, in load
    acquire(rc.warehouse_url, rc.run_id, rc.checkpoint)
budgetperf.pipeline.lease.LeaseHeld: the first attempt's failure
08:00:01Z [info     ] [DAG TEST] end task task_id=load map_index=-1 [airflow.sdk]
08:00:02Z [info     ] [DAG TEST] starting task_id=load_more map_index=-1 [airflow.sdk]
08:00:02Z [error    ] another task's error [task]
08:00:02Z [info     ] [DAG TEST] end task task_id=load_more map_index=-1 [airflow.sdk]
08:00:03Z [info     ] [DAG TEST] starting task_id=load map_index=-1 [airflow.sdk]
08:00:03Z [info     ] Task started [airflow.api_fastapi.execution_api.routes.task_instances]
08:00:03Z [info     ] budgetperf: loading 3 files [budgetperf.pipeline] loc=tasks.py:56
08:00:03Z [error    ] Task failed with exception     [task] loc=task_runner.py:1639
Traceback (most recent call last):
  File "/srv/.venv/lib/python3.11/site-packages/airflow/sdk/execution_time/task_runner.py"
    result = _execute_task(context=context, ti=ti, log=log)
psycopg.OperationalError: connection to server lost
08:00:03Z [info     ] Task instance state updated [airflow.api_fastapi] new_state=failed
08:00:03Z [info     ] [DAG TEST] end task task_id=load map_index=-1 [airflow.sdk]
08:00:04Z [info     ] [DAG TEST] starting task_id=alert_data_engineers map_index=-1 [airflow.sdk]
"""


@pytest.fixture
def no_task_logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An Airflow whose base log folder holds no task log (as under `airflow dags test`)."""
    folder = tmp_path / "airflow-logs"
    monkeypatch.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(folder))
    return folder


def test_the_excerpt_is_the_failed_task_segment_of_the_run_log(
    tmp_path: Path, no_task_logs: Path
) -> None:
    log = run_log_path(tmp_path, CHECKPOINT)
    assert log == tmp_path / "logs" / "run-2023-06-30.log"
    log.parent.mkdir()
    log.write_text(RUN_LOG.format(run_id=RUN_ID), encoding="utf-8")
    excerpt = _log_excerpt(_dag_run(), "load", run_log=log).splitlines()
    # the last attempt's telling lines: errors, exceptions, our own lines; no other task's
    lines = RUN_LOG.format(run_id=RUN_ID).splitlines()
    assert excerpt == [lines[i] for i in (14, 15, 16, 19)]
    assert "psycopg.OperationalError: connection to server lost" in excerpt
    assert not any("first attempt" in line or "another task" in line for line in excerpt)
    assert len(_log_excerpt(_dag_run(), "load", lines=2, run_log=log).splitlines()) == 2

    # a task still running when the alert reads the log: up to the end of the file
    log.write_text(RUN_LOG.format(run_id=RUN_ID) + "[DAG TEST] starting task_id=finish\nE!\n")
    assert _log_excerpt(_dag_run(), "finish", run_log=log) == (
        "[DAG TEST] starting task_id=finish\nE!"
    )


def test_a_run_log_of_another_run_or_none_is_not_quoted(tmp_path: Path, no_task_logs: Path) -> None:
    log = run_log_path(tmp_path, CHECKPOINT)
    assert _log_excerpt(_dag_run(), "load", run_log=log) == NO_LOG  # no run log at all
    log.parent.mkdir()
    log.write_text(RUN_LOG.format(run_id="manual__2025-12-31T00:00:00+00:00"))
    assert _log_excerpt(_dag_run(), "load", run_log=log) == NO_LOG
    log.write_text(RUN_LOG.format(run_id=RUN_ID))
    assert _log_excerpt(_dag_run(), "build", run_log=log) == NO_LOG  # never started


def _write_attempts(base: Path) -> None:
    folder = base / "dag_id=budget_monitoring" / f"run_id={RUN_ID}" / "task_id=load"
    folder.mkdir(parents=True)
    for attempt in (1, 2, 10):
        (folder / f"attempt={attempt}.log").write_text(
            f"[info] Task started\n[error] budgetperf: attempt {attempt} failed\n"
        )


def test_a_per_task_log_wins_and_the_last_attempt_is_quoted(
    tmp_path: Path, no_task_logs: Path
) -> None:
    _write_attempts(no_task_logs)
    log = run_log_path(tmp_path, CHECKPOINT)
    log.parent.mkdir()
    log.write_text(RUN_LOG.format(run_id=RUN_ID))
    assert _log_excerpt(_dag_run(), "load", run_log=log) == "[error] budgetperf: attempt 10 failed"


def test_without_the_env_var_airflow_configured_log_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.configuration import conf

    base = tmp_path / "configured-logs"
    _write_attempts(base)
    monkeypatch.delenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", raising=False)
    configured = conf.get

    def get(section: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if (section, key) == ("logging", "base_log_folder"):
            return str(base)
        return configured(section, key, *args, **kwargs)

    monkeypatch.setattr(conf, "get", get)
    assert _log_excerpt(_dag_run(), "load") == "[error] budgetperf: attempt 10 failed"
