"""Same seed and scale, same bytes; another seed, other data; --scale multiplies the county."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from generate_readback import Generated, read_landing

from budgetperf.cli import main
from budgetperf.generate import generate_scenario

pytestmark = pytest.mark.xdist_group("generate")


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(pingluo: Generated, tmp_path: Path) -> None:
    again = generate_scenario("pingluo-2021", tmp_path / "again", seed=pingluo.report.seed)
    first = digests(pingluo.report.out)
    assert len(first) == 4 + len(pingluo.report.files)  # data files and 4 manifests
    assert digests(again.out) == first
    assert [f.sha256 for f in again.files] == [f.sha256 for f in pingluo.report.files]


def test_xlsx_carries_no_wall_clock(pingluo: Generated) -> None:
    for f in pingluo.report.files:
        if f.path.suffix != ".xlsx":
            continue
        stamp = (int(f.delivery[:4]), int(f.delivery[4:6]), int(f.delivery[6:]), 18, 0, 0)
        with zipfile.ZipFile(f.path) as archive:
            assert {info.date_time for info in archive.infolist()} == {stamp}
            core = archive.read("docProps/core.xml").decode()
        day = f"{f.delivery[:4]}-{f.delivery[4:6]}-{f.delivery[6:]}T18:00:00Z"
        assert core.count(day) == 2  # created and modified


def test_cli_other_seed_other_data_and_overwrite(
    pingluo: Generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "landing"
    (out / "20211231").mkdir(parents=True)
    (out / "20211231" / "budget_execution.xlsx").write_bytes(b"stale export")
    (out / "20211231" / "readme.txt").write_text("not ours")

    assert main(["generate", "--out", str(out), "--seed", "7"]) == 2
    assert "already holds a delivery" in capsys.readouterr().err

    assert main(["generate", "--out", str(out), "--seed", "7", "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "20210630/budget_execution.csv" in printed
    assert "wrote 4 deliveries, 19 files" in printed
    # The stale file of the same entity is gone (two files for one entity are both
    # rejected); files that are not the scenario's are left alone.
    assert not (out / "20211231" / "budget_execution.xlsx").exists()
    assert (out / "20211231" / "readme.txt").read_text() == "not ours"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]

    ours = digests(pingluo.report.out)
    theirs = digests(out)
    theirs.pop("20211231/readme.txt")
    assert ours.keys() == theirs.keys()
    assert all(ours[k] != theirs[k] for k in ours if "departments" not in k)


def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--scale", "0"], ["--scenario", "nowhere-2030"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["generate", "--out", str(tmp_path), *args])
        assert exit_info.value.code == 2
    capsys.readouterr()


def test_scale_multiplies_the_county_with_unique_codes(tmp_path: Path) -> None:
    messages: list[str] = []
    report = generate_scenario(
        "pingluo-2021", tmp_path / "x2", seed=11, scale=2, progress=messages.append
    )
    assert any(m.startswith("county 2/2") for m in messages)
    # Big entities go to CSV at scale; small ones keep their XLSX.
    formats = {(f.delivery, f.entity): f.path.suffix for f in report.files}
    assert formats[("20210930", "indicator_actuals")] == ".csv"
    assert formats[("20211231", "evaluations")] == ".xlsx"
    landing = read_landing(report.out)
    for f in landing.files:
        key = {
            "departments": ("department_code",),
            "projects": ("fiscal_year", "project_code"),
            "budget_execution": ("record_id",),
        }.get(f.entity)
        if key:
            keys = [tuple(r[c] for c in key) for r in f.records]
            assert len(keys) == len(set(keys))
    departments = next(f for f in landing.files if f.entity == "departments")
    assert len(departments.records) == 2 * 125
    names = {str(r["department_name"]) for r in departments.records}
    assert any(n.startswith("平罗县") for n in names) and any(n.startswith("贺兰县") for n in names)


def test_progress_reports_files_and_a_summary(pingluo: Generated) -> None:
    text = "\n".join(pingluo.messages)
    assert "county 平罗县 (640221)" in text
    for f in pingluo.report.files:
        assert f"{f.delivery}/{f.path.name}" in text
    assert pingluo.messages[-1].startswith("wrote 4 deliveries")
