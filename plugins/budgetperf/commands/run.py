"""``budgetperf run``: one DAG run for one checkpoint, through Airflow; and
``budgetperf airflow ...``: the airflow CLI in the project's environment."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from budgetperf.airflow_env import airflow_environment, airflow_executable, ensure_metadata_db
from budgetperf.cli import UserError
from budgetperf.settings import Settings, load_settings
from budgetperf.warehouse import resolve_url
from budgetperf.warehouse.migrate import migrate

DAG_ID = "budget_monitoring"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the pipeline for one checkpoint through Airflow",
        description=(
            "Run one budget_monitoring DAG run (detect, load, gate, build, gate, publish) "
            "for a checkpoint, with `airflow dags test`. Exits non-zero when the run fails."
        ),
    )
    run.add_argument("--checkpoint", required=True, type=_date, help="YYYY-MM-DD, e.g. 2021-06-30")
    run.add_argument(
        "--landing", type=Path, help="delivery folder (default $BUDGETPERF_HOME/landing)"
    )
    run.set_defaults(handler=_run)

    af = subparsers.add_parser(
        "airflow",
        help="the airflow CLI in the project's environment (`budgetperf airflow standalone`)",
        add_help=False,
    )
    af.set_defaults(handler=_airflow, accepts_extra=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-06-30") from None


def prepare_airflow(settings: Settings) -> dict[str, str]:
    """Start/migrate the warehouse and Airflow's metadata; return the airflow environment."""
    url = resolve_url(settings)
    migrate(url)
    env = airflow_environment(settings, url)
    ensure_metadata_db(settings, env)
    return env


def settings_with_landing(landing: Path | None) -> Settings:
    if landing is not None:
        if not landing.is_dir():
            raise UserError(f"landing folder {landing} does not exist")
        os.environ["BUDGETPERF_LANDING"] = str(landing.resolve())
    return load_settings()


def run_checkpoint(settings: Settings, checkpoint: dt.date, *, quiet: bool = False) -> int:
    """Run the DAG for one checkpoint; stream progress; return the exit code."""
    # both import Airflow: only when needed
    from budgetperf.pipeline.runs import run_log_path
    from budgetperf.timetable import configured_timetable

    timetable = configured_timetable()
    if not timetable.is_point(checkpoint):
        raise UserError(
            f"{checkpoint} is not a checkpoint; the points are {', '.join(timetable.points)} "
            "of each year (BUDGETPERF_CHECKPOINTS)"
        )
    env = prepare_airflow(settings)
    # A run from the command line means "the delivery is there": do not wait days for it
    # (the scheduled DAG keeps its production timeout), and trust files just written.
    env.setdefault("BUDGETPERF_DELIVERY_TIMEOUT_SECONDS", "0")
    env.setdefault("BUDGETPERF_DELIVERY_STABLE_SECONDS", "0")
    env.setdefault("BUDGETPERF_DELIVERY_POKE_SECONDS", "30")
    logical = timetable.logical_date_for(checkpoint)
    log_path = run_log_path(settings.home, checkpoint)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [airflow_executable(), "dags", "test", DAG_ID, logical]
    started = time.monotonic()
    if not quiet:
        print(f"checkpoint {checkpoint}: running {DAG_ID} (log: {log_path})", flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            # a task of this very run reads it: the alert quotes the failed task's lines
            log.flush()
            if not quiet:
                _report_progress(line, started)
        code = process.wait()
    if code != 0 and not quiet:
        print(f"checkpoint {checkpoint}: FAILED (exit {code}); see {log_path}", file=sys.stderr)
        for line in _failure_excerpt(log_path):
            print("  " + line, file=sys.stderr)
    elif not quiet:
        print(f"checkpoint {checkpoint}: done in {time.monotonic() - started:.0f}s", flush=True)
    return code


def _report_progress(line: str, started: float) -> None:
    elapsed = time.monotonic() - started
    if "[DAG TEST] starting task_id=" in line:
        task = line.split("task_id=", 1)[1].split()[0]
        print(f"  [{elapsed:5.0f}s] {task} ...", flush=True)
    elif "new_state=failed" in line or "Task failed with exception" in line:
        print(f"  [{elapsed:5.0f}s] a task failed", flush=True)
    elif "budgetperf:" in line and "[info" in line:
        # our tasks log their one-line outcomes with a "budgetperf:" prefix
        message = line.split("budgetperf:", 1)[1].split("[", 1)[0].strip()
        print(f"           {message}", flush=True)


def _failure_excerpt(log_path: Path, limit: int = 12) -> list[str]:
    keep = [
        line.rstrip()
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if "budgetperf" in line and ("error" in line.lower() or "fail" in line.lower())
    ]
    return keep[-limit:]


def _run(args: argparse.Namespace) -> int:
    settings = settings_with_landing(args.landing)
    return run_checkpoint(settings, args.checkpoint)


# Commands that parse the DAG folder themselves; every other one reads the metadata DB,
# so the DAGs are serialized into it first.
_PARSING_COMMANDS = {"standalone", "scheduler", "dag-processor", "db", "version", "config", "info"}


def _airflow(args: argparse.Namespace) -> int:
    settings = load_settings()
    env = prepare_airflow(settings)
    command = args.extra[0] if args.extra else ""
    if command and command not in _PARSING_COMMANDS and not command.startswith("-"):
        subprocess.run(
            [airflow_executable(), "dags", "reserialize"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return subprocess.call([airflow_executable(), *args.extra], env=env)
