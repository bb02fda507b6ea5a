"""The scenario ``pingluo-2021``: which files each delivery holds, in which spelling, and
the run that writes them.

Deliveries follow snapshot semantics (DATA_CONTRACT.md): every file is the complete
state of its entity for the years it holds as of its date, so the 09-30 payments file
repeats every payment since January, and the 12-31 projects file, holding only 2022,
leaves 2021 as the 09-30 re-delivery set it.

All files are written at once, county by county, each row going to every file that
holds it; a run at --scale 100 keeps one county in memory, never a year of payments.
Files are staged in a hidden folder (not a delivery: not named YYYYMMDD) and moved into
place when complete, so a watching sensor never sees half a delivery.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from budgetperf.cli import UserError
from budgetperf.generate.calibration import PINGLUO_2021, ReportFigures
from budgetperf.generate.county import build_county
from budgetperf.generate.entities import ENTITIES, column_index
from budgetperf.generate.rows import STREAMS
from budgetperf.generate.styles import FileStyle
from budgetperf.generate.writers import DeliveryWriter, WrittenFile, open_writer, write_manifest

DEFAULT_SEED = 20211231
MANIFEST = "_manifest.json"
# Entities that grow with payments and indicators: CSV once the county is multiplied,
# because an XLSX sheet is built whole and is slow to write past a few hundred
# thousand rows.
BIG_ENTITIES = frozenset({"budget_execution", "indicator_actuals", "performance_targets"})

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FilePlan:
    as_of: dt.date
    entity: str
    stream: str  # key of rows.STREAMS
    style: FileStyle
    # A dated column: the file keeps the stream's rows dated up to its as_of.
    until_column: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    files: tuple[FilePlan, ...]
    figures: ReportFigures

    @property
    def deliveries(self) -> tuple[dt.date, ...]:
        return tuple(sorted({f.as_of for f in self.files}))


@dataclass(frozen=True)
class FileReport:
    delivery: str  # YYYYMMDD
    entity: str
    path: Path
    style: str
    rows: int
    size: int
    sha256: str
    amount_yuan_total: Decimal | None


@dataclass(frozen=True)
class GenerationReport:
    scenario: str
    seed: int
    scale: int
    out: Path
    deliveries: tuple[str, ...]
    files: tuple[FileReport, ...]
    seconds: float
    figures: ReportFigures

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


D1, D2, D3, D4 = (
    dt.date(2021, 6, 30),
    dt.date(2021, 9, 30),
    dt.date(2021, 11, 30),
    dt.date(2021, 12, 31),
)
YES_NO_ZH = ("是", "否")

PINGLUO_2021_FILES: tuple[FilePlan, ...] = (
    # 06-30: the year's master data, targets and pre-assessments, and the half-year.
    FilePlan(
        D1,
        "departments",
        "departments",
        FileStyle("xlsx", header="zh", title="预算单位基本信息表", refs="label", notes=True),
    ),
    FilePlan(
        D1,
        "projects",
        "projects_2021",
        FileStyle(
            "csv", "gb18030", "zh", "2021年项目支出预算表", "label", YES_NO_ZH, thousands=True
        ),
    ),
    FilePlan(
        D1,
        "performance_targets",
        "targets_2021",
        FileStyle("csv", "utf-8-sig", "en", refs="label", level_suffix=False),
    ),
    FilePlan(
        D1,
        "pre_assessments",
        "pre_assessments_2021",
        FileStyle("xlsx", header="zh", refs="label", dates="chinese", notes=True),
    ),
    FilePlan(
        D1,
        "budget_execution",
        "execution_2021",
        FileStyle("csv", "gb18030", "zh", "2021年预算执行明细表", dates="slash", thousands=True),
        "payment_date",
    ),
    FilePlan(
        D1,
        "indicator_actuals",
        "actuals_2021",
        FileStyle("csv", "utf-8", "en", dates="compact", newline="\n"),
        "as_of",
    ),
    # 09-30: budget adjustments (a complete re-delivery of 2021 projects) and the quarter.
    FilePlan(
        D2,
        "projects",
        "projects_2021_adjusted",
        FileStyle("csv", "utf-8-sig", "zh", flags=("true", "false")),
    ),
    FilePlan(
        D2,
        "budget_execution",
        "execution_2021",
        FileStyle("csv", "utf-8", "en", newline="\n"),
        "payment_date",
    ),
    FilePlan(
        D2,
        "indicator_actuals",
        "actuals_2021",
        FileStyle("xlsx", header="zh", title="2021年绩效运行监控指标完成情况表", dates="chinese"),
        "as_of",
    ),
    # 11-30: the last monitoring checkpoint.
    FilePlan(
        D3,
        "budget_execution",
        "execution_2021",
        FileStyle(
            "csv",
            "gb18030",
            "zh",
            dates="compact",
            thousands=True,
            columns=(
                "record_id",
                "payment_date",
                "project_code",
                "fiscal_year",
                "payee",
                "amount_yuan",
                "voucher_no",
            ),
        ),
        "payment_date",
    ),
    FilePlan(
        D3,
        "indicator_actuals",
        "actuals_2021",
        FileStyle("csv", "gb18030", "zh", "绩效目标执行监控表（截至11月30日）", dates="slash"),
        "as_of",
    ),
    # 12-31: the full year, its evaluations, and the 2022 budget with its targets.
    FilePlan(D4, "departments", "departments_year_end", FileStyle("csv", "utf-8-sig", "en")),
    FilePlan(
        D4,
        "projects",
        "projects_2022",
        FileStyle(
            "xlsx",
            header="zh",
            title="2022年项目支出预算表",
            refs="label",
            flags=YES_NO_ZH,
            notes=True,
        ),
    ),
    FilePlan(
        D4,
        "performance_targets",
        "targets_2022",
        FileStyle(
            "csv",
            "gb18030",
            "zh",
            "2022年项目支出绩效目标申报表",
            "label",
            YES_NO_ZH,
            dates="slash",
            level_suffix=True,
        ),
    ),
    FilePlan(
        D4, "pre_assessments", "pre_assessments_2022", FileStyle("csv", "utf-8", "en", newline="\n")
    ),
    FilePlan(
        D4,
        "budget_execution",
        "execution_2021",
        FileStyle("csv", "utf-8-sig", "en"),
        "payment_date",
    ),
    FilePlan(D4, "indicator_actuals", "actuals_2021", FileStyle("csv", "utf-8", "en"), "as_of"),
    FilePlan(
        D4,
        "evaluations",
        "evaluations_2021",
        FileStyle(
            "xlsx", header="zh", title="2021年度绩效评价结果汇总表", refs="label", notes=True
        ),
    ),
    FilePlan(
        D4,
        "budget_requests",
        "requests_2022",
        FileStyle("xlsx", header="en", thousands=True),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    "pingluo-2021": Scenario(
        "pingluo-2021",
        "Pingluo County (平罗县): fiscal year 2021 monitored and evaluated, "
        "the 2022 budget declared",
        PINGLUO_2021_FILES,
        PINGLUO_2021,
    ),
}


def generate_scenario(
    name: str,
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    scale: int = 1,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> GenerationReport:
    """Write scenario ``name`` as delivery folders ``out/<YYYYMMDD>/`` and return what was
    written. ``scale`` multiplies the county (the report's figures hold at scale 1).
    Existing delivery folders are refused unless ``overwrite``; then only the files this
    scenario writes (``<entity>.csv|xlsx`` and the manifest) are replaced."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise UserError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    if scale < 1:
        raise UserError(f"--scale must be at least 1, got {scale}")
    emit: Progress = progress or (lambda _message: None)
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = {d: out / f"{d:%Y%m%d}" for d in scenario.deliveries}
    occupied = [f for f in folders.values() if f.exists() and any(f.iterdir())]
    if occupied and not overwrite:
        raise UserError(
            f"{occupied[0]} already holds a delivery; choose an empty folder or overwrite"
        )

    emit(f"generating scenario {name} (seed {seed}, scale {scale}) into {out}")
    staging = Path(tempfile.mkdtemp(prefix=".generate-", dir=out))
    try:
        written = _write(scenario, staging, seed, scale, emit, started)
        _publish(staging, folders)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    files = tuple(
        FileReport(
            delivery=f"{plan.as_of:%Y%m%d}",
            entity=plan.entity,
            path=folders[plan.as_of] / w.path.name,
            style=style.description,
            rows=w.rows,
            size=w.size,
            sha256=w.sha256,
            amount_yuan_total=w.amount_yuan_total,
        )
        for plan, style, w in written
    )
    report = GenerationReport(
        scenario=name,
        seed=seed,
        scale=scale,
        out=out,
        deliveries=tuple(f"{d:%Y%m%d}" for d in scenario.deliveries),
        files=files,
        seconds=time.perf_counter() - started,
        figures=scenario.figures,
    )
    for f in files:
        total = f" {f.amount_yuan_total:,.2f} 元" if f.amount_yuan_total is not None else ""
        emit(f"  {f.delivery}/{f.path.name:<24} {f.rows:>10,} rows  {f.style}{total}")
    emit(
        f"wrote {len(report.deliveries)} deliveries, {len(files)} files, {report.rows:,} rows, "
        f"{report.size / 1e6:,.1f} MB in {report.seconds:,.1f} s"
    )
    return report


def _style_at_scale(plan: FilePlan, scale: int) -> FileStyle:
    if scale > 1 and plan.style.format == "xlsx" and plan.entity in BIG_ENTITIES:
        return plan.style.as_csv()
    return plan.style


def _write(
    scenario: Scenario,
    staging: Path,
    seed: int,
    scale: int,
    emit: Progress,
    started: float,
) -> list[tuple[FilePlan, FileStyle, WrittenFile]]:
    writers: list[tuple[FilePlan, FileStyle, DeliveryWriter]] = []
    # stream -> [(writer, position of the dated column or -1, as_of)]
    routes: dict[str, list[tuple[DeliveryWriter, int, dt.date]]] = {}
    seen: set[tuple[dt.date, str]] = set()
    for plan in scenario.files:
        if plan.entity not in ENTITIES or (plan.as_of, plan.entity) in seen:
            raise ValueError(f"bad plan entry {plan.as_of} {plan.entity}")
        seen.add((plan.as_of, plan.entity))
        style = _style_at_scale(plan, scale)
        folder = staging / f"{plan.as_of:%Y%m%d}"
        folder.mkdir(exist_ok=True)
        writer = open_writer(
            folder / f"{plan.entity}.{style.format}", plan.entity, style, plan.as_of
        )
        writers.append((plan, style, writer))
        at = column_index(plan.entity, plan.until_column) if plan.until_column else -1
        routes.setdefault(plan.stream, []).append((writer, at, plan.as_of))

    every = max(1, scale // 20)
    fy, by = scenario.figures.fiscal_year, scenario.figures.budget_year
    for index in range(scale):
        model = build_county(seed, index, scenario.figures)
        for stream_name, targets in routes.items():
            for row in STREAMS[stream_name](model, seed):
                for writer, at, as_of in targets:
                    if at < 0 or row[at] <= as_of:  # type: ignore[operator]
                        writer.write(row)
        done = index + 1
        if scale == 1:
            emit(
                f"county {model.county.name} ({model.code}): {len(model.departments)} units, "
                f"{len(model.projects[fy])} projects in {fy}, {len(model.projects[by])} in {by}"
            )
        elif done % every == 0 or done == scale:
            rows = sum(w.rows for _, _, w in writers)
            emit(f"county {done}/{scale} · {rows:,} rows · {time.perf_counter() - started:,.1f} s")

    results = []
    for plan, style, writer in writers:
        results.append((plan, style, writer.close()))
    by_folder: dict[Path, list[WrittenFile]] = {}
    for _, _, w in results:
        by_folder.setdefault(w.path.parent, []).append(w)
    for folder, files in by_folder.items():
        write_manifest(folder, files)
    return results


def _publish(staging: Path, folders: dict[dt.date, Path]) -> None:
    """Move each staged delivery into place: a new folder appears whole (one rename);
    into an existing one, the scenario's own files are replaced, the manifest last."""
    for as_of, folder in folders.items():
        staged = staging / f"{as_of:%Y%m%d}"
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
        if not folder.exists():
            os.replace(staged, folder)
            continue
        for entity in ENTITIES:
            for ext in ("csv", "xlsx"):
                (folder / f"{entity}.{ext}").unlink(missing_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        for item in sorted(staged.iterdir(), key=lambda p: p.name == MANIFEST):
            os.replace(item, folder / item.name)
