"""Monitoring notices (通报, R8), rendered from the marts and sent through the ledger.

After a monitoring checkpoint: one notice per department with at least one project
needing correction, to the department's contact, and one summary to the performance
office ranking departments by execution rate. Every figure comes from the marts; this
module only formats them (amounts in 万元, rates as percentages) and decides nothing.

Each notice carries ``content``: the canonical data it states (no wording, no dates of
issue, no address). The ledger compares that, so re-running a checkpoint sends nothing,
a corrected delivery that changes a department's figures sends that department a
correction (更正), and a changed template never re-sends anything.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from budgetperf.pipeline.context import RunContext
from budgetperf.publish import tabular
from budgetperf.publish.config import (
    PublishConfig,
    RuleParameters,
    publish_config,
    rule_parameters,
    today_at_bureau,
)
from budgetperf.publish.formatting import (
    Labels,
    cn_count,
    date_zh,
    load_labels,
    number,
    one,
    percent,
    points,
    rows,
    wan,
    yi,
)
from budgetperf.publish.ledger import (
    Attachment,
    Notice,
    deliver_pending,
    prepare_first_revision,
    record_notices,
)
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)

# kept for callers of the first version; the labels now come from marts.reference_labels
STATUS_ZH = {
    "on_track": "正常",
    "lagging": "滞后",
    "seriously_lagging": "严重滞后",
    "overspent": "超支",
    "no_budget": "无预算",
}


# Inline styles only: mail clients drop <style> blocks and external sheets. Fonts fall
# back from the ones Chinese government documents use (仿宋 body, 黑体/宋体 headings).
_BODY_FONT = "FangSong,'仿宋',STFangsong,'华文仿宋','Songti SC',SimSun,serif"
_HEAD_FONT = "SimHei,'黑体','Microsoft YaHei','PingFang SC','Heiti SC',sans-serif"
_RED_FONT = "SimSun,'宋体','Songti SC',STSong,serif"
CSS = {
    "page": "margin:0;padding:0;background:#f2f2f2;",
    "sheet": (
        "width:760px;max-width:100%;background:#ffffff;border:1px solid #d9d9d9;"
        "border-collapse:collapse;"
    ),
    "masthead": (
        f"padding:36px 48px 6px 48px;text-align:center;font-family:{_RED_FONT};"
        "color:#c00000;font-size:36px;font-weight:bold;letter-spacing:6px;"
    ),
    "issue": f"padding:0 48px 6px 48px;text-align:center;font-family:{_BODY_FONT};"
    "font-size:15px;color:#333333;",
    "rule": "border-top:3px solid #c00000;font-size:0;line-height:0;height:0;",
    "title": (
        f"padding:22px 48px 10px 48px;text-align:center;font-family:{_HEAD_FONT};"
        "font-size:22px;line-height:1.5;color:#000000;font-weight:bold;"
    ),
    "text": (
        f"padding:4px 48px;font-family:{_BODY_FONT};font-size:16px;line-height:1.9;color:#000000;"
    ),
    "para": "margin:0 0 6px 0;text-indent:2em;",
    "salutation": "margin:10px 0 6px 0;font-weight:bold;",
    "heading": f"margin:12px 0 4px 0;text-indent:2em;font-family:{_HEAD_FONT};font-size:16px;",
    "table": (
        "border-collapse:collapse;width:100%;font-family:Arial,'Microsoft YaHei',sans-serif;"
        "font-size:12px;line-height:1.4;margin:6px 0 10px 0;"
    ),
    "th": (
        "border:1px solid #7f7f7f;background:#dde4ee;padding:5px 4px;text-align:center;"
        "font-weight:bold;color:#000000;"
    ),
    "td": "border:1px solid #7f7f7f;padding:4px;vertical-align:top;color:#000000;",
    "num": (
        "border:1px solid #7f7f7f;padding:4px;text-align:right;vertical-align:top;"
        "white-space:nowrap;color:#000000;"
    ),
    "total": (
        "border:1px solid #7f7f7f;padding:4px;text-align:right;font-weight:bold;"
        "background:#f2f2f2;white-space:nowrap;"
    ),
    "status": {
        "seriously_lagging": "color:#c00000;font-weight:bold;",
        "lagging": "color:#c55a11;font-weight:bold;",
        "overspent": "color:#7030a0;font-weight:bold;",
        "on_track": "color:#375623;",
        "no_budget": "color:#595959;",
    },
    "signature": (
        f"padding:18px 48px 6px 48px;text-align:right;font-family:{_BODY_FONT};font-size:16px;"
        "line-height:1.9;"
    ),
    "footer": (
        "padding:14px 48px 28px 48px;font-family:Arial,'Microsoft YaHei',sans-serif;"
        "font-size:12px;line-height:1.6;color:#7f7f7f;"
    ),
    "attachment": f"padding:4px 48px;font-family:{_BODY_FONT};font-size:16px;line-height:1.9;",
}


# the order a reader expects: worst first
STATUS_ORDER = ("seriously_lagging", "lagging", "on_track", "overspent", "no_budget")


def status_order(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("budgetperf.publish", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        wan=wan,
        yi=yi,
        percent=percent,
        points=points,
        number=number,
        date_zh=date_zh,
        cn=cn_count,
        status_zh=lambda code: STATUS_ZH.get(code, code),
    )
    env.globals["css"] = CSS
    return env


templates = _environment()
_templates = templates  # the name reports.py of the first version imported


# -- data ------------------------------------------------------------------------------


def checkpoint_info(conn: Any, checkpoint: dt.date) -> dict[str, Any] | None:
    """The checkpoint's row of marts.dim_checkpoints (expected rate, kind, label)."""
    return one(
        conn, "select * from marts.dim_checkpoints where checkpoint_date = %s", (checkpoint,)
    )


def _deviating_indicators(conn: Any, checkpoint: dt.date) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows(
        conn,
        """
        select project_code, indicator_code, indicator_name, comparator, target_value,
               actual_value, unit, completion
        from marts.fct_indicator_progress
        where checkpoint_date = %s and is_deviating
        order by project_code, indicator_code
        """,
        (checkpoint,),
    ):
        found.setdefault(row["project_code"], []).append(row)
    return found


def department_notice_data(conn: Any, checkpoint: dt.date) -> list[dict[str, Any]]:
    """Per department with projects needing correction: its row of
    rpt_department_progress, those projects (fct_project_progress) with their deviating
    indicators (fct_indicator_progress), and its idle-funds proposals (fct_idle_funds)."""
    departments = rows(
        conn,
        """
        select * from marts.rpt_department_progress
        where checkpoint_date = %s and projects_needing_correction > 0
        order by department_code
        """,
        (checkpoint,),
    )
    projects = rows(
        conn,
        """
        select * from marts.fct_project_progress
        where checkpoint_date = %s and needs_correction
        order by department_code, gap desc nulls last, project_code
        """,
        (checkpoint,),
    )
    idle = rows(
        conn,
        """
        select * from marts.fct_idle_funds where checkpoint_date = %s
        order by department_code, recoverable_yuan desc, project_code
        """,
        (checkpoint,),
    )
    indicators = _deviating_indicators(conn, checkpoint)
    by_department: dict[str, list[dict[str, Any]]] = {}
    for project in projects:
        project["indicators"] = indicators.get(project["project_code"], [])
        by_department.setdefault(project["department_code"], []).append(project)
    idle_by_department: dict[str, list[dict[str, Any]]] = {}
    for row in idle:
        idle_by_department.setdefault(row["department_code"], []).append(row)
    return [
        {
            "department": department,
            "projects": by_department.get(department["department_code"], []),
            "idle_funds": idle_by_department.get(department["department_code"], []),
        }
        for department in departments
    ]


def summary_notice_data(conn: Any, checkpoint: dt.date) -> dict[str, Any]:
    ranking = rows(
        conn,
        """
        select * from marts.rpt_department_progress
        where checkpoint_date = %s
        order by rank nulls last, department_code
        """,
        (checkpoint,),
    )
    statuses = rows(
        conn,
        """
        select progress_status, count(*) as projects, sum(budget_amount_yuan) as budget_yuan,
               count(*) filter (where needs_correction) as needing_correction
        from marts.fct_project_progress where checkpoint_date = %s
        group by progress_status
        """,
        (checkpoint,),
    )
    statuses.sort(key=lambda s: status_order(s["progress_status"]))
    totals = one(
        conn,
        """
        select count(*) as projects, sum(budget_amount_yuan) as budget_yuan,
               sum(spent_yuan) as spent_yuan,
               sum(spent_yuan) / nullif(sum(budget_amount_yuan), 0) as execution_rate,
               count(*) filter (where needs_correction) as needing_correction,
               count(*) filter (where is_monitored) as monitored,
               coalesce(sum(budget_amount_yuan) filter (where is_monitored), 0)
                   as monitored_budget_yuan
        from marts.fct_project_progress where checkpoint_date = %s
        """,
        (checkpoint,),
    )
    return {"ranking": ranking, "statuses": statuses, "totals": totals or {}}


def _canonical(value: Any) -> str:
    """JSON of what a notice states, stable across runs (sorted keys, exact decimals)."""

    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            return format(item, "f")
        if isinstance(item, dt.date):
            return item.isoformat()
        raise TypeError(f"not serialisable: {item!r}")

    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=default)


_PROJECT_FIELDS = (
    "project_code",
    "project_name",
    "budget_amount_yuan",
    "spent_yuan",
    "execution_rate",
    "expected_rate",
    "gap",
    "progress_status",
)
_DEPARTMENT_FIELDS = (
    "department_code",
    "department_name",
    "projects",
    "lagging_projects",
    "projects_needing_correction",
    "budget_amount_yuan",
    "spent_yuan",
    "execution_rate",
)


def _department_content(
    checkpoint: dt.date, expected: Any, data: dict[str, Any], rules: RuleParameters
) -> str:
    # the department's own figures only: its rank moves when another department's data
    # is corrected, and that must not send this department a correction
    return _canonical(
        {
            "checkpoint": checkpoint,
            "expected_rate": expected,
            "rules": asdict(rules),
            "department": {k: data["department"][k] for k in _DEPARTMENT_FIELDS},
            "projects": [
                {
                    **{k: p[k] for k in _PROJECT_FIELDS},
                    "indicators": [
                        {
                            k: i[k]
                            for k in (
                                "indicator_code",
                                "indicator_name",
                                "target_value",
                                "actual_value",
                                "completion",
                            )
                        }
                        for i in p["indicators"]
                    ],
                }
                for p in data["projects"]
            ],
            "idle_funds": [
                {k: r[k] for k in ("project_code", "recoverable_yuan")} for r in data["idle_funds"]
            ],
        }
    )


# -- rendering -------------------------------------------------------------------------


def _indicator_text(indicator: dict[str, Any]) -> str:
    return f"{indicator['indicator_name']}（完成度{percent(indicator['completion'])}）"


def notice_table_columns() -> list[tabular.Column]:
    return [
        tabular.Column("index", "序号", "int", 6),
        tabular.Column("project_code", "项目编码", "code"),
        tabular.Column("project_name", "项目名称", "text", 32),
        tabular.Column("budget_amount_yuan", "预算（万元）", "wan"),
        tabular.Column("spent_yuan", "已支出（万元）", "wan"),
        tabular.Column("execution_rate", "执行率", "rate"),
        tabular.Column("expected_rate", "序时进度", "rate"),
        tabular.Column("gap", "差距（百分点）", "points"),
        tabular.Column("status_zh", "进度状态", "text", 10),
        tabular.Column("deviating_text", "偏离的绩效指标（完成度）", "text", 40),
    ]


def _project_rows(projects: Iterable[dict[str, Any]], labels: Labels) -> list[dict[str, Any]]:
    out = []
    for index, project in enumerate(projects, start=1):
        out.append(
            {
                **project,
                "index": index,
                "status_zh": labels.get("progress_status", project["progress_status"]),
                "deviating_text": "；".join(_indicator_text(i) for i in project["indicators"]),
            }
        )
    return out


def _department_title(fiscal_year: int, checkpoint: dt.date) -> str:
    return f"关于{fiscal_year}年度预算绩效运行监控情况的通报（截至{date_zh(checkpoint)}）"


# Above this many departments the notices are rendered in worker processes while this
# process records and delivers them: rendering (templates, the XLSX attachment) is a few
# milliseconds of CPU per notice, recording and delivering is mostly waiting for the
# warehouse, so the two overlap. A county's few dozen departments are not worth a process.
RENDER_IN_WORKERS_ABOVE = 200
MAX_RENDER_WORKERS = 2  # one worker renders faster than the ledger records
RENDERS_IN_FLIGHT_PER_WORKER = 16  # bounds memory: rendered notices waiting to be recorded


@dataclass(frozen=True)
class _NoticeSetting:
    """What every department's notice of one checkpoint shares (sent to workers once)."""

    checkpoint: dt.date
    info: dict[str, Any]
    labels: Labels
    sender: str
    reply_to: str | None
    config: PublishConfig
    rules: RuleParameters
    issued_on: dt.date
    departments_total: int

    @property
    def fiscal_year(self) -> int:
        return int(self.info["fiscal_year"])


def render_workers(departments: int) -> int:
    """Worker processes for rendering ``departments`` notices: none for a county, else
    one per spare CPU (up to ``MAX_RENDER_WORKERS``)."""
    if departments <= RENDER_IN_WORKERS_ABOVE:
        return 0
    if multiprocessing.current_process().daemon:
        return 0  # a daemonic process (some executors' workers) may not start children
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(MAX_RENDER_WORKERS, cpus - 1)


def iter_department_notices(
    url: str,
    checkpoint: dt.date,
    sender: str,
    *,
    reply_to: str | None = None,
    config: PublishConfig | None = None,
    rules: RuleParameters | None = None,
    issued_on: dt.date | None = None,
    workers: int | None = None,
) -> Iterator[Notice]:
    """The department notices one at a time, in department order, rendered as they are
    asked for (the data is read at once; a province's thousands of rendered messages are
    never held together). ``workers``: processes to render in (0: this process; None:
    ``render_workers`` decides by the number of departments and CPUs)."""
    from budgetperf.settings import load_settings

    config = config or publish_config()
    rules = rules or rule_parameters(load_settings().dbt_project_dir)
    issued_on = issued_on or today_at_bureau()
    with connect(url) as conn:
        info = checkpoint_info(conn, checkpoint)
        if info is None:
            raise RuntimeError(f"checkpoint {checkpoint} is missing from marts.dim_checkpoints")
        labels = load_labels(conn)
        departments = department_notice_data(conn, checkpoint)
        ranked = one(
            conn,
            "select count(*) as n from marts.rpt_department_progress where checkpoint_date = %s",
            (checkpoint,),
        )
    setting = _NoticeSetting(
        checkpoint=checkpoint,
        info=info,
        labels=labels,
        sender=sender,
        reply_to=reply_to,
        config=config,
        rules=rules,
        issued_on=issued_on,
        departments_total=int(ranked["n"]) if ranked else 0,
    )
    workers = render_workers(len(departments)) if workers is None else workers
    if workers > 0:
        yield from _rendered_in_workers(setting, departments, workers)
    else:
        for data in departments:
            yield _department_notice(setting, data)


def _rendered_in_workers(
    setting: _NoticeSetting, departments: list[dict[str, Any]], workers: int
) -> Iterator[Notice]:
    """``_department_notice`` of each department in worker processes, yielded in order,
    with a bounded number rendered ahead of the consumer."""
    from concurrent.futures import Future, ProcessPoolExecutor

    # spawn, not fork: the task's process may have threads (Airflow's, psycopg's), and a
    # forked child inherits their locks in whatever state they were
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_set_worker_setting,
        initargs=(setting,),
    )
    waiting: deque[Future[Notice]] = deque()
    try:
        for data in departments:
            waiting.append(pool.submit(_render_in_worker, data))
            if len(waiting) >= workers * RENDERS_IN_FLIGHT_PER_WORKER:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_worker_setting: _NoticeSetting | None = None


def _set_worker_setting(setting: _NoticeSetting) -> None:
    global _worker_setting
    _worker_setting = setting


def _render_in_worker(data: dict[str, Any]) -> Notice:
    assert _worker_setting is not None, "the worker was started without its setting"
    return prepare_first_revision(_department_notice(_worker_setting, data))


def _department_notice(setting: _NoticeSetting, data: dict[str, Any]) -> Notice:
    """One department's notice: text, HTML and the XLSX of its projects needing correction."""
    checkpoint, info = setting.checkpoint, setting.info
    department = data["department"]
    name = department["department_name"] or department["department_code"]
    project_rows = _project_rows(data["projects"], setting.labels)
    title = _department_title(setting.fiscal_year, checkpoint)
    values = {
        "title": title,
        "config": setting.config,
        "rules": setting.rules,
        "department": department,
        "department_label": name,
        "projects": project_rows,
        "deviating_projects": sum(1 for p in data["projects"] if p["indicators"]),
        "idle_funds": data["idle_funds"],
        "checkpoint": checkpoint,
        "info": info,
        "fiscal_year": setting.fiscal_year,
        "expected_rate": info["expected_rate"],
        "departments_total": setting.departments_total,
        "deadline": setting.issued_on + dt.timedelta(days=setting.config.response_days),
        "issued_on": setting.issued_on,
        "attachment_name": f"需整改项目明细表（{name}）.xlsx",
    }
    workbook = tabular.workbook_bytes(
        [
            tabular.Sheet(
                title="需整改项目",
                columns=notice_table_columns(),
                rows=project_rows,
                caption=f"{name}需整改项目明细表（截至{date_zh(checkpoint)}）",
                notes=[
                    f"序时进度 {percent(info['expected_rate'])}；金额单位：万元。",
                    f"数据来源：预算绩效管理数据集市（{info['label_zh']}）。",
                ],
            )
        ],
        title=title,
    )
    return Notice(
        kind="department",
        subject=f"{title}——{name}",
        recipient=(department["contact_email"] or None),
        sender=setting.sender,
        reply_to=setting.reply_to,
        body_text=templates.get_template("department_notice.txt").render(values),
        body_html=templates.get_template("department_notice.html").render(values),
        attachments=[Attachment(values["attachment_name"], workbook, *tabular.XLSX_MIME)],
        fiscal_year=setting.fiscal_year,
        checkpoint_date=checkpoint,
        department_code=department["department_code"],
        content=_department_content(checkpoint, info["expected_rate"], data, setting.rules),
        label=name,
    )


def ranking_columns() -> list[tabular.Column]:
    return [
        tabular.Column("rank_text", "名次", "text", 6),
        tabular.Column("department_code", "部门编码", "code"),
        tabular.Column("department_name", "部门（单位）", "text", 30),
        tabular.Column("projects", "项目数", "int"),
        tabular.Column("budget_amount_yuan", "预算（万元）", "wan"),
        tabular.Column("spent_yuan", "已支出（万元）", "wan"),
        tabular.Column("execution_rate", "执行率", "rate"),
        tabular.Column("lagging_projects", "滞后项目", "int"),
        tabular.Column("projects_needing_correction", "需整改项目", "int"),
        tabular.Column("contact_text", "通报接收邮箱", "text", 30),
    ]


def render_summary_notice(
    url: str,
    checkpoint: dt.date,
    sender: str,
    recipient: str,
    *,
    config: PublishConfig | None = None,
    rules: RuleParameters | None = None,
    issued_on: dt.date | None = None,
) -> Notice | None:
    """The summary to the performance office: every department ranked by execution rate,
    the departments notified, and those that could not be (no contact email)."""
    from budgetperf.settings import load_settings

    config = config or publish_config()
    rules = rules or rule_parameters(load_settings().dbt_project_dir)
    issued_on = issued_on or today_at_bureau()
    with connect(url) as conn:
        info = checkpoint_info(conn, checkpoint)
        if info is None:
            raise RuntimeError(f"checkpoint {checkpoint} is missing from marts.dim_checkpoints")
        labels = load_labels(conn)
        data = summary_notice_data(conn, checkpoint)
    ranking = data["ranking"]
    if not ranking:
        return None
    for row in ranking:
        row["rank_text"] = str(row["rank"]) if row["rank"] is not None else "—"
        row["contact_text"] = row["contact_email"] or "（未登记）"
    notified = [r for r in ranking if r["projects_needing_correction"]]
    without_contact = [r for r in notified if not r["contact_email"]]
    for status in data["statuses"]:
        status["label"] = labels.get("progress_status", status["progress_status"])
    fiscal_year = int(info["fiscal_year"])
    title = f"{fiscal_year}年度预算绩效运行监控汇总通报（截至{date_zh(checkpoint)}）"
    values = {
        "title": title,
        "config": config,
        "rules": rules,
        "ranking": ranking,
        "statuses": data["statuses"],
        "totals": data["totals"],
        "notified": notified,
        "without_contact": without_contact,
        "checkpoint": checkpoint,
        "info": info,
        "fiscal_year": fiscal_year,
        "expected_rate": info["expected_rate"],
        "issued_on": issued_on,
        "attachment_name": f"部门预算执行进度排名（截至{date_zh(checkpoint)}）.xlsx",
    }
    workbook = tabular.workbook_bytes(
        [
            tabular.Sheet(
                title="执行进度排名",
                columns=ranking_columns(),
                rows=ranking,
                caption=f"{fiscal_year}年度部门（单位）预算执行进度排名（截至{date_zh(checkpoint)}）",
                notes=[f"序时进度 {percent(info['expected_rate'])}；金额单位：万元。"],
            )
        ],
        title=title,
    )
    content = _canonical(
        {
            "checkpoint": checkpoint,
            "expected_rate": info["expected_rate"],
            "ranking": [
                {k: r[k] for k in (*_DEPARTMENT_FIELDS, "rank")}
                | {"has_contact": bool(r["contact_email"])}
                for r in ranking
            ],
            "statuses": [
                {k: s[k] for k in ("progress_status", "projects", "needing_correction")}
                for s in data["statuses"]
            ],
        }
    )
    return Notice(
        kind="summary",
        subject=title,
        recipient=recipient,
        sender=sender,
        body_text=templates.get_template("summary_notice.txt").render(values),
        body_html=templates.get_template("summary_notice.html").render(values),
        attachments=[Attachment(values["attachment_name"], workbook, *tabular.XLSX_MIME)],
        fiscal_year=fiscal_year,
        checkpoint_date=checkpoint,
        content=content,
    )


# -- publishing ------------------------------------------------------------------------


@dataclass
class NoticeRun:
    checkpoint: dt.date
    recorded: int = 0
    new: int = 0
    corrections: int = 0
    unchanged: int = 0
    superseded: int = 0
    without_recipient: list[str] = field(default_factory=list)  # "code 名称"
    sent: int = 0
    written_to_outbox: int = 0
    undelivered: int = 0  # failed + rejected + deferred: the task should retry / alert
    rejected: int = 0
    resent_after_interruption: int = 0
    errors: list[str] = field(default_factory=list)
    copies: list[Path] = field(default_factory=list)

    def one_line(self) -> str:
        parts = [
            f"notices for {self.checkpoint}: {self.recorded} rendered, {self.new} new "
            f"({self.corrections} corrections), {self.unchanged} unchanged; "
            f"{self.sent} sent by SMTP, {self.written_to_outbox} written to the outbox"
        ]
        if self.without_recipient:
            parts.append(
                f"{len(self.without_recipient)} department(s) without contact email "
                "(recorded as no_recipient, listed in the report and the summary notice): "
                + ", ".join(self.without_recipient)
            )
        if self.rejected:
            parts.append(f"{self.rejected} refused by the mail server (check the address)")
        if self.undelivered:
            parts.append(
                f"{self.undelivered} not delivered yet (kept in ops.notices, sent by the next "
                f"delivery): {'; '.join(self.errors[:3])}"
            )
        return "; ".join(parts)

    def summary(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint.isoformat(),
            "recorded": self.recorded,
            "new": self.new,
            "corrections": self.corrections,
            "unchanged": self.unchanged,
            "superseded": self.superseded,
            "sent": self.sent,
            "written_to_outbox": self.written_to_outbox,
            "undelivered": self.undelivered,
            "rejected": self.rejected,
            "resent_after_interruption": self.resent_after_interruption,
            "without_recipient": self.without_recipient,
            "errors": self.errors[:20],
            "copies": str(self.copies[0].parent) if self.copies else None,
        }


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80] or "notice"


def write_notice_copies(folder: Path, notices: Iterable[Notice]) -> list[Path]:
    """The latest rendering of each notice as HTML (and its attachment) in the run's
    folder, for people browsing the run and for forwarding a notice by hand (a
    department without contact email)."""
    written = []
    for notice in notices:
        stem = "summary" if notice.kind == "summary" else _safe_name(notice.department_code or "")
        if notice.body_html:
            written.append(
                tabular.write_atomic(
                    folder / f"notice-{stem}.html", notice.body_html.encode("utf-8")
                )
            )
        for attachment in notice.attachments:
            written.append(tabular.write_atomic(folder / f"notice-{stem}.xlsx", attachment.content))
    return written


def publish_monitoring_notices(rc: RunContext) -> NoticeRun:
    """Render, record (exactly once per content) and deliver the notices of a checkpoint.

    At the year-end point there are no monitoring notices (R8); the call then only
    delivers what earlier runs left undelivered. Delivery covers every deliverable
    notice in the ledger, not only this checkpoint's: an outage at one checkpoint is
    caught up by the next run.
    """
    from budgetperf.publish.channel import smtp_settings_from_airflow

    run = NoticeRun(rc.checkpoint)
    settings = rc.settings
    config = publish_config()
    rules = rule_parameters(settings.dbt_project_dir)
    issued_on = today_at_bureau()
    with connect(rc.warehouse_url) as conn:
        info = checkpoint_info(conn, rc.checkpoint)
    if info is None:
        raise RuntimeError(f"checkpoint {rc.checkpoint} is missing from marts.dim_checkpoints")

    def this_checkpoints_notices() -> Iterator[Notice]:
        if info["checkpoint_kind"] != "monitoring":
            return
        yield from iter_department_notices(
            rc.warehouse_url,
            rc.checkpoint,
            settings.sender_email,
            reply_to=settings.performance_office_email,
            config=config,
            rules=rules,
            issued_on=issued_on,
        )
        summary = render_summary_notice(
            rc.warehouse_url,
            rc.checkpoint,
            settings.sender_email,
            settings.performance_office_email,
            config=config,
            rules=rules,
            issued_on=issued_on,
        )
        if summary is not None:
            yield summary

    def with_run_id(notices: Iterable[Notice]) -> Iterator[Notice]:
        for notice in notices:
            notice.run_id = rc.run_id
            yield notice

    copies: list[Path] = []
    # rendered, recorded and copied one at a time: memory stays flat whatever the county
    for notice, recorded in record_notices(
        rc.warehouse_url, with_run_id(this_checkpoints_notices())
    ):
        run.recorded += 1
        run.new += recorded.is_new
        run.unchanged += not recorded.is_new
        run.corrections += recorded.is_correction
        run.superseded += recorded.superseded
        if recorded.status == "no_recipient":
            run.without_recipient.append(f"{notice.department_code} {notice.label or ''}".strip())
        copies += write_notice_copies(rc.output_dir / "notices", [notice])
    if run.recorded:
        run.copies = copies
    delivery = deliver_pending(
        rc.warehouse_url, smtp=smtp_settings_from_airflow(), outbox=settings.outbox
    )
    run.sent = delivery.sent
    run.written_to_outbox = delivery.written_to_outbox
    run.undelivered = delivery.undelivered
    run.rejected = delivery.rejected
    run.resent_after_interruption = delivery.resent_after_interruption
    run.errors = delivery.errors
    if run.recorded:
        from budgetperf.publish.index import write_index

        write_index(rc)
    return run
