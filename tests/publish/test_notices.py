"""Monitoring notices (R8) rendered from the demo year's marts and sent through
``smtp_default`` to a real SMTP server: recipients, figures, attachments, re-runs,
a department without contact email, and an outage through the publish entry point."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from publish_helpers import (
    JUNE,
    MALICIOUS_NAME,
    OFFICE,
    SENDER,
    SEPTEMBER,
    DemoYear,
    Received,
    SmtpServer,
    query,
    run_context,
    sheet_rows,
    smtp_server,
    wan,
    xlsx_formula_cells,
)

from budgetperf.pipeline.context import RunContext
from budgetperf.publish.ledger import Notice, build_message, record_notices, redated
from budgetperf.publish.notices import (
    MAX_RENDER_WORKERS,
    RENDER_IN_WORKERS_ABOVE,
    NoticeRun,
    iter_department_notices,
    publish_monitoring_notices,
    render_workers,
)

pytestmark = pytest.mark.xdist_group("publish")


@dataclass
class Published:
    url: str
    rc: RunContext
    first: NoticeRun
    rerun: NoticeRun
    received: list[Received]
    received_after_rerun: int


@pytest.fixture(scope="module")
def june(copy_demo: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Published:
    url = copy_demo()
    rc = run_context(url, tmp_path_factory.mktemp("home"), JUNE)
    with smtp_server() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_SMTP_DEFAULT", server.airflow_connection())
        first = publish_monitoring_notices(rc)
        received = list(server.messages)
        rerun = publish_monitoring_notices(rc)
        after = len(server.messages)
    return Published(url, rc, first, rerun, received, after)


def expected_departments(url: str, point: dt.date) -> list[dict[str, Any]]:
    return query(
        url,
        """
        select * from marts.rpt_department_progress
        where checkpoint_date = %s and projects_needing_correction > 0
        order by department_code
        """,
        (point,),
    )


def by_recipient(messages: list[Received]) -> dict[str, Received]:
    counts = Counter(m.rcpt_tos[0] for m in messages)
    assert all(n == 1 for n in counts.values()), f"a recipient got more than one: {counts}"
    return {m.rcpt_tos[0]: m for m in messages}


def test_each_department_needing_correction_and_the_office_get_one_notice(
    june: Published,
) -> None:
    departments = expected_departments(june.url, JUNE)
    with_contact = [d for d in departments if d["contact_email"]]
    received = by_recipient(june.received)
    assert set(received) == {d["contact_email"] for d in with_contact} | {OFFICE}
    assert june.first.recorded == len(departments) + 1
    assert june.first.sent == len(with_contact) + 1
    assert june.first.undelivered == 0
    for department in with_contact:
        message = received[department["contact_email"]]
        name = department["department_name"]
        assert message.subject.endswith(name)
        assert "2021年6月30日" in message.subject
        assert str(message.message["Reply-To"]) == OFFICE
        assert message.message["Auto-Submitted"] == "auto-generated"
    summary = received[OFFICE]
    assert summary.subject.startswith("2021年度预算绩效运行监控汇总通报")


def test_department_without_contact_email_is_recorded_and_reported(
    june: Published, demo_year: DemoYear
) -> None:
    code = demo_year.tweaks["department_without_contact"]
    assert any(entry.startswith(code) for entry in june.first.without_recipient)
    assert code in june.first.one_line()
    rows = query(
        june.url,
        "select status, recipient from ops.notices where department_code = %s",
        (code,),
    )
    assert rows == [{"status": "no_recipient", "recipient": None}]
    name = query(
        june.url,
        "select department_name from marts.rpt_department_progress "
        "where department_code = %s and checkpoint_date = %s",
        (code, JUNE),
    )[0]["department_name"]
    office = by_recipient(june.received)[OFFICE]
    assert "未登记联系邮箱" in office.text() and name in office.text()
    # its notice is still rendered into the run folder, to be forwarded by hand
    assert (june.rc.output_dir / "notices" / f"notice-{code}.html").is_file()


def test_notice_figures_and_attachment_match_the_marts(june: Published) -> None:
    received = by_recipient(june.received)
    projects = query(
        june.url,
        """
        select p.*, l.label_zh as status_zh from marts.fct_project_progress as p
        inner join marts.reference_labels as l
            on l.domain = 'progress_status' and l.code = p.progress_status
        where p.checkpoint_date = %s and p.needs_correction
        order by p.department_code, p.gap desc nulls last, p.project_code
        """,
        (JUNE,),
    )
    checked = 0
    for department in expected_departments(june.url, JUNE):
        if not department["contact_email"]:
            continue
        message = received[department["contact_email"]]
        text = message.text()
        assert f"预算合计{wan(department['budget_amount_yuan'])}万元" in text
        assert f"已支出{wan(department['spent_yuan'])}万元" in text
        assert f"{department['projects_needing_correction']}个项目需整改" in text
        mine = [p for p in projects if p["department_code"] == department["department_code"]]
        attachments = message.attachments()
        assert len(attachments) == 1
        name, data = next(iter(attachments.items()))
        assert name.endswith(".xlsx") and department["department_name"] in name
        assert xlsx_formula_cells(data) == []
        table = sheet_rows(data)
        header = table[1]
        assert header[:5] == ["序号", "项目编码", "项目名称", "预算（万元）", "已支出（万元）"]
        body = [row for row in table[2:] if isinstance(row[0], int)]
        assert [row[1] for row in body] == [p["project_code"] for p in mine]
        for row, project in zip(body, mine, strict=True):
            assert Decimal(str(row[3])) == wan(project["budget_amount_yuan"])
            assert Decimal(str(row[4])) == wan(project["spent_yuan"])
            if project["execution_rate"] is None:
                assert row[5] is None
            else:
                assert row[5] == pytest.approx(float(project["execution_rate"]), abs=1e-12)
            assert row[8] == project["status_zh"]
            assert project["project_code"] in text
        checked += 1
    assert checked > 50


def test_deviating_indicators_are_named(june: Published) -> None:
    deviating = query(
        june.url,
        """
        select i.project_code, i.indicator_name, d.contact_email
        from marts.fct_indicator_progress as i
        inner join marts.fct_project_progress as p
            on p.checkpoint_date = i.checkpoint_date and p.project_code = i.project_code
        inner join marts.rpt_department_progress as d
            on d.checkpoint_date = p.checkpoint_date and d.department_code = p.department_code
        where i.checkpoint_date = %s and i.is_deviating and d.contact_email is not null
        """,
        (JUNE,),
    )
    assert deviating
    received = by_recipient(june.received)
    for row in deviating:
        assert row["indicator_name"] in received[row["contact_email"]].text()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes += [(name, value or "") for name, value in attrs]


def test_html_notice_renders_in_mail_clients(june: Published) -> None:
    received = by_recipient(june.received)
    department = next(d for d in expected_departments(june.url, JUNE) if d["contact_email"])
    html = received[department["contact_email"]].html()
    parsed = _Collector()
    parsed.feed(html)
    # inline styles only: no <style>, no stylesheet, no script, no remote asset
    assert parsed.tags["style"] == 0 and parsed.tags["link"] == 0 and parsed.tags["script"] == 0
    assert not [v for n, v in parsed.attributes if n in ("src", "href") and "://" in v]
    assert any(n == "style" for n, _ in parsed.attributes)
    assert "平罗县财政局" in html and "整改要求" in html
    # the table of section 三: a header row and one row per project needing correction
    table = html.split("三、需整改项目明细", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") == 1 + department["projects_needing_correction"]


def test_a_project_named_like_a_formula_stays_text(june: Published, demo_year: DemoYear) -> None:
    code = demo_year.tweaks["malicious_department"]
    email = query(
        june.url,
        "select contact_email from marts.rpt_department_progress "
        "where department_code = %s and checkpoint_date = %s",
        (code, JUNE),
    )[0]["contact_email"]
    message = by_recipient(june.received)[email]
    (data,) = message.attachments().values()
    assert xlsx_formula_cells(data) == []
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == MALICIOUS_NAME]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert MALICIOUS_NAME in message.text()
    assert "=HYPERLINK(&#34;http://evil.example" in message.html()  # escaped, shown as text


def test_rerun_sends_nothing(june: Published) -> None:
    assert june.rerun.new == 0 and june.rerun.corrections == 0
    assert june.rerun.unchanged == june.first.recorded
    assert june.rerun.sent == 0
    assert june.received_after_rerun == len(june.received)
    assert query(june.url, "select count(*) as n from ops.notices")[0]["n"] == june.first.recorded


def test_notice_copies_are_in_the_run_folder(june: Published) -> None:
    folder = june.rc.output_dir / "notices"
    pages = sorted(p.name for p in folder.glob("notice-*.html"))
    assert "notice-summary.html" in pages
    assert len(pages) == june.first.recorded
    index = (june.rc.output_dir / "index.html").read_text(encoding="utf-8")
    assert "notices/notice-summary.html" in index


def test_smtp_outage_then_recovery_through_the_publish_step(
    copy_demo: Callable[[], str], tmp_path: Path
) -> None:
    url = copy_demo()
    rc = run_context(url, tmp_path / "home", SEPTEMBER)
    server = SmtpServer()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_SMTP_DEFAULT", server.airflow_connection())
        down = publish_monitoring_notices(rc)  # nothing listens on the port
        assert down.new == down.recorded > 1
        with_contact = down.recorded - len(down.without_recipient)
        assert down.sent == 0 and down.undelivered == with_contact
        assert "not delivered yet" in down.one_line()
        waiting = query(
            url, "select status, count(*) as n from ops.notices group by status order by status"
        )
        assert {r["status"] for r in waiting} <= {"failed", "no_recipient"}
        server.start()
        try:
            retry = publish_monitoring_notices(rc)  # the task's retry, or the next run
        finally:
            server.stop()
    assert retry.new == 0 and retry.sent == with_contact and retry.undelivered == 0
    recipients = [m.rcpt_tos[0] for m in server.messages]
    assert len(recipients) == with_contact == len(set(recipients))
    assert not [m for m in server.messages if m.subject.startswith("【更正】")]


def rendered(notices: Iterable[Notice]) -> list[tuple[Any, ...]]:
    return [
        (
            n.department_code,
            n.recipient,
            n.subject,
            n.body_text,
            n.body_html,
            [(a.filename, a.content) for a in n.attachments],
            n.content,
        )
        for n in notices
    ]


def test_notices_rendered_in_a_worker_process_are_the_same(
    copy_demo: Callable[[], str],
) -> None:
    # a province's thousands of departments are rendered in worker processes; the
    # notices, their order and their attachments' bytes must not depend on where
    url = copy_demo()
    issued = dt.date(2021, 7, 12)

    def render(workers: int) -> list[tuple[Any, ...]]:
        return rendered(
            iter_department_notices(url, JUNE, SENDER, issued_on=issued, workers=workers)
        )

    in_process = render(0)
    assert len(in_process) > 1
    assert render(1) == in_process


def test_a_worker_builds_the_first_revision_as_the_ledger_would(
    copy_demo: Callable[[], str],
) -> None:
    # the worker also builds each notice's revision-1 message, which the ledger then
    # stores instead of building its own: the two must be the same but for the Date and
    # the random MIME boundaries
    def comparable(raw: bytes) -> bytes:
        dated = redated(raw, "Mon, 12 Jul 2021 09:00:00 -0000")
        return re.sub(rb"={15}\d+==", b"=BOUNDARY=", dated)

    url = copy_demo()
    notices = list(iter_department_notices(url, JUNE, SENDER, workers=1))
    assert notices and all(n.first_revision is not None for n in notices)
    for notice in notices:
        assert notice.first_revision is not None
        built = build_message(notice, is_correction=False, content_hash=notice.content_hash())
        assert comparable(notice.first_revision.raw) == comparable(bytes(built))
        assert notice.first_revision.message_id == str(built["Message-ID"])
    recorded = list(record_notices(url, notices))
    stored = {
        r["notice_id"]: bytes(r["message"])
        for r in query(url, "select notice_id, message from ops.notices")
    }
    assert len(stored) == len(notices)
    for notice, result in recorded:
        assert notice.first_revision is not None
        assert stored[result.notice_id] == notice.first_revision.raw


def test_only_many_departments_are_rendered_in_workers() -> None:
    assert render_workers(RENDER_IN_WORKERS_ABOVE) == 0
    cpus = len(os.sched_getaffinity(0))
    assert render_workers(RENDER_IN_WORKERS_ABOVE + 1) == min(MAX_RENDER_WORKERS, cpus - 1)


def _workers_in_a_daemon(answer: Any) -> None:
    answer.put(render_workers(RENDER_IN_WORKERS_ABOVE + 1))


def test_a_daemonic_process_renders_in_itself() -> None:
    # some executors run tasks in daemonic processes, which may not start children
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    daemon = context.Process(target=_workers_in_a_daemon, args=(answer,), daemon=True)
    daemon.start()
    try:
        assert answer.get(timeout=60) == 0
    finally:
        daemon.join(timeout=60)
