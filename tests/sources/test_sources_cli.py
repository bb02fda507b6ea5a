"""``budgetperf pull`` and the DAG's sensor body (``tasks.detect_delivery``), reading the
source's Airflow connection as the DAG does (``AIRFLOW_CONN_BUDGETPERF_SOURCE``)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

# Imported at collection: Airflow configures logging when first imported, which would
# otherwise detach pytest's log capture in the middle of a test that imports it first.
from airflow.sdk.exceptions import AirflowFailException
from conftest import SourceDb
from source_system import SQL_EXAMPLE

from budgetperf.cli import main


@pytest.fixture
def pull_env(shared_source_db: SourceDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A BUDGETPERF_HOME, the SQL source chosen by environment, its Airflow connection."""
    reader = urlsplit(shared_source_db.reader_url)
    connection = {
        "conn_type": "postgres",
        "host": reader.hostname,
        "port": reader.port,
        "login": reader.username,
        "password": reader.password,
        "schema": reader.path.lstrip("/"),
        "extra": {"sslmode": "disable", "cursor": "dictcursor"},  # non-libpq keys are ignored
    }
    home = tmp_path / "home"
    monkeypatch.setenv("BUDGETPERF_HOME", str(home))
    monkeypatch.delenv("BUDGETPERF_LANDING", raising=False)
    monkeypatch.delenv("BUDGETPERF_SOURCE_URL", raising=False)
    monkeypatch.delenv("BUDGETPERF_SOURCE_CONN_ID", raising=False)
    monkeypatch.setenv("BUDGETPERF_SOURCE", "sql")
    # the committed example, with the entities the CLI and the sensor need to show
    config = yaml.safe_load(SQL_EXAMPLE.read_text(encoding="utf-8"))
    config["entities"] = {k: config["entities"][k] for k in ("departments", "budget_execution")}
    path = tmp_path / "source.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BUDGETPERF_SOURCE_CONFIG", str(path))
    monkeypatch.setenv("AIRFLOW_CONN_BUDGETPERF_SOURCE", json.dumps(connection))
    return home


def test_cli_pull(pull_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "--checkpoint", "2021-09-30"]) == 0
    out = capsys.readouterr().out
    folder = pull_env / "landing" / "20210930"
    assert f"{folder}: created" in out
    assert "budget_execution.csv" in out and "sha256" in out
    assert (folder / "_manifest.json").is_file()
    assert (pull_env / "sources" / "sql-budgetperf_source" / "snapshots.sqlite").is_file()

    # the integration system has not closed 2022-06-30 yet: try again later (75)
    assert main(["pull", "--checkpoint", "2022-06-30"]) == 75
    assert "not ready for 2022-06-30" in capsys.readouterr().err

    assert main(["pull", "--checkpoint", "2021-09-30", "--source", "http"]) == 2
    err = capsys.readouterr().err
    assert "source.yml: source: says 'sql' but the configured source is 'http'" in err


def test_cli_pull_refuses_the_folder_source(
    pull_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUDGETPERF_SOURCE", "folder")
    assert main(["pull", "--checkpoint", "2021-09-30"]) == 2
    assert "nothing to pull" in capsys.readouterr().err


def test_the_sensor_waits_for_a_folder_and_pulls_from_a_source(
    pull_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from budgetperf.pipeline import tasks

    # the warehouse connection of the loader role: read by run_context, unused by detect
    monkeypatch.setenv("AIRFLOW_CONN_BUDGETPERF_LOADER", "postgresql://loader@localhost/none")
    context = {"params": {"checkpoint": "2021-09-30"}, "run_id": "manual__sources_test"}
    caplog.set_level(logging.INFO, logger="budgetperf")

    monkeypatch.setenv("BUDGETPERF_SOURCE", "folder")
    waiting = tasks.detect_delivery(context)
    assert not waiting.is_done
    assert caplog.messages[-1].startswith("budgetperf: missing: no delivery folder dated ")

    monkeypatch.setenv("BUDGETPERF_SOURCE", "sql")
    pulled = tasks.detect_delivery(context)
    assert pulled.is_done
    assert pulled.xcom_value["deliveries"] == ["20210930"]
    assert pulled.xcom_value["source"] == "sql:budgetperf_source"
    assert (pull_env / "landing" / "20210930" / "budget_execution.csv").is_file()

    # a source that has not closed the checkpoint's day is poked again later
    later = {**context, "params": {"checkpoint": "2022-06-30"}}
    not_yet = tasks.detect_delivery(later)
    assert not not_yet.is_done
    assert caplog.messages[-1].startswith(
        "budgetperf: missing: sql:budgetperf_source: not ready for 2022-06-30: the ready query"
    )

    # a mapping that cannot work fails the task at once (no retries), saying why
    broken = tmp_path / "broken.yml"
    broken.write_text(
        'source: sql\nentities:\n  projects:\n    query: select 1 as "项目编号"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BUDGETPERF_SOURCE_CONFIG", str(broken))
    with pytest.raises(AirflowFailException, match=re.escape("projects: the query of entities")):
        tasks.detect_delivery(context)
    assert "'项目编号' are not columns of projects" in caplog.messages[-1]
