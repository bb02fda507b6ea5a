"""Alerts to the data engineers when a gate blocks publication, via the notice channel."""

from __future__ import annotations

import json

from budgetperf.pipeline.context import RunContext
from budgetperf.publish.channel import smtp_settings_from_airflow
from budgetperf.publish.ledger import Notice, deliver_pending, record_notice
from budgetperf.quality.gates import GateOutcome


def render_gate_alert(outcome: GateOutcome, rc: RunContext) -> Notice:
    layer = "装载数据" if outcome.gate == "raw" else "数据集市"
    lines = [
        f"{rc.checkpoint} 检查点的{layer}质量闸门未通过，本次运行不发布通报和预算建议。",
        f"Run: {rc.run_id}",
        "",
    ]
    for result in outcome.failures:
        lines.append(result.line())
        lines.append(f"  处理方法：{result.rule.fix_zh}")
        if result.sample:
            sample = json.dumps(result.sample, ensure_ascii=False, default=str)
            lines.append(f"  样例：{sample[:1000]}")
        lines.append("")
    if outcome.warnings:
        lines.append("警告（不阻断发布）：")
        lines += ["  " + r.line() for r in outcome.warnings]
    if outcome.data_docs:
        lines.append(f"Data Docs：{outcome.data_docs}")
    lines.append(f"质量记录：ops.dq_results 表中 run_id 为 {rc.run_id} 的行")
    return Notice(
        kind="alert",
        subject=(
            f"【数据质量告警】{rc.checkpoint} {outcome.gate} 闸门未通过"
            f"（{len(outcome.failures)} 条）"
        ),
        recipient=rc.settings.data_engineers_email,
        sender=rc.settings.sender_email,
        body_text="\n".join(lines),
        fiscal_year=rc.fiscal_year,
        checkpoint_date=rc.checkpoint,
        department_code=f"gate:{outcome.gate}:{rc.run_id}",
        run_id=rc.run_id,
    )


def alert_gate_failure(outcome: GateOutcome, rc: RunContext) -> None:
    notice = render_gate_alert(outcome, rc)
    recorded = record_notice(rc.warehouse_url, notice)
    deliver_pending(
        rc.warehouse_url,
        smtp=smtp_settings_from_airflow(),
        outbox=rc.settings.outbox,
        notice_ids=[recorded.notice_id],
    )
