"""`budgetperf warehouse start|status|url|stop` as a user runs them: subprocesses with a
BUDGETPERF_HOME of the test's own.

Without BUDGETPERF_WAREHOUSE_URL the commands manage the embedded PostgreSQL under
``$BUDGETPERF_HOME/warehouse`` (settings.embedded_dir); with it set they report on that
server and never create or start an embedded one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from budgetperf.warehouse.embedded import EmbeddedWarehouse

BUDGETPERF = str(Path(sys.executable).parent / "budgetperf")
# the suite's test home (tests/conftest.py), which PostgreSQL's user can traverse
TEST_HOME = Path(__file__).resolve().parents[1] / ".budgetperf" / "test-home"


def _env(home: Path, url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "BUDGETPERF_WAREHOUSE_URL",
        "BUDGETPERF_LANDING",
        "BUDGETPERF_OUTBOX",
        "BUDGETPERF_OUTPUTS",
        "AIRFLOW_HOME",
    ):
        env.pop(key, None)
    env["BUDGETPERF_HOME"] = str(home)
    if url is not None:
        env["BUDGETPERF_WAREHOUSE_URL"] = url
    return env


def _warehouse(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BUDGETPERF, "warehouse", action],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.strip().splitlines()


def _explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-3000:]}"


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """A BUDGETPERF_HOME of the test's own for an embedded server; stopped and removed after.

    Not under pytest's tmp_path, as in test_warehouse.py: pytest keeps its temp root private
    (0700) and, under root, PostgreSQL runs as another user that must traverse the parents.
    """
    home = TEST_HOME / f"cli-home-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    yield home
    server = EmbeddedWarehouse(home / "warehouse")
    if server.is_initialized() and server.status().running:
        server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A BUDGETPERF_HOME of the test's own, for the commands that must not create a server."""
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_embedded_lifecycle_start_status_url_restart_stop(embedded_home: Path) -> None:
    home = embedded_home
    env = _env(home)
    data_dir = home / "warehouse" / "data"

    before = _warehouse("status", env)
    assert before.returncode == 3, _explain(before)
    assert _lines(before) == ["not initialized: `budgetperf warehouse start` creates it"]
    assert not data_dir.exists()

    started = _warehouse("start", env)
    assert started.returncode == 0, _explain(started)
    first, second = _lines(started)
    match = re.fullmatch(r"embedded warehouse running on port (\d+)", first)
    assert match, started.stdout
    port = int(match.group(1))
    assert second == f"data: {data_dir}"
    assert (data_dir / "PG_VERSION").is_file()

    status = _warehouse("status", env)
    assert status.returncode == 0, _explain(status)
    match = re.fullmatch(
        rf"running \(pid (\d+)\) on 127\.0\.0\.1:{port}, data {re.escape(str(data_dir))}",
        status.stdout.strip(),
    )
    assert match, status.stdout
    pid = int(match.group(1))
    os.kill(pid, 0)  # the postmaster is alive (raises if not)

    url_result = _warehouse("url", env)
    assert url_result.returncode == 0, _explain(url_result)
    (dsn,) = _lines(url_result)
    parts = urlsplit(dsn)
    assert parts.scheme == "postgresql"
    assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", port, "/budgetperf")
    assert parts.username == "postgres" and parts.password
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("select current_database(), inet_server_port()").fetchone() == (
            "budgetperf",
            port,
        )
        # `start` migrated the warehouse: the five schemas are there
        schemas = {
            row[0]
            for row in conn.execute(
                "select schema_name from information_schema.schemata where schema_name = any(%s)",
                (["raw", "ops", "staging", "intermediate", "marts"],),
            ).fetchall()
        }
    assert schemas == {"raw", "ops", "staging", "intermediate", "marts"}

    again = _warehouse("start", env)
    assert again.returncode == 0, _explain(again)
    assert _lines(again) == [f"embedded warehouse running on port {port}", f"data: {data_dir}"]
    still = _warehouse("status", env)
    assert still.returncode == 0, _explain(still)
    # the same server, not a second one or a restart: same postmaster, same port
    assert f"running (pid {pid}) on 127.0.0.1:{port}" in still.stdout
    assert _lines(_warehouse("url", env)) == [dsn]

    stopped = _warehouse("stop", env)
    assert stopped.returncode == 0, _explain(stopped)
    assert _lines(stopped) == ["stopped"]
    after = _warehouse("status", env)
    assert after.returncode == 3, _explain(after)
    assert _lines(after) == [f"stopped, data {data_dir}"]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=5).close()

    twice = _warehouse("stop", env)
    assert twice.returncode == 0, _explain(twice)
    assert _lines(twice) == ["not running"]

    # asking for the DSN of a stopped warehouse says so, and does not start it
    asked = _warehouse("url", env)
    assert asked.returncode == 3 and asked.stdout == "", _explain(asked)
    assert "`budgetperf warehouse start`" in asked.stderr
    assert _lines(_warehouse("status", env)) == [f"stopped, data {data_dir}"]


def test_configured_url_is_used_and_no_embedded_server_is_created(
    home: Path, warehouse_url: str
) -> None:
    env = _env(home, warehouse_url)

    printed = _warehouse("url", env)
    assert printed.returncode == 0, _explain(printed)
    assert _lines(printed) == [warehouse_url]

    status = _warehouse("status", env)
    assert status.returncode == 0, _explain(status)
    with psycopg.connect(warehouse_url) as conn:
        version = conn.execute("show server_version").fetchone()
    assert version is not None
    assert _lines(status) == [f"external warehouse reachable (PostgreSQL {version[0]})"]

    for action in ("start", "stop"):
        result = _warehouse(action, env)
        assert result.returncode == 0, _explain(result)
        assert _lines(result) == [
            "BUDGETPERF_WAREHOUSE_URL is set: that server is managed elsewhere; "
            f"nothing to {action}."
        ]

    # `stop` left the configured server alone
    with psycopg.connect(warehouse_url, connect_timeout=10) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    # and nothing embedded exists under this home: no warehouse dir, no cluster anywhere
    assert not (home / "warehouse").exists()
    assert list(home.rglob("PG_VERSION")) == []
    assert list(home.rglob("postmaster.pid")) == []


def test_configured_url_that_is_unreachable_is_reported(home: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on that port once the socket is closed
    url = f"postgresql://nobody:secret@127.0.0.1:{port}/nothing"
    env = _env(home, url)

    status = _warehouse("status", env)
    assert status.returncode == 1, _explain(status)
    assert status.stdout.startswith("external warehouse unreachable: ")
    assert _lines(_warehouse("url", env)) == [url]
    assert not (home / "warehouse").exists()
