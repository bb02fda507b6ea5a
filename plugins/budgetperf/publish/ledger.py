"""The notice ledger (``ops.notices``): exactly-once delivery per content.

A notice is identified by (kind, department, fiscal year, checkpoint) and its content hash.
Recording the same content again is a no-op; different content for a key that already had
a notice is a correction (更正). Delivery works from the ledger, so a notice rendered while
SMTP was down stays ``pending`` and the next attempt sends it; rows are locked while being
sent so two runs never send the same notice twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path

from budgetperf.publish.channel import SmtpSettings, send_smtp, write_eml
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass
class Notice:
    """A rendered notice before it enters the ledger."""

    kind: str  # department | summary | alert
    subject: str
    recipient: str | None
    sender: str
    body_text: str
    body_html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    fiscal_year: int | None = None
    checkpoint_date: dt.date | None = None
    department_code: str | None = None
    run_id: str | None = None

    def content_hash(self) -> str:
        """Hash of what the reader sees, excluding the correction marker and dates."""
        digest = hashlib.sha256()
        for part in (self.kind, self.recipient or "", self.subject, self.body_text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        for attachment in self.attachments:
            digest.update(attachment.filename.encode("utf-8"))
            digest.update(hashlib.sha256(attachment.content).digest())
        return digest.hexdigest()


CORRECTION_MARK = "【更正】"


def build_message(notice: Notice, *, is_correction: bool, content_hash: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    subject = (CORRECTION_MARK + notice.subject) if is_correction else notice.subject
    message["Subject"] = subject
    message["From"] = notice.sender
    message["To"] = notice.recipient or "undisclosed-recipients:;"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=content_hash[:16], domain="budgetperf.local")
    message["X-Budgetperf-Content-Hash"] = content_hash
    body = notice.body_text
    if is_correction:
        body = "本通报为更正通报，以本次内容为准。\n\n" + body
    message.set_content(body)
    if notice.body_html:
        html = notice.body_html
        if is_correction:
            html = html.replace(
                "<body>", "<body><p><strong>本通报为更正通报，以本次内容为准。</strong></p>", 1
            )
        message.add_alternative(html, subtype="html")
    for attachment in notice.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


@dataclass
class RecordResult:
    notice_id: int
    is_new: bool
    is_correction: bool


def record_notice(url: str, notice: Notice) -> RecordResult:
    """Insert the notice unless this exact content is already in the ledger."""
    content_hash = notice.content_hash()
    key = (
        notice.kind,
        notice.department_code or "",
        notice.fiscal_year or 0,
        notice.checkpoint_date or dt.date(1900, 1, 1),
    )
    with connect(url) as conn:
        # serialise recorders of the same key so "is this a correction?" is decided once
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", ("|".join(str(k) for k in key),))
        existing = conn.execute(
            """
            select notice_id from ops.notices
            where kind = %s and coalesce(department_code, '') = %s
              and coalesce(fiscal_year, 0) = %s
              and coalesce(checkpoint_date, date '1900-01-01') = %s
              and content_hash = %s
            """,
            (*key, content_hash),
        ).fetchone()
        if existing:
            return RecordResult(int(existing[0]), is_new=False, is_correction=False)
        earlier = conn.execute(
            """
            select count(*) from ops.notices
            where kind = %s and coalesce(department_code, '') = %s
              and coalesce(fiscal_year, 0) = %s
              and coalesce(checkpoint_date, date '1900-01-01') = %s
            """,
            key,
        ).fetchone()
        is_correction = bool(earlier and earlier[0]) and notice.kind != "alert"
        message = build_message(notice, is_correction=is_correction, content_hash=content_hash)
        status = "pending" if notice.recipient else "no_recipient"
        row = conn.execute(
            """
            insert into ops.notices (
                kind, run_id, fiscal_year, checkpoint_date, department_code, recipient,
                subject, content_hash, is_correction, status, body_text, body_html, message
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning notice_id
            """,
            (
                notice.kind,
                notice.run_id,
                notice.fiscal_year,
                notice.checkpoint_date,
                notice.department_code,
                notice.recipient,
                str(message["Subject"]),
                content_hash,
                is_correction,
                status,
                notice.body_text,
                notice.body_html,
                bytes(message),
            ),
        ).fetchone()
        assert row is not None
        return RecordResult(int(row[0]), is_new=True, is_correction=is_correction)


@dataclass
class DeliveryResult:
    sent: int = 0
    written_to_outbox: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(
    url: str,
    *,
    smtp: SmtpSettings | None,
    outbox: Path,
    notice_ids: Iterable[int] | None = None,
) -> DeliveryResult:
    """Send every pending notice (optionally only these ids), one transaction each."""
    from email import message_from_bytes
    from email.policy import SMTP as POLICY

    result = DeliveryResult()
    ids = list(notice_ids) if notice_ids is not None else None
    with connect(url) as conn:
        query = "select notice_id from ops.notices where status in ('pending', 'failed')"
        params: tuple[object, ...] = ()
        if ids is not None:
            query += " and notice_id = any(%s)"
            params = (ids,)
        candidates = [int(r[0]) for r in conn.execute(query + " order by notice_id", params)]
        conn.commit()
        for notice_id in candidates:
            with conn.transaction():
                row = conn.execute(
                    """
                    select message, department_code, kind, checkpoint_date from ops.notices
                    where notice_id = %s and status in ('pending', 'failed')
                    for update skip locked
                    """,
                    (notice_id,),
                ).fetchone()
                if row is None:  # another run holds it or already sent it
                    continue
                raw, department_code, kind, checkpoint_date = row
                message = message_from_bytes(bytes(raw), policy=POLICY)
                try:
                    if smtp is not None:
                        send_smtp(message, smtp)
                        outbox_path = None
                        result.sent += 1
                    else:
                        name = (
                            f"{checkpoint_date or 'undated'}-{kind}-"
                            + (f"{department_code}-" if department_code else "")
                            + f"{notice_id}"
                        )
                        outbox_path = str(write_eml(message, outbox, name))
                        result.written_to_outbox += 1
                    conn.execute(
                        """
                        update ops.notices
                        set status = 'sent', attempts = attempts + 1, sent_at = now(),
                            last_error = null, outbox_path = %s
                        where notice_id = %s
                        """,
                        (outbox_path, notice_id),
                    )
                except (OSError, Exception) as exc:
                    result.failed += 1
                    result.errors.append(f"notice {notice_id}: {exc}")
                    conn.execute(
                        """
                        update ops.notices
                        set status = 'failed', attempts = attempts + 1, last_error = %s
                        where notice_id = %s
                        """,
                        (str(exc)[:2000], notice_id),
                    )
    return result
