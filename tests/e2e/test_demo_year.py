"""The demo year through the real pipeline: the generated Pingluo 2021 deliveries, the four
checkpoints of 2021 run in order through Airflow, and the report's figures read back from
the marts (DOMAIN.md "The figures of the report"), exactly."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from budgetperf.generate import generate_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow")]

POINTS = ("2021-06-30", "2021-09-30", "2021-11-30", "2021-12-31")


@pytest.fixture(scope="module")
def demo_year(tmp_path_factory: pytest.TempPathFactory, database_factory):
    url = database_factory()
    home = tmp_path_factory.mktemp("home")
    landing = home / "landing"
    generate_scenario("pingluo-2021", landing)
    env = dict(os.environ)
    env.update(BUDGETPERF_HOME=str(home), BUDGETPERF_WAREHOUSE_URL=url)
    for key in ("BUDGETPERF_LANDING", "BUDGETPERF_OUTBOX", "BUDGETPERF_OUTPUTS"):
        env.pop(key, None)
    results = {}
    for point in POINTS:
        results[point] = subprocess.run(
            [str(Path(sys.executable).parent / "budgetperf"), "run", "--checkpoint", point],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if results[point].returncode != 0:
            break
    return home, url, results


def _scalar(url: str, query: str, *params: object) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def test_all_four_checkpoints_succeed(demo_year) -> None:
    home, _, results = demo_year
    for point in POINTS:
        assert point in results, f"{point} did not run"
        result = results[point]
        assert result.returncode == 0, (
            f"{point} failed; log {home}/logs/run-{point}.log\n{result.stdout[-4000:]}"
        )


def test_every_point_has_progress_rows_for_every_2021_project(demo_year) -> None:
    _, url, _ = demo_year
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
    _, url, _ = demo_year
    numerator = _scalar(
        url,
        "select numerator from marts.rpt_coverage where fiscal_year = 2021 "
        "and metric = 'pre_assessed' and fund_source = 'all' and budget_type = 'all'",
    )
    assert numerator == 247


def test_two_departments_evaluated_as_a_whole_for_2_13_yi_yuan(demo_year) -> None:
    _, url, _ = demo_year
    with psycopg.connect(url) as conn:
        numerator, money = conn.execute(
            "select numerator, numerator_yuan from marts.rpt_coverage where fiscal_year = 2021 "
            "and metric = 'department_evaluated'"
        ).fetchone()
    assert numerator == 2
    assert (money / Decimal(100_000_000)).quantize(Decimal("0.01")) == Decimal("2.13")


def test_2022_county_targets_619_from_118_departments_79862_92_wan(demo_year) -> None:
    _, url, _ = demo_year
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
    _, url, _ = demo_year
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
    _, url, _ = demo_year
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
    _, url, _ = demo_year
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


def test_the_year_produced_notices_reports_and_the_2022_feed(demo_year) -> None:
    home, url, _ = demo_year
    outbox = list((home / "outbox").glob("*.eml"))
    assert len(outbox) >= 3 * 2  # at least a department and a summary per monitoring point
    feed = home / "outputs" / "2022"
    assert (feed / "budget_proposals_2022.csv").is_file()
    assert (feed / "budget_proposals_2022.xlsx").is_file()
    for point in POINTS:
        assert (home / "outputs" / "runs" / point / "run_summary.json").is_file()
    pending = _scalar(url, "select count(*) from ops.notices where status in ('pending','failed')")
    assert pending == 0
