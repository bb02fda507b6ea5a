"""DAG integrity: every DAG file parses fast and quietly, and is wired as promised.

Parsing runs in a fresh interpreter so we can see exactly what a DAG file imports and
whether it touches the network: a DAG file is wiring only (STYLE.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"
HEAVY_MODULES = ("great_expectations", "dbt", "pandas", "psycopg", "openpyxl", "python_calamine")

PARSE_SCRIPT = r"""
import json, socket, sys, time

def refuse(*args, **kwargs):
    raise RuntimeError("a DAG file opened a network connection at parse time")

socket.socket.connect = refuse
socket.create_connection = refuse

from airflow.dag_processing.dagbag import DagBag

started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
elapsed = time.perf_counter() - started
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "owners": sorted({t.owner for t in dag.tasks}),
        "retries": {t.task_id: t.retries for t in dag.tasks},
        "tags": sorted(dag.tags),
        "timetable": type(dag.timetable).__name__,
        "summary": dag.timetable.summary,
        "doc_md": bool(dag.doc_md),
        "tasks": sorted(t.task_id for t in dag.tasks),
        "edges": sorted([t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
    }
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "dags": dags, "heavy": heavy, "seconds": elapsed}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow-home")
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'unused.db'}",
    )
    out = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(DAGS), ",".join(HEAVY_MODULES)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"DAG folder parsed in {result['seconds']:.2f}s")  # reported, never asserted
    return result


def test_every_dag_file_imports_without_errors_or_network(parsed: dict) -> None:
    assert parsed["errors"] == {}
    assert "budget_monitoring" in parsed["dags"]


def test_dag_files_do_not_import_heavy_libraries_at_parse_time(parsed: dict) -> None:
    assert parsed["heavy"] == []


def test_every_dag_has_owner_tags_retries_docs_and_an_explicit_schedule(parsed: dict) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert dag["owners"] == ["budgetperf-data-engineering"], dag_id
        assert dag["tags"], dag_id
        assert dag["doc_md"], dag_id
        assert dag["timetable"] != "NullTimetable", dag_id


def test_budget_monitoring_runs_the_six_stages_in_order_on_the_checkpoint_timetable(
    parsed: dict,
) -> None:
    dag = parsed["dags"]["budget_monitoring"]
    assert dag["timetable"] == "CheckpointTimetable"
    assert dag["summary"] == "checkpoints 06-30, 09-30, 11-30, 12-31"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    edges = {tuple(e) for e in dag["edges"]}
    chain = ["detect_delivery", "load", "gate_raw", "build", "gate_marts"]
    for upstream, downstream in pairwise(chain):
        assert (upstream, downstream) in edges
    for publisher in ("publish_notices", "publish_proposal_feed", "publish_disclosure"):
        assert ("gate_marts", publisher) in edges
        assert (publisher, "publish_reports") in edges  # the reports come last
        assert (publisher, "finish") in edges
    assert ("publish_reports", "finish") in edges
    # stages that touch data retry; the verdict tasks do not
    assert dag["retries"]["load"] >= 1
    assert dag["retries"]["build"] >= 1
    assert dag["retries"]["finish"] == 0


def _has_cycle(edges: set[tuple[str, str]]) -> bool:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> bool:
        if node in done:
            return False
        if node in visiting:
            return True
        visiting.add(node)
        if any(visit(n) for n in graph.get(node, ())):
            return True
        visiting.discard(node)
        done.add(node)
        return False

    return any(visit(n) for n in list(graph))


def test_no_dag_has_a_cycle(parsed: dict) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert not _has_cycle({tuple(e) for e in dag["edges"]}), dag_id


def test_the_timetable_survives_airflow_serialization(tmp_path: Path) -> None:
    script = r"""
import sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["budget_monitoring"]
again = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
print(type(again.timetable).__name__, again.timetable.summary, again.timetable.serialize())
"""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(DAGS)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("CheckpointTimetable checkpoints 06-30, 09-30, 11-30, 12-31")
    assert "'timezone': 'Asia/Shanghai'" in last
