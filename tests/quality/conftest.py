"""Fixtures of the quality-gate tests: seeded warehouses, settings, an Airflow-like task run.

GX costs about 10 s to import and dbt about 13 s to build, so each test module seeds its
databases once (module scope), runs every gate once, and asserts per rule. Modules that
build marts mark themselves with their own ``xdist_group`` so they do not build twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from quality_seed import clone_database

from budgetperf.settings import Settings, load_settings
from budgetperf.warehouse.roles import role_url

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def clone(server_url: str) -> Iterator[Callable[[str], str]]:
    """Copies of test databases (CREATE DATABASE ... TEMPLATE), dropped at the end."""
    created: list[str] = []

    def make(source_url: str) -> str:
        name = "bp_test_" + uuid.uuid4().hex[:12]
        created.append(name)
        return clone_database(server_url, source_url, name)

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


def settings_for(home: Path) -> Settings:
    """Settings of a BUDGETPERF_HOME of its own (the project dir is this checkout)."""
    return load_settings({"BUDGETPERF_HOME": str(home)})


def as_quality(url: str) -> str:
    """The URL of the gates' own warehouse role (least privilege, as in the DAG)."""
    return role_url(url, "quality")


@contextlib.contextmanager
def task_environment(home: Path, url: str) -> Iterator[None]:
    """The environment an Airflow worker gives a budget_monitoring task: the warehouse's
    quality role as the Airflow connection the gate tasks use, no SMTP connection (mail
    goes to the outbox folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BUDGETPERF_HOME", str(home))
        patch.setenv("AIRFLOW_HOME", str(home / "airflow"))
        patch.setenv("AIRFLOW_CONN_BUDGETPERF_QUALITY", as_quality(url))
        patch.setenv("GX_ANALYTICS_ENABLED", "false")
        for name in (
            "BUDGETPERF_LANDING",
            "BUDGETPERF_OUTBOX",
            "BUDGETPERF_OUTPUTS",
            "BUDGETPERF_WAREHOUSE_URL",
            "AIRFLOW_CONN_SMTP_DEFAULT",
        ):
            patch.delenv(name, raising=False)
        yield


def task_context(checkpoint: dt.date, run_id: str) -> dict[str, Any]:
    """What budgetperf.pipeline.tasks reads from the Airflow task context."""
    return {"params": {"checkpoint": checkpoint.isoformat()}, "run_id": run_id}


def run_gate_task(home: Path, url: str, gate: str, checkpoint: dt.date, run_id: str) -> Any:
    """Run the DAG's gate task body (budgetperf.pipeline.tasks.gate) as a worker would.

    Returns the task's return value, or the AirflowFailException it raised.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from budgetperf.pipeline import tasks

    with task_environment(home, url):
        try:
            return tasks.gate(task_context(checkpoint, run_id), gate)
        except AirflowFailException as exc:
            return exc


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in statements:
            conn.execute(statement)


def dbt_build_quietly(home: Path, url: str) -> None:
    """dbt build as the DAG's build task runs it: as the transformer role."""
    from budgetperf.transform import dbt_build

    dbt_build(settings_for(home), role_url(url, "transformer"), echo=False)


def git_status(path: str) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--", path],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def gx_imported_in_subprocess(module: str) -> bool:
    """Whether importing ``module`` in a fresh interpreter imports great_expectations."""
    code = f"import sys, {module}; print('great_expectations' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip() == "True"
