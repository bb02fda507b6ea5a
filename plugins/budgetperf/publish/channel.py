"""The notice channel: SMTP when the Airflow connection ``smtp_default`` is configured,
otherwise the outbox folder (one ``.eml`` per message). Used for notices to departments
and for alerts to data engineers alike.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

SMTP_CONN_ID = "smtp_default"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    login: str | None = None
    password: str | None = None
    use_ssl: bool = False
    use_starttls: bool = False
    timeout: float = 30.0


def smtp_settings_from_airflow(conn_id: str = SMTP_CONN_ID) -> SmtpSettings | None:
    """The SMTP server of the Airflow connection, or None when none is configured."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson or {}
    disable_ssl = bool(extra.get("disable_ssl", False))
    disable_tls = bool(extra.get("disable_tls", False))
    return SmtpSettings(
        host=conn.host or "localhost",
        port=int(conn.port or 25),
        login=conn.login or None,
        password=conn.password or None,
        use_ssl=not disable_ssl and int(conn.port or 25) == 465,
        use_starttls=not disable_tls and not disable_ssl and int(conn.port or 25) == 587,
        timeout=float(extra.get("timeout", 30)),
    )


def send_smtp(message: EmailMessage, smtp: SmtpSettings) -> None:
    """Send one message; raises on any SMTP or network error (the caller records it)."""
    client: smtplib.SMTP
    if smtp.use_ssl:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.use_starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.login:
            client.login(smtp.login, smtp.password or "")
        client.send_message(message)


def write_eml(message: EmailMessage, outbox: Path, name: str) -> Path:
    """Write the message to ``outbox/<name>.eml`` atomically; return its path."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{name}.eml"
    partial = path.with_suffix(".eml.partial")
    partial.write_bytes(bytes(message))
    partial.replace(path)
    return path
