"""The quality report people open: one self-contained HTML page per gate run.

GX's own Data Docs pull Bootstrap, jQuery and Vega from public CDNs and draw their index
with JavaScript, so on a closed bureau network they are blank or unstyled. This page is
rendered from the same validation results (the gate's RuleResults) with inline CSS and no
script, link or image from anywhere: it opens from a USB stick. It is written next to the
run's other outputs, ``$BUDGETPERF_OUTPUTS/runs/<checkpoint>/quality_<gate>.html``, with a
machine-readable ``quality_<gate>.json`` beside it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from budgetperf.settings import Settings

if TYPE_CHECKING:
    from budgetperf.quality.gates import GateOutcome

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
CATEGORY_ZH = {
    "key": "主键唯一",
    "required": "必填项",
    "reference": "代码值",
    "range": "取值范围",
    "integrity": "引用完整性",
    "completeness": "完整性",
    "rejects": "拒绝数据",
    "manifest": "交付清单",
    "reconciliation": "对账",
    "bounds": "比率边界",
    "grade": "评价等级",
    "proposal": "预算建议",
    "coverage": "覆盖率",
    "row_count": "行数变化",
}


def report_dir(settings: Settings, checkpoint: dt.date) -> Path:
    """The run's output folder (the same as RunContext.output_dir)."""
    return settings.runs_dir / checkpoint.isoformat()


def local_time(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def render_gate_report(outcome: GateOutcome, *, data_docs_pages: dict[str, Path]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("budgetperf.quality", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
    env.filters["columns"] = _columns
    env.filters["category_zh"] = lambda c: CATEGORY_ZH.get(c, c)
    return env.get_template("quality_report.html").render(
        outcome=outcome,
        checked_at=local_time(outcome.checked_at),
        data_docs_pages=sorted(
            (name, str(path)) for name, path in data_docs_pages.items() if name != "index"
        ),
        data_docs_index=str(data_docs_pages["index"]) if "index" in data_docs_pages else None,
    )


def write_gate_report(
    outcome: GateOutcome, settings: Settings, *, data_docs_pages: dict[str, Path]
) -> Path:
    """Write quality_<gate>.html and quality_<gate>.json into the run's output folder."""
    folder = report_dir(settings, outcome.checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"quality_{outcome.gate}.html"
    partial = page.with_suffix(".html.partial")
    partial.write_text(
        render_gate_report(outcome, data_docs_pages=data_docs_pages), encoding="utf-8"
    )
    partial.replace(page)
    document = {
        **outcome.summary(),
        "run_id": outcome.run_id,
        "checked_at": outcome.checked_at.isoformat() if outcome.checked_at else None,
        "results": [
            {
                "rule_id": r.rule.id,
                "severity": r.rule.severity,
                "success": r.success,
                "observed": r.observed,
                **r.details(),
            }
            for r in outcome.results
        ],
    }
    (folder / f"quality_{outcome.gate}.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return page
