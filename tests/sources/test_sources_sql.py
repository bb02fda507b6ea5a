"""The SQL source against a real PostgreSQL database playing the integration system's
reporting database: views with Chinese column names, a read-only account, the mapping of
``docs/examples/source-sql.yml`` as committed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import SourceDb
from source_system import SQL_EXAMPLE, expected_counts, set_gate

from budgetperf.ingest import load_landing
from budgetperf.ingest.landing import discover
from budgetperf.sources import (
    SourceConfigError,
    SourceConnection,
    SourceError,
    SourceNotReady,
    SourceSettings,
    open_source,
    pull_delivery,
)
from budgetperf.sources.base import Source

YEAR_END = dt.date(2021, 12, 31)
SEPTEMBER = dt.date(2021, 9, 30)


def sql_source(db: SourceDb, config: Path = SQL_EXAMPLE) -> Source:
    settings = SourceSettings(
        kind="sql", conn_id="budgetperf_source", config_path=config, state_dir=Path("/unused")
    )
    return open_source(settings, SourceConnection.from_url(db.reader_url, "budgetperf_source"))


def subset(tmp_path: Path, *entities: str) -> Path:
    """The committed example with only some of its entities."""
    import yaml

    config = yaml.safe_load(SQL_EXAMPLE.read_text(encoding="utf-8"))
    config["entities"] = {k: v for k, v in config["entities"].items() if k in entities}
    path = tmp_path / "source-sql.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def raw_counts(url: str, as_of: dt.date) -> dict[str, int]:
    counts = {}
    with psycopg.connect(url) as conn:
        for entity, n in conn.execute(
            "select entity, sum(rows_loaded) from ops.loads where as_of = %s and status = 'loaded'"
            " group by entity",
            (as_of,),
        ).fetchall():
            counts[entity] = int(n)
    return counts


def test_pulled_delivery_loads_cleanly_and_a_repull_is_skipped(
    shared_source_db: SourceDb,
    source_rows: dict[str, list[dict[str, Any]]],
    landing: Path,
    tmp_path: Path,
    warehouse_url: str,
) -> None:
    source = sql_source(shared_source_db)
    result = pull_delivery(source, landing, YEAR_END, state_dir=tmp_path / "state")
    assert result.status == "created"
    folder = landing / "20211231"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{e}.csv" for e in source_rows] + ["_manifest.json"]
    )
    assert [p.name for p in landing.iterdir() if p.name.startswith(".pull-")] == []
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    expected = expected_counts(source_rows, YEAR_END)
    assert {name.removesuffix(".csv"): e["rows"] for name, e in manifest["files"].items()} == (
        expected
    )
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"]
    payments = sum(r["amount_yuan"] for r in source_rows["budget_execution"])
    assert manifest["files"]["budget_execution.csv"]["amount_yuan_total"] == f"{payments:.2f}"

    report = load_landing(warehouse_url, landing)
    assert {f.status for f in report.files} == {"loaded"}, [
        (f.file_path, f.reason) for f in report.files
    ]
    assert sum(f.rows_rejected for f in report.files) == 0
    assert report.findings == []
    assert raw_counts(warehouse_url, YEAR_END) == expected

    # the source has not changed: the same bytes, and the loader skips every file
    before = folder_bytes(folder)
    again = pull_delivery(source, landing, YEAR_END, state_dir=tmp_path / "state")
    assert again.status == "unchanged"
    assert folder_bytes(folder) == before
    assert [e.sha256 for e in again.entities] == [e.sha256 for e in result.entities]
    skipped = load_landing(warehouse_url, landing)
    assert {f.status for f in skipped.files} == {"skipped"}


def test_a_checkpoint_pull_holds_what_the_export_job_delivered_at_that_date(
    shared_source_db: SourceDb,
    source_rows: dict[str, list[dict[str, Any]]],
    landing: Path,
    tmp_path: Path,
) -> None:
    """Pulled at the year-end for the 09-30 checkpoint, payments and indicator values
    dated later are left out: the file is the state as of 09-30. Its bytes are those of
    the 09-30 export the demo generator writes (UTF-8, English headers, as the export job
    of the integration system spells it)."""
    from budgetperf.generate.calibration import PINGLUO_2021
    from budgetperf.generate.county import build_county
    from budgetperf.generate.rows import STREAMS
    from budgetperf.generate.scenario import DEFAULT_SEED, PINGLUO_2021_FILES
    from budgetperf.generate.writers import open_writer

    result = pull_delivery(
        sql_source(shared_source_db), landing, SEPTEMBER, state_dir=tmp_path / "state"
    )
    counts = {e.entity: e.rows for e in result.entities}
    assert counts == expected_counts(source_rows, SEPTEMBER)
    assert counts["budget_execution"] < len(source_rows["budget_execution"])

    plan = next(
        f for f in PINGLUO_2021_FILES if f.as_of == SEPTEMBER and f.entity == "budget_execution"
    )
    exported = tmp_path / "export.csv"
    writer = open_writer(exported, plan.entity, plan.style, plan.as_of)
    model = build_county(DEFAULT_SEED, 0, PINGLUO_2021)
    for row in STREAMS[plan.stream](model, DEFAULT_SEED):
        if row[3] <= SEPTEMBER:  # type: ignore[operator]
            writer.write(row)
    writer.close()
    assert (landing / "20210930" / "budget_execution.csv").read_bytes() == exported.read_bytes()


def test_incremental_pull_equals_a_full_pull_byte_for_byte(
    source_db: SourceDb, source_rows: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    # the integration system as it was on 09-30: later payments and values not yet entered
    with psycopg.connect(source_db.admin_url, autocommit=True) as conn:
        for table, column in (("zf_zfmx", "支付日期"), ("jx_zbwc", "填报截止日期")):
            conn.execute(
                f"create table yth.later_{table} as select * from yth.{table}"
                f" where {column} > '2021-09-30'"
            )
            conn.execute(f"delete from yth.{table} where {column} > '2021-09-30'")
    # the entities pulled incrementally (a query, a view), and one that is not
    source = sql_source(
        source_db, subset(tmp_path, "departments", "budget_execution", "indicator_actuals")
    )
    state = tmp_path / "state"
    landing = tmp_path / "landing"
    first = pull_delivery(source, landing, SEPTEMBER, state_dir=state)
    assert {e.mode for e in first.entities} == {"full"}

    # then the quarter's payments and values arrive, and a September payment is corrected
    with psycopg.connect(source_db.admin_url, autocommit=True) as conn:
        for table in ("zf_zfmx", "jx_zbwc"):
            conn.execute(f"insert into yth.{table} select * from yth.later_{table}")
        corrected = conn.execute(
            "update yth.zf_zfmx set 收款方 = '宁夏更正后收款单位有限公司',"
            " 更新时间 = '2021-11-15 10:00' where seq = 7 returning 支付流水号"
        ).fetchone()
    assert corrected is not None

    incremental = pull_delivery(source, landing, YEAR_END, state_dir=state)
    modes = {e.entity: e.mode for e in incremental.entities}
    assert modes["budget_execution"] == modes["indicator_actuals"] == "incremental"
    assert modes["departments"] == "full"  # no incremental column configured
    payments = next(e for e in incremental.entities if e.entity == "budget_execution")
    later = len(source_rows["budget_execution"]) - first.entities[1].rows
    # the new payments, the corrected one, and the lookback day; far from everything
    assert later + 1 <= payments.fetched < later + 1000
    assert payments.replaced >= 1

    full = pull_delivery(source, tmp_path / "full-landing", YEAR_END, state_dir=tmp_path / "s2")
    assert {e.mode for e in full.entities} == {"full"}
    assert folder_bytes(landing / "20211231") == folder_bytes(
        tmp_path / "full-landing" / "20211231"
    )
    assert "宁夏更正后收款单位有限公司" in (
        landing / "20211231" / "budget_execution.csv"
    ).read_text(encoding="utf-8")

    # --full on demand re-reads everything and still gives the same delivery
    again = pull_delivery(source, landing, YEAR_END, state_dir=state, full=True)
    assert {e.mode for e in again.entities} == {"full"}
    assert again.status == "unchanged"


def _deliveries(landing: Path) -> list[str]:
    return sorted(p.name for p in landing.iterdir() if not p.name.startswith("."))


def _leftovers(landing: Path) -> list[str]:
    return sorted(p.name for p in landing.iterdir() if p.name.startswith(".pull-"))


def test_a_pull_that_fails_mid_stream_leaves_no_partial_delivery(
    source_db: SourceDb, source_rows: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    entities = ("departments", "budget_execution", "indicator_actuals")
    source = sql_source(source_db, subset(tmp_path, *entities))
    landing, state = tmp_path / "landing", tmp_path / "state"
    set_gate(source_db.admin_url, "fail", 20_000)
    with pytest.raises(SourceError) as failed:
        pull_delivery(source, landing, YEAR_END, state_dir=state)
    message = str(failed.value)
    assert failed.value.entity == "budget_execution"
    assert "(after 20,000 rows)" in message and "injected failure" in message, message
    assert _deliveries(landing) == [] and _leftovers(landing) == []

    set_gate(source_db.admin_url, "open")
    done = pull_delivery(source, landing, YEAR_END, state_dir=state)
    assert done.status == "created"
    counts = expected_counts(source_rows, YEAR_END)
    assert {e.entity: e.rows for e in done.entities} == {e: counts[e] for e in entities}
    before = folder_bytes(landing / "20211231")

    # a failing re-pull leaves the delivery in place as it was, and the pull state too
    set_gate(source_db.admin_url, "fail", 20_000)
    with pytest.raises(SourceError):
        pull_delivery(source, landing, YEAR_END, state_dir=state, full=True)
    assert _deliveries(landing) == ["20211231"] and _leftovers(landing) == []
    assert folder_bytes(landing / "20211231") == before
    set_gate(source_db.admin_url, "open")
    after = pull_delivery(source, landing, YEAR_END, state_dir=state)
    assert after.status == "unchanged"
    assert {e.entity: e.mode for e in after.entities}["budget_execution"] == "incremental"


def test_a_killed_pull_leaves_nothing_the_loader_reads_and_the_next_pull_completes(
    source_db: SourceDb, source_rows: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """``budgetperf pull`` in a subprocess, killed (SIGKILL) while the source stalls in
    the middle of the payments; the files before them are already written by then."""
    import os
    import subprocess
    import sys
    import time

    from source_system import GATE_LOCK

    from budgetperf.pipeline.detect import find_complete_deliveries

    home, landing = tmp_path / "home", tmp_path / "landing"
    entities = ("departments", "projects", "budget_execution", "indicator_actuals")
    config = subset(tmp_path, *entities)
    env = {
        **os.environ,
        "BUDGETPERF_HOME": str(home),
        "BUDGETPERF_LANDING": str(landing),
        "BUDGETPERF_SOURCE": "sql",
        "BUDGETPERF_SOURCE_CONFIG": str(config),
        "BUDGETPERF_SOURCE_URL": source_db.reader_url,
    }
    with psycopg.connect(source_db.admin_url, autocommit=True) as admin:
        admin.execute("select pg_advisory_lock(%s)", (GATE_LOCK,))
        set_gate(source_db.admin_url, "block", 20_000)
        proc = subprocess.Popen(
            [sys.executable, "-m", "budgetperf.cli", "pull", "--checkpoint", "2021-12-31"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            # wait (not a timed assertion: the deadline only guards against a hang) until
            # the pull is blocked inside the source's payments view
            deadline = time.monotonic() + 120
            while not admin.execute(
                "select exists (select 1 from pg_locks where locktype = 'advisory'"
                " and objid = %s and not granted)",
                (GATE_LOCK,),
            ).fetchone()[0]:  # type: ignore[index]
                assert proc.poll() is None, proc.communicate()[0].decode()
                assert time.monotonic() < deadline, "the pull never reached the payments"
                time.sleep(0.05)
            [partial] = _leftovers(landing)
            written = sorted(p.name for p in (landing / partial).iterdir())
            assert written == ["departments.csv", "projects.csv"]
        finally:
            proc.kill()
            proc.wait()
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where application_name = 'budgetperf-pull' and datname = current_database()"
        )
        admin.execute("select pg_advisory_unlock(%s)", (GATE_LOCK,))
    set_gate(source_db.admin_url, "open")

    # what the killed pull left is invisible to the loader and to the sensor
    deliveries, findings = discover(landing)
    assert deliveries == [] and findings == []
    scan = find_complete_deliveries(landing, dt.date(2021, 10, 1), YEAR_END)
    assert scan.complete == [] and scan.incomplete == []

    done = pull_delivery(
        sql_source(source_db, config), landing, YEAR_END, state_dir=home / "sources"
    )
    assert done.status == "created"
    assert _leftovers(landing) == [] and _deliveries(landing) == ["20211231"]
    counts = expected_counts(source_rows, YEAR_END)
    assert {e.entity: e.rows for e in done.entities} == {e: counts[e] for e in entities}


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "source.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_mistakes_fail_clearly_naming_the_entity(
    shared_source_db: SourceDb, landing: Path, tmp_path: Path
) -> None:
    def pull(text: str) -> str:
        config = _config(tmp_path, "source: sql\nentities:\n" + text)
        with pytest.raises(SourceError) as failed:
            pull_delivery(
                sql_source(shared_source_db, config), landing, YEAR_END, state_dir=tmp_path
            )
        assert _deliveries(landing) == [] and _leftovers(landing) == []
        return str(failed.value)

    typo = pull(
        "  budget_execution:\n    query: select 支付流水号 as record_idd, 预算年度, 项目编码,"
        ' 支付日期, 支付金额 as amount_yuan from rpt."v_支付明细"\n'
    )
    assert "budget_execution" in typo and "'record_idd'" in typo and "record_id" in typo, typo

    missing_view = pull(
        "  departments:\n    schema: rpt\n    view: v_单位\n    columns:\n"
        "      department_code: 单位编码\n      department_name: 单位名称\n      kind: 单位类型\n"
    )
    assert "departments" in missing_view and "v_单位" in missing_view, missing_view

    # the account reads the reporting views only, not the system's own tables
    base_table = pull(
        "  departments:\n    query: select 单位编码 as department_code, 单位名称 as"
        " department_name, 单位类型 as kind from yth.dw_dwxx\n"
    )
    assert "permission denied" in base_table, base_table

    with pytest.raises(SourceConfigError) as bad_key:
        sql_source(
            shared_source_db,
            _config(tmp_path, "source: sql\nentities:\n  projects:\n    qurey: select 1\n"),
        )
    assert "entities.projects.qurey: unknown key" in str(bad_key.value)


def test_a_source_that_has_not_closed_the_day_is_not_pulled(
    shared_source_db: SourceDb, landing: Path, tmp_path: Path
) -> None:
    """The example's ready query: the system's daily closing (日结) reached 2022-01-05."""
    with pytest.raises(SourceNotReady) as waiting:
        pull_delivery(
            sql_source(shared_source_db), landing, dt.date(2022, 6, 30), state_dir=tmp_path
        )
    assert waiting.value.transient
    assert "not ready for 2022-06-30" in str(waiting.value)
    assert list(landing.iterdir()) == []
