"""A fatal raw-gate failure blocks publication in a real DAG run, not only in the task body.

tests/quality/test_gates.py shows the gate task raising AirflowFailException; this runs
the whole DAG once (`budgetperf run`, Airflow `dags test`) on the R2 delivery of
tests/e2e plus one payment of an unknown project. The loader rejects that row, so the raw
gate fails RAW-REJ-01 (rejected rows over the tolerance of 0), and Airflow itself must
then keep every publisher from running: no notice, no proposal feed, no disclosure, no
report, and the alert to the data engineers in the outbox. The run stops before dbt, so
it costs about a minute.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import rows

E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E) not in sys.path:
    sys.path.append(str(E2E))
from e2e_helpers import run, run_env  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("quality_blocked_run")]

PROJECT_DIR = Path(__file__).resolve().parents[2]
DELIVERIES = PROJECT_DIR / "tests" / "e2e" / "deliveries" / "r2_boundaries"
CHECKPOINT = "2023-06-30"
# a payment of a project nobody delivered: the loader's reference check rejects it
BAD_PAYMENT = "R0999,2023,P999,2023-05-02,10.00,V99,某某公司\n"
PUBLISHERS = ("publish_notices", "publish_proposal_feed", "publish_disclosure")


@pytest.fixture(scope="module")
def blocked_run(tmp_path_factory: pytest.TempPathFactory, database_factory: Any) -> dict[str, Any]:
    url = database_factory()
    home = tmp_path_factory.mktemp("blocked-home")
    landing = tmp_path_factory.mktemp("blocked-landing")
    shutil.copytree(DELIVERIES, landing, dirs_exist_ok=True)
    payments = landing / CHECKPOINT.replace("-", "") / "budget_execution.csv"
    text = payments.read_text(encoding="utf-8")
    payments.write_text(text.rstrip("\n") + "\n" + BAD_PAYMENT, encoding="utf-8")

    result = run(CHECKPOINT, run_env(home, url), landing)
    with sqlite3.connect(home / "airflow" / "airflow.db") as meta:
        runs = meta.execute(
            "select run_id, state from dag_run where dag_id = 'budget_monitoring'"
        ).fetchall()
        assert len(runs) == 1, (runs, result.stdout[-3000:])
        run_id, run_state = runs[0]
        states = dict(
            meta.execute(
                "select task_id, state from task_instance"
                " where dag_id = 'budget_monitoring' and run_id = ?",
                (run_id,),
            ).fetchall()
        )
    return {
        "url": url,
        "home": home,
        "result": result,
        "run_id": run_id,
        "run_state": run_state,
        "states": states,
    }


def test_the_run_fails_at_the_raw_gate(blocked_run: dict[str, Any]) -> None:
    result = blocked_run["result"]
    assert result.returncode != 0, result.stdout[-3000:]
    assert blocked_run["run_state"] == "failed"
    states = blocked_run["states"]
    assert (states["detect_delivery"], states["load"], states["gate_raw"]) == (
        "success",
        "success",
        "failed",
    ), states
    # the loader did its part: the bad row is rejected, the rest of the delivery loaded
    rejected = rows(blocked_run["url"], "select rule, raw_line from ops.rejected_rows")
    assert len(rejected) == 1 and "P999" in rejected[0][1], rejected
    # and the gate said why, in ops.dq_results
    failed = rows(
        blocked_run["url"],
        "select rule_id from ops.dq_results"
        " where run_id = %s and gate = 'raw' and severity = 'fatal' and not success",
        (blocked_run["run_id"],),
    )
    assert failed == [("RAW-REJ-01",)]


def test_airflow_never_ran_the_build_or_a_publisher(blocked_run: dict[str, Any]) -> None:
    states = blocked_run["states"]
    for task_id in ("build", "gate_marts", *PUBLISHERS):
        assert states[task_id] == "upstream_failed", (task_id, states)
    # the reports task runs after all publishers whatever they did, and skips itself
    # because the marts gate never passed
    assert states["publish_reports"] == "skipped", states
    assert states["alert_data_engineers"] == "success", states
    # finish recorded the same states for people to read
    summary_path = blocked_run["home"] / "outputs" / "runs" / CHECKPOINT / "run_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["status"] == "failed"
    assert summary["failed_tasks"] == sorted(["gate_raw", "build", "gate_marts", *PUBLISHERS])
    assert not {"build", "gate_marts", *PUBLISHERS} & set(summary["stages"])


def test_nothing_was_published(blocked_run: dict[str, Any]) -> None:
    url, home = blocked_run["url"], blocked_run["home"]
    notices = rows(url, "select kind, department_code, checkpoint_date::text from ops.notices")
    assert [n for n in notices if n[0] in ("department", "summary")] == []
    outputs = home / "outputs"
    assert not list(outputs.rglob("budget_proposals_*")), "a proposal feed was written"
    assert not [p for p in outputs.iterdir() if p.name != "runs"], list(outputs.iterdir())
    written = sorted(p.name for p in (outputs / "runs" / CHECKPOINT).iterdir())
    # the run's own record and the raw gate's quality report; no notice, no report
    assert "monitoring_report.html" not in written and "notices" not in written, written
    assert "quality_raw.html" in written and "run_summary.json" in written, written
    assert not rows(url, "select 1 from ops.dq_results where gate = 'marts'")


def test_the_alert_is_in_the_outbox(blocked_run: dict[str, Any]) -> None:
    url, home, run_id = blocked_run["url"], blocked_run["home"], blocked_run["run_id"]
    # one notice in all: the gate's own alert (the generic alert of failed tasks is not
    # sent for a gate that alerted on its own)
    notices = rows(url, "select kind, department_code, status, outbox_path from ops.notices")
    assert [n[:3] for n in notices] == [("alert", f"gate:raw:{run_id}", "sent")], notices
    outbox = list((home / "outbox").glob("*.eml"))
    assert outbox == [Path(notices[0][3])], outbox
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert message["To"] == "data-engineers@budgetperf.local"
    assert message["Subject"].startswith("【数据质量告警】")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "RAW-REJ-01" in text and "budget_execution" in text
    assert "本次运行已停止发布" in text


def test_the_run_folder_index_says_why_nothing_was_published(blocked_run: dict[str, Any]) -> None:
    folder = blocked_run["home"] / "outputs" / "runs" / CHECKPOINT
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert "本次运行失败，未发布任何内容 / This run failed: nothing was published" in html
    assert 'href="run_summary.json"' in html and 'href="quality_raw.html"' in html
    assert "monitoring_report.html" not in html
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["gates"]["raw"]["passed"] is False
    assert summary["gates"]["raw"]["failures"] == ["RAW-REJ-01"]
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (21, 1)
