"""The demo year through the real pipeline: the generated Pingluo 2021 deliveries, the four
checkpoints of 2021 run one by one through Airflow, and the report's figures read back from
the marts (DOMAIN.md "The figures of the report"), exactly. Notices go to a real SMTP
server on localhost that is down for the 09-30 run (issue 8: SMTP down, re-verified in the
full run). The same year is then replayed with Airflow's backfill on the production-shaped
path (scheduler, api-server, Celery worker, Redis, PostgreSQL metadata), with the warehouse
restarted in the middle, and must give the same marts."""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import sqlite3
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from airflow_cluster import AirflowCluster, services_missing
from e2e_helpers import Inbox, free_port, run, run_env, smtp_connection

from budgetperf.generate import generate_scenario
from budgetperf.settings import load_settings
from budgetperf.transform import MARTS
from budgetperf.warehouse.embedded import EmbeddedWarehouse
from budgetperf.warehouse.migrate import migrate

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_demo_year")]

POINTS = ("2021-06-30", "2021-09-30", "2021-11-30", "2021-12-31")
PROJECT = Path(__file__).resolve().parents[2]
PROPOSAL_FEED_URI = "budgetperf://outputs/budget_proposal_feed"  # dags/budget_monitoring.py


@pytest.fixture(scope="module")
def demo_year(tmp_path_factory: pytest.TempPathFactory, database_factory):
    url = database_factory()
    home = tmp_path_factory.mktemp("home")
    landing = home / "landing"
    generate_scenario("pingluo-2021", landing)
    port = free_port()
    env = run_env(
        home,
        url,
        AIRFLOW_CONN_SMTP_DEFAULT=smtp_connection(port),
        BUDGETPERF_TASK_RETRIES="1",
        BUDGETPERF_RETRY_DELAY_SECONDS="1",
    )
    inbox = Inbox(port)
    results: dict[str, object] = {}
    inbox.start()
    try:
        results["2021-06-30"] = run("2021-06-30", env)
        inbox.stop()  # the mail server is down for the September run ...
        results["2021-09-30 smtp down"] = run("2021-09-30", env)
        inbox.start()  # ... and back for its re-run
        for point in POINTS[1:]:
            results[point] = run(point, env)
            if results[point].returncode != 0:
                break
    finally:
        inbox.stop()
    return home, url, results, inbox


def _scalar(url: str, query: str, *params: object) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def test_all_four_checkpoints_succeed(demo_year) -> None:
    home, _, results, _ = demo_year
    for point in POINTS:
        assert point in results, f"{point} did not run"
        result = results[point]
        assert result.returncode == 0, (
            f"{point} failed; log {home}/logs/run-{point}.log\n{result.stdout[-4000:]}"
        )


def test_every_point_has_progress_rows_for_every_2021_project(demo_year) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        rows = dict(
            conn.execute(
                "select checkpoint_date::text, count(*) from marts.fct_project_progress "
                "group by 1 order by 1"
            ).fetchall()
        )
    assert list(rows) == list(POINTS)
    assert len(set(rows.values())) == 1 and next(iter(rows.values())) > 600


def test_247_new_projects_pre_assessed_in_2021(demo_year) -> None:
    _, url, _, _ = demo_year
    numerator = _scalar(
        url,
        "select numerator from marts.rpt_coverage where fiscal_year = 2021 "
        "and metric = 'pre_assessed' and fund_source = 'all' and budget_type = 'all'",
    )
    assert numerator == 247


def test_two_departments_evaluated_as_a_whole_for_2_13_yi_yuan(demo_year) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        numerator, money = conn.execute(
            "select numerator, numerator_yuan from marts.rpt_coverage where fiscal_year = 2021 "
            "and metric = 'department_evaluated'"
        ).fetchone()
    assert numerator == 2
    assert (money / Decimal(100_000_000)).quantize(Decimal("0.01")) == Decimal("2.13")


def test_2022_county_targets_619_from_118_departments_79862_92_wan(demo_year) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        figures = dict(
            (figure, (value, wan))
            for figure, value, wan in conn.execute(
                "select figure, value, value_wan_yuan from marts.rpt_annual_summary "
                "where fiscal_year = 2022"
            ).fetchall()
        )
    assert figures["targets_declared_county"] == (619, Decimal("79862.92"))
    assert figures["departments_with_targets_county"][0] == 118
    assert figures["targets_declared_transfer"] == (23, Decimal("10781.77"))


def test_79_monitored_projects_for_93794_72_wan_at_every_monitoring_point(demo_year) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        per_point = conn.execute(
            "select checkpoint_date, count(*), sum(budget_amount_yuan) "
            "from marts.fct_project_progress where is_monitored and checkpoint_date < %s "
            "group by checkpoint_date order by checkpoint_date",
            (dt.date(2021, 12, 31),),
        ).fetchall()
        figure = conn.execute(
            "select value, value_wan_yuan from marts.rpt_annual_summary "
            "where fiscal_year = 2021 and figure = 'monitored_projects'"
        ).fetchone()
    assert [(c, Decimal(m)) for _, c, m in per_point] == [(79, Decimal("937947200.00"))] * 3
    assert figure == (79, Decimal("93794.72"))


def test_indicator_systems_cover_nine_categories_seven_sectors_thirteen_departments(
    demo_year,
) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        figures = dict(
            conn.execute(
                "select figure, value from marts.rpt_annual_summary where fiscal_year = 2021 "
                "and figure like 'indicator_system_%'"
            ).fetchall()
        )
    assert figures == {
        "indicator_system_categories": 9,
        "indicator_system_sectors": 7,
        "indicator_system_departments": 13,
    }


def test_a_real_year_most_on_track_a_tail_lagging_some_fair_and_poor(demo_year) -> None:
    _, url, _, _ = demo_year
    with psycopg.connect(url) as conn:
        statuses = dict(
            conn.execute(
                "select progress_status, count(*) from marts.fct_project_progress "
                "where checkpoint_date = '2021-09-30' group by 1"
            ).fetchall()
        )
        grades = dict(
            conn.execute(
                "select grade, count(*) from marts.fct_project_evaluation "
                "where fiscal_year = 2021 and grade is not null group by 1"
            ).fetchall()
        )
        cuts = conn.execute(
            "select count(*) filter (where extra_cut_rate = 0.05), "
            "count(*) filter (where extra_cut_rate = 0.10) "
            "from marts.fct_budget_proposal where budget_year = 2022"
        ).fetchone()
    total = sum(statuses.values())
    assert statuses["on_track"] > total / 2
    assert statuses.get("lagging", 0) > 0 and statuses.get("seriously_lagging", 0) > 0
    assert grades.get("fair", 0) > 0 and grades.get("poor", 0) > 0
    assert grades["excellent"] + grades["good"] > grades["fair"] + grades["poor"]
    assert cuts[0] > 0 and cuts[1] > 0  # results applied: 中 cut 5%, 差 cut 10%


def test_the_year_produced_reports_and_the_2022_feed(demo_year) -> None:
    home, _, _, _ = demo_year
    feed = home / "outputs" / "2022"
    assert (feed / "budget_proposals_2022.csv").is_file()
    assert (feed / "budget_proposals_2022.xlsx").is_file()
    for point in POINTS:
        assert (home / "outputs" / "runs" / point / "run_summary.json").is_file()
        assert (home / "outputs" / "runs" / point / "index.html").is_file()


def _run_summary(home: Path, point: str) -> dict:
    """What `finish` left for the (last) run of a point: its run id, states, stages."""
    path = home / "outputs" / "runs" / point / "run_summary.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_run_with_only_warnings_publishes_and_reports_them(demo_year) -> None:
    """The demo year's year-end holds an overspent project (MART-BND-04, a warning): the
    run publishes all the same, its warnings are in ops.dq_results, and the monitoring
    report of that checkpoint shows each of them."""
    home, url, _, _ = demo_year
    warned = []
    for point in POINTS:
        summary = _run_summary(home, point)
        with psycopg.connect(url) as conn:
            verdicts = conn.execute(
                "select rule_id, severity, success, observed, details from ops.dq_results "
                "where run_id = %s and checkpoint_date = %s",
                (summary["run_id"], dt.date.fromisoformat(point)),
            ).fetchall()
        notices = _scalar(
            url,
            "select count(*) from ops.notices where kind in ('department', 'summary') "
            "and checkpoint_date = %s",
            dt.date.fromisoformat(point),
        )
        assert verdicts, f"{point}: no verdict of run {summary['run_id']} in ops.dq_results"
        assert [v[0] for v in verdicts if v[1] == "fatal" and not v[2]] == [], point
        warnings = {v[0]: v for v in verdicts if v[1] == "warning" and not v[2]}
        page = (home / "outputs" / "runs" / point / "monitoring_report.html").read_text(
            encoding="utf-8"
        )
        if not warnings:
            assert "本检查点最近一次质量检查没有警告" in page, point
            continue
        warned.append(point)
        # published although warned: the publishers ran, the reports carry the warnings
        assert summary["status"] == "success", summary
        states = summary["task_states"]
        assert states["publish_reports"] == "success", states
        if point == "2021-12-31":
            assert states["publish_proposal_feed"] == "success", states
        else:
            assert states["publish_notices"] == "success" and notices > 0, (states, notices)
        table = page[page.index('id="dq-warnings"') :]
        table = table[: table.index("</table>")]
        assert table.count("<tr>") == len(warnings) + 1, table  # the header and one each
        for rule_id, (_, _, _, observed, _) in warnings.items():
            assert f">{rule_id}<" in table and html.escape(observed) in table, rule_id
        if point == "2021-12-31":
            with psycopg.connect(url) as conn:
                overspent = {
                    row[0]
                    for row in conn.execute(
                        "select project_code from marts.fct_project_progress "
                        "where checkpoint_date = %s and execution_rate > 1",
                        (dt.date(2021, 12, 31),),
                    )
                }
            assert overspent, "the demo year has no overspent project at the year-end"
            sample = {row["project_code"] for row in warnings["MART-BND-04"][4]["sample"]}
            assert sample and sample <= overspent and len(sample) == min(len(overspent), 5)
    assert "2021-12-31" in warned, warned


def test_the_year_end_feed_is_an_airflow_asset_event_naming_its_files(demo_year) -> None:
    """Downstream DAGs scheduled on the proposal feed's Asset learn what was written: one
    event, from the year-end run's publish_proposal_feed, whose extra lists the files."""
    home, url, _, _ = demo_year
    run_id = _run_summary(home, "2021-12-31")["run_id"]
    with sqlite3.connect(home / "airflow" / "airflow.db") as meta:
        events = meta.execute(
            "select e.extra, e.source_dag_id, e.source_task_id, e.source_run_id "
            "from asset_event as e join asset as a on a.id = e.asset_id where a.uri = ?",
            (PROPOSAL_FEED_URI,),
        ).fetchall()
    assert len(events) == 1, events
    extra, dag_id, task_id, source_run_id = events[0]
    assert (dag_id, task_id, source_run_id) == (
        "budget_monitoring",
        "publish_proposal_feed",
        run_id,
    )
    extra = json.loads(extra)
    files = {Path(f).resolve() for f in extra["files"]}
    feed = (home / "outputs" / "2022").resolve()
    assert {feed / "budget_proposals_2022.csv", feed / "budget_proposals_2022.xlsx"} <= files
    assert all(f.is_file() for f in files), files
    assert extra["budget_year"] == 2022
    assert extra["rows"] == _scalar(
        url, "select count(*) from marts.fct_budget_proposal where budget_year = 2022"
    )


def test_an_smtp_outage_loses_and_doubles_no_notice(demo_year) -> None:
    _, url, results, inbox = demo_year
    assert results["2021-09-30 smtp down"].returncode != 0  # nothing could be delivered
    with psycopg.connect(url) as conn:
        ledger = conn.execute(
            "select checkpoint_date::text, kind, coalesce(department_code, ''), recipient, "
            "status from ops.notices where kind in ('department', 'summary')"
        ).fetchall()
    assert {row[4] for row in ledger} == {"sent"}
    received = Counter(
        (m["To"], m["Subject"].removeprefix("【更正】"))
        for m in inbox.parsed()
        if m["To"] != "data-engineers@budgetperf.local"
    )
    assert max(received.values()) == 1  # none doubled
    assert sum(received.values()) == len(ledger)  # none lost
    points = Counter(row[0] for row in ledger)
    assert set(points) == {"2021-06-30", "2021-09-30", "2021-11-30"}
    assert all(count >= 2 for count in points.values())  # departments + the summary


# -- the same year through Airflow's backfill, on the distributed path ---------------------


@pytest.fixture(scope="module")
def backfilled_year():
    missing = services_missing()
    if missing:
        pytest.skip(f"the distributed path needs Redis and PostgreSQL on localhost: {missing}")
    # its own home and embedded warehouse (we restart it), outside pytest's private temp root
    home = PROJECT / ".budgetperf" / "test-home" / f"backfill-{uuid.uuid4().hex[:8]}"
    settings = load_settings({"BUDGETPERF_HOME": str(home), "BUDGETPERF_PROJECT_DIR": str(PROJECT)})
    generate_scenario("pingluo-2021", settings.landing)
    warehouse = EmbeddedWarehouse(settings.embedded_dir)
    owner_url = warehouse.start()
    migrate(owner_url)
    cluster = AirflowCluster(
        settings,
        owner_url,
        {
            "BUDGETPERF_DELIVERY_TIMEOUT_SECONDS": "0",  # the one scheduled run fails fast
            "BUDGETPERF_DELIVERY_STABLE_SECONDS": "0",
            "BUDGETPERF_TASK_RETRIES": "3",
            "BUDGETPERF_RETRY_DELAY_SECONDS": "2",
        },
    )
    restarted = threading.Event()
    finished = False
    try:
        cluster.start()
        cluster.wait_for_dag("budget_monitoring")
        cluster.airflow("dags", "unpause", "budget_monitoring")
        cluster.airflow(
            "backfill",
            "create",
            "--dag-id",
            "budget_monitoring",
            "--from-date",
            "2021-01-01T00:00:00+08:00",
            "--to-date",
            "2021-12-31T23:59:59+08:00",
            "--max-active-runs",
            "1",
        )

        def restart_during_septembers_build() -> None:
            # as soon as dbt (the transformer role) has a query running for 09-30
            deadline = time.monotonic() + 1500
            while time.monotonic() < deadline:
                try:
                    with psycopg.connect(owner_url, connect_timeout=3) as conn:
                        building = conn.execute(
                            "select exists (select 1 from ops.checkpoint_runs "
                            "where checkpoint_date = '2021-09-30') and exists ("
                            "select 1 from pg_stat_activity where state = 'active' "
                            "and usename = 'budgetperf_transformer')"
                        ).fetchone()
                except psycopg.OperationalError:
                    building = None
                if building and building[0]:
                    warehouse.stop()
                    time.sleep(1)
                    warehouse.start()
                    restarted.set()
                    return
                time.sleep(0.5)

        threading.Thread(target=restart_during_septembers_build, daemon=True).start()
        deadline = time.monotonic() + 1800
        backfill_runs: list[dict] = []
        while time.monotonic() < deadline:
            backfill_runs = [
                r for r in cluster.runs("budget_monitoring") if r["run_id"].startswith("backfill")
            ]
            if len(backfill_runs) == 4 and all(
                r["state"] in ("success", "failed") for r in backfill_runs
            ):
                break
            time.sleep(10)
        attempts = cluster.task_attempts()
        worker_log = (cluster.log_dir / "worker.log").read_text(errors="replace")
        yield owner_url, backfill_runs, attempts, restarted.is_set(), worker_log
        finished = True
    finally:
        cluster.stop()
        warehouse.stop()
        if finished:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"kept for inspection: {home} (cluster-logs/, airflow/logs/)")


def test_the_backfill_runs_the_four_points_through_the_celery_queue(backfilled_year) -> None:
    _, runs, _, _, worker_log = backfilled_year
    assert sorted(r["state"] for r in runs) == ["success"] * 4, runs
    # the tasks ran in the Celery worker, not in a local process
    assert "budgetperf" in worker_log or "Executing workload" in worker_log


def test_a_warehouse_restart_mid_run_is_retried_and_the_run_completes(backfilled_year) -> None:
    _, runs, attempts, restarted, _ = backfilled_year
    assert restarted, "the warehouse was never restarted"
    assert max(attempts.values()) >= 2, attempts  # some task failed once and was retried
    assert sorted(r["state"] for r in runs) == ["success"] * 4


def _mart_rows(url: str) -> dict[str, list[tuple]]:
    rows = {}
    with psycopg.connect(url) as conn:
        for mart in (*MARTS, "dim_checkpoints"):
            rows[mart] = conn.execute(f"select * from marts.{mart} order by 1, 2, 3").fetchall()
    return rows


def test_backfill_gives_the_same_marts_as_running_the_points_one_by_one(
    demo_year, backfilled_year
) -> None:
    _, one_by_one_url, _, _ = demo_year
    backfill_url = backfilled_year[0]
    one_by_one, backfilled = _mart_rows(one_by_one_url), _mart_rows(backfill_url)
    for mart in one_by_one:
        assert len(backfilled[mart]) == len(one_by_one[mart]), mart
        assert sorted(map(repr, backfilled[mart])) == sorted(map(repr, one_by_one[mart])), mart
