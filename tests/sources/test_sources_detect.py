"""The folder source's sensor: when a dropped delivery counts as complete, and what the
last log lines say is missing while it waits (the timeout alert mails those lines)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from budgetperf.pipeline.detect import detect, find_complete_deliveries, required_entities
from budgetperf.sources import source_settings

WINDOW = (dt.date(2021, 7, 1), dt.date(2021, 9, 30))
PROJECTS = (
    "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
    "budget_amount_yuan\n2021,P1,D1,x,general_public,county,1\n"
)
PAYMENTS = (
    "record_id,fiscal_year,project_code,payment_date,amount_yuan\nR1,2021,P1,2021-09-01,1.00\n"
)


@pytest.fixture(autouse=True)
def five_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDGETPERF_DELIVERY_STABLE_SECONDS", "300")


def age(folder: Path, seconds: float = 3600) -> None:
    """Files last changed ``seconds`` ago (instead of waiting for them to get quiet)."""
    past = time.time() - seconds
    for path in folder.iterdir():
        os.utime(path, (past, past))


def manifest(folder: Path, **files: str) -> None:
    entries = {
        name.replace("__", "."): {
            "rows": text.count("\n") - 1,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        for name, text in files.items()
    }
    (folder / "_manifest.json").write_text(json.dumps({"files": entries}))


def test_nothing_delivered_names_the_folder_expected(tmp_path: Path) -> None:
    scan = find_complete_deliveries(tmp_path, *WINDOW, required=("budget_execution",))
    assert not scan.ready
    assert scan.waiting_lines()[1:] == [
        "missing: no delivery folder dated 20210701–20210930; expected e.g. "
        f"{tmp_path}/20210930/ with budget_execution.csv and _manifest.json",
        "missing files: 20210930/budget_execution.csv 缺失 (missing)",
    ]


def test_a_manifest_that_arrived_first_waits_for_the_files_it_lists(tmp_path: Path) -> None:
    folder = tmp_path / "20210930"
    folder.mkdir()
    # a copy to the share in name order brings _manifest.json before the data files
    manifest(folder, projects__csv=PROJECTS, budget_execution__csv=PAYMENTS)
    (folder / "projects.csv").write_text(PROJECTS)
    scan = find_complete_deliveries(tmp_path, *WINDOW)
    assert not scan.ready
    assert scan.waiting_lines()[1:] == [
        "missing: 20210930/ is not complete: budget_execution.csv is listed in "
        "_manifest.json but not there",
        "missing files: 20210930/budget_execution.csv 缺失 (missing)",
    ]
    age(folder)  # however long it waits, a listed file that never came is missing
    assert not find_complete_deliveries(tmp_path, *WINDOW).ready

    # half-copied: present, but not the bytes the manifest lists
    (folder / "budget_execution.csv").write_text(PAYMENTS[:40])
    scan = find_complete_deliveries(tmp_path, *WINDOW)
    assert "budget_execution.csv does not match its sha256" in scan.waiting_message()
    (folder / "budget_execution.csv").write_text(PAYMENTS)
    scan = find_complete_deliveries(tmp_path, *WINDOW)
    assert scan.ready and scan.names() == ["20210930"]  # no need to wait for quiet


def test_a_file_that_stays_wrong_is_handed_to_the_loader_once_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "20210915"
    folder.mkdir()
    manifest(folder, budget_execution__csv=PAYMENTS)
    (folder / "budget_execution.csv").write_text(PAYMENTS.replace("1.00", "2.00"))
    assert not find_complete_deliveries(tmp_path, *WINDOW).ready
    age(folder)  # not a copy in progress: the loader rejects it and says why
    assert find_complete_deliveries(tmp_path, *WINDOW).ready


def test_without_a_manifest_files_must_be_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "20210930"
    folder.mkdir()
    (folder / "budget_execution.csv").write_text(PAYMENTS)
    scan = find_complete_deliveries(tmp_path, *WINDOW)
    assert not scan.ready
    assert "no _manifest.json, and budget_execution.csv changed" in scan.waiting_message()
    age(folder)
    assert find_complete_deliveries(tmp_path, *WINDOW).ready


def test_required_entities_must_be_in_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "20210815"
    folder.mkdir()
    (folder / "projects.csv").write_text(PROJECTS)
    age(folder)
    monkeypatch.setenv("BUDGETPERF_REQUIRED_ENTITIES", "budget_execution, projects")
    assert required_entities() == ("projects", "budget_execution")
    settings = source_settings(home=tmp_path / "home")
    assert settings.kind == "folder"  # the default
    outcome = detect(
        dt.date(2021, 9, 30),
        landing=tmp_path,
        window=WINDOW,
        source=settings,
        required=required_entities(),
    )
    assert not outcome.done
    assert outcome.lines[-2:] == [
        "missing: budget_execution.csv or budget_execution.xlsx in the deliveries dated "
        "20210701–20210930 (20210815 hold projects); required by BUDGETPERF_REQUIRED_ENTITIES",
        "missing files: 20210930/budget_execution.csv 缺失 (missing)",
    ]
    later = tmp_path / "20210930"
    later.mkdir()
    (later / "budget_execution.csv").write_text(PAYMENTS)
    manifest(later, budget_execution__csv=PAYMENTS)
    outcome = detect(
        dt.date(2021, 9, 30),
        landing=tmp_path,
        window=WINDOW,
        source=settings,
        required=required_entities(),
    )
    assert outcome.done
    assert outcome.xcom == {"deliveries": ["20210815", "20210930"], "source": "folder"}

    monkeypatch.setenv("BUDGETPERF_REQUIRED_ENTITIES", "payments")
    with pytest.raises(ValueError, match="payments"):
        required_entities()


class RecordingTaskInstance:
    """What the sensor pushes to XCom (the alert of a timed-out run quotes it)."""

    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


def test_the_sensors_waiting_message_names_each_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery that never arrives in full: the sensor's ``waiting_for`` message, which
    the timeout's alert mail quotes, names every entity file still missing or incomplete,
    by its path in the landing."""
    from budgetperf.pipeline import tasks

    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("BUDGETPERF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BUDGETPERF_LANDING", str(landing))
    monkeypatch.setenv("BUDGETPERF_SOURCE", "folder")
    monkeypatch.setenv("BUDGETPERF_REQUIRED_ENTITIES", "departments,projects,budget_execution")
    # read by run_context, unused by the folder source
    monkeypatch.setenv("AIRFLOW_CONN_BUDGETPERF_LOADER", "postgresql://loader@localhost/none")
    # 09-15: the manifest came, projects.csv is still being copied, payments never came
    folder = landing / "20210915"
    folder.mkdir()
    manifest(folder, projects__csv=PROJECTS, budget_execution__csv=PAYMENTS)
    (folder / "projects.csv").write_text(PROJECTS[:30])
    ti = RecordingTaskInstance()
    context = {"params": {"checkpoint": "2021-09-30"}, "run_id": "manual__detect", "ti": ti}

    waiting = tasks.detect_delivery(context)

    assert not waiting.is_done
    message = str(ti.xcom["waiting_for"])
    # departments: required, in no folder of the window; expected in the checkpoint's
    assert message.splitlines()[-1] == (
        "missing files: 20210915/budget_execution.csv 缺失 (missing); "
        "20210930/departments.csv 缺失 (missing)"
    )
    assert "missing: 20210915/ is not complete: budget_execution.csv is listed" in message

    # the payments arrive; projects.csv is still not the bytes the manifest lists
    (folder / "budget_execution.csv").write_text(PAYMENTS)
    tasks.detect_delivery(context)
    assert str(ti.xcom["waiting_for"]).splitlines()[-1] == (
        "missing files: 20210915/projects.csv 不完整 (incomplete); "
        "20210930/departments.csv 缺失 (missing)"
    )
