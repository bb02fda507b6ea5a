"""Monitoring notices (通报, R8), rendered from the marts and sent through the ledger.

After a monitoring checkpoint: one notice per department with at least one project
needing correction, to the department's contact, and one summary to the performance
office ranking departments by execution rate. Every figure comes from the marts; this
module only formats (amounts in 万元, rates as percentages).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from budgetperf.pipeline.context import RunContext
from budgetperf.publish.ledger import Notice, deliver_pending, record_notice
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)

STATUS_ZH = {
    "on_track": "正常",
    "lagging": "滞后",
    "seriously_lagging": "严重滞后",
    "overspent": "超支",
    "no_budget": "无预算",
}


def wan(yuan: Decimal | None) -> str:
    """Yuan to 万元 with two decimals, as the county writes it (79862.92)."""
    if yuan is None:
        return "—"
    return str((Decimal(yuan) / Decimal(10000)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def percent(rate: Decimal | None) -> str:
    if rate is None:
        return "—"
    return str((Decimal(rate) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)) + "%"


def date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


_templates = Environment(
    loader=PackageLoader("budgetperf.publish", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters.update(wan=wan, percent=percent, date_zh=date_zh, status_zh=STATUS_ZH.get)


@dataclass
class NoticeRun:
    checkpoint: dt.date
    recorded: int = 0
    new: int = 0
    corrections: int = 0
    without_recipient: list[str] = field(default_factory=list)
    sent: int = 0
    written_to_outbox: int = 0
    undelivered: int = 0
    errors: list[str] = field(default_factory=list)

    def one_line(self) -> str:
        parts = [
            f"notices for {self.checkpoint}: {self.recorded} rendered, {self.new} new "
            f"({self.corrections} corrections), {self.sent} sent by SMTP, "
            f"{self.written_to_outbox} written to the outbox"
        ]
        if self.without_recipient:
            parts.append(
                "departments without contact email (not sent, recorded): "
                + ", ".join(self.without_recipient)
            )
        if self.undelivered:
            parts.append(f"{self.undelivered} not delivered yet: {'; '.join(self.errors[:3])}")
        return "; ".join(parts)

    def summary(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint.isoformat(),
            "recorded": self.recorded,
            "new": self.new,
            "corrections": self.corrections,
            "sent": self.sent,
            "written_to_outbox": self.written_to_outbox,
            "undelivered": self.undelivered,
            "without_recipient": self.without_recipient,
        }


def _rows(conn: Any, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def render_department_notices(url: str, checkpoint: dt.date, sender: str) -> list[Notice]:
    with connect(url) as conn:
        departments = _rows(
            conn,
            """
            select * from marts.rpt_department_progress
            where checkpoint_date = %s and projects_needing_correction > 0
            order by department_code
            """,
            (checkpoint,),
        )
        projects = _rows(
            conn,
            """
            select p.*, coalesce(d.names, '') as deviating_indicator_names
            from marts.fct_project_progress as p
            left join (
                select project_code, string_agg(indicator_name, '、' order by indicator_code)
                    as names
                from marts.fct_indicator_progress
                where checkpoint_date = %s and is_deviating
                group by project_code
            ) as d on d.project_code = p.project_code
            where p.checkpoint_date = %s and p.needs_correction
            order by p.department_code, p.gap desc nulls last, p.project_code
            """,
            (checkpoint, checkpoint),
        )
        expected = conn.execute(
            "select expected_rate from marts.dim_checkpoints where checkpoint_date = %s",
            (checkpoint,),
        ).fetchone()
    expected_rate = expected[0] if expected else None
    deadline = checkpoint + dt.timedelta(days=15)
    notices = []
    for department in departments:
        rows = [p for p in projects if p["department_code"] == department["department_code"]]
        values = {
            "department": department,
            "projects": rows,
            "checkpoint": checkpoint,
            "fiscal_year": checkpoint.year,
            "expected_rate": expected_rate,
            "deadline": deadline,
        }
        notices.append(
            Notice(
                kind="department",
                subject=(
                    f"关于{checkpoint.year}年度{date_zh(checkpoint)}预算绩效运行监控情况的通报"
                    f"（{department['department_name'] or department['department_code']}）"
                ),
                recipient=department["contact_email"],
                sender=sender,
                body_text=_templates.get_template("department_notice.txt").render(values),
                body_html=_templates.get_template("department_notice.html").render(values),
                fiscal_year=checkpoint.year,
                checkpoint_date=checkpoint,
                department_code=department["department_code"],
            )
        )
    return notices


def render_summary_notice(
    url: str, checkpoint: dt.date, sender: str, recipient: str
) -> Notice | None:
    with connect(url) as conn:
        ranking = _rows(
            conn,
            """
            select * from marts.rpt_department_progress
            where checkpoint_date = %s
            order by rank nulls last, department_code
            """,
            (checkpoint,),
        )
        expected = conn.execute(
            "select expected_rate from marts.dim_checkpoints where checkpoint_date = %s",
            (checkpoint,),
        ).fetchone()
    if not ranking:
        return None
    values = {
        "ranking": ranking,
        "checkpoint": checkpoint,
        "fiscal_year": checkpoint.year,
        "expected_rate": expected[0] if expected else None,
    }
    return Notice(
        kind="summary",
        subject=f"{checkpoint.year}年度{date_zh(checkpoint)}预算绩效运行监控汇总通报",
        recipient=recipient,
        sender=sender,
        body_text=_templates.get_template("summary_notice.txt").render(values),
        body_html=_templates.get_template("summary_notice.html").render(values),
        fiscal_year=checkpoint.year,
        checkpoint_date=checkpoint,
    )


def publish_monitoring_notices(rc: RunContext) -> NoticeRun:
    """Render, record (exactly once per content) and deliver the notices of a checkpoint."""
    from budgetperf.publish.channel import smtp_settings_from_airflow

    run = NoticeRun(rc.checkpoint)
    settings = rc.settings
    notices = render_department_notices(rc.warehouse_url, rc.checkpoint, settings.sender_email)
    summary = render_summary_notice(
        rc.warehouse_url, rc.checkpoint, settings.sender_email, settings.performance_office_email
    )
    if summary is not None:
        notices.append(summary)
    ids = []
    for notice in notices:
        notice.run_id = rc.run_id
        recorded = record_notice(rc.warehouse_url, notice)
        run.recorded += 1
        run.new += recorded.is_new
        run.corrections += recorded.is_correction
        ids.append(recorded.notice_id)
        if notice.recipient is None:
            run.without_recipient.append(notice.department_code or "?")
    delivery = deliver_pending(
        rc.warehouse_url, smtp=smtp_settings_from_airflow(), outbox=settings.outbox
    )
    run.sent = delivery.sent
    run.written_to_outbox = delivery.written_to_outbox
    run.undelivered = delivery.failed
    run.errors = delivery.errors
    return run
