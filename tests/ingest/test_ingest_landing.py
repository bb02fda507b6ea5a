"""Security of the landing: only regular files named <entity>.csv|xlsx directly inside
YYYYMMDD folders are read; links and odd entries are refused or reported, and recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ingest_helpers import (
    AS_OF,
    EXECUTION,
    base_delivery,
    ledger,
    load_and_rerun,
    query,
    rejects,
    state,
)

from budgetperf.ingest import LandingError, load_landing
from budgetperf.ingest.landing import discover, open_folder, open_regular

SECRET = (
    "record_id,fiscal_year,project_code,payment_date,amount_yuan\nSECRET,2023,P001,2023-01-01,1\n"
)


def findings(url: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1]) for r in query(url, "select path, kind from ops.landing_findings order by 1")
    ]


def test_links_and_odd_entries_are_refused_and_recorded(
    warehouse_url: str, landing: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "budget_execution.csv").write_text(SECRET)
    base_delivery(landing, budget_execution__csv=None)
    folder = landing / AS_OF
    # a link to a file outside the landing, named like an entity
    (folder / "budget_execution.csv").symlink_to(outside / "budget_execution.csv")
    # a link to a file inside the landing, and a link with an unknown name
    (folder / "evaluations.csv").symlink_to(folder / "projects.csv")
    (folder / "notes.csv").symlink_to(outside / "budget_execution.csv")
    os.mkfifo(folder / "indicator_actuals.csv")  # would hang a naive reader
    (folder / "budget_requests.xlsx").mkdir()
    (folder / "old").mkdir()
    for name in ["Projects.CSV", "budget-execution.csv", "readme.txt", ".~lock.projects.csv#"]:
        (folder / name).write_text(EXECUTION)
    # a linked delivery folder, and folders that are not deliveries
    (landing / "20230930").symlink_to(outside, target_is_directory=True)
    (landing / "2023-09-30").mkdir()
    (landing / "20230231").mkdir()
    (landing / "README.md").write_text("deliveries go here")

    report = load_and_rerun(warehouse_url, landing)

    files = ledger(warehouse_url)
    assert {p: (f["status"], f["rows_loaded"]) for p, f in files.items()} == {
        f"{AS_OF}/departments.csv": ("loaded", 2),
        f"{AS_OF}/projects.csv": ("loaded", 2),
        f"{AS_OF}/budget_execution.csv": ("rejected", 0),
        f"{AS_OF}/evaluations.csv": ("rejected", 0),
        f"{AS_OF}/indicator_actuals.csv": ("rejected", 0),
        f"{AS_OF}/budget_requests.xlsx": ("rejected", 0),
    }
    assert "符号链接" in files[f"{AS_OF}/budget_execution.csv"]["reason"]
    assert "symbolic link: refused" in files[f"{AS_OF}/evaluations.csv"]["reason"]
    assert "not a regular file" in files[f"{AS_OF}/indicator_actuals.csv"]["reason"]
    assert "not a regular file" in files[f"{AS_OF}/budget_requests.xlsx"]["reason"]
    assert [r[3] for r in rejects(warehouse_url)] == ["file"] * 4
    assert findings(warehouse_url) == [
        ("2023-09-30", "not_a_delivery"),
        ("20230231", "not_a_delivery"),
        (f"{AS_OF}/.~lock.projects.csv#", "unknown_file"),
        (f"{AS_OF}/Projects.CSV", "unknown_file"),
        (f"{AS_OF}/budget-execution.csv", "unknown_file"),
        (f"{AS_OF}/notes.csv", "link_refused"),
        (f"{AS_OF}/old", "unexpected_folder"),
        (f"{AS_OF}/readme.txt", "unknown_file"),
        ("20230930", "link_refused"),
        ("README.md", "not_a_delivery"),
    ]
    hints = {f.path: f.reason for f in report.findings}
    assert "did you mean projects.csv?" in hints[f"{AS_OF}/Projects.CSV"]
    assert "did you mean budget_execution.csv?" in hints[f"{AS_OF}/budget-execution.csv"]
    # nothing from outside the landing was read
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]
    secret = query(
        warehouse_url,
        "select count(*) from ops.rejected_rows where raw_line like '%%SECRET%%'",
    )
    assert secret == [(0,)]


def test_a_hard_link_to_a_file_outside_the_landing_is_refused_and_recorded(
    warehouse_url: str, landing: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "budget_execution.csv").write_text(SECRET)
    base_delivery(landing, budget_execution__csv=None)
    folder = landing / AS_OF
    # a second name for the outside file, inside the delivery (same file system)
    os.link(outside / "budget_execution.csv", folder / "budget_execution.csv")
    assert (folder / "budget_execution.csv").stat().st_nlink == 2

    load_and_rerun(warehouse_url, landing)

    path = f"{AS_OF}/budget_execution.csv"
    files = ledger(warehouse_url)
    assert {p: (f["status"], f["rows_loaded"]) for p, f in files.items()} == {
        f"{AS_OF}/departments.csv": ("loaded", 2),
        f"{AS_OF}/projects.csv": ("loaded", 2),
        path: ("rejected", 0),
    }
    reason = files[path]["reason"]
    assert reason.startswith("硬链接")
    assert "a hard link (the file has other names, possibly outside the landing): refused" in (
        reason
    )
    found = rejects(warehouse_url)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in found] == [(path, None, None, "file", reason)]
    # nothing of the outside file was read
    assert query(warehouse_url, "select count(*) from raw.budget_execution") == [(0,)]
    assert query(
        warehouse_url, "select count(*) from ops.rejected_rows where raw_line like '%%SECRET%%'"
    ) == [(0,)]
    # a hard link put in place after the scan is refused when opened, too
    with open_folder(folder) as fd, pytest.raises(OSError, match="a hard link"):
        open_regular(fd, "budget_execution.csv")


def test_a_linked_manifest_refuses_the_delivery(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    (landing / AS_OF / "_manifest.json").symlink_to("/etc/hostname")
    load_and_rerun(warehouse_url, landing)
    files = ledger(warehouse_url)
    assert {f["status"] for f in files.values()} == {"rejected"}
    assert "_manifest.json 无法使用" in files[f"{AS_OF}/projects.csv"]["reason"]


def test_a_malformed_manifest_refuses_the_delivery(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing)
    (landing / AS_OF / "_manifest.json").write_text('{"files": [1, 2]}')
    load_and_rerun(warehouse_url, landing)
    reasons = {f["reason"] for f in ledger(warehouse_url).values()}
    assert reasons == {
        '_manifest.json 无法使用：缺少 "files" 对象；该交付的文件无法核对，全部拒绝'
        ' / _manifest.json is unusable: no "files" object; the delivery\'s files cannot be'
        " verified and are rejected"
    }


def test_a_fixed_delivery_loads_after_a_refusal(warehouse_url: str, landing: Path) -> None:
    base_delivery(landing, budget_execution__csv=None)
    link = landing / AS_OF / "budget_execution.csv"
    (landing / "elsewhere.csv").write_text(EXECUTION)
    link.symlink_to(landing / "elsewhere.csv")
    load_landing(warehouse_url, landing)
    link.unlink()
    link.write_text(EXECUTION)
    report = load_landing(warehouse_url, landing)
    path = f"{AS_OF}/budget_execution.csv"
    assert [f.status for f in report.files if f.file_path == path] == ["loaded"]
    before = state(warehouse_url)
    load_landing(warehouse_url, landing)
    assert state(warehouse_url) == before


def test_files_are_opened_without_following_links(landing: Path) -> None:
    base_delivery(landing)
    folder = landing / AS_OF
    (folder / "swapped.csv").symlink_to(folder / "projects.csv")
    with open_folder(folder) as fd:
        os.close(open_regular(fd, "projects.csv"))
        with pytest.raises(OSError):
            open_regular(fd, "swapped.csv")
    with pytest.raises(OSError):
        (landing / "linked").symlink_to(folder, target_is_directory=True)
        with open_folder(landing / "linked"):
            pass


def test_deliveries_are_chosen_by_date(landing: Path) -> None:
    import datetime as dt

    for as_of in ["20230630", "20230331", "20230930"]:
        base_delivery(landing, as_of=as_of)
    deliveries, _ = discover(landing)
    assert [d.name for d in deliveries] == ["20230331", "20230630", "20230930"]
    deliveries, _ = discover(landing, up_to=dt.date(2023, 6, 30))
    assert [d.name for d in deliveries] == ["20230331", "20230630"]
    deliveries, _ = discover(landing, as_of=dt.date(2023, 9, 30))
    assert [d.name for d in deliveries] == ["20230930"]
    assert [c.entity for c in deliveries[0].ordered()] == [
        "departments",
        "projects",
        "budget_execution",
    ]
    with pytest.raises(LandingError):
        discover(landing / "missing")
