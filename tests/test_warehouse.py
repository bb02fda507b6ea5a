"""The embedded warehouse and the migrations, against real PostgreSQL servers."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from budgetperf.warehouse.embedded import EmbeddedWarehouse, pg_binary
from budgetperf.warehouse.migrate import available_migrations, migrate

TEST_HOME = Path(__file__).resolve().parents[1] / ".budgetperf" / "test-home"

EXPECTED_SCHEMAS = {"raw", "ops", "staging", "intermediate", "marts"}


def test_migrations_create_the_five_schemas_and_are_safe_to_rerun(fresh_database: str) -> None:
    first = migrate(fresh_database)
    assert first == [m.version for m in available_migrations()]
    assert migrate(fresh_database) == []
    with psycopg.connect(fresh_database) as conn:
        schemas = {
            row[0] for row in conn.execute("select schema_name from information_schema.schemata")
        }
        applied = conn.execute("select count(*) from ops.schema_migrations").fetchone()
    assert schemas >= EXPECTED_SCHEMAS
    assert applied == (len(first),)


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A folder for a throwaway cluster. Not under pytest's tmp_path: pytest keeps its
    temp root private (0700), and PostgreSQL runs as another user when we are root."""
    folder = TEST_HOME / f"cluster-{uuid.uuid4().hex[:8]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_server_listens_on_tcp_with_a_password_and_restarts(server_dir: Path) -> None:
    server = EmbeddedWarehouse(server_dir / "warehouse")
    url = server.start()
    try:
        assert "@127.0.0.1:" in url
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("budgetperf",)
        # a wrong password is refused: the server does not trust local connections
        wrong = url.replace(url.split(":")[2].split("@")[0], "not-the-password")
        try:
            psycopg.connect(wrong, connect_timeout=5).close()
            raise AssertionError("connected with a wrong password")
        except psycopg.OperationalError as exc:
            assert "password authentication failed" in str(exc)
        # psql accepts the printed URL
        out = subprocess.run(
            [pg_binary("psql"), url, "-Atc", "select 40 + 2"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "42"
        # reused: a second start returns the same server
        pid = server.status().pid
        assert server.start() == url
        assert server.status().pid == pid
        # stop, then start again on the same data
        assert server.stop() is True
        assert server.status().running is False
        assert server.stop() is False
        url_again = server.start()
        with psycopg.connect(url_again) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.stop()
