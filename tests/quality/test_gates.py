"""Both gates, for real: Great Expectations against a real PostgreSQL warehouse.

One module-scoped world (see quality_seed.py) is seeded by SQL, built with dbt once, and
checked at both of its checkpoints; copies of it receive one fault per fatal rule (the
loader would refuse most of these rows, hence SQL) and run each gate once, through the
DAG's own task body, so "publication is blocked" means what the DAG sees: the gate task
raises AirflowFailException (the publish tasks downstream then never run: a real DAG run
shows it in test_blocked_run.py) after the alert went through the notice channel. Every
fatal rule must fail on the very row injected for it (quality_seed.FAULT_SIGNATURES), not
merely on some row of the shared faulty database.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    as_quality,
    dbt_build_quietly,
    execute,
    git_status,
    rows,
    run_gate_task,
    settings_for,
)
from quality_seed import (
    FAULT_SIGNATURES,
    JUNE,
    MARTS_FAULT_RULES,
    NEXT_JUNE,
    RAW_FAULT_RULES,
    REJECT_RULES,
    WARNING_RULES,
    YEAR_END,
    inject_raw_faults,
    inject_reject_problems,
    seed_clean,
    seed_next_year_with_warnings,
    tamper_marts,
)

from budgetperf.quality.catalogue import catalogue_path, load_catalogue
from budgetperf.quality.gates import SAMPLE_ROWS, GateOutcome, run_gate
from budgetperf.warehouse.migrate import migrate

pytestmark = pytest.mark.xdist_group("quality-gates")

PROJECT_DIR = Path(__file__).resolve().parents[2]
RULES = load_catalogue(catalogue_path(PROJECT_DIR / "expectations"))
FATAL = {r.id for r in RULES if r.is_fatal}
BY_ID = {r.id: r for r in RULES}
REMOTE_ASSET = re.compile(
    r"""(<script[^>]*\bsrc=["']https?:|<link[^>]*\bhref=["']https?:|<img[^>]*\bsrc=["']https?:"""
    r"""|url\(\s*["']?https?:|@import\s+["']?https?:)""",
    re.I,
)


def _results(url: str, run_id: str, gate: str) -> dict[str, tuple[Any, ...]]:
    found = rows(
        url,
        "select rule_id, severity, success, observed, details, checked_at, checkpoint_date"
        " from ops.dq_results where run_id = %s and gate = %s",
        (run_id, gate),
    )
    return {r[0]: r for r in found}


def _committed_state() -> tuple[str, dict[str, bytes]]:
    """git's view of expectations/ and the bytes of every tracked file in it."""
    tracked = subprocess.run(
        ["git", "ls-files", "expectations"], cwd=PROJECT_DIR, capture_output=True, text=True
    ).stdout.split()
    return git_status("expectations/"), {f: (PROJECT_DIR / f).read_bytes() for f in tracked}


@pytest.fixture(scope="module")
def committed_before() -> tuple[str, dict[str, bytes]]:
    return _committed_state()


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory, committed_before: tuple[str, dict[str, bytes]]
) -> Path:
    # committed_before: taken before any gate of this module runs
    return tmp_path_factory.mktemp("quality-home")


@pytest.fixture(scope="module")
def seeded(database_factory: Any) -> str:
    url = database_factory()
    migrate(url)
    seed_clean(url)
    seed_next_year_with_warnings(url)
    return url


@pytest.fixture(scope="module")
def clean(
    seeded: str, clone: Any, home: Path
) -> tuple[str, dict[tuple[str, dt.date], GateOutcome]]:
    """The clean world built and checked at both checkpoints, raw then marts."""
    url = clone(seeded)
    dbt_build_quietly(home, url)
    outcomes = {}
    for point in (JUNE, YEAR_END):
        for gate in ("raw", "marts"):
            outcomes[(gate, point)] = run_gate(
                gate,
                warehouse_url=as_quality(url),
                checkpoint=point,
                run_id=f"clean-{point}",
                settings=settings_for(home),
            )
    return url, outcomes


@pytest.fixture(scope="module")
def raw_faults(seeded: str, clone: Any, home: Path) -> tuple[str, Any]:
    url = clone(seeded)
    inject_raw_faults(url)
    inject_reject_problems(url)
    return url, run_gate_task(home, url, "raw", YEAR_END, "faults-raw")


@pytest.fixture(scope="module")
def next_year(clean: tuple[str, Any], home: Path) -> tuple[str, dict[str, Any]]:
    """2022-06-30 (same database): warnings only, through the DAG's gate task."""
    url = clean[0]
    return url, {
        gate: run_gate_task(home, url, gate, NEXT_JUNE, "next-june") for gate in ("raw", "marts")
    }


@pytest.fixture(scope="module")
def marts_faults(clean: tuple[str, Any], next_year: Any, clone: Any, home: Path) -> tuple[str, Any]:
    # a copy of the clean world after its gates passed: the row-count baseline is there
    url = clone(clean[0])
    tamper_marts(url)
    return url, run_gate_task(home, url, "marts", YEAR_END, "faults-marts")


@pytest.fixture(scope="module")
def empty(database_factory: Any) -> str:
    """A checkpoint with nothing delivered at all."""
    url = database_factory()
    migrate(url)
    execute(
        url,
        "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year)"
        " values ('2021-06-30', 2021)",
    )
    return url


# -- a clean delivery passes ------------------------------------------------------------


@pytest.mark.parametrize("point", [JUNE, YEAR_END], ids=str)
@pytest.mark.parametrize("gate", ["raw", "marts"])
def test_clean_delivery_passes_both_gates(clean: Any, gate: str, point: dt.date) -> None:
    outcome = clean[1][(gate, point)]
    failed = [r.line() for r in outcome.results if not r.success]
    assert failed == []
    assert outcome.passed
    assert len(outcome.results) == len([r for r in RULES if r.gate == gate])


def test_every_verdict_is_stored_in_dq_results(clean: Any) -> None:
    url, outcomes = clean
    for (gate, point), outcome in outcomes.items():
        stored = _results(url, f"clean-{point}", gate)
        assert set(stored) == {r.rule.id for r in outcome.results}
        for result in outcome.results:
            _, severity, success, observed, details, checked_at, checkpoint = stored[result.rule.id]
            assert (severity, success, checkpoint) == (result.rule.severity, result.success, point)
            assert observed and checked_at is not None
            assert details["description_zh"] == result.rule.description_zh
            assert details["sql"].startswith(("select", "with"))


def test_passing_marts_gate_makes_its_counts_the_baseline(clean: Any) -> None:
    found = rows(
        clean[0],
        "select checkpoint_date, run_id, accepted_by from ops.dq_row_count_baselines"
        " order by checkpoint_date",
    )
    assert found == [
        (JUNE, f"clean-{JUNE}", "marts gate"),
        (YEAR_END, f"clean-{YEAR_END}", "marts gate"),
    ]


def test_native_rule_on_an_empty_batch_passes_with_zero_rows(clean: Any) -> None:
    # no evaluations are delivered by 06-30: GX cannot build that batch, nothing to violate
    outcome = clean[1][("raw", JUNE)]
    grade = next(r for r in outcome.results if r.rule.id == "RAW-REF-11")
    assert grade.success and grade.element_count == 0
    assert "0 行" in grade.observed


# -- each fatal rule has a case that fails it ------------------------------------------------


def _assert_failed_on_its_own_fault(url: str, stored: tuple[Any, ...], rule_id: str) -> None:
    """The rule failed, on the data, because of the very row injected for it.

    All faults of a gate share one database, so "the sample is not empty" would let a
    broken rule pass on another rule's row: its sample must hold the injected row, the
    number of offending rows must be exactly the injected ones (FAULT_SIGNATURES), and the
    SQL the alert gives must list the same rows.
    """
    _, severity, success, observed, details, _, _ = stored
    assert (severity, success) == ("fatal", False)
    # failed on the data, not on a broken rule
    assert "无法执行" not in observed and details["error"] is None, observed
    signature, count = FAULT_SIGNATURES[rule_id]
    sample = details["sample"]
    mine = [row for row in sample if all(k in row and row[k] == v for k, v in signature.items())]
    assert mine, f"{rule_id}: no sample row is its injected fault {signature}: {sample}"
    assert details["unexpected_count"] == count, (rule_id, observed, sample)
    assert len(sample) == min(count, SAMPLE_ROWS), sample
    assert len(rows(url, details["sql"])) == count, details["sql"]
    rule = BY_ID[rule_id]
    if rule.expectation_type is not None:
        # the sample comes from the catalogue's SQL; GX's own verdict names the value too
        value = mine[0][rule.kwargs["column"]]
        assert f"{value}×" in observed, (rule_id, value, observed)


@pytest.mark.parametrize("rule_id", RAW_FAULT_RULES)
def test_raw_fault_fails_its_rule(raw_faults: Any, rule_id: str) -> None:
    url, _ = raw_faults
    _assert_failed_on_its_own_fault(url, _results(url, "faults-raw", "raw")[rule_id], rule_id)


@pytest.mark.parametrize("rule_id", REJECT_RULES)
def test_rejected_data_fails_its_rule(raw_faults: Any, rule_id: str) -> None:
    url, _ = raw_faults
    _assert_failed_on_its_own_fault(url, _results(url, "faults-raw", "raw")[rule_id], rule_id)


def test_rejected_rows_sample_says_how_to_look_and_accept(raw_faults: Any) -> None:
    url, _ = raw_faults
    sample = _results(url, "faults-raw", "raw")["RAW-REJ-01"][4]["sample"][0]
    assert sample["look_command"].startswith("budgetperf rejects --as-of 20211231 --load-id ")
    assert sample["accept_command"].startswith("budgetperf rejects accept --load-id ")


@pytest.mark.parametrize("rule_id", MARTS_FAULT_RULES)
def test_marts_fault_fails_its_rule(marts_faults: Any, rule_id: str) -> None:
    url, _ = marts_faults
    stored = _results(url, "faults-marts", "marts")[rule_id]
    _assert_failed_on_its_own_fault(url, stored, rule_id)


def test_nothing_delivered_fails_completeness_alerts_and_gx_prints_nothing(
    empty: str, home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    capfd.readouterr()
    # through the DAG's gate task, so RAW-CMP-01 also reaches the data engineers' alert
    task_result = run_gate_task(home, empty, "raw", JUNE, "empty")
    # GX's print() calls (about {batch}, progress) and warnings stay out of the task log
    out, err = capfd.readouterr()
    assert out == "" and err == "", out + err
    assert isinstance(task_result, AirflowFailException)
    assert "RAW-CMP-01" in str(task_result)
    stored = _results(empty, "empty", "raw")
    assert set(stored) == {r.id for r in RULES if r.gate == "raw"}
    # every other rule has nothing to object to on empty data
    assert {rule_id for rule_id, row in stored.items() if not row[2]} == {"RAW-CMP-01"}
    details = stored["RAW-CMP-01"][4]
    assert {row["entity"] for row in details["sample"]} == {"departments", "projects"}
    assert details["unexpected_count"] == 2
    text = _alert_text(empty, "raw", "empty", ["RAW-CMP-01"])
    assert "departments" in text and "projects" in text  # the sample rows


def test_every_fatal_rule_has_a_failing_case() -> None:
    covered = {*RAW_FAULT_RULES, *REJECT_RULES, *MARTS_FAULT_RULES, "RAW-CMP-01"}
    assert covered == FATAL
    # and each case says which row is its own (RAW-CMP-01: the empty warehouse's test)
    missing = FATAL - {"RAW-CMP-01"} - set(FAULT_SIGNATURES)
    assert not missing, f"add the injected row of {missing} to quality_seed.FAULT_SIGNATURES"
    assert set(FAULT_SIGNATURES) <= FATAL


# -- a fatal failure blocks publication and alerts the data engineers -------------------------


def _alert(url: str, gate: str, run_id: str) -> email.message.EmailMessage:
    """The one alert of a gate run, as the outbox holds it."""
    found = rows(
        url,
        "select status, recipient, outbox_path, subject from ops.notices"
        " where kind = 'alert' and department_code = %s",
        (f"gate:{gate}:{run_id}",),
    )
    assert len(found) == 1, found
    status, recipient, outbox_path, subject = found[0]
    assert status == "sent" and recipient == "data-engineers@budgetperf.local"
    assert subject.startswith("【数据质量告警】")
    message = email.message_from_bytes(Path(outbox_path).read_bytes(), policy=email.policy.SMTP)
    assert isinstance(message, email.message.EmailMessage)
    return message


def _alert_text(url: str, gate: str, run_id: str, expected_rules: list[str]) -> str:
    """The alert's plain text: it names exactly the failed fatal rules, each with its
    observed value as ops.dq_results holds it, how to fix it and the SQL to look."""
    message = _alert(url, gate, run_id)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith("数据工程师：")
    stored = _results(url, run_id, gate)
    failed = sorted(r for r, row in stored.items() if row[1] == "fatal" and not row[2])
    assert failed == sorted(expected_rules)
    for rule_id in expected_rules:
        assert rule_id in text
        assert f"观测值：{stored[rule_id][3]}" in text, rule_id
    for words in ("观测值", "问题数据样例", "处理方法", "查看全部问题行的 SQL", "质量报告"):
        assert words in text
    assert f"where run_id = '{run_id}'" in text
    attachments = [p.get_filename() for p in message.iter_attachments()]
    assert attachments == [f"quality_{gate}.html"]
    return text


@pytest.mark.parametrize(
    ("fixture", "gate", "run_id", "expected_rules", "sample_value"),
    [
        ("raw_faults", "raw", "faults-raw", [*RAW_FAULT_RULES, *REJECT_RULES], "P999"),
        ("marts_faults", "marts", "faults-marts", list(MARTS_FAULT_RULES), "80001.00"),
    ],
)
def test_fatal_failure_blocks_publication_and_alerts(
    request: pytest.FixtureRequest,
    fixture: str,
    gate: str,
    run_id: str,
    expected_rules: list[str],
    sample_value: str,
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    url, task_result = request.getfixturevalue(fixture)
    # the gate task failed without retry: Airflow skips the publish tasks downstream (a
    # real DAG run proves it: tests/quality/test_blocked_run.py)
    assert isinstance(task_result, AirflowFailException)
    assert all(rule_id in str(task_result) for rule_id in expected_rules)
    text = _alert_text(url, gate, run_id, expected_rules)
    assert sample_value in text  # a value from the sample rows


def test_alert_sql_lists_the_offending_rows(raw_faults: Any) -> None:
    """The SQL the alert gives is runnable and finds what the gate found (every rule's
    SQL is run in _assert_failed_on_its_own_fault; here the rows themselves)."""
    url, _ = raw_faults
    details = _results(url, "faults-raw", "raw")["RAW-REF-INT-01"][4]
    found = rows(url, details["sql"])
    assert [r[0] for r in found] == ["R1003"]


# -- warnings are reported and published -----------------------------------------------------


def test_warnings_do_not_block_publication(next_year: Any) -> None:
    url, results = next_year
    # the task returned its summary: the publish tasks downstream run
    assert results["raw"]["passed"] and results["marts"]["passed"], results
    assert results["raw"]["warnings"] == ["RAW-RNG-08", "RAW-RNG-09", "RAW-CMP-02"]
    assert results["marts"]["warnings"] == ["MART-BND-04"]
    assert not rows(url, "select 1 from ops.notices where kind = 'alert' and run_id = 'next-june'")


def test_warnings_are_recorded_and_returned_by_warnings_for(next_year: Any) -> None:
    from budgetperf.quality.results import warnings_for

    url, _ = next_year
    found = warnings_for(url, NEXT_JUNE)
    assert {w.rule_id for w in found} == set(WARNING_RULES)
    assert [w.gate for w in found] == ["raw", "raw", "raw", "marts"]
    overspent = next(w for w in found if w.rule_id == "MART-BND-04")
    assert overspent.severity == "warning" and not overspent.success
    assert overspent.run_id == "next-june" and overspent.checkpoint_date == NEXT_JUNE
    assert overspent.description_zh.startswith("项目执行率不超过")
    assert [row["project_code"] for row in overspent.sample] == ["P102"]
    assert overspent.text_zh.startswith("【警告】MART-BND-04 ")
    email = next(w for w in found if w.rule_id == "RAW-CMP-02")
    assert [row["department_code"] for row in email.sample] == ["002"]


def test_clean_checkpoint_has_no_warnings(clean: Any) -> None:
    from budgetperf.quality.results import warnings_for

    assert warnings_for(clean[0], JUNE) == []
    assert warnings_for(clean[0], dt.date(2023, 6, 30)) == []  # never checked


def test_warning_report_says_published(next_year: Any, home: Path) -> None:
    page = home / "outputs" / "runs" / "2022-06-30" / "quality_marts.html"
    html = page.read_text(encoding="utf-8")
    assert "通过（有警告）" in html and "MART-BND-04" in html and "P102" in html


# -- offline reports and Data Docs; committed files untouched -------------------------------


def _reports(home: Path) -> list[Path]:
    return sorted((home / "outputs" / "runs").rglob("quality_*.html"))


def test_reports_open_offline(
    clean: Any, next_year: Any, raw_faults: Any, marts_faults: Any, home: Path
) -> None:
    reports = _reports(home)
    assert {p.name for p in reports} == {"quality_raw.html", "quality_marts.html"}
    for page in reports:
        html = page.read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html, page
        assert "<script" not in html and "<link" not in html
        assert html.startswith("<!DOCTYPE html>") and "数据质量报告" in html
    year_end = (home / "outputs" / "runs" / "2021-12-31" / "quality_marts.html").read_text()
    assert "未通过：本次运行不发布" in year_end and "MART-REC-01" in year_end


def test_gx_data_docs_pages_have_no_remote_assets(clean: Any, raw_faults: Any) -> None:
    outcome = clean[1][("raw", YEAR_END)]
    assert outcome.data_docs is not None and outcome.data_docs.name == "index.html"
    pages = [outcome.data_docs, *outcome.data_docs_pages]
    assert len(outcome.data_docs_pages) > 5
    assert all(p.is_file() and outcome.data_docs.parent in p.parents for p in pages)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not REMOTE_ASSET.search(html), (page, REMOTE_ASSET.search(html))


def test_gate_runs_leave_committed_files_untouched(
    committed_before: Any, clean: Any, next_year: Any, raw_faults: Any, marts_faults: Any
) -> None:
    # compared with before the runs, so a developer's uncommitted edit does not fail this
    assert _committed_state() == committed_before
    if committed_before[0] == "":  # a clean checkout (CI) stays clean
        assert git_status("expectations/") == ""


def test_catalogue_relations_exist_after_dbt_build(clean: Any) -> None:
    url = clean[0]
    for rule in RULES:
        found = rows(
            url,
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (rule.schema, rule.table),
        )
        assert found, f"{rule.id}: {rule.relation} does not exist after dbt build"
        if rule.batch == "checkpoint":
            assert ("checkpoint_date",) in found, (
                f"{rule.id}: {rule.relation} has no checkpoint_date"
            )
