"""Reading the quality history (``ops.dq_results``) back: what reports and people call.

``warnings_for(url, checkpoint)`` is the API the reports use: the warnings of the latest
run of a checkpoint, each self-describing (texts, observed value, sample rows, SQL), read
from ``ops.dq_results`` alone (the publisher role may read that table and no other quality
table), so it needs neither GX nor the catalogue. The query is the one of the view
``ops.dq_latest_results`` (migration 0300), which data engineers use in psql.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from budgetperf.warehouse import connect


@dataclass(frozen=True)
class QualityFinding:
    """One rule's verdict in a gate run, as stored in ops.dq_results."""

    run_id: str
    checkpoint_date: dt.date
    gate: str  # raw | marts
    rule_id: str
    severity: str  # fatal | warning
    success: bool
    observed: str
    checked_at: dt.datetime
    relation: str = ""
    description_zh: str = ""
    description_en: str = ""
    fix_zh: str = ""
    fix_en: str = ""
    owner: str = ""
    sample: list[dict[str, Any]] = field(default_factory=list)
    sql: str = ""

    @property
    def text_zh(self) -> str:
        """One line for a report: 【警告】RAW-CMP-02 说明（观测值）。"""
        label = "警告" if self.severity == "warning" else "致命"
        return f"【{label}】{self.rule_id} {self.description_zh}（{self.observed}）"


# Kept as the name the brief and the reports use for a warning.
QualityWarning = QualityFinding

# the latest run of the checkpoint; in it, the latest verdict of each (gate, rule)
_LATEST = """
    with latest_run as (
        select run_id from ops.dq_results
        where checkpoint_date = %(point)s
        order by checked_at desc, result_id desc
        limit 1
    )
    select * from (
        select distinct on (r.gate, r.rule_id)
            r.run_id, r.checkpoint_date, r.gate, r.rule_id, r.severity, r.success,
            coalesce(r.observed, ''), r.checked_at, coalesce(r.details, '{}'::jsonb)
        from ops.dq_results as r
        where r.checkpoint_date = %(point)s and r.run_id = (select run_id from latest_run)
        order by r.gate, r.rule_id, r.checked_at desc, r.result_id desc
    ) as latest
    order by gate desc, rule_id
"""


def _finding(row: tuple[Any, ...]) -> QualityFinding:
    details: dict[str, Any] = row[8] or {}
    return QualityFinding(
        run_id=row[0],
        checkpoint_date=row[1],
        gate=row[2],
        rule_id=row[3],
        severity=row[4],
        success=bool(row[5]),
        observed=row[6],
        checked_at=row[7],
        relation=str(details.get("relation") or ""),
        description_zh=str(details.get("description_zh") or ""),
        description_en=str(details.get("description_en") or ""),
        fix_zh=str(details.get("fix_zh") or ""),
        fix_en=str(details.get("fix_en") or ""),
        owner=str(details.get("owner") or ""),
        sample=list(details.get("sample") or []),
        sql=str(details.get("sql") or ""),
    )


def latest_results(url: str, checkpoint: dt.date) -> list[QualityFinding]:
    """Every rule's latest verdict in the latest run of ``checkpoint`` (both gates)."""
    with connect(url) as conn:
        rows = conn.execute(_LATEST, {"point": checkpoint}).fetchall()
    return [_finding(row) for row in rows]


def warnings_for(url: str, checkpoint: dt.date) -> list[QualityWarning]:
    """The warnings (severity warning, not passed) of the latest run of ``checkpoint``.

    Raw gate first, then marts; empty when the checkpoint has not been checked yet.
    """
    return [f for f in latest_results(url, checkpoint) if f.severity == "warning" and not f.success]


def failures_for(url: str, checkpoint: dt.date) -> list[QualityFinding]:
    """The fatal rules that failed in the latest run of ``checkpoint``."""
    return [f for f in latest_results(url, checkpoint) if f.severity == "fatal" and not f.success]
