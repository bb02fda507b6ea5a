"""The command line: budgetperf load, rejects (list, accept, tolerance, problems), bench."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import EXECUTION, base_delivery, execute, ledger

from budgetperf.cli import main


def test_load_prints_a_table_per_file_and_exits_1_on_rejects(
    bp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = bp_home / "landing"  # the default landing: $BUDGETPERF_HOME/landing
    base_delivery(landing, budget_execution__csv=EXECUTION + "R9,2023,P001,2022-12-28,1,,\n")
    (landing / "20230630" / "notes.txt").write_text("hello")
    assert main(["load"]) == 1
    out = capsys.readouterr().out
    assert "20230630/departments.csv" in out and "20230630/budget_execution.csv" in out
    assert "not loaded / 未读取:" in out and "20230630/notes.txt" in out
    assert "3 file(s) loaded, 0 rejected whole, 0 unchanged; 1 row(s) rejected." in out
    assert main(["load", "--landing", str(landing), "--as-of", "20230630"]) == 1
    assert "0 file(s) loaded, 0 rejected whole, 3 unchanged" in capsys.readouterr().out


def test_load_of_a_clean_delivery_exits_0(
    bp_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = bp_home / "elsewhere"
    base_delivery(landing)
    assert main(["load", "--landing", str(landing), "--up-to", "20231231"]) == 0
    assert main(["load", "--landing", str(bp_home / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_rejects_list_accept_tolerance_and_problems(
    bp_home: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = bp_home / "landing"
    base_delivery(landing, budget_execution__csv=EXECUTION + "R9,2023,P001,2022-12-28,1,,\n")
    main(["load"])
    capsys.readouterr()
    load_id = ledger(warehouse_url)["20230630/budget_execution.csv"]["load_id"]

    assert main(["rejects", "--as-of", "20230630", "--raw"]) == 0
    out = capsys.readouterr().out
    assert "20230630/budget_execution.csv" in out and "payment_date" in out
    assert "第 5 行 payment_date 2022-12-28 不在预算年度 2023 内" in out
    assert "R9,2023,P001,2022-12-28,1,," in out

    execute(warehouse_url, "insert into ops.checkpoint_runs values ('2023-06-30', 2023)")
    assert main(["rejects", "problems", "--checkpoint", "2023-06-30"]) == 1
    out = capsys.readouterr().out
    assert f"budgetperf rejects --as-of 20230630 --load-id {load_id}" in out

    assert main(["rejects", "tolerance", "--entity", "budget_execution", "--rows", "1"]) == 2
    assert "needs --entity, --rows, --by and --why" in capsys.readouterr().err
    assert main(["rejects", "tolerance", "--entity", "budget_execution", "--rows", "1",
                 "--by", "张三", "--why", "试运行期间"]) == 0  # fmt: skip
    assert main(["rejects", "tolerance"]) == 0
    assert "试运行期间" in capsys.readouterr().out
    assert main(["rejects", "problems", "--checkpoint", "20230630"]) == 0

    assert (
        main(["rejects", "accept", "--load-id", str(load_id), "--by", "李四", "--why", "已核实"])
        == 0
    )
    assert main(["rejects", "--load-id", str(load_id)]) == 0
    assert "range (accepted)" in capsys.readouterr().out
    assert main(["rejects", "accept", "--load-id", "999", "--by", "x", "--why", "y"]) == 2


def test_bench_load_smoke(bp_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "load", "--rows", "2000", "--encoding", "both"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(("utf-8 ", "gbk "))]
    assert len(lines) == 2
    assert all(" 2,000 " in line for line in lines)
    assert "ratio" in out and "peak RSS MB" in out


def test_yyyymmdd_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["load", "--as-of", "2023-06-31"])
    assert exited.value.code == 2
    # the message quotes what was given and shows the accepted form
    assert "'2023-06-31' is not a date like 20210630" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["load", "--up-to", "20230631"])  # the right form, but not a real date
    assert exited.value.code == 2
    assert "'20230631' is not a date like 20210630" in capsys.readouterr().err
