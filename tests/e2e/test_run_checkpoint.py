"""`budgetperf run` end to end: a real Airflow DAG run (`airflow dags test`) on a real
PostgreSQL, with hand-computed R2 results at the status boundaries, then a second run of
the same checkpoint that must change nothing."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from e2e_helpers import run, run_env

DELIVERIES = Path(__file__).parent / "deliveries" / "r2_boundaries"
CHECKPOINT = "2023-06-30"

# project: (spent_yuan, execution_rate, gap, progress_status), expected(06-30) = 0.5
EXPECTED = {
    "P001": ("400.00", "0.4", "0.1", "on_track"),
    "P002": ("399.99", "0.39999", "0.10001", "lagging"),
    "P003": ("200.00", "0.2", "0.3", "lagging"),
    "P004": ("199.99", "0.19999", "0.30001", "seriously_lagging"),
    "P005": ("0.00", None, None, "no_budget"),
    "P006": ("100.01", "1.0001", "-0.5001", "overspent"),
    "P007": ("150.00", "0.5", "0", "on_track"),  # a reversal counts
    "P008": ("500.00", "0.5", "0", "on_track"),  # a payment dated 07-01 does not
}

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_r2")]


def _run(home: Path, landing: Path, url: str) -> subprocess.CompletedProcess[str]:
    return run(CHECKPOINT, run_env(home, url), landing)


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            "progress": conn.execute(
                "select * from marts.fct_project_progress order by project_code"
            ).fetchall(),
            "loads": conn.execute(
                "select load_id, entity, as_of, sha256, status, rows_loaded "
                "from ops.loads order by load_id"
            ).fetchall(),
            "raw_payments": conn.execute("select count(*) from raw.budget_execution").fetchall(),
            "notices": conn.execute(
                "select notice_id, kind, department_code, content_hash, status "
                "from ops.notices order by notice_id"
            ).fetchall(),
        }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, database_factory):
    url = database_factory()
    home = tmp_path_factory.mktemp("home")
    landing = tmp_path_factory.mktemp("landing")
    shutil.copytree(DELIVERIES, landing, dirs_exist_ok=True)
    result = _run(home, landing, url)
    return home, landing, url, result


def test_the_run_succeeds_through_airflow(first_run) -> None:
    home, _, _, result = first_run
    log = home / "logs" / f"run-{CHECKPOINT}.log"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = log.read_text(encoding="utf-8")
    for task in (
        "detect_delivery",
        "load",
        "gate_raw",
        "build",
        "gate_marts",
        "publish_notices",
        "publish_reports",
        "finish",
    ):
        assert f"task_id={task}" in text
    assert "DagRun Finished" in text and "state=success" in text


def test_r2_figures_are_exact_at_the_boundaries(first_run) -> None:
    _, _, url, _ = first_run
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select project_code, spent_yuan, execution_rate, gap, progress_status,
                   expected_rate, fiscal_year
            from marts.fct_project_progress
            where checkpoint_date = %s
            order by project_code
            """,
            (CHECKPOINT,),
        ).fetchall()
    got = {r[0]: r for r in rows}
    assert set(got) == set(EXPECTED)
    for code, (spent, rate, gap, status) in EXPECTED.items():
        row = got[code]
        assert row[1] == Decimal(spent), code
        assert row[2] == (Decimal(rate) if rate is not None else None), code
        assert row[3] == (Decimal(gap) if gap is not None else None), code
        assert row[4] == status, code
        assert row[5] == Decimal("0.5")
        assert row[6] == 2023


def test_notices_for_departments_needing_correction_are_in_the_outbox(first_run) -> None:
    home, _, url, _ = first_run
    with psycopg.connect(url) as conn:
        notices = conn.execute(
            "select kind, department_code, recipient, status from ops.notices order by 1, 2"
        ).fetchall()
    assert notices == [
        ("department", "D01", "jiaoyu@example.gov.cn", "sent"),
        ("department", "D02", "yaofu@example.gov.cn", "sent"),
        ("summary", None, "jixiaoguanli@budgetperf.local", "sent"),
    ]
    outbox = sorted(p.name for p in (home / "outbox").glob("*.eml"))
    assert len(outbox) == 3
    d02 = next((home / "outbox").glob("*department-D02*.eml")).read_bytes()
    assert b"yaofu@example.gov.cn" in d02


def test_running_the_same_checkpoint_again_changes_nothing(first_run) -> None:
    home, landing, url, _ = first_run
    before = _snapshot(url)
    outbox_before = sorted(p.name for p in (home / "outbox").glob("*.eml"))
    again = _run(home, landing, url)
    assert again.returncode == 0, again.stdout[-3000:]
    after = _snapshot(url)
    assert after == before
    assert sorted(p.name for p in (home / "outbox").glob("*.eml")) == outbox_before
