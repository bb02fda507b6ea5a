"""The rule catalogue (expectations/rules.yml) and the GX project generated from it.

(That every relation a rule names exists after a dbt build is checked in test_gates.py,
which has a built warehouse at hand.)
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import gx_imported_in_subprocess

from budgetperf.quality.catalogue import (
    CATEGORIES,
    EXPECTATION_TYPES,
    CatalogueError,
    Rule,
    catalogue_path,
    load_catalogue,
    reference_values,
)
from budgetperf.quality.gxproject import asset_plan, make_offline, render_gx_config
from budgetperf.settings import load_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
CATALOGUE = catalogue_path(PROJECT_DIR / "expectations")
RULES = load_catalogue(CATALOGUE)
POINT = dt.date(2021, 6, 30)


def test_every_rule_loads_with_unique_ids_and_texts() -> None:
    assert len(RULES) >= 60
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.id.startswith("RAW-" if rule.gate == "raw" else "MART-"), rule.id
        assert rule.category in CATEGORIES
        assert rule.description_zh and rule.description_en and rule.fix_zh and rule.owner
        # Chinese first: the texts people read start with Chinese
        assert "\u4e00" <= rule.description_zh[0] <= "\u9fff", rule.id
        assert "\u4e00" <= rule.fix_zh[0] <= "\u9fff", rule.id


def test_both_gates_have_fatal_rules_and_warnings_exist() -> None:
    for gate in ("raw", "marts"):
        assert any(r.gate == gate and r.is_fatal for r in RULES)
    assert {r.id for r in RULES if not r.is_fatal} == {
        "RAW-RNG-08",
        "RAW-RNG-09",
        "RAW-CMP-02",
        "MART-BND-04",
    }


def test_reference_values_are_the_codes_of_the_dbt_seed() -> None:
    seed = PROJECT_DIR / "dbt_project" / "seeds" / "reference_labels.csv"
    codes: dict[str, set[str]] = {}
    with seed.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            codes.setdefault(row["domain"], set()).add(row["code"])
    codes["evaluator"].discard("weighted_projects")  # computed by R5, never delivered
    for domain, values in reference_values(CATALOGUE).items():
        assert set(values) == codes[domain], domain


def test_committed_gx_config_matches_the_catalogue() -> None:
    committed = (PROJECT_DIR / "expectations" / "gx" / "great_expectations.yml").read_text()
    assert committed == render_gx_config(RULES), "run `budgetperf quality sync-gx` and commit"
    config = yaml.safe_load(committed)
    assets = config["fluent_datasources"]["warehouse"]["assets"]
    assert set(assets) == {r.relation for r in RULES}
    for relation, batches in asset_plan(RULES).items():
        assert sorted(assets[relation]["batch_definitions"]) == batches
    assert config["fluent_datasources"]["warehouse"]["connection_string"] == (
        "${BUDGETPERF_GX_DSN}"
    )
    assert config["analytics_enabled"] is False


def test_sync_gx_check_command_agrees() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "budgetperf"), "quality", "sync-gx", "--check"],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_uncommitted_folder_is_ignored_by_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "expectations/gx/uncommitted/validations/x.json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert ignored.returncode == 0


def _write(tmp_path: Path, rule: dict) -> Path:
    base = {
        "id": "RAW-X-01",
        "gate": "raw",
        "category": "key",
        "relation": "raw.effective_projects",
        "severity": "fatal",
        "owner": "数据岗",
        "description_zh": "说明",
        "description_en": "text",
        "fix_zh": "处理",
        "expectation": {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x"}},
    }
    base.update(rule)
    base = {k: v for k, v in base.items() if v is not None}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"rules": [base]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "fatalish"}, "severity must be fatal or warning"),
        ({"gate": "staging"}, "gate must be raw or marts"),
        ({"owner": None}, "has no owner"),
        ({"description_zh": " "}, "has no description_zh"),
        ({"relation": "effective_projects"}, "relation must be schema.table"),
        ({"batch": "weekly"}, "batch must be checkpoint or all"),
        ({"colour": "red"}, "unknown field"),
        ({"query": "select 1"}, "needs exactly one of expectation, query"),
        ({"expectation": {"type": "expect_table_row_count_to_equal"}}, "is not one of"),
        (
            {
                "expectation": {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": "x"},
                }
            },
            "needs kwargs.value_set",
        ),
        ({"expectation": None, "query": "select * from raw.projects"}, "must start with"),
        (
            {"expectation": None, "query": "with batch as (select * from {batch}) select :x"},
            "SQLAlchemy reads as a bind",
        ),
        (
            {
                "expectation": None,
                "query": "with batch as (select * from {batch}) select {limit} from batch",
            },
            "params do not define them",
        ),
    ],
)
def test_malformed_rules_are_refused_with_the_rule_and_field(
    tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(CatalogueError, match=message) as raised:
        load_catalogue(_write(tmp_path, change))
    assert "RAW-X-01" in str(raised.value) or "rules.yml" in str(raised.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    rule = yaml.safe_load(_write(tmp_path, {}).read_text())["rules"][0]
    path = tmp_path / "twice.yml"
    path.write_text(yaml.safe_dump({"rules": [rule, rule]}, allow_unicode=True))
    with pytest.raises(CatalogueError, match="RAW-X-01 is used twice"):
        load_catalogue(path)


def test_params_are_substituted_into_the_query() -> None:
    rule = next(r for r in RULES if r.id == "MART-ROW-01")
    assert rule.params == {"max_drop_fraction": 0.05}
    assert "(1 - 0.05)" in (rule.query or "")


def _rule(kind: str, relation: str = "marts.fct_project_progress", **kwargs: object) -> Rule:
    return Rule(
        id="T",
        gate="raw",
        category="range",
        relation=relation,
        severity="fatal",
        owner="o",
        description_zh="d",
        description_en="d",
        fix_zh="f",
        expectation_type=kind,
        kwargs=dict(kwargs),
    )


def test_every_expectation_type_has_its_offending_rows_sql() -> None:
    where = "checkpoint_date = date '2021-06-30'"
    cases = {
        "expect_column_values_to_be_in_set": (
            {"column": "c", "value_set": ["a", "b'c"]},
            f"{where} and c is not null and c not in ('a', 'b''c')",
        ),
        "expect_column_values_to_not_be_in_set": ({"column": "c", "value_set": [0]}, "c in (0)"),
        "expect_column_values_to_be_between": (
            {"column": "c", "min_value": 0, "max_value": 1, "strict_min": True},
            "c is not null and (c <= 0 or c > 1)",
        ),
        "expect_column_values_to_not_be_null": ({"column": "c"}, "c is null"),
        "expect_column_values_to_be_unique": ({"column": "c"}, "having count(*) > 1"),
        "expect_compound_columns_to_be_unique": (
            {"column_list": ["a", "b"]},
            "group by a, b",
        ),
    }
    assert set(cases) == set(EXPECTATION_TYPES)
    for kind, (kwargs, fragment) in cases.items():
        sql = _rule(kind, **kwargs).offending_rows_sql(POINT)
        assert fragment in sql, (kind, sql)
        assert where in sql


def test_raw_offending_rows_name_their_file_and_line() -> None:
    rule = _rule(
        "expect_column_values_to_be_between",
        relation="raw.effective_projects",
        column="budget_amount_yuan",
        min_value=0,
    )
    assert rule.offending_rows_sql(POINT) == (
        "select l.file_path, b.line_no, b.budget_amount_yuan, b.*\n"
        "from raw.effective_projects as b\n"
        "left join ops.loads as l on l.load_id = b.load_id\n"
        "where b.checkpoint_date = date '2021-06-30'"
        " and b.budget_amount_yuan is not null and (b.budget_amount_yuan < 0)"
    )


def test_query_rules_run_on_the_whole_relation_filtered_to_the_checkpoint() -> None:
    rule = next(r for r in RULES if r.id == "RAW-REF-INT-01")
    assert rule.batch_definition == "all"
    assert rule.gx_query(POINT).startswith(
        "with batch as (select * from {batch} where checkpoint_date = date '2021-06-30')"
    )
    assert rule.offending_rows_sql(POINT).startswith(
        "with batch as (select * from raw.effective_budget_execution"
        " where checkpoint_date = date '2021-06-30')"
    )
    whole = next(r for r in RULES if r.id == "MART-CMP-01")
    assert whole.gx_query(POINT) == whole.query


def test_make_offline_removes_every_remote_asset() -> None:
    page = (
        "<html><head><link rel='stylesheet' href='https://cdn.example/b.css'/>"
        '<script src="https://code.example/j.js"></script><style>.x{background:'
        "url('https://s3.example/logo.png')}@import url(https://f.example/f.css);</style>"
        "</head><body><img class='x' src=\"https://s3.example/a.png?id=1\"/>"
        '<a href="https://greatexpectations.io">GX</a></body></html>'
    )
    offline = make_offline(page, note="<p>注意</p>")
    for remote in ("cdn.example", "code.example", "s3.example", "f.example"):
        assert remote not in offline
    assert "<style>" in offline and "<p>注意</p>" in offline


def test_quality_modules_do_not_import_great_expectations() -> None:
    # the DAG file and the CLI import these; GX costs seconds and prints at import
    for module in (
        "budgetperf.quality.catalogue",
        "budgetperf.quality.gates",
        "budgetperf.quality.results",
        "budgetperf.quality.rowcounts",
        "budgetperf.quality.gxproject",
        "budgetperf.quality.report",
        "budgetperf.commands.quality",
    ):
        assert not gx_imported_in_subprocess(module), module


def test_importing_gx_the_gates_way_is_silent(tmp_path: Path) -> None:
    code = (
        "from budgetperf.quality.gxproject import quiet_gx\n"
        "with quiet_gx():\n"
        "    import great_expectations\n"
        "    import great_expectations.expectations\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout == "" and result.stderr == "", result.stdout + result.stderr


def test_settings_find_the_committed_catalogue() -> None:
    assert catalogue_path(load_settings({}).expectations_dir) == CATALOGUE


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (
            "(psycopg.errors.AdminShutdown) terminating connection due to administrator command",
            True,
        ),
        ("(psycopg.OperationalError) consuming input failed: server closed the connection", True),
        ("(psycopg.errors.UndefinedColumn) column x does not exist", False),
        ("(psycopg.errors.DivisionByZero) division by zero", False),
        ("关系 ops.x 不存在 / relation ops.x does not exist", False),
    ],
)
def test_connection_errors_are_not_verdicts(error: str, transient: bool) -> None:
    from budgetperf.quality.gates import is_transient

    assert is_transient(error) is transient


def test_an_unreachable_warehouse_raises_instead_of_failing_rules(tmp_path: Path) -> None:
    import psycopg

    from budgetperf.quality.gates import run_gate

    with pytest.raises(psycopg.OperationalError):
        run_gate(
            "raw",
            warehouse_url="postgresql://nobody:x@127.0.0.1:1/none",
            checkpoint=POINT,
            run_id="unreachable",
            settings=load_settings({"BUDGETPERF_HOME": str(tmp_path)}),
        )
