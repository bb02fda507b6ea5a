"""The environment our local Airflow runs in: its home, our DAGs and plugins, and the
connections to the warehouse, all from environment variables so production replaces any
of them by configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from budgetperf.settings import Settings

# One Airflow connection per warehouse role; each task uses the one its stage needs.
STAGE_ROLES = ("loader", "transformer", "quality", "publisher")


def role_conn_id(role: str) -> str:
    return f"budgetperf_{role}"


SMTP_CONN_ID = "smtp_default"


def _conn_env_name(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper()


def airflow_environment(settings: Settings, warehouse_url: str) -> dict[str, str]:
    """Environment variables for an airflow subprocess. Values the user set already win.

    ``warehouse_url`` is the owner's; the tasks never see it: each gets the connection of
    its own role (loader, transformer, quality, publisher), none of them superuser.
    """
    from budgetperf.warehouse.roles import role_url

    env = dict(os.environ)
    airflow_home = settings.airflow_home
    defaults = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.plugins_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        # the DAGs read these instead of guessing paths
        "BUDGETPERF_HOME": str(settings.home),
        "BUDGETPERF_PROJECT_DIR": str(settings.project_dir),
        "BUDGETPERF_LANDING": str(settings.landing),
        "BUDGETPERF_OUTBOX": str(settings.outbox),
        "BUDGETPERF_OUTPUTS": str(settings.outputs),
        "GX_ANALYTICS_ENABLED": "false",
        # stream the DAG run's log lines as they happen (the CLI shows them as progress)
        "PYTHONUNBUFFERED": "1",
        # graph rendering is not used; its missing optional dependency is not news
        "PYTHONWARNINGS": "ignore::UserWarning:airflow.cli.commands.dag_command",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    for role in STAGE_ROLES:
        defaults[_conn_env_name(role_conn_id(role))] = role_url(warehouse_url, role)
    for key, value in defaults.items():
        env.setdefault(key, value)
    # the project's own settings are authoritative for paths it was given explicitly
    for key in ("BUDGETPERF_LANDING", "BUDGETPERF_HOME"):
        env[key] = defaults[key]
    return env


def airflow_executable() -> str:
    return str(Path(sys.executable).parent / "airflow")


def ensure_metadata_db(settings: Settings, env: dict[str, str]) -> None:
    """Create or upgrade Airflow's SQLite metadata once per Airflow version."""
    import airflow

    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    stamp = settings.airflow_home / ".db-migrated"
    if stamp.exists() and stamp.read_text().strip() == airflow.__version__:
        return
    subprocess.run(
        [airflow_executable(), "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stamp.write_text(airflow.__version__ + "\n")
