"""A real DAG run whose sensor pulls from the SQL source, chosen by configuration only.

``budgetperf run --checkpoint`` (Airflow's ``dags test``, as in tests/e2e) with
``BUDGETPERF_SOURCE=sql``, the committed ``docs/examples/source-sql.yml`` (cut down to the
entities the marts need) and the source's Airflow connection in
``AIRFLOW_CONN_BUDGETPERF_SOURCE``: the ``detect_delivery`` sensor pulls the checkpoint's
delivery into the landing, and the DAG loads it and builds the marts from it.

The integration system here is a database of its own, small on purpose: two departments
of the demo county, their 2021 projects and their payments, the three entities the
project progress mart needs (a run's time is Airflow's, dbt's and the gates' own; these
few hundred rows add nothing to it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from conftest import SourceDb, built_source, source_db_of
from source_system import SQL_EXAMPLE, expected_counts

E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E) not in sys.path:
    sys.path.append(str(E2E))
from e2e_helpers import run, run_env, run_log  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_sources_sql")]

CHECKPOINT = "2021-09-30"
AS_OF = dt.date(2021, 9, 30)
ENTITIES = ("departments", "projects", "budget_execution")


def small_rows(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Two departments with 2021 projects, those projects and their payments; the other
    entities empty (their views exist, the YAML does not read them)."""
    with_projects = sorted(
        {p["department_code"] for p in rows["projects"] if p["fiscal_year"] == 2021}
    )[:2]
    projects = [
        p
        for p in rows["projects"]
        if p["fiscal_year"] == 2021 and p["department_code"] in with_projects
    ]
    codes = {p["project_code"] for p in projects}
    small: dict[str, list[dict[str, Any]]] = {entity: [] for entity in rows}
    small["departments"] = [d for d in rows["departments"] if d["department_code"] in with_projects]
    small["projects"] = projects
    small["budget_execution"] = [r for r in rows["budget_execution"] if r["project_code"] in codes]
    return small


@pytest.fixture(scope="module")
def small_source(
    server_url: str, source_rows: dict[str, list[dict[str, Any]]]
) -> Iterator[tuple[SourceDb, dict[str, list[dict[str, Any]]]]]:
    rows = small_rows(source_rows)
    with built_source(server_url, rows) as (database, reader):
        yield source_db_of(server_url, database, reader), rows


def test_a_dag_run_pulls_its_delivery_from_the_sql_source(
    small_source: tuple[SourceDb, dict[str, list[dict[str, Any]]]],
    database_factory: Callable[[], str],
    tmp_path: Path,
) -> None:
    source, rows = small_source
    reader = urlsplit(source.reader_url)
    connection = {
        "conn_type": "postgres",
        "host": reader.hostname,
        "port": reader.port,
        "login": reader.username,
        "password": reader.password,
        "schema": reader.path.lstrip("/"),
        "extra": {"sslmode": "disable"},
    }
    config = yaml.safe_load(SQL_EXAMPLE.read_text(encoding="utf-8"))
    config["entities"] = {k: v for k, v in config["entities"].items() if k in ENTITIES}
    config_path = tmp_path / "source-sql.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    home, landing = tmp_path / "home", tmp_path / "landing"
    landing.mkdir()
    url = database_factory()
    env = run_env(
        home,
        url,
        BUDGETPERF_SOURCE="sql",
        BUDGETPERF_SOURCE_CONFIG=str(config_path),
        AIRFLOW_CONN_BUDGETPERF_SOURCE=json.dumps(connection),
    )
    for key in (
        "BUDGETPERF_SOURCE_URL",
        "BUDGETPERF_SOURCE_CONN_ID",
        "BUDGETPERF_REQUIRED_ENTITIES",
    ):
        env.pop(key, None)

    result = run(CHECKPOINT, env, landing)

    log = run_log(home, CHECKPOINT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "delivery 20210930 pulled from sql:budgetperf_source" in log
    # the sensor pulled the delivery into the landing, whole, with its manifest
    folder = landing / "20210930"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{e}.csv" for e in ENTITIES] + ["_manifest.json"]
    )
    assert [p.name for p in landing.iterdir() if p.name.startswith(".pull-")] == []
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    expected = {e: n for e, n in expected_counts(rows, AS_OF).items() if e in ENTITIES}
    assert {n.removesuffix(".csv"): f["rows"] for n, f in manifest["files"].items()} == expected

    with psycopg.connect(url) as conn:
        loads = conn.execute(
            "select entity, status, rows_loaded, sha256 from ops.loads"
            " where as_of = %s order by entity",
            (AS_OF,),
        ).fetchall()
        progress = conn.execute(
            "select count(*), count(distinct project_code) from marts.fct_project_progress"
            " where checkpoint_date = %s",
            (AS_OF,),
        ).fetchone()
    # every pulled file loaded, as the manifest lists it
    assert {e: (s, n) for e, s, n, _ in loads} == {e: ("loaded", n) for e, n in expected.items()}
    assert {f"{e}.csv": sha for e, _, _, sha in loads} == {
        n: f["sha256"] for n, f in manifest["files"].items()
    }
    assert progress == (len(rows["projects"]), len(rows["projects"]))
