"""Running dbt: the build stage and the analysts' docs, with the connection from a URL.

dbt runs as a subprocess of the task (its own logging and global state stay out of the
Airflow worker); its profile reads the BUDGETPERF_DBT_* variables set here, and its
target/log folders live under $BUDGETPERF_HOME so concurrent checkouts never collide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from budgetperf.settings import Settings


class DbtFailed(RuntimeError):
    """dbt exited non-zero; the message holds the lines that say why."""


def dbt_environment(settings: Settings, warehouse_url: str) -> dict[str, str]:
    parts = urlsplit(warehouse_url)
    env = dict(os.environ)
    env.update(
        {
            "BUDGETPERF_DBT_HOST": parts.hostname or "127.0.0.1",
            "BUDGETPERF_DBT_PORT": str(parts.port or 5432),
            "BUDGETPERF_DBT_USER": unquote(parts.username or ""),
            "BUDGETPERF_DBT_PASSWORD": unquote(parts.password or ""),
            "BUDGETPERF_DBT_DBNAME": parts.path.lstrip("/") or "budgetperf",
            "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
            "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
            "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
            "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    # Whole-year aggregations over millions of payment rows: give them memory for hashing
    # rather than sorting on disk (libpq passes PGOPTIONS to every dbt connection).
    env.setdefault("PGOPTIONS", "-c work_mem=256MB")
    return env


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def run_dbt(
    settings: Settings,
    warehouse_url: str,
    args: Sequence[str],
    *,
    dbt_vars: dict[str, object] | None = None,
    echo: bool = True,
) -> str:
    """Run ``dbt <args>``; return its output, raise DbtFailed with the error lines."""
    command = [dbt_executable(), *args]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    process = subprocess.Popen(
        command,
        env=dbt_environment(settings, warehouse_url),
        cwd=settings.dbt_project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if echo:
            print(line, end="", flush=True)
    code = process.wait()
    output = "".join(lines)
    if code != 0:
        errors = [line.rstrip() for line in lines if "ERROR" in line or "FAIL" in line]
        if not errors:  # e.g. a parsing error: the tail says why
            errors = [line.rstrip() for line in lines[-30:]]
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {code}):\n" + "\n".join(errors[-30:]))
    return output


def dbt_build(
    settings: Settings, warehouse_url: str, *, echo: bool = True, unit_tests: bool = False
) -> str:
    """Seeds, models and data tests, in dependency order. Unit tests check the SQL, not
    the data, so (as dbt advises) they run in CI (tests/test_dbt_unit.py), not every run."""
    args = ["build", "--fail-fast"]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return run_dbt(settings, warehouse_url, args, echo=echo)


MARTS = (
    "fct_project_progress",
    "fct_indicator_progress",
    "rpt_department_progress",
    "fct_idle_funds",
    "fct_project_evaluation",
    "fct_department_evaluation",
    "fct_budget_proposal",
    "rpt_coverage",
    "rpt_annual_summary",
)


def mart_row_counts(warehouse_url: str) -> dict[str, int | None]:
    """Rows per mart (None when a mart does not exist yet)."""
    from psycopg import sql

    from budgetperf.warehouse import connect

    counts: dict[str, int | None] = {}
    with connect(warehouse_url, autocommit=True) as conn:
        for mart in MARTS:
            exists = conn.execute("select to_regclass(%s)", (f"marts.{mart}",)).fetchone()
            if not exists or exists[0] is None:
                counts[mart] = None
                continue
            row = conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier("marts", mart))
            ).fetchone()
            counts[mart] = int(row[0]) if row else 0
    return counts
