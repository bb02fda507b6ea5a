"""Reports for people: a self-contained HTML page per checkpoint, from the marts.

(The full monitoring and year-end reports with charts are built on this; every figure is
read from the marts, formatted here in 万元.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from budgetperf.pipeline.context import RunContext
from budgetperf.publish.notices import _rows, _templates
from budgetperf.warehouse import connect


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)

    def one_line(self) -> str:
        return "reports: " + (", ".join(str(p) for p in self.files) or "none")

    def summary(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files]}


def write_reports(rc: RunContext) -> ReportResult:
    with connect(rc.warehouse_url) as conn:
        checkpoint = _rows(
            conn, "select * from marts.dim_checkpoints where checkpoint_date = %s", (rc.checkpoint,)
        )
        ranking = _rows(
            conn,
            """
            select * from marts.rpt_department_progress where checkpoint_date = %s
            order by rank nulls last, department_code
            """,
            (rc.checkpoint,),
        )
        statuses = _rows(
            conn,
            """
            select progress_status, count(*) as projects, sum(budget_amount_yuan) as budget
            from marts.fct_project_progress where checkpoint_date = %s
            group by progress_status order by progress_status
            """,
            (rc.checkpoint,),
        )
    html = _templates.get_template("monitoring_report.html").render(
        checkpoint=rc.checkpoint,
        info=checkpoint[0] if checkpoint else None,
        ranking=ranking,
        statuses=statuses,
    )
    folder = rc.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "monitoring_report.html"
    path.write_text(html, encoding="utf-8")
    return ReportResult([path])
