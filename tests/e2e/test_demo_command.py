"""`budgetperf demo`, the README's main job, run as a user runs it: a subprocess with a
BUDGETPERF_HOME of its own and BUDGETPERF_WAREHOUSE_URL on a fresh database. It generates the
Pingluo 2021 deliveries, runs the checkpoints through Airflow and lists what it produced.

To keep the suite's time down only the first checkpoint runs (BUDGETPERF_CHECKPOINTS=06-30):
the generator still writes the whole year, the detect stage picks the 06-30 delivery only.
What the demo prints is checked against the warehouse and the files; then a second demo
must load no file again, send no notice again and write nothing to the outbox.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from e2e_helpers import BUDGETPERF, run_env

from budgetperf.transform import MARTS

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_demo_command")]

CHECKPOINT = "2021-06-30"


def _demo(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [BUDGETPERF, "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
    )
    return result, time.monotonic() - started


def _explain(home: Path, result: subprocess.CompletedProcess[str]) -> str:
    log = home / "logs" / f"run-{CHECKPOINT}.log"
    return f"exit {result.returncode}; log {log}\n{result.stdout[-5000:]}"


def _printed_marts(stdout: str) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    for name, rows in re.findall(r"^  marts\.(\w+)\s+(\d+|-) rows$", stdout, re.M):
        counts[name] = None if rows == "-" else int(rows)
    return counts


def _loaded(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select load_id, entity, as_of, sha256 from ops.loads "
            "where status = 'loaded' order by load_id"
        ).fetchall()


def _notices(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select notice_id, kind, department_code, content_hash, status "
            "from ops.notices order by notice_id"
        ).fetchall()


def _outbox(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "outbox").glob("*.eml"))


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory: pytest.TempPathFactory, database_factory):
    url = database_factory()  # a fresh, empty database: the demo migrates it itself
    home = tmp_path_factory.mktemp("home")
    env = run_env(
        home,
        url,
        BUDGETPERF_CHECKPOINTS=CHECKPOINT[5:],
        # fail fast instead of the production retry delays (minutes) should a task fail
        BUDGETPERF_TASK_RETRIES="1",
        BUDGETPERF_RETRY_DELAY_SECONDS="1",
    )
    result, seconds = _demo(env)
    print(f"first budgetperf demo: {seconds:.0f}s")
    return home, url, env, result


def test_demo_runs_the_checkpoint_and_reports_what_it_produced(first_demo) -> None:
    home, url, _, result = first_demo
    out = result.stdout
    assert result.returncode == 0, _explain(home, result)
    assert f"budgetperf demo: scenario pingluo-2021, home {home}" in out
    assert "[2/3] running 1 checkpoints of 2021 through Airflow" in out
    assert f"checkpoint {CHECKPOINT}: done in" in out
    assert re.search(r"^demo finished in \d+s$", out, re.M)

    # the row count of every mart, as in the warehouse
    printed = _printed_marts(out)
    assert list(printed) == list(MARTS)
    with psycopg.connect(url) as conn:
        for mart, rows in printed.items():
            actual = conn.execute(f"select count(*) from marts.{mart}").fetchone()
            assert actual is not None
            assert rows == actual[0], mart
        progress = conn.execute(
            "select checkpoint_date::text, count(*) from marts.fct_project_progress group by 1"
        ).fetchall()
        projects = conn.execute(
            "select count(distinct project_code) from marts.fct_project_progress"
        ).fetchone()
        notices = conn.execute(
            "select kind, status, count(*) from ops.notices group by 1, 2 order by 1, 2"
        ).fetchall()
    # only the configured checkpoint ran, with a progress row for each project
    assert len(progress) == 1 and progress[0][0] == CHECKPOINT
    count = progress[0][1]
    assert count > 600 and projects == (count,)
    assert f"  fct_project_progress at {CHECKPOINT}: {count} projects" in out.splitlines()
    assert printed["fct_project_progress"] == count

    # the notices, each a .eml in the outbox (no SMTP configured)
    assert notices, "no notice was recorded"
    for kind, status, n in notices:
        assert f"  notices ({kind}, {status}): {n}" in out.splitlines()
    assert {status for _, status, _ in notices} == {"sent"}
    assert {kind for kind, _, _ in notices} == {"department", "summary"}
    eml = _outbox(home)
    assert len(eml) == sum(n for _, _, n in notices)
    assert f"  outbox: {home / 'outbox'} ({len(eml)} .eml)" in out.splitlines()

    # the run's index.html, at the path printed
    indexes = re.findall(rf"^  {CHECKPOINT}: (\S+)  \(reports", out, re.M)
    assert indexes == [str(home / "outputs" / "runs" / CHECKPOINT / "index.html")]
    index = Path(indexes[0])
    assert index.is_file() and index.stat().st_size > 0
    assert "monitoring_report.html" in index.read_text(encoding="utf-8")


def test_demo_again_loads_nothing_and_sends_nothing(first_demo) -> None:
    home, url, env, first = first_demo
    assert first.returncode == 0, _explain(home, first)
    loaded, notices, outbox = _loaded(url), _notices(url), _outbox(home)
    assert loaded and notices and outbox

    again, seconds = _demo(env)
    print(f"second budgetperf demo: {seconds:.0f}s")
    assert again.returncode == 0, _explain(home, again)
    # the generator rewrote byte-identical files, so the loader skipped every one
    assert re.search(
        r"loaded 0 new file\(s\), 0 rows; .* (\d+) unchanged file\(s\) skipped", again.stdout
    )
    skipped = int(re.findall(r"(\d+) unchanged file\(s\) skipped", again.stdout)[-1])
    assert skipped == len(loaded)
    assert _loaded(url) == loaded
    assert _notices(url) == notices
    assert _outbox(home) == outbox
    # and the marts reproduce the same figures, the run's index still links its report
    assert _printed_marts(again.stdout) == _printed_marts(first.stdout)
    index = home / "outputs" / "runs" / CHECKPOINT / "index.html"
    assert f"  {CHECKPOINT}: {index}  (reports" in again.stdout
    assert "monitoring_report.html" in index.read_text(encoding="utf-8")
