"""
### budget_monitoring — 预算绩效运行监控

One run per budget monitoring checkpoint (06-30, 09-30, 11-30 and the year-end 12-31,
see the checkpoint timetable). Write-audit-publish, in six stages:

1. **detect** — wait for a complete delivery dated in this run's data interval;
2. **load** — COPY every new delivery file into `raw`, with the ledger and rejects in `ops`;
3. **gate_raw** — Great Expectations on the loaded data; fatal rules stop the run;
4. **build** — `dbt build`: staging → intermediate → marts for every checkpoint run so far;
5. **gate_marts** — Great Expectations on the marts (reconciliation with raw);
6. **publish** — notices (通报) after monitoring points, the budget proposal feed after the
   year-end point, and the reports.

A failure alerts the data engineers; `finish` records the run summary in `ops.run_summaries`
and in the run's output folder. The checkpoint is the data interval's last day, or the
`checkpoint` param of a manual run.

This file is wiring only: each task calls one function of `budgetperf.pipeline.tasks`
(imported inside the task, so parsing this file touches no database and no heavy import).
"""

from __future__ import annotations

from itertools import pairwise

import pendulum
from airflow.sdk import Asset, Param, TriggerRule, dag, task

from budgetperf.dag_defaults import DEFAULT_ARGS, detect_poke_seconds, detect_timeout_seconds
from budgetperf.timetable import configured_timetable

MARTS_ASSET = Asset(name="budgetperf_marts", uri="budgetperf://warehouse/marts")
PROPOSAL_FEED_ASSET = Asset(
    name="budgetperf_budget_proposal_feed", uri="budgetperf://outputs/budget_proposal_feed"
)


@dag(
    dag_id="budget_monitoring",
    schedule=configured_timetable(),
    start_date=pendulum.datetime(2021, 1, 1, tz="Asia/Shanghai"),
    # Past years are replayed on purpose with `airflow backfill create`, not on deploy.
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "checkpoint": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Run this checkpoint (YYYY-MM-DD) instead of the data interval's.",
        )
    },
    tags=["budgetperf", "monitoring"],
    doc_md=__doc__,
)
def budget_monitoring() -> None:
    @task.sensor(
        task_id="detect_delivery",
        mode="reschedule",
        poke_interval=detect_poke_seconds(),
        timeout=detect_timeout_seconds(),
    )
    def detect_delivery(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.detect_delivery(context)

    @task(task_id="load")
    def load(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.load(context)

    @task(task_id="gate_raw")
    def gate_raw(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.gate(context, "raw")

    @task(task_id="build", outlets=[MARTS_ASSET])
    def build(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.build(context)

    @task(task_id="gate_marts")
    def gate_marts(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.gate(context, "marts")

    @task(task_id="publish_notices")
    def publish_notices(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.publish_notices(context)

    @task(task_id="publish_proposal_feed", outlets=[PROPOSAL_FEED_ASSET])
    def publish_proposal_feed(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.publish_proposal_feed(context)

    @task(task_id="publish_disclosure")
    def publish_disclosure(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.publish_disclosure(context)

    # The reports come last, so they show how the notices and the feed went, whatever the
    # other publishers did (the feed is skipped at monitoring points, the notices may wait
    # for SMTP); the task itself skips when the marts gate did not pass.
    @task(task_id="publish_reports", trigger_rule=TriggerRule.ALL_DONE)
    def publish_reports(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.publish_reports(context)

    @task(task_id="alert_data_engineers", trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def alert_data_engineers(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.alert_failure(context)

    @task(task_id="finish", trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def finish(**context):  # type: ignore[no-untyped-def]
        from budgetperf.pipeline import tasks

        return tasks.finish(context)

    audited = [detect_delivery(), load(), gate_raw(), build(), gate_marts()]
    for upstream, downstream in pairwise(audited):
        upstream >> downstream
    # notices, the feed and the disclosure go out only after both gates; the reports, last,
    # carry the gate warnings and the notices' delivery states
    published = [publish_notices(), publish_proposal_feed(), publish_disclosure()]
    audited[-1] >> published
    reports = publish_reports()
    published >> reports
    published = [*published, reports]
    alert = alert_data_engineers()
    [*audited, *published] >> alert
    [*audited, *published, alert] >> finish()


budget_monitoring()
