"""A clean delivery end to end: the generated pingluo-2021 data, loaded by the real loader,
built by dbt, passes both gates at 2021-06-30 with no warning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import as_quality, dbt_build_quietly, execute, rows, settings_for

from budgetperf.generate import generate_scenario
from budgetperf.ingest.loader import load_landing
from budgetperf.quality.gates import GateOutcome, run_gate
from budgetperf.warehouse.migrate import migrate
from budgetperf.warehouse.roles import role_url

pytestmark = pytest.mark.xdist_group("quality-demo")

JUNE = dt.date(2021, 6, 30)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Any
) -> tuple[str, dict[str, GateOutcome]]:
    home = tmp_path_factory.mktemp("demo-home")
    landing = home / "landing"
    generate_scenario("pingluo-2021", landing, overwrite=True)
    url = database_factory()
    migrate(url)
    load_landing(role_url(url, "loader"), landing, up_to=JUNE)
    execute(
        url,
        "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year, last_run_id)"
        " values ('2021-06-30', 2021, 'demo')",
    )
    dbt_build_quietly(home, url)
    outcomes = {
        gate: run_gate(
            gate,
            warehouse_url=as_quality(url),
            checkpoint=JUNE,
            run_id="demo-2021-06-30",
            settings=settings_for(home),
        )
        for gate in ("raw", "marts")
    }
    return url, outcomes


def test_the_demo_delivery_loaded_without_rejects(demo: Any) -> None:
    url, _ = demo
    statuses = rows(url, "select status, sum(rows_rejected) from ops.loads group by status")
    assert statuses == [("loaded", 0)]


@pytest.mark.parametrize("gate", ["raw", "marts"])
def test_generated_delivery_passes_both_gates(demo: Any, gate: str) -> None:
    outcome = demo[1][gate]
    assert [r.line() for r in outcome.results if not r.success] == []
    assert outcome.passed and not outcome.warnings
    # the checks ran on real rows, not on an empty batch
    # (a native expectation on the payments reports how many rows it read)
    amounts = (
        next(r for r in outcome.results if r.rule.id == "RAW-RNG-02") if gate == "raw" else None
    )
    if amounts is not None:
        assert amounts.element_count and amounts.element_count > 10_000


def test_demo_report_is_written_to_the_run_folder(demo: Any) -> None:
    report = demo[1]["marts"].report
    assert report is not None and report.parent.name == "2021-06-30"
    assert Path(report).parent.parent.name == "runs"
