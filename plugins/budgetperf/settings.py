"""Where things live, read from the environment once and passed around explicitly.

Every path has a default under ``$BUDGETPERF_HOME`` so a fresh clone works with no
configuration; production overrides each one with an environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _default_project_dir() -> Path:
    # plugins/budgetperf/settings.py -> the repository root holding dags/ and dbt_project/
    candidate = PACKAGE_DIR.parents[1]
    if (candidate / "dbt_project").is_dir():
        return candidate
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Resolved locations and switches of one budgetperf installation."""

    project_dir: Path
    home: Path
    warehouse_url: str | None
    landing: Path
    outbox: Path
    outputs: Path
    performance_office_email: str
    data_engineers_email: str
    sender_email: str

    @property
    def dags_dir(self) -> Path:
        return self.project_dir / "dags"

    @property
    def plugins_dir(self) -> Path:
        return self.project_dir / "plugins"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"

    @property
    def gx_state_dir(self) -> Path:
        """Great Expectations' working project: a copy of the committed config, the run's
        generated suites, the validation results and the Data Docs site. Under the home,
        so two homes (a demo, the tests, a benchmark) never share results."""
        return self.home / "gx"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def embedded_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def runs_dir(self) -> Path:
        return self.outputs / "runs"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    project_dir = Path(env.get("BUDGETPERF_PROJECT_DIR") or _default_project_dir()).resolve()
    home = Path(env.get("BUDGETPERF_HOME") or project_dir / ".budgetperf").resolve()
    return Settings(
        project_dir=project_dir,
        home=home,
        warehouse_url=env.get("BUDGETPERF_WAREHOUSE_URL") or None,
        landing=Path(env.get("BUDGETPERF_LANDING") or home / "landing").resolve(),
        outbox=Path(env.get("BUDGETPERF_OUTBOX") or home / "outbox").resolve(),
        outputs=Path(env.get("BUDGETPERF_OUTPUTS") or home / "outputs").resolve(),
        # Placeholders until a bureau configures its own addresses; with no SMTP connection
        # mail only goes to the outbox folder, so nothing leaves the machine by default.
        performance_office_email=env.get("BUDGETPERF_PERFORMANCE_OFFICE_EMAIL")
        or "jixiaoguanli@budgetperf.local",
        data_engineers_email=env.get("BUDGETPERF_DATA_ENGINEERS_EMAIL")
        or "data-engineers@budgetperf.local",
        sender_email=env.get("BUDGETPERF_SENDER_EMAIL") or "budgetperf@budgetperf.local",
    )
