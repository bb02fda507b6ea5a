"""The notice ledger against a real SMTP server: exactly once per content, corrections,
outages, refusals, interrupted deliveries and concurrent delivery passes.

Notices here are small synthetic ones (the ledger does not care what they say); the
notices rendered from the marts are tested in test_notices.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import psycopg
import pytest
from publish_helpers import SENDER, SmtpServer, query, smtp_server

from budgetperf.publish.channel import SmtpSettings
from budgetperf.publish.ledger import (
    CORRECTION_MARK,
    Notice,
    deliver_pending,
    record_notice,
)
from budgetperf.warehouse.roles import role_url

# no demo warehouse needed: may run on the other worker
pytestmark = pytest.mark.xdist_group("publish-ledger")

POINT = dt.date(2021, 6, 30)


def notice(department: str, figures: str, recipient: str | None = "dept@example.org") -> Notice:
    return Notice(
        kind="department",
        subject=f"通报 {department}",
        recipient=recipient,
        sender=SENDER,
        body_text=f"{department}: {figures}",
        body_html=f"<html><body><!--correction--><p>{department}: {figures}</p></body></html>",
        fiscal_year=2021,
        checkpoint_date=POINT,
        department_code=department,
        content=figures,
    )


@pytest.fixture
def as_publisher(warehouse_url: str) -> str:
    """The ledger is used as the DAG uses it: as the publisher role (least privilege);
    ``warehouse_url`` (the owner) only inspects and stages rows."""
    return role_url(warehouse_url, "publisher")


def smtp(server: SmtpServer, retry_limit: int = 1) -> SmtpSettings:
    return SmtpSettings(
        "127.0.0.1",
        server.port,
        use_starttls=False,
        timeout=5,
        retry_limit=retry_limit,
        retry_delay=0,
    )


def statuses(url: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in query(url, "select department_code, status from ops.notices order by revision"):
        found.setdefault(row["department_code"], []).append(row["status"])
    return found


def test_same_content_is_recorded_and_sent_once(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    with smtp_server() as server:
        first = record_notice(as_publisher, notice("D1", "spent 10"))
        again = record_notice(as_publisher, notice("D1", "spent 10"))
        assert first.is_new and not again.is_new and again.notice_id == first.notice_id
        assert deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path).sent == 1
        record_notice(as_publisher, notice("D1", "spent 10"))
        assert deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path).sent == 0
        assert len(server.messages) == 1
        assert server.messages[0].rcpt_tos == ["dept@example.org"]
        assert not server.messages[0].subject.startswith(CORRECTION_MARK)


def test_changed_content_after_delivery_is_a_correction(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    with smtp_server() as server:
        record_notice(as_publisher, notice("D1", "spent 10"))
        deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        changed = record_notice(as_publisher, notice("D1", "spent 12"))
        assert changed.is_new and changed.is_correction and changed.revision == 2
        deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        # back to the first figures: the department holds "12" now, so this is news too
        back = record_notice(as_publisher, notice("D1", "spent 10"))
        assert back.is_new and back.is_correction and back.revision == 3
        deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        subjects = [m.subject for m in server.messages]
        assert subjects == ["通报 D1", CORRECTION_MARK + "通报 D1", CORRECTION_MARK + "通报 D1"]
        corrected = server.messages[1]
        assert "更正" in corrected.text() and "spent 12" in corrected.text()
        assert "更正" in corrected.html()
        assert statuses(warehouse_url) == {"D1": ["sent", "sent", "sent"]}


def test_undelivered_revision_is_superseded_not_corrected(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    # rendered while SMTP was down, then the data was corrected before any delivery:
    # the department gets one notice, the new one, not marked as a correction
    record_notice(as_publisher, notice("D1", "spent 10"))
    newer = record_notice(as_publisher, notice("D1", "spent 12"))
    assert newer.superseded == 1 and not newer.is_correction
    with smtp_server() as server:
        deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert [m.subject for m in server.messages] == ["通报 D1"]
        assert "spent 12" in server.messages[0].text()
    assert statuses(warehouse_url) == {"D1": ["superseded", "sent"]}


def test_department_without_contact_is_kept_and_sent_once_it_has_one(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    recorded = record_notice(as_publisher, notice("D2", "spent 5", recipient=None))
    assert recorded.status == "no_recipient"
    with smtp_server() as server:
        assert deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path).sent == 0
        # the department registers an address; the same content is now deliverable
        again = record_notice(as_publisher, notice("D2", "spent 5", recipient="d2@example.org"))
        assert again.notice_id == recorded.notice_id and again.status == "pending"
        deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert [m.rcpt_tos for m in server.messages] == [["d2@example.org"]]
        assert not server.messages[0].subject.startswith(CORRECTION_MARK)


def test_smtp_down_then_up_loses_and_doubles_nothing(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    for index in range(5):
        record_notice(as_publisher, notice(f"D{index}", "spent 1", f"d{index}@example.org"))
    server = SmtpServer()  # its port is closed: nothing listens yet
    down = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
    assert down.delivered == 0 and down.failed == 1 and down.deferred == 4
    assert down.undelivered == 5
    rows = query(warehouse_url, "select status, attempts, last_error from ops.notices")
    assert [r["status"] for r in rows] == ["failed"] * 5  # kept, with the reason
    assert sum(r["attempts"] for r in rows) == 1  # only one was actually tried
    assert all("SMTP unavailable" in (r["last_error"] or "") for r in rows)
    server.start()
    try:
        up = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        again = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
    finally:
        server.stop()
    assert up.sent == 5 and again.sent == 0
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [f"d{i}@example.org" for i in range(5)]
    assert {r["status"] for r in query(warehouse_url, "select status from ops.notices")} == {"sent"}


def test_server_busy_mid_batch_then_recovers(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    for index in range(6):
        record_notice(as_publisher, notice(f"D{index}", "spent 1", f"d{index}@example.org"))
    with smtp_server() as server:
        server.recorder.accept_limit = 2  # answers 451 "try later" from the third message
        busy = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert busy.sent == 2 and busy.failed == 1 and busy.deferred == 3
        server.recorder.accept_limit = None
        rest = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert rest.sent == 4
        ids = [m.message_id for m in server.messages]
        assert len(ids) == 6 and len(set(ids)) == 6


def test_refused_recipient_is_rejected_and_the_rest_go_out(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    record_notice(as_publisher, notice("D1", "spent 1", "gone@example.org"))
    record_notice(as_publisher, notice("D2", "spent 1", "d2@example.org"))
    with smtp_server() as server:
        server.recorder.refused.add("gone@example.org")
        result = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert result.rejected == 1 and result.sent == 1 and result.undelivered == 1
        # a rejection is not retried blindly: it waits for someone to fix the address
        assert deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path).rejected == 0
        assert [m.rcpt_tos for m in server.messages] == [["d2@example.org"]]
    rejected = query(warehouse_url, "select last_error from ops.notices where status = 'rejected'")
    assert "550" in rejected[0]["last_error"]


def test_interrupted_delivery_is_resent_once_with_the_same_message_id(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    stale = record_notice(as_publisher, notice("D1", "spent 1", "d1@example.org"))
    fresh = record_notice(as_publisher, notice("D2", "spent 1", "d2@example.org"))
    with psycopg.connect(warehouse_url) as conn:
        # D1: a delivery claimed it an hour ago and died (maybe after SMTP accepted it);
        # D2: another delivery is sending it right now
        conn.execute(
            """
            update ops.notices set status = 'sending', claimed_by = 'dead',
                claimed_at = now() - interval '1 hour', attempts = 1
            where notice_id = %s
            """,
            (stale.notice_id,),
        )
        conn.execute(
            "update ops.notices set status = 'sending', claimed_by = 'alive', "
            "claimed_at = now(), attempts = 1 where notice_id = %s",
            (fresh.notice_id,),
        )
    with smtp_server() as server:
        result = deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path)
        assert result.sent == 1 and result.resent_after_interruption == 1
        assert [m.rcpt_tos for m in server.messages] == [["d1@example.org"]]
        stored = query(
            warehouse_url,
            "select message_id, status, attempts, last_error from ops.notices where notice_id = %s",
            (stale.notice_id,),
        )[0]
        assert server.messages[0].message_id == stored["message_id"]
        assert stored["status"] == "sent" and stored["attempts"] == 2
        assert "interrupted" in stored["last_error"]
    still = query(
        warehouse_url, "select status from ops.notices where notice_id = %s", (fresh.notice_id,)
    )
    assert still == [{"status": "sending"}]  # never taken from a live delivery


def test_concurrent_deliveries_send_each_notice_once(
    warehouse_url: str, as_publisher: str, tmp_path: Path
) -> None:
    count = 40
    for index in range(count):
        record_notice(
            as_publisher,
            notice(f"D{index:02d}", "spent 1", f"d{index}@example.org"),
        )
    with smtp_server() as server:
        results = []
        start = threading.Barrier(3)

        def deliver() -> None:
            start.wait()
            results.append(deliver_pending(as_publisher, smtp=smtp(server), outbox=tmp_path))

        workers = [threading.Thread(target=deliver) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sum(r.sent for r in results) == count
        recipients = [m.rcpt_tos[0] for m in server.messages]
        assert len(recipients) == count and len(set(recipients)) == count


def test_outbox_when_no_smtp(warehouse_url: str, as_publisher: str, tmp_path: Path) -> None:
    record_notice(as_publisher, notice("D1", "spent 1"))
    outbox = tmp_path / "outbox"
    first = deliver_pending(as_publisher, smtp=None, outbox=outbox)
    second = deliver_pending(as_publisher, smtp=None, outbox=outbox)
    assert first.written_to_outbox == 1 and second.written_to_outbox == 0
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1 and b"Subject:" in files[0].read_bytes()
    stored = query(warehouse_url, "select outbox_path, status from ops.notices")
    assert stored == [{"outbox_path": str(files[0]), "status": "sent"}]
