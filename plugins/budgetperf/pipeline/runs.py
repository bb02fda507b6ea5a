"""The end of a run: the alert for failed tasks, and the run summary left for people."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.warehouse import connect

STAGES = (
    "detect_delivery",
    "load",
    "gate_raw",
    "build",
    "gate_marts",
    "publish_notices",
    "publish_proposal_feed",
    "publish_disclosure",
    "publish_reports",
)
GATE_TASKS = ("gate_raw", "gate_marts")


def task_states(ti: Any, dag_run: Any) -> dict[str, str]:
    states = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id])
    by_task = states.get(dag_run.run_id, {}) if isinstance(states, dict) else {}
    return {task: str(state) for task, state in by_task.items() if task in STAGES}


def run_log_path(home: Path, checkpoint: dt.date) -> Path:
    """The log ``budgetperf run`` captures: every task's lines of an ``airflow dags test``."""
    return Path(home) / "logs" / f"run-{checkpoint.isoformat()}.log"


NO_LOG = "(没有本地任务日志；见 Airflow 界面或 $BUDGETPERF_HOME/logs/run-<checkpoint>.log)"
_LINE_LIMIT = 2000  # characters of one log line kept in the excerpt
_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_ENDED = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")


def _base_log_folder() -> Path | None:
    """Airflow's ``logging.base_log_folder``: the env var when set, else its configuration."""
    folder = os.environ.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER", "")
    if not folder:
        try:
            from airflow.configuration import conf

            folder = conf.get("logging", "base_log_folder", fallback="") or ""
        except Exception:  # no Airflow configuration here: no per-task logs either
            return None
    return Path(folder) if folder else None


def _attempt_number(path: Path) -> int:
    number = path.stem.removeprefix("attempt=")
    return int(number) if number.isdigit() else -1


def _task_log_lines(dag_run: Any, task_id: str) -> list[str] | None:
    """The last attempt's log of the task, in Airflow's default per-attempt layout
    ``dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log``."""
    base = _base_log_folder()
    if base is None:
        return None
    folder = base / f"dag_id={dag_run.dag_id}" / f"run_id={dag_run.run_id}" / f"task_id={task_id}"
    attempts = sorted(folder.glob("attempt=*.log"), key=_attempt_number) if folder.is_dir() else []
    if not attempts:
        return None
    return attempts[-1].read_text(encoding="utf-8", errors="replace").splitlines()


def _run_log_lines(run_log: Path | None, run_id: str, task_id: str) -> list[str] | None:
    """The task's segment of the log of ``budgetperf run`` (``airflow dags test`` streams
    every task's log to stdout): from its last "[DAG TEST] starting task_id=<task>" to the
    next "[DAG TEST] end task task_id=<task>", or to the end of what is written so far."""
    if run_log is None or not run_log.is_file():
        return None
    text = run_log.read_text(encoding="utf-8", errors="replace").splitlines()
    if not any(run_id in line for line in text):
        return None  # the log of another run of this checkpoint (or none of this one)
    starts = [i for i, line in enumerate(text) if (m := _STARTING.search(line)) and m[1] == task_id]
    if not starts:
        return None
    segment = text[starts[-1] :]
    for i, line in enumerate(segment):
        if (m := _ENDED.search(line)) and m[1] == task_id:
            return segment[: i + 1]
    return segment


def _is_telling(line: str) -> bool:
    lowered = line.lower()
    return "budgetperf" in lowered or any(
        word in lowered for word in ("error", "exception", "traceback")
    )


def _log_excerpt(
    dag_run: Any, task_id: str, lines: int = 40, *, run_log: Path | None = None
) -> str:
    """The failed task's last telling log lines (errors, exceptions, our own lines): from
    its per-task log file when Airflow wrote one, else from the run log of the CLI."""
    text = _task_log_lines(dag_run, task_id)
    if text is None:
        text = _run_log_lines(run_log, str(dag_run.run_id), task_id)
    if not text:
        return NO_LOG
    keep = [line for line in text if _is_telling(line)] or text
    return "\n".join(line[:_LINE_LIMIT] for line in keep[-lines:])


def alert_failed_tasks(rc: RunContext, dag_run: Any, ti: Any) -> str:
    from budgetperf.publish.channel import smtp_settings_from_airflow
    from budgetperf.publish.ledger import Notice, deliver_pending, record_notice
    from budgetperf.quality.alerts import gate_alert_sent

    states = task_states(ti, dag_run)
    failed = [t for t, s in states.items() if s == "failed"]
    # a gate that failed on the data has sent its own, detailed alert; one that crashed
    # (a lost connection, a broken catalogue) has not, and is reported here
    to_report = [
        t
        for t in failed
        if not (
            t in GATE_TASKS
            and gate_alert_sent(rc.warehouse_url, t.removeprefix("gate_"), rc.run_id)
        )
    ]
    if not to_report:
        return f"failed: {', '.join(failed) or 'none'}; gates alerted on their own"
    run_log = run_log_path(rc.settings.home, rc.checkpoint)
    body = [
        f"{rc.checkpoint} 检查点运行失败（run {rc.run_id}），本次不发布。"
        f"失败的任务：{', '.join(to_report)}",
        f"Checkpoint {rc.checkpoint} failed (run {rc.run_id}); nothing was published.",
        "",
    ]
    for task_id in to_report:
        detail = ti.xcom_pull(task_ids=task_id, key="error") or ti.xcom_pull(
            task_ids=task_id, key="waiting_for"
        )
        body += [f"== {task_id} ==", str(detail or "(no error recorded)"), ""]
        excerpt = _log_excerpt(dag_run, task_id, run_log=run_log)
        body += ["日志摘录 / log excerpt:", excerpt, ""]
    body.append(
        "处理后重新运行：budgetperf run --checkpoint "
        f"{rc.checkpoint}（或在 Airflow 中清除失败的任务）"
    )
    notice = Notice(
        kind="alert",
        subject=f"【运行失败】{rc.checkpoint} budget_monitoring：{', '.join(to_report)}",
        recipient=rc.settings.data_engineers_email,
        sender=rc.settings.sender_email,
        body_text="\n".join(body),
        fiscal_year=rc.fiscal_year,
        checkpoint_date=rc.checkpoint,
        department_code=f"run:{rc.run_id}",
        run_id=rc.run_id,
    )
    recorded = record_notice(rc.warehouse_url, notice)
    deliver_pending(
        rc.warehouse_url,
        smtp=smtp_settings_from_airflow(),
        outbox=rc.settings.outbox,
        notice_ids=[recorded.notice_id],
    )
    return f"alerted {rc.settings.data_engineers_email} about {', '.join(to_report)}"


PUBLISH_TASKS = STAGES[5:]  # publish_notices ... publish_reports
_PUBLISHED_FIGURES = ("recorded", "sent", "written_to_outbox", "undelivered", "rows", "files")

log = logging.getLogger("budgetperf.pipeline")


def run_started_at(dag_run: Any) -> dt.datetime | None:
    """When the run really started: Airflow's start of the DAG run, but never before the
    run was due (``run_after``): `airflow dags test` (``budgetperf run``) dates the start
    at the logical date, years back for a replayed checkpoint. Without a start, when the
    run was queued or due; None when Airflow gives none of these."""

    def moment(attribute: str) -> dt.datetime | None:
        value = getattr(dag_run, attribute, None)
        return value if isinstance(value, dt.datetime) else None

    started, due = moment("start_date"), moment("run_after")
    if started is None:
        return moment("queued_at") or due
    return max(started, due) if due is not None else started


def _gate_results(
    rc: RunContext, states: dict[str, str], outputs: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each gate's verdict: from its summary when it passed, from ops.dq_results when it
    failed on the data (a failing gate returns nothing), else its task state."""
    gates: dict[str, dict[str, Any]] = {}
    for task_id in GATE_TASKS:
        gate = task_id.removeprefix("gate_")
        out = outputs.get(task_id)
        if isinstance(out, dict) and "passed" in out:
            gates[gate] = {
                key: out.get(key) for key in ("passed", "rules", "failures", "warnings", "report")
            }
            continue
        state = states.get(task_id, "none")
        result: dict[str, Any] = {"passed": False if state == "failed" else None, "state": state}
        if state == "failed":
            with connect(rc.warehouse_url) as conn:
                found = conn.execute(
                    "select rule_id, severity from ops.dq_results"
                    " where run_id = %s and gate = %s and not success order by rule_id",
                    (rc.run_id, gate),
                ).fetchall()
            result["failures"] = [rule for rule, severity in found if severity == "fatal"]
            result["warnings"] = [rule for rule, severity in found if severity != "fatal"]
            report = Path(rc.output_dir) / f"quality_{gate}.html"
            result["report"] = str(report) if report.is_file() else None
        gates[gate] = result
    return gates


def _published(states: dict[str, str], outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    published: dict[str, dict[str, Any]] = {}
    for task_id in PUBLISH_TASKS:
        out = outputs.get(task_id)
        entry: dict[str, Any] = {"state": states.get(task_id, "none")}
        if isinstance(out, dict):
            entry.update({key: out[key] for key in _PUBLISHED_FIGURES if key in out})
        published[task_id] = entry
    return published


def _stage_seconds(outputs: dict[str, Any]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for task_id, out in outputs.items():
        metrics = out.get("_metrics") if isinstance(out, dict) else None
        if isinstance(metrics, dict) and metrics.get("seconds") is not None:
            seconds[task_id] = float(metrics["seconds"])
    return seconds


def record_run_summary(rc: RunContext, dag_run: Any, ti: Any) -> dict[str, Any]:
    """Write ``run_summary.json`` in the run's folder and the row of ``ops.run_summaries``,
    then (re)write the folder's ``index.html`` so it links the summary and, when the run
    did not publish, its quality reports."""
    states = task_states(ti, dag_run)
    outputs = {}
    for task_id in STAGES:
        value = ti.xcom_pull(task_ids=task_id)
        if value is not None:
            outputs[task_id] = value
    failed = sorted(t for t, s in states.items() if s in ("failed", "upstream_failed"))
    status = "failed" if failed else "success"
    folder = rc.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run_summary.json"
    started = run_started_at(dag_run)
    finished = dt.datetime.now(dt.UTC)
    load = outputs.get("load")
    loaded: dict[str, Any] = load if isinstance(load, dict) else {}
    summary: dict[str, Any] = {
        "run_id": rc.run_id,
        "checkpoint": rc.checkpoint.isoformat(),
        "status": status,
        "failed_tasks": failed,
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat(),
        "rows_loaded": loaded.get("rows_loaded"),
        "rows_rejected": loaded.get("rows_rejected"),
        "files_loaded": loaded.get("files_loaded"),
        "files_rejected": loaded.get("files_rejected"),
        "gates": _gate_results(rc, states, outputs),
        "published": _published(states, outputs),
        "stage_seconds": _stage_seconds(outputs),
        "task_states": states,
        "stages": outputs,
        "summary_path": str(path),
    }
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
    with connect(rc.warehouse_url) as conn:
        conn.execute(
            """
            insert into ops.run_summaries
                (run_id, checkpoint_date, status, started_at, finished_at, summary)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (run_id) do update
            set status = excluded.status, started_at = excluded.started_at,
                finished_at = excluded.finished_at, summary = excluded.summary
            """,
            (
                rc.run_id,
                rc.checkpoint,
                status,
                started or finished,  # a start Airflow did not give: the finish
                finished,
                json.dumps(summary, ensure_ascii=False, default=str),
            ),
        )
    _write_run_index(rc, summary)
    return summary


def _write_run_index(rc: RunContext, summary: dict[str, Any]) -> None:
    """The run folder's index.html, now that run_summary.json exists. A run that did not
    get to publish its reports (a gate failed, a stage crashed) gets a page of its own,
    linking what people need to see why: the quality reports, Data Docs and the summary.
    Never fails the run: the summary is recorded already."""
    from budgetperf.publish.index import RunOutcome, write_index

    outcome = None
    if summary["status"] != "success":
        outcome = RunOutcome(
            failed_tasks=tuple(summary["failed_tasks"]),
            published=tuple(
                task
                for task, entry in summary["published"].items()
                if entry.get("state") == "success"
            ),
            checked=tuple(
                gate
                for gate, result in summary["gates"].items()
                if result.get("passed") is not None
            ),
        )
    try:
        write_index(rc, outcome)
    except Exception:
        log.exception("could not write the index.html of %s", rc.output_dir)
