"""``index.html`` of a run's output folder: one page linking everything the run produced
for people (reports, notice copies, the proposal feed, the disclosure files, Data Docs,
the run summary), with relative links so the folder can be copied or zipped whole.

Every publish step rewrites it when it finishes, under a file lock, from what exists on
disk and in the ledger at that moment, so the page is complete whichever step ends last,
even when the steps run in parallel. The run's ``finish`` task rewrites it once more after
writing ``run_summary.json``; for a run that failed (a gate blocked publication, a stage
crashed) that page says so, in Chinese and English, and links what explains why: the
quality reports, Data Docs and the run summary, and only what this run did publish.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import tabular
from budgetperf.publish.config import BUREAU_TIMEZONE, publish_config
from budgetperf.publish.formatting import rows
from budgetperf.warehouse import connect


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class RunOutcome:
    """How a failed run ended, for its index page: the failed tasks, the publish tasks
    that succeeded all the same (their sections are kept) and the gates that ran (their
    quality reports are this run's)."""

    failed_tasks: tuple[str, ...]
    published: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()  # "raw", "marts"


QUALITY_REPORTS = (
    ("quality_raw.html", "装载数据质量检查（原始数据闸门）/ Raw data quality gate report"),
    ("quality_marts.html", "数据集市质量检查（集市闸门）/ Marts quality gate report"),
)
DATA_DOCS_TEXT = "数据质量检查结果（Great Expectations Data Docs）/ Data quality results"
RUN_SUMMARY_TEXT = "运行摘要 / Run summary (run_summary.json)"


def _href(target: Path, base: Path) -> str:
    try:
        relative = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows): an absolute file link is all we have
        return target.resolve().as_uri()
    return Path(relative).as_posix()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # the folder itself is the lock (no lock file left among the run's outputs)
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def data_docs_index(gx_state_dir: Path) -> Path | None:
    """The Great Expectations Data Docs site, when a gate has built one."""
    found = sorted(gx_state_dir.glob("**/uncommitted/data_docs/*/index.html"))
    return found[0] if found else None


def _notice_links(rc: RunContext, base: Path) -> list[Link]:
    folder = base / "notices"
    if not folder.is_dir():
        return []
    with connect(rc.warehouse_url) as conn:
        states = rows(
            conn,
            """
            select distinct on (kind, coalesce(n.department_code, ''))
                n.kind, n.department_code, n.status, n.is_correction, n.revision,
                d.department_name
            from ops.notices as n
            left join marts.rpt_department_progress as d
                on d.department_code = n.department_code and d.checkpoint_date = n.checkpoint_date
            where n.checkpoint_date = %s and n.kind in ('department', 'summary')
            order by kind, coalesce(n.department_code, ''), revision desc
            """,
            (rc.checkpoint,),
        )
    status_zh = {
        "pending": "待发送",
        "sending": "发送中",
        "sent": "已发送",
        "failed": "发送失败，将重试",
        "rejected": "被拒收",
        "no_recipient": "未登记邮箱，未发送",
        "superseded": "已取代",
    }
    by_stem = {
        ("summary" if s["kind"] == "summary" else _stem(s["department_code"] or "")): s
        for s in states
    }
    links = []
    for page in sorted(folder.glob("notice-*.html"), key=lambda p: (p.stem != "notice-summary", p)):
        stem = page.stem.removeprefix("notice-")
        state = by_stem.get(stem)
        if stem == "summary":
            text = "汇总通报（绩效管理室）"
        else:
            text = (state or {}).get("department_name") or stem
        note = ""
        if state:
            note = status_zh.get(state["status"], state["status"])
            if state["is_correction"]:
                note += f"（更正，第{state['revision']}版）"
        links.append(Link(_href(page, base), text, note))
        workbook = page.with_suffix(".xlsx")
        if workbook.exists():
            links.append(Link(_href(workbook, base), f"{text} · 附件（XLSX）"))
    return links


def _file_links(base: Path, folder: Path, names: dict[str, str]) -> list[Link]:
    return [
        Link(_href(folder / name, base), text, name)
        for name, text in names.items()
        if (folder / name).is_file()
    ]


def _stem(department_code: str) -> str:
    from budgetperf.publish.notices import _safe_name

    return _safe_name(department_code)


def _status_section(base: Path, outcome: RunOutcome) -> tuple[str, list[Link]]:
    if outcome.published:
        title = (
            "本次运行失败，只发布了下列内容 / This run failed: only what is listed below "
            "was published"
        )
    else:
        title = "本次运行失败，未发布任何内容 / This run failed: nothing was published"
    if not (base / "run_summary.json").is_file():
        return title, []
    failed = ", ".join(outcome.failed_tasks) or "-"
    return title, [
        Link("run_summary.json", RUN_SUMMARY_TEXT, f"失败的任务 / failed tasks: {failed}")
    ]


def write_index(rc: RunContext, outcome: RunOutcome | None = None) -> Path:
    """Write (or rewrite) ``index.html`` in the run's output folder; ``outcome`` when the
    run failed (see the module's docstring)."""
    base = Path(rc.output_dir)
    with _locked(base):
        sections = _sections(rc, base, outcome)
        values: dict[str, Any] = {
            "config": publish_config(),
            "checkpoint": rc.checkpoint,
            "run_id": rc.run_id,
            "sections": sections,
            "generated": dt.datetime.now(BUREAU_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
        }
        from budgetperf.publish.notices import templates

        html = templates.get_template("index.html").render(values)
        return tabular.write_atomic(base / "index.html", html.encode("utf-8"))


def _sections(
    rc: RunContext, base: Path, outcome: RunOutcome | None
) -> list[tuple[str, list[Link]]]:
    # a failed run lists only what it published itself: files left by an earlier run
    # (last quarter's disclosure, an earlier report of this checkpoint) are not its news
    def wanted(task_id: str) -> bool:
        return outcome is None or task_id in outcome.published

    sections: list[tuple[str, list[Link]]] = []
    if outcome is not None:
        sections.append(_status_section(base, outcome))
    reports = [
        Link(_href(base / name, base), text)
        for name, text in (
            ("monitoring_report.html", "预算绩效运行监控报告"),
            ("year_end_report.html", "年度预算绩效管理工作报告"),
        )
        if (base / name).exists()
    ]
    if wanted("publish_reports"):
        sections.append(("报告", reports))
    elif reports:
        # A failed re-run of a checkpoint that once succeeded: the report finance staff
        # already received stays reachable, marked as an earlier run's.
        sections.append(("此前成功运行发布的报告 / Reports of an earlier run", reports))
    if wanted("publish_notices"):
        sections.append(("监控通报", _notice_links(rc, base)))
    budget_year = rc.fiscal_year + 1
    if wanted("publish_proposal_feed"):
        feed_folder = Path(rc.settings.outputs) / str(budget_year)
        sections.append(
            (
                f"{budget_year}年预算安排建议（评价结果应用）",
                _file_links(
                    base,
                    feed_folder,
                    {
                        f"budget_proposals_{budget_year}.xlsx": "预算安排建议表（XLSX）",
                        f"budget_proposals_{budget_year}.csv": "预算安排建议（CSV，供系统导入）",
                        "_manifest.json": "文件清单（行数、校验和、合计金额）",
                    },
                ),
            )
        )
    year = rc.fiscal_year
    if wanted("publish_disclosure"):
        disclosure = Path(rc.settings.outputs) / str(year) / "disclosure"
        sections.append(
            (
                f"{year}年度信息公开（供政府网站发布）",
                _file_links(
                    base,
                    disclosure,
                    {
                        f"disclosure_{year}.xlsx": "绩效信息公开表（XLSX，含全部公开表）",
                        f"performance_targets_{year}.csv": "项目支出绩效目标公开表（CSV）",
                        f"project_evaluation_results_{year}.csv": "项目绩效评价结果公开表（CSV）",
                        f"department_evaluation_results_{year}.csv": (
                            "部门整体支出绩效评价结果公开表（CSV）"
                        ),
                    },
                ),
            )
        )
    quality = [
        Link(_href(base / name, base), text)
        for name, text in QUALITY_REPORTS
        if (base / name).exists()
        and (
            outcome is None
            or name.removeprefix("quality_").removesuffix(".html") in outcome.checked
        )
    ]
    other = []
    docs = data_docs_index(rc.settings.gx_state_dir)
    if docs is not None:
        other.append(Link(_href(docs, base), DATA_DOCS_TEXT))
    if outcome is None:
        sections.append(("数据质量", quality))
        if (base / "run_summary.json").exists():
            other.append(Link("run_summary.json", RUN_SUMMARY_TEXT))
        sections.append(("其他", other))
    else:  # what explains the failure; the summary is in the status section already
        sections.append(("数据质量 / Data quality", quality + other))
    return sections
