"""The load benchmark: the project's loader against ``psql \\copy`` on the same file.

The loader runs in a child process so that its peak RSS is its own (``os.wait4`` returns
the child's resource usage); its time is the time ``load_landing`` reports for the
budget_execution file: hashing, parsing, every rule, COPY, duplicate check and commit.
``psql \\copy`` loads the same bytes into a bare table with the file's columns, typed,
and does nothing else. Both write to a scratch database on the warehouse server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from psycopg import sql

from budgetperf.warehouse import connect
from budgetperf.warehouse.embedded import pg_binary
from budgetperf.warehouse.migrate import migrate

AS_OF = "20211231"
PROJECTS = 500
_PSQL_ENCODING = {"utf-8": "UTF8", "gbk": "GBK"}
_BARE_TABLE = """
create table bench_bare (
    record_id text, fiscal_year integer, project_code text, payment_date date,
    amount_yuan numeric(18, 2), voucher_no text, payee text
)
"""


@dataclass(frozen=True)
class BenchResult:
    encoding: str
    rows: int
    file_bytes: int
    loader_seconds: float
    loader_rows_loaded: int
    psql_seconds: float
    peak_rss_bytes: int

    @property
    def loader_rows_per_second(self) -> float:
        return self.rows / self.loader_seconds

    @property
    def psql_rows_per_second(self) -> float:
        return self.rows / self.psql_seconds

    @property
    def ratio(self) -> float:
        return self.loader_rows_per_second / self.psql_rows_per_second


def generate_landing(directory: Path, rows: int, encoding: str) -> Path:
    """A delivery with departments, projects and a budget_execution file of ``rows`` rows,
    shaped like an integration-system export (ISO dates, plain amounts)."""
    folder = directory / AS_OF
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "departments.csv").write_text(
        "department_code,department_name,kind\nD001,平罗县财政局,department\n", encoding="utf-8"
    )
    with open(folder / "projects.csv", "w", encoding="utf-8", newline="") as out:
        out.write(
            "fiscal_year,project_code,department_code,project_name,budget_type,fund_source,"
            "budget_amount_yuan\n"
        )
        for p in range(PROJECTS):
            out.write(f"2021,P2021{p:05d},D001,项目{p},general_public,county,10000000.00\n")
    rnd = random.Random(20211231)
    payees = [f"宁夏回族自治区平罗县第{i}建筑安装工程有限责任公司" for i in range(300)]
    days = [(dt.date(2021, 1, 1) + dt.timedelta(d)).isoformat() for d in range(365)]
    codec = "gbk" if encoding == "gbk" else "utf-8"
    path = folder / "budget_execution.csv"
    with open(path, "wb") as out:
        out.write(
            "record_id,fiscal_year,project_code,payment_date,amount_yuan,voucher_no,payee\n".encode(
                codec
            )
        )
        for start in range(0, rows, 10_000):
            block = []
            for i in range(start, min(rows, start + 10_000)):
                cents = rnd.randint(-50_000, 99_999_999) or 1
                sign = "-" if cents < 0 else ""
                cents = abs(cents)
                block.append(
                    f"ZF2021{i:010d},2021,P2021{i % PROJECTS:05d},{days[i % 365]},"
                    f"{sign}{cents // 100}.{cents % 100:02d},记-2021-{i % 12 + 1:02d}-{i:07d},"
                    f"{payees[i % 300]}\n"
                )
            out.write("".join(block).encode(codec))
    return path


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _child_main() -> int:
    """Runs in the child: load the landing, print the budget_execution result as JSON."""
    from budgetperf.ingest import load_landing

    url, landing = sys.argv[1], Path(sys.argv[2])
    report = load_landing(url, landing)
    for result in report.files:
        if result.entity == "budget_execution":
            print(
                json.dumps(
                    {
                        "status": result.status,
                        "seconds": result.seconds,
                        "rows_read": result.rows_read,
                        "rows_loaded": result.rows_loaded,
                        "rows_rejected": result.rows_rejected,
                        "reason": result.reason,
                    }
                )
            )
    return 0


def _run_loader(url: str, landing: Path) -> tuple[dict[str, object], int]:
    code = "import sys; from budgetperf.ingest.bench import _child_main; sys.exit(_child_main())"
    child = subprocess.Popen(
        [sys.executable, "-c", code, url, str(landing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    out = child.stdout.read()
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 or not out.strip():
        raise RuntimeError(f"the loader failed:\n{err.decode(errors='replace')[-2000:]}")
    result: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    return result, int(usage.ru_maxrss) * 1024  # Linux reports kilobytes


def _run_psql(url: str, path: Path, encoding: str) -> float:
    if "'" in str(path):
        raise ValueError(f"cannot pass {path} to psql \\copy")
    with connect(url, autocommit=True) as conn:
        conn.execute(_BARE_TABLE)
    command = (
        f"\\copy bench_bare from '{path}' with (format csv, header true, "
        f"encoding '{_PSQL_ENCODING[encoding]}')"
    )
    started = time.monotonic()
    subprocess.run(
        [pg_binary("psql"), url, "-v", "ON_ERROR_STOP=1", "-qc", command],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def run_load_bench(
    server_url: str,
    rows: int,
    encodings: list[str],
    *,
    report: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    say = report or (lambda _: None)
    results: list[BenchResult] = []
    for encoding in encodings:
        name = f"bp_bench_{uuid.uuid4().hex[:10]}"
        with connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        scratch = _with_database(server_url, name)
        try:
            migrate(scratch)
            with tempfile.TemporaryDirectory(prefix="bp-bench-") as tmp:
                say(f"{encoding}: generating {rows:,} rows ...")
                path = generate_landing(Path(tmp), rows, encoding)
                size = path.stat().st_size
                say(f"{encoding}: loading {size / 1e6:,.0f} MB with the loader ...")
                outcome, rss = _run_loader(scratch, Path(tmp))
                if outcome["status"] != "loaded" or outcome["rows_loaded"] != rows:
                    raise RuntimeError(f"the loader did not load every row: {outcome}")
                say(f"{encoding}: loading the same file with psql \\copy ...")
                psql_seconds = _run_psql(scratch, path, encoding)
            results.append(
                BenchResult(
                    encoding=encoding,
                    rows=rows,
                    file_bytes=size,
                    loader_seconds=float(outcome["seconds"]),  # type: ignore[arg-type]
                    loader_rows_loaded=int(outcome["rows_loaded"]),  # type: ignore[call-overload]
                    psql_seconds=psql_seconds,
                    peak_rss_bytes=rss,
                )
            )
        finally:
            with connect(server_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
                )
    return results


def format_results(results: list[BenchResult]) -> str:
    lines = [
        f"{'encoding':8}  {'rows':>10}  {'MB':>6}  {'loader s':>8}  {'loader rows/s':>13}  "
        f"{'psql s':>6}  {'psql rows/s':>11}  {'ratio':>5}  {'peak RSS MB':>11}"
    ]
    for r in results:
        lines.append(
            f"{r.encoding:8}  {r.rows:>10,}  {r.file_bytes / 1e6:>6,.0f}  "
            f"{r.loader_seconds:>8.2f}  {r.loader_rows_per_second:>13,.0f}  "
            f"{r.psql_seconds:>6.2f}  {r.psql_rows_per_second:>11,.0f}  {r.ratio:>5.2f}  "
            f"{r.peak_rss_bytes / 2**20:>11,.0f}"
        )
    return "\n".join(lines)
