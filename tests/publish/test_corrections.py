"""A corrected delivery: one payment of one department changes after the notices of
06-30 went out. The re-run sends exactly the corrected notices, marked 更正: that
department's and the office summary (its ranking figures changed), nobody else's."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from publish_helpers import (
    JUNE,
    OFFICE,
    POINTS,
    DemoYear,
    build,
    correct_payment,
    query,
    run_context,
    smtp_server,
    wan,
)

from budgetperf.publish.ledger import CORRECTION_MARK
from budgetperf.publish.notices import publish_monitoring_notices

pytestmark = pytest.mark.xdist_group("publish")


def test_corrected_delivery_sends_exactly_the_corrected_notices(
    copy_demo: Callable[[], str], demo_year: DemoYear, tmp_path: Path
) -> None:
    url = copy_demo()
    home = tmp_path / "home"
    rc = run_context(url, home, JUNE)
    department = query(
        url,
        """
        select department_code, department_name, contact_email
        from marts.rpt_department_progress as r
        where checkpoint_date = %s and projects_needing_correction > 0
          and contact_email is not null and department_code <> %s
          and exists (
              select from marts.fct_project_progress as p
              where p.checkpoint_date = r.checkpoint_date
                and p.department_code = r.department_code
                and p.needs_correction and p.spent_yuan > 0
          )
        order by department_code limit 1
        """,
        (JUNE, demo_year.tweaks["malicious_department"]),
    )[0]
    project = query(
        url,
        """
        select project_code, spent_yuan from marts.fct_project_progress
        where checkpoint_date = %s and department_code = %s and needs_correction
          and spent_yuan > 0
        order by project_code limit 1
        """,
        (JUNE, department["department_code"]),
    )[0]
    with smtp_server() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_SMTP_DEFAULT", server.airflow_connection())
        first = publish_monitoring_notices(rc)
        before = len(server.messages)
        assert first.new == first.recorded and first.corrections == 0

        delta = Decimal("1234.56")
        landing = tmp_path / "landing"
        shutil.copytree(demo_year.landing, landing)
        correct_payment(url, landing, JUNE, project["project_code"], delta)
        build(url, home, select="stg_budget_system__budget_executions+")
        corrected = publish_monitoring_notices(rc)
        new = server.messages[before:]

    assert corrected.new == 2 and corrected.corrections == 2
    assert corrected.unchanged == corrected.recorded - 2
    assert sorted(m.rcpt_tos[0] for m in new) == sorted([department["contact_email"], OFFICE])
    assert all(m.subject.startswith(CORRECTION_MARK) for m in new)
    notice = next(m for m in new if m.rcpt_tos == [department["contact_email"]])
    assert "更正" in notice.text() and "更正" in notice.html()
    spent = project["spent_yuan"] + delta
    assert query(
        url,
        "select spent_yuan from marts.fct_project_progress "
        "where checkpoint_date = %s and project_code = %s",
        (JUNE, project["project_code"]),
    ) == [{"spent_yuan": spent}]
    assert f"已支出{wan(spent)}万元" in notice.text()

    ledger = query(
        url,
        """
        select department_code, kind, revision, is_correction, status from ops.notices
        where checkpoint_date = %s order by kind, department_code, revision
        """,
        (JUNE,),
    )
    revised = {(r["kind"], r["department_code"]) for r in ledger if r["revision"] == 2}
    assert revised == {("department", department["department_code"]), ("summary", None)}
    assert all(r["is_correction"] == (r["revision"] == 2) for r in ledger)
    assert {r["status"] for r in ledger} <= {"sent", "no_recipient"}


def test_a_corrected_delivery_changes_exactly_its_sums_and_the_increment_equals_a_rebuild(
    copy_demo: Callable[[], str], demo_year: DemoYear, tmp_path: Path
) -> None:
    # int_payments_summed_to_projects is incremental: a build re-sums only the points whose
    # effective budget_execution load changed. The June correction must change the June
    # sum of its project and nothing else, and the table must equal a full rebuild.
    url = copy_demo()
    home = tmp_path / "home"
    sums = """
        select checkpoint_date, project_code, source_load_id, spent_yuan, payment_records
        from intermediate.int_payments_summed_to_projects
        order by checkpoint_date, project_code
    """
    before = {(r["checkpoint_date"], r["project_code"]): r for r in query(url, sums)}
    assert {point for point, _ in before} == set(POINTS)
    project = next(code for point, code in before if point == JUNE)
    delta = Decimal("-0.01")
    landing = tmp_path / "landing"
    shutil.copytree(demo_year.landing, landing)
    correct_payment(url, landing, JUNE, project, delta)

    build(url, home, select="stg_budget_system__budget_executions+")
    after = {(r["checkpoint_date"], r["project_code"]): r for r in query(url, sums)}
    assert after.keys() == before.keys()
    changed = {key for key in after if after[key]["spent_yuan"] != before[key]["spent_yuan"]}
    assert changed == {(JUNE, project)}
    assert after[JUNE, project]["spent_yuan"] == before[JUNE, project]["spent_yuan"] + delta
    reloaded = {
        key for key in after if after[key]["source_load_id"] != before[key]["source_load_id"]
    }
    assert reloaded == {key for key in after if key[0] == JUNE}  # June's load, re-summed

    build(url, home, select="int_payments_summed_to_projects", full_refresh=True)
    assert query(url, sums) == list(after.values())
