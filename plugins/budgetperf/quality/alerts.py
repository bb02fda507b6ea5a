"""The alert to the data engineers when a gate blocks publication, via the notice channel.

The message is plain text first (Chinese, then English where it helps), readable in any
mail client and in the outbox ``.eml``: which rules failed, the observed values, sample
rows as a small aligned table, how to fix each one, and the SQL that lists every
offending row. The run's self-contained quality report is attached and its path given.
"""

from __future__ import annotations

import textwrap
import unicodedata
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish.channel import smtp_settings_from_airflow
from budgetperf.publish.ledger import Attachment, Notice, deliver_pending, record_notice
from budgetperf.quality.gates import GateOutcome, RuleResult
from budgetperf.quality.report import local_time
from budgetperf.warehouse import connect

MAX_CELL = 40
RULE = "─" * 60


def gate_alert_key(gate: str, run_id: str) -> str:
    """The ledger key of a gate's alert (ops.notices.department_code), one per gate run."""
    return f"gate:{gate}:{run_id}"


def gate_alert_sent(url: str, gate: str, run_id: str) -> bool:
    """Whether this run's gate has recorded its alert (so a generic one is not needed)."""
    with connect(url) as conn:
        row = conn.execute(
            "select 1 from ops.notices where kind = 'alert' and department_code = %s limit 1",
            (gate_alert_key(gate, run_id),),
        ).fetchone()
    return row is not None


def _width(text: str) -> int:
    # CJK characters take two columns in a monospaced mail client
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(value: Any) -> str:
    text = "∅" if value is None else str(value).replace("\n", " ")
    if _width(text) > MAX_CELL:
        while _width(text) > MAX_CELL - 1:
            text = text[:-1]
        text += "…"
    return text


MAX_COLUMNS = 8


def text_table(rows: list[dict[str, Any]], indent: str = "     ") -> list[str]:
    """Rows as an aligned plain-text table (header, then one line per row); at most
    MAX_COLUMNS columns (the report has them all), checkpoint_date left out (it is the
    alert's checkpoint)."""
    if not rows:
        return []
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns and c != "checkpoint_date"]
    columns = columns[:MAX_COLUMNS]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(_width(c), *(_width(line[i]) for line in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return (
            indent
            + "  ".join(
                v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)
            ).rstrip()
        )

    return [line(columns), line(["-" * w for w in widths]), *(line(v) for v in cells)]


def _rule_block(number: int, result: RuleResult) -> list[str]:
    rule = result.rule
    scope = "本检查点的数据" if rule.batch == "checkpoint" else "全部数据"
    lines = [
        f"{number}. {rule.id}（{rule.severity_zh}）{rule.description_zh}",
        f"   {rule.description_en}",
        f"   检查对象：{rule.relation}（{scope}）",
        f"   观测值：{result.observed}",
    ]
    if result.sample:
        lines.append(f"   问题数据样例（前 {len(result.sample)} 行）/ sample rows:")
        lines += text_table(result.sample)
    lines.append(f"   处理方法：{rule.fix_zh}")
    if rule.fix_en:
        lines.append(f"   How to fix: {rule.fix_en}")
    lines.append(f"   负责：{rule.owner}")
    lines.append("   查看全部问题行的 SQL / SQL listing every offending row:")
    lines += textwrap.indent(result.sql, "     ").splitlines()
    lines.append("")
    return lines


def render_gate_alert(outcome: GateOutcome, rc: RunContext) -> Notice:
    point = rc.checkpoint
    point_zh = f"{point.year}年{point.month}月{point.day}日"
    failures = outcome.failures
    lines = [
        "数据工程师：",
        "",
        f"{point_zh}检查点的{outcome.gate_zh}（{outcome.gate}）质量闸门未通过："
        f"{len(failures)} 条致命规则不通过。",
        "本次运行已停止发布：不发送通报，不导出预算建议，报告不更新。"
        "请按下列说明修正后重新运行该检查点。",
        f"The {outcome.gate} gate of checkpoint {point} failed ({len(failures)} fatal rule(s)); "
        "nothing is published for this run.",
        "",
        f"运行编号 Run：{rc.run_id}",
    ]
    if outcome.checked_at:
        lines.append(f"检查时间 Checked：{local_time(outcome.checked_at)}")
    if outcome.report:
        lines.append(f"质量报告（离线可打开，亦见附件）Report：{outcome.report}")
    if outcome.data_docs:
        lines.append(f"GX Data Docs：{outcome.data_docs}")
    quoted_run = rc.run_id.replace("'", "''")
    lines += [
        # text for people to paste into psql, not a query we run
        "质量记录 History：select * from ops.dq_results"  # noqa: S608
        f" where run_id = '{quoted_run}' and gate = '{outcome.gate}';",
        "",
        "一、未通过的致命规则 / Fatal rules that failed",
        RULE,
    ]
    for number, result in enumerate(failures, 1):
        lines += _rule_block(number, result)
    if outcome.warnings:
        lines += ["二、警告（不阻断发布）/ Warnings (do not block)", RULE]
        lines += [
            f"   {r.rule.id} {r.rule.description_zh}（{r.observed}）" for r in outcome.warnings
        ]
        lines.append("")
    lines += [
        f"{'三' if outcome.warnings else '二'}、修正之后 / After fixing",
        RULE,
        "   1. 数据问题：请一体化系统重新导出，放入 landing 目录"
        "（新的交付文件夹，或同一文件夹的更正文件）；",
        "      模型问题：修正 dbt 模型并合并发布。",
        "   2. 重新运行该检查点：在 Airflow 中清除本次 budget_monitoring 运行的失败任务，"
        f"或执行 budgetperf run --checkpoint {point}",
        "   3. 接受被拒绝的数据或行数变化须写明经办人和原因（见各规则的处理方法）。",
        "   Fix the data (re-export into the landing) or the model, then run the checkpoint again.",
        "",
        "—— budgetperf 数据质量闸门（规则目录：expectations/rules.yml）",
    ]
    attachments = []
    if outcome.report and outcome.report.is_file():
        attachments.append(
            Attachment(
                filename=outcome.report.name,
                content=outcome.report.read_bytes(),
                maintype="text",
                subtype="html",
            )
        )
    return Notice(
        kind="alert",
        subject=(
            f"【数据质量告警】{point} {outcome.gate_zh}（{outcome.gate}）闸门未通过："
            f"{len(failures)} 条致命规则 {', '.join(r.rule.id for r in failures[:5])}"
            + ("…" if len(failures) > 5 else "")
        ),
        recipient=rc.settings.data_engineers_email,
        sender=rc.settings.sender_email,
        body_text="\n".join(lines) + "\n",
        attachments=attachments,
        fiscal_year=rc.fiscal_year,
        checkpoint_date=rc.checkpoint,
        department_code=gate_alert_key(outcome.gate, rc.run_id),
        run_id=rc.run_id,
    )


def alert_gate_failure(outcome: GateOutcome, rc: RunContext) -> None:
    """Record the alert in ops.notices and deliver it (SMTP, or the outbox folder)."""
    notice = render_gate_alert(outcome, rc)
    recorded = record_notice(rc.warehouse_url, notice)
    deliver_pending(
        rc.warehouse_url,
        smtp=smtp_settings_from_airflow(),
        outbox=rc.settings.outbox,
        notice_ids=[recorded.notice_id],
    )
