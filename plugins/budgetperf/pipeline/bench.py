"""`budgetperf bench pipeline`: a whole fiscal year through Airflow on generated data.

Generates the demo county at scale N, creates a scratch database on the warehouse server,
runs the four checkpoints of 2021 in order through the DAG (`airflow dags test`, as
`budgetperf run` does) and reports, per stage, seconds, rows, rows/s and peak memory, from
the metrics every task records in its summary. What the stages do not account for in a
run's wall time is Airflow's own overhead (process start, parsing, scheduling, the
execution API), reported as its own line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

STAGES = (
    ("load", "load", "rows_loaded"),
    ("raw gate", "gate_raw", None),
    ("dbt build", "build", "mart_rows"),
    ("marts gate", "gate_marts", None),
    ("publish", "publish_notices", None),
    ("publish", "publish_proposal_feed", None),
    ("publish", "publish_disclosure", None),
    ("publish", "publish_reports", None),
)


@dataclass
class StageFigures:
    seconds: float = 0.0
    rows: int = 0
    peak_rss_mb: float = 0.0

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


@dataclass
class PipelineBench:
    scale: int
    generate_seconds: float = 0.0
    run_seconds: dict[str, float] = field(default_factory=dict)
    stages: dict[str, StageFigures] = field(default_factory=dict)
    # seconds per stage at each checkpoint: how each stage grows over the year
    stage_seconds_by_checkpoint: dict[str, dict[str, float]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float:
        return sum(self.run_seconds.values())

    @property
    def airflow_overhead_seconds(self) -> float:
        return self.wall_seconds - sum(s.seconds for s in self.stages.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "generate_seconds": round(self.generate_seconds, 1),
            "year_wall_seconds": round(self.wall_seconds, 1),
            "runs": {k: round(v, 1) for k, v in self.run_seconds.items()},
            "stages": {
                name: {
                    "seconds": round(s.seconds, 1),
                    "rows": s.rows,
                    "rows_per_second": round(s.rows_per_second) if s.rows_per_second else None,
                    "peak_rss_mb": round(s.peak_rss_mb, 1),
                }
                for name, s in self.stages.items()
            },
            "airflow_overhead_seconds": round(self.airflow_overhead_seconds, 1),
            "stage_seconds_by_checkpoint": {
                point: {name: round(seconds, 1) for name, seconds in stages.items()}
                for point, stages in self.stage_seconds_by_checkpoint.items()
            },
            "failed": self.failed,
        }

    def table(self) -> str:
        lines = [
            f"budgetperf bench pipeline --scale {self.scale}: fiscal year 2021, "
            f"{len(self.run_seconds)} checkpoints, {self.wall_seconds:.0f} s "
            f"(generation {self.generate_seconds:.0f} s, not included)",
            f"{'stage':<18}{'seconds':>10}{'rows':>14}{'rows/s':>12}{'peak MB':>10}",
        ]
        for name, s in self.stages.items():
            rate = f"{s.rows_per_second:,.0f}" if s.rows_per_second else "-"
            rows = f"{s.rows:,}" if s.rows else "-"
            lines.append(f"{name:<18}{s.seconds:>10.1f}{rows:>14}{rate:>12}{s.peak_rss_mb:>10.0f}")
        lines.append(f"{'airflow overhead':<18}{self.airflow_overhead_seconds:>10.1f}")
        lines.append(f"{'whole year':<18}{self.wall_seconds:>10.1f}")
        if self.failed:
            lines.append("FAILED checkpoints: " + ", ".join(self.failed))
        return "\n".join(lines)


def _scratch_url(owner_url: str) -> tuple[str, str]:
    parts = urlsplit(owner_url)
    name = "bp_bench_" + uuid.uuid4().hex[:8]
    return name, urlunsplit(parts._replace(path="/" + name))


def _rows(stage_key: str | None, summary: dict[str, Any]) -> int:
    if stage_key == "rows_loaded":
        return int(summary.get("rows_loaded") or 0)
    if stage_key == "mart_rows":
        return sum(v for v in (summary.get("mart_rows") or {}).values() if v)
    return 0


def run_pipeline_bench(
    scale: int, report: Callable[[str], None] = print, keep: bool = False
) -> PipelineBench:
    import psycopg

    from budgetperf.commands.run import run_checkpoint
    from budgetperf.generate import generate_scenario
    from budgetperf.settings import load_settings
    from budgetperf.timetable import configured_timetable
    from budgetperf.warehouse import resolve_url

    result = PipelineBench(scale)
    base = load_settings()
    owner = resolve_url(base)
    work = Path(tempfile.mkdtemp(prefix=f"bench-pipeline-{scale}-", dir=base.home))
    database, url = _scratch_url(owner)
    maintenance = urlunsplit(urlsplit(owner)._replace(path="/postgres"))
    saved = {k: os.environ.get(k) for k in ("BUDGETPERF_HOME", "BUDGETPERF_WAREHOUSE_URL")}
    try:
        report(f"generating scale {scale} into {work / 'landing'} ...")
        started = time.perf_counter()
        generate_scenario("pingluo-2021", work / "landing", scale=scale)
        result.generate_seconds = time.perf_counter() - started
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'create database "{database}"')
        os.environ["BUDGETPERF_HOME"] = str(work)
        os.environ["BUDGETPERF_WAREHOUSE_URL"] = url
        settings = load_settings()
        for point in configured_timetable().points_of_year(2021):
            started = time.perf_counter()
            code = run_checkpoint(settings, point, quiet=True)
            result.run_seconds[point.isoformat()] = time.perf_counter() - started
            summary_path = settings.runs_dir / point.isoformat() / "run_summary.json"
            summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
            at_point = result.stage_seconds_by_checkpoint.setdefault(point.isoformat(), {})
            for name, task_id, key in STAGES:
                stage = summary.get("stages", {}).get(task_id) or {}
                metrics = stage.get("_metrics") or {}
                figures = result.stages.setdefault(name, StageFigures())
                figures.seconds += float(metrics.get("seconds") or 0)
                at_point[task_id] = float(metrics.get("seconds") or 0)
                figures.rows += _rows(key, stage)
                figures.peak_rss_mb = max(
                    figures.peak_rss_mb,
                    float(metrics.get("peak_rss_mb") or 0),
                    float(metrics.get("child_peak_rss_mb") or 0),
                )
            report(
                f"  {point}: {'ok' if code == 0 else 'FAILED'} in "
                f"{result.run_seconds[point.isoformat()]:.0f} s ("
                + ", ".join(f"{task} {seconds:.0f} s" for task, seconds in at_point.items())
                + ")"
            )
            if code != 0:
                result.failed.append(point.isoformat())
                report(f"  see {settings.home / 'logs' / f'run-{point.isoformat()}.log'}")
                break
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not keep:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{database}" with (force)')
            shutil.rmtree(work, ignore_errors=True)
        else:
            report(f"kept: {work} and database {database}")
    return result
