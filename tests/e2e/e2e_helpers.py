"""Running `budgetperf run` as a user would, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BUDGETPERF = str(Path(sys.executable).parent / "budgetperf")


def run_env(home: Path, url: str | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "BUDGETPERF_LANDING",
        "BUDGETPERF_OUTBOX",
        "BUDGETPERF_OUTPUTS",
        "BUDGETPERF_WAREHOUSE_URL",
        "AIRFLOW_CONN_SMTP_DEFAULT",
    ):
        env.pop(key, None)
    env["BUDGETPERF_HOME"] = str(home)
    if url:
        env["BUDGETPERF_WAREHOUSE_URL"] = url
    env.update(extra)
    return env


def start_run(
    checkpoint: str, env: dict[str, str], landing: Path | None = None
) -> subprocess.Popen[str]:
    command = [BUDGETPERF, "run", "--checkpoint", checkpoint]
    if landing is not None:
        command += ["--landing", str(landing)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run(
    checkpoint: str, env: dict[str, str], landing: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    process = start_run(checkpoint, env, landing)
    out, _ = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def run_log(home: Path, checkpoint: str) -> str:
    return (home / "logs" / f"run-{checkpoint}.log").read_text(encoding="utf-8")
