"""The body of every task of ``budget_monitoring``: one function per task.

Each takes the Airflow task context, builds a RunContext, calls the package, logs one
``budgetperf: ...`` line saying what happened (the CLI shows those as progress) and
returns a small JSON-able summary (the task's XCom, collected by ``finish``).
Heavy imports stay inside the functions.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from budgetperf.pipeline.context import RunContext, run_context

log = logging.getLogger("budgetperf.pipeline")


Task = TypeVar("Task", bound=Callable[..., Any])


def _remembers_failure(function: Task) -> Task:
    """Measure the stage (seconds, memory: ``_metrics`` in its summary) and keep a failing
    task's error as the XCom ``error``, so the alert can quote it: a DAG run from the CLI
    writes no per-task log file for the alert to read."""

    @functools.wraps(function)
    def wrapper(context: Mapping[str, Any], *args: Any) -> Any:
        from airflow.sdk.exceptions import AirflowSkipException

        from budgetperf.pipeline.metrics import measured

        try:
            with measured() as metrics:
                result = function(context, *args)
            if isinstance(result, dict):
                result["_metrics"] = metrics.as_dict()
            return result
        except AirflowSkipException:
            raise
        except Exception as exc:
            ti = context.get("ti")  # absent when a test calls the task body directly
            try:
                if ti is not None:
                    ti.xcom_push(key="error", value=f"{type(exc).__name__}: {exc}"[:4000])
            except Exception:  # never hide the real error behind this one
                log.exception("could not record the error of %s", function.__name__)
            raise

    return wrapper  # type: ignore[return-value]


def _say(message: str) -> None:
    log.info("budgetperf: %s", message)


def _skip(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowSkipException

    _say(message)
    raise AirflowSkipException(message)


def _fail(message: str) -> NoReturn:
    """Fail without retrying: the data, not the machine, is wrong."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


# -- 1 detect --------------------------------------------------------------------------


@_remembers_failure
def detect_delivery(context: Mapping[str, Any]) -> Any:
    """Wait for the checkpoint's delivery (folder source) or pull it (sql, http): which one
    comes from BUDGETPERF_SOURCE, so the DAG never changes (see pipeline/detect.py)."""
    from airflow.sdk import PokeReturnValue

    from budgetperf.pipeline.detect import delivery_window, detect, required_entities
    from budgetperf.sources import SourceError, source_settings

    rc = run_context(context, "loader")
    try:
        required = required_entities()
    except ValueError as exc:  # a misspelt BUDGETPERF_REQUIRED_ENTITIES
        _fail(str(exc))
    try:
        outcome = detect(
            rc.checkpoint,
            landing=rc.settings.landing,
            window=delivery_window(rc.checkpoint),
            source=source_settings(home=rc.settings.home),
            required=required,
            say=_say,
        )
    except SourceError as exc:
        # a refusal or a wrong mapping does not mend itself: fail now, and the alert
        # (this task's last log lines) says what to fix
        _say(f"pull failed and needs a person: {exc}")
        _fail(str(exc))
    for line in outcome.lines:
        _say(line)
    if outcome.done:
        return PokeReturnValue(is_done=True, xcom_value=outcome.xcom)
    # if the sensor times out, the alert quotes what it was still waiting for
    ti = context.get("ti")
    if ti is not None:
        ti.xcom_push(key="waiting_for", value="\n".join(outcome.lines))
    return PokeReturnValue(is_done=False)


# -- 2 load ------------------------------------------------------------------------------


def register_checkpoint(rc: RunContext) -> None:
    """Record that this checkpoint runs: the marts compute every registered checkpoint."""
    from budgetperf.warehouse import connect

    with connect(rc.warehouse_url) as conn:
        conn.execute(
            """
            insert into ops.checkpoint_runs (checkpoint_date, fiscal_year, last_run_id)
            values (%s, %s, %s)
            on conflict (checkpoint_date) do update
            set last_run_at = now(), last_run_id = excluded.last_run_id
            """,
            (rc.checkpoint, rc.fiscal_year, rc.run_id),
        )
        # a new checkpoint changes every effective view's plan (migration 0600)
        conn.execute("select ops.analyze_load_ledgers()")


def load_summary(report: Any) -> dict[str, Any]:
    """The numbers of a load run that the run summary and the CLI show."""
    done = [f for f in report.files if f.status != "skipped"]
    return {
        "files_loaded": sum(f.status == "loaded" for f in done),
        "files_rejected": sum(f.status == "rejected" for f in done),
        "files_skipped": sum(f.status == "skipped" for f in report.files),
        "rows_loaded": sum(f.rows_loaded for f in done),
        "rows_rejected": sum(f.rows_rejected for f in done),
        "findings": [str(finding) for finding in report.findings],
        "files": [
            {
                "file": f.file_path,
                "status": f.status,
                "rows_loaded": f.rows_loaded,
                "rows_rejected": f.rows_rejected,
                "reason": f.reason,
            }
            for f in done
        ],
    }


@_remembers_failure
def load(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.ingest.loader import load_landing
    from budgetperf.pipeline.lease import LeaseHeld, acquire

    rc = run_context(context, "loader")
    try:
        acquire(rc.warehouse_url, rc.run_id, rc.checkpoint)
    except LeaseHeld as held:
        _fail(str(held))
    report = load_landing(rc.warehouse_url, rc.settings.landing, up_to=rc.checkpoint)
    register_checkpoint(rc)
    summary = load_summary(report)
    _say(
        f"loaded {summary['files_loaded']} new file(s), {summary['rows_loaded']} rows; "
        f"{summary['rows_rejected']} rows and {summary['files_rejected']} file(s) rejected; "
        f"{summary['files_skipped']} unchanged file(s) skipped"
    )
    return summary


# -- 3 and 5 gates -----------------------------------------------------------------------


@_remembers_failure
def gate(context: Mapping[str, Any], gate_name: str) -> dict[str, Any]:
    from budgetperf.quality.gates import run_gate

    rc = run_context(context, "quality")
    outcome = run_gate(
        gate_name,
        warehouse_url=rc.warehouse_url,
        checkpoint=rc.checkpoint,
        run_id=rc.run_id,
        settings=rc.settings,
    )
    _say(outcome.one_line())
    if not outcome.passed:
        from budgetperf.quality.alerts import alert_gate_failure

        alert_gate_failure(outcome, rc)
        _fail(outcome.failure_message())
    return outcome.summary()


# -- 4 build -----------------------------------------------------------------------------


@_remembers_failure
def build(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.transform import dbt_build, mart_row_counts

    rc = run_context(context, "transformer")
    dbt_build(rc.settings, rc.warehouse_url)
    counts = mart_row_counts(rc.warehouse_url)
    _say(
        "marts built: "
        + ", ".join(f"{name} {rows}" for name, rows in counts.items() if rows is not None)
    )
    return {"mart_rows": counts}


# -- 6 publish ---------------------------------------------------------------------------


def _checkpoint_kind(rc: RunContext) -> str:
    from budgetperf.warehouse import connect

    with connect(rc.warehouse_url) as conn:
        row = conn.execute(
            "select checkpoint_kind from marts.dim_checkpoints where checkpoint_date = %s",
            (rc.checkpoint,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"checkpoint {rc.checkpoint} is missing from marts.dim_checkpoints")
    return str(row[0])


@_remembers_failure
def publish_notices(context: Mapping[str, Any]) -> dict[str, Any]:
    """R8 notices after a monitoring point; at the year-end point nothing new is rendered,
    but notices still waiting from 11-30 (an SMTP outage) are delivered."""
    from budgetperf.publish.notices import publish_monitoring_notices

    rc = run_context(context, "publisher")
    result = publish_monitoring_notices(rc)
    _say(result.one_line())
    if result.undelivered:
        # pending notices stay in ops.notices; the retry (or the next run) sends them
        raise RuntimeError(result.one_line())
    return result.summary()


@_remembers_failure
def publish_proposal_feed(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.publish.feed import export_budget_proposals

    rc = run_context(context, "publisher")
    if _checkpoint_kind(rc) != "year_end":
        _skip(f"{rc.checkpoint} is a monitoring point: the proposal feed follows the year-end")
    result = export_budget_proposals(rc)
    _say(result.one_line())
    summary = result.summary()
    # downstream systems listening to the feed's Asset get what was written
    for outlet in context["task"].outlets:
        context["outlet_events"][outlet].extra = summary
    return summary


@_remembers_failure
def publish_disclosure(context: Mapping[str, Any]) -> dict[str, Any]:
    """信息公开: published targets and evaluation results for the county website."""
    from budgetperf.publish.disclosure import export_disclosure

    rc = run_context(context, "publisher")
    result = export_disclosure(rc)
    _say(result.one_line())
    return result.summary()


@_remembers_failure
def publish_reports(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.publish.reports import write_reports

    rc = run_context(context, "publisher")
    if context["ti"].xcom_pull(task_ids="gate_marts") is None:
        _skip("the marts gate did not pass: no report for this run")
    result = write_reports(rc)
    _say(result.one_line())
    return result.summary()


# -- failure and the end of a run ----------------------------------------------------------


def alert_failure(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.pipeline.runs import alert_failed_tasks

    rc = run_context(context, "publisher")
    result = alert_failed_tasks(rc, context["dag_run"], context["ti"])
    _say(result)
    return {"alert": result}


def finish(context: Mapping[str, Any]) -> dict[str, Any]:
    from budgetperf.pipeline.lease import release
    from budgetperf.pipeline.runs import record_run_summary

    rc = run_context(context, "publisher")
    summary = record_run_summary(rc, context["dag_run"], context["ti"])
    release(rc.warehouse_url, rc.run_id)
    _say(f"run {summary['status']}; summary in {summary['summary_path']}")
    if summary["status"] != "success":
        _fail(f"checkpoint {rc.checkpoint}: failed tasks {', '.join(summary['failed_tasks'])}")
    return summary
