"""Shared fixtures: a real PostgreSQL for every test that needs one.

The server is the one in ``BUDGETPERF_WAREHOUSE_URL`` when set, otherwise an embedded
server the suite starts under ``.budgetperf/test-home`` (shared by xdist workers; its
start is lock-protected). Each test that asks for ``warehouse_url`` gets a database of
its own, migrated, and dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from budgetperf.settings import load_settings
from budgetperf.warehouse.embedded import EmbeddedWarehouse
from budgetperf.warehouse.migrate import migrate

PROJECT_DIR = Path(__file__).resolve().parents[1]
TEST_HOME = PROJECT_DIR / ".budgetperf" / "test-home"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the test server's maintenance database (embedded unless configured)."""
    configured = os.environ.get("BUDGETPERF_WAREHOUSE_URL")
    if configured:
        return configured
    return EmbeddedWarehouse(TEST_HOME / "warehouse").start()


@pytest.fixture(scope="session")
def database_factory(server_url: str) -> Iterator[Callable[[], str]]:
    """Creates empty databases on the test server for wider-scoped fixtures; drops them all
    at the end of the session."""
    created: list[str] = []

    def make() -> str:
        name = "bp_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        created.append(name)
        return _with_database(server_url, name)

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database of its own for one test; dropped afterwards."""
    name = "bp_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def warehouse_url(fresh_database: str) -> str:
    """A migrated warehouse database of its own for one test."""
    migrate(fresh_database)
    return fresh_database


@pytest.fixture
def bp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse_url: str) -> Path:
    """A BUDGETPERF_HOME of its own, pointing at the test's warehouse database."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("BUDGETPERF_HOME", str(home))
    monkeypatch.setenv("BUDGETPERF_WAREHOUSE_URL", warehouse_url)
    monkeypatch.delenv("BUDGETPERF_LANDING", raising=False)
    monkeypatch.delenv("BUDGETPERF_OUTBOX", raising=False)
    monkeypatch.delenv("BUDGETPERF_OUTPUTS", raising=False)
    assert load_settings().home == home
    return home
