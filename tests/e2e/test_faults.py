"""Faults injected into real DAG runs (issue 8): two runs of one checkpoint at once, a
delivery that never arrives, an SMTP outage, and PostgreSQL restarted mid-run. Each test
runs `budgetperf run` (Airflow `dags test`) and checks that marts and ledgers stay right.
(The loader killed mid-file is tested at the loader: tests/ingest/test_ingest_concurrency.py.)
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from e2e_helpers import run, run_env, run_log, start_run

from budgetperf.warehouse.embedded import EmbeddedWarehouse

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow")]

DELIVERIES = Path(__file__).parent / "deliveries" / "r2_boundaries"
CHECKPOINT = "2023-06-30"
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    shutil.copytree(DELIVERIES, folder)
    return folder


def _state(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            "progress": conn.execute(
                "select project_code, spent_yuan, execution_rate, progress_status "
                "from marts.fct_project_progress order by project_code"
            ).fetchall(),
            "loads": conn.execute(
                "select entity, as_of, sha256, status from ops.loads order by load_id"
            ).fetchall(),
            "raw_rows": conn.execute(
                "select (select count(*) from raw.projects), "
                "(select count(*) from raw.budget_execution)"
            ).fetchall(),
            "notices": conn.execute(
                "select kind, department_code, content_hash from ops.notices "
                "where kind <> 'alert' order by notice_id"
            ).fetchall(),
        }


def _wait_for(path: Path, text: str, process, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        if process.poll() is not None:
            raise AssertionError(f"run ended before {text!r} appeared in {path}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_two_runs_of_one_checkpoint_at_once_one_fails_cleanly(
    tmp_path: Path, landing: Path, database_factory
) -> None:
    url = database_factory()
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    first = start_run(CHECKPOINT, run_env(first_home, url), landing)
    # start the second once the first is past its load, so they overlap in the warehouse
    _wait_for(first_home / "logs" / f"run-{CHECKPOINT}.log", "task_id=gate_raw", first)
    second = start_run(CHECKPOINT, run_env(second_home, url), landing)
    first_out, _ = first.communicate(timeout=900)
    second_out, _ = second.communicate(timeout=900)
    assert first.returncode == 0, first_out[-3000:]
    assert second.returncode != 0, "the second run should have stopped at the lease"
    assert "another run is updating the warehouse" in run_log(second_home, CHECKPOINT)

    # the same warehouse as one run alone: a clean single run into another database
    alone = database_factory()
    result = run(CHECKPOINT, run_env(tmp_path / "alone", alone), landing)
    assert result.returncode == 0, result.stdout[-3000:]
    together, single = _state(url), _state(alone)
    assert together["progress"] == single["progress"]
    assert together["raw_rows"] == single["raw_rows"]
    assert [r[:3] for r in together["loads"]] == [r[:3] for r in single["loads"]]
    assert [r[:2] for r in together["notices"]] == [r[:2] for r in single["notices"]]
    with psycopg.connect(url) as conn:
        holder = conn.execute("select run_id from ops.pipeline_lease").fetchone()
        alerts = conn.execute("select count(*) from ops.notices where kind = 'alert'").fetchone()
    assert holder == (None,)  # the winner gave the lease back; the loser never held it
    assert alerts == (1,)  # the data engineers heard about the refused run


def test_a_delivery_that_never_arrives_times_out_and_alerts_naming_it(
    tmp_path: Path, landing: Path, database_factory
) -> None:
    url = database_factory()
    home = tmp_path / "home"
    # the landing holds 20230630 only: nothing for (06-30, 09-30]
    result = run("2023-09-30", run_env(home, url, BUDGETPERF_RETRY_DELAY_SECONDS="1"), landing)
    assert result.returncode != 0
    alerts = list((home / "outbox").glob("*alert*.eml"))
    assert len(alerts) == 1
    from email import message_from_bytes, policy

    message = message_from_bytes(alerts[0].read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "detect_delivery" in body
    assert "20230701–20230930" in body
    assert str(landing / "20230930") in body
    with psycopg.connect(url) as conn:
        loads = conn.execute("select count(*) from ops.loads").fetchone()
    assert loads == (0,)  # nothing loaded, nothing published


class _Inbox:
    """A real SMTP server (aiosmtpd) on localhost that records what it receives."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[bytes] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                inbox.messages.append(envelope.original_content or envelope.content)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self) -> _Inbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_smtp_down_then_up_loses_and_doubles_no_notice(
    tmp_path: Path, landing: Path, database_factory
) -> None:
    url = database_factory()
    home = tmp_path / "home"
    port = _free_port()
    smtp = (
        '{"conn_type": "smtp", "host": "127.0.0.1", "port": %d, '
        '"extra": {"disable_tls": true, "disable_ssl": true, "timeout": 5}}' % port
    )
    env = run_env(
        home,
        url,
        AIRFLOW_CONN_SMTP_DEFAULT=smtp,
        BUDGETPERF_TASK_RETRIES="1",
        BUDGETPERF_RETRY_DELAY_SECONDS="1",
    )
    down = run(CHECKPOINT, env, landing)  # no server listens on the port
    assert down.returncode != 0
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            "select status, count(*) from ops.notices where kind <> 'alert' group by 1"
        ).fetchall()
    assert kept == [("failed", 3)]  # rendered and kept, not lost

    with _Inbox(port) as inbox:
        up = run(CHECKPOINT, env, landing)
        assert up.returncode == 0, up.stdout[-3000:]
        again = run(CHECKPOINT, env, landing)
        assert again.returncode == 0
    from email import message_from_bytes, policy

    received = [message_from_bytes(m, policy=policy.default) for m in inbox.messages]
    # the failed run's alert to the data engineers was pending too and goes out now
    notices = sorted(m["To"] for m in received if m["To"] != "data-engineers@budgetperf.local")
    assert notices == sorted(
        ["jiaoyu@example.gov.cn", "yaofu@example.gov.cn", "jixiaoguanli@budgetperf.local"]
    )
    with psycopg.connect(url) as conn:
        final = conn.execute(
            "select status, count(*) from ops.notices where kind <> 'alert' group by 1"
        ).fetchall()
    assert final == [("sent", 3)]


@pytest.fixture
def own_cluster_home() -> Iterator[Path]:
    """A BUDGETPERF_HOME with its own embedded server (we restart it): not under pytest's
    private temp root, which the server's user cannot enter."""
    home = PROJECT / ".budgetperf" / "test-home" / f"restart-{uuid.uuid4().hex[:8]}"
    yield home
    EmbeddedWarehouse(home / "warehouse").stop()
    shutil.rmtree(home, ignore_errors=True)


def test_postgres_restarted_during_a_run_the_task_retries_and_the_run_completes(
    own_cluster_home: Path, landing: Path
) -> None:
    home = own_cluster_home
    env = run_env(home, None, BUDGETPERF_TASK_RETRIES="3", BUDGETPERF_RETRY_DELAY_SECONDS="2")
    process = start_run(CHECKPOINT, env, landing)
    log = home / "logs" / f"run-{CHECKPOINT}.log"
    _wait_for(log, "starting task_id=build", process)
    server = EmbeddedWarehouse(home / "warehouse")
    restarted = threading.Event()

    def restart() -> None:
        time.sleep(2)  # dbt is connected and building
        server.stop()
        time.sleep(1)
        server.start()
        restarted.set()

    threading.Thread(target=restart, daemon=True).start()
    out, _ = process.communicate(timeout=900)
    assert restarted.wait(60)
    assert process.returncode == 0, out[-4000:]
    text = log.read_text(encoding="utf-8")
    assert text.count("starting task_id=build") >= 2, "build should have been retried"
    with psycopg.connect(server.url()) as conn:
        statuses = conn.execute(
            "select progress_status, count(*) from marts.fct_project_progress group by 1 order by 1"
        ).fetchall()
    assert dict(statuses) == {
        "lagging": 2,
        "no_budget": 1,
        "on_track": 3,
        "overspent": 1,
        "seriously_lagging": 1,
    }
