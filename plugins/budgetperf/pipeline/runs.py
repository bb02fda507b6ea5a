"""The end of a run: the alert for failed tasks, and the run summary left for people."""

from __future__ import annotations

import datetime as dt
import json
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


def _log_excerpt(dag_run: Any, task_id: str, lines: int = 40) -> str:
    import os

    base = Path(os.environ.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER", ""))
    folder = base / f"dag_id={dag_run.dag_id}" / f"run_id={dag_run.run_id}" / f"task_id={task_id}"
    attempts = sorted(folder.glob("attempt=*.log")) if folder.is_dir() else []
    if not attempts:
        return "(没有本地任务日志；见 Airflow 界面或 $BUDGETPERF_HOME/logs/run-<checkpoint>.log)"
    text = attempts[-1].read_text(encoding="utf-8", errors="replace").splitlines()
    keep = [line for line in text if "error" in line.lower() or "budgetperf" in line]
    return "\n".join((keep or text)[-lines:])


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
        body += ["日志摘录 / log excerpt:", _log_excerpt(dag_run, task_id), ""]
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


def record_run_summary(rc: RunContext, dag_run: Any, ti: Any) -> dict[str, Any]:
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
    summary: dict[str, Any] = {
        "run_id": rc.run_id,
        "checkpoint": rc.checkpoint.isoformat(),
        "status": status,
        "failed_tasks": failed,
        "task_states": states,
        "stages": outputs,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "summary_path": str(path),
    }
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
    with connect(rc.warehouse_url) as conn:
        conn.execute(
            """
            insert into ops.run_summaries (run_id, checkpoint_date, status, finished_at, summary)
            values (%s, %s, %s, now(), %s)
            on conflict (run_id) do update
            set status = excluded.status, finished_at = excluded.finished_at,
                summary = excluded.summary
            """,
            (
                rc.run_id,
                rc.checkpoint,
                status,
                json.dumps(summary, ensure_ascii=False, default=str),
            ),
        )
    return summary
