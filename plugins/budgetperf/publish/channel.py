"""The notice channel: SMTP when the Airflow connection ``smtp_default`` is configured,
otherwise the outbox folder (one ``.eml`` per message). Used for notices to departments
and for alerts to data engineers alike.

The connection's extras follow the Airflow SMTP provider where it names them
(``disable_ssl``, ``disable_tls``, ``timeout``, ``retry_limit``), plus ``retry_delay``
(seconds before the first retry, doubled each time). When neither ``disable_*`` extra is
given the port decides: 465 is implicit TLS, anything else plain SMTP that upgrades with
STARTTLS when the server offers it. A plain ``{"host": "mail.example", "port": 25}`` thus
works against a bureau relay, and the provider's explicit switches still mean what they
mean there.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    login: str | None = None
    password: str | None = None
    use_ssl: bool = False
    # True: STARTTLS required; None: used when the server offers it; False: never
    use_starttls: bool | None = None
    timeout: float = 30.0
    # in-process retries are for blips; a longer outage is the task retry's (or the next
    # run's) to outlast, so they stay short
    retry_limit: int = 2
    retry_delay: float = 1.0


def smtp_settings_from_airflow(conn_id: str = SMTP_CONN_ID) -> SmtpSettings | None:
    """The SMTP server of the Airflow connection, or None when none is configured."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson or {}
    port = int(conn.port or 25)
    use_ssl = not _flag(extra["disable_ssl"]) if "disable_ssl" in extra else port == 465
    starttls: bool | None = None
    if use_ssl or ("disable_tls" in extra and _flag(extra["disable_tls"])):
        starttls = False
    elif "disable_tls" in extra:
        starttls = True
    return SmtpSettings(
        host=conn.host or "localhost",
        port=port,
        login=conn.login or None,
        password=conn.password or None,
        use_ssl=use_ssl,
        use_starttls=starttls,
        timeout=float(extra.get("timeout", 30)),
        retry_limit=int(extra.get("retry_limit", SmtpSettings.retry_limit)),
        retry_delay=float(extra.get("retry_delay", SmtpSettings.retry_delay)),
    )


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


class ChannelUnavailable(Exception):
    """The SMTP server cannot be reached or keeps answering "try later": stop this pass,
    the messages not sent stay in the ledger for the next one."""


class PermanentFailure(Exception):
    """The server refused this message for good (5xx): retrying the same message is
    pointless until someone fixes the address or the message."""


class SmtpSession:
    """One SMTP connection reused for many messages, reconnecting when it drops.

    ``send`` retries a message on connection loss and on 4xx answers (with backoff) up
    to ``retry_limit`` times, then raises ChannelUnavailable; a 5xx answer to the
    recipient or the message raises PermanentFailure at once.
    """

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        client: smtplib.SMTP
        if smtp.use_ssl:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        try:
            client.ehlo()
            wants_tls = smtp.use_starttls
            if wants_tls is None:
                wants_tls = client.has_extn("starttls")
            if wants_tls and not smtp.use_ssl:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.login:
                client.login(smtp.login, smtp.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None

    def send(self, message: Message) -> None:
        attempts = max(1, self.smtp.retry_limit + 1)
        delay = self.smtp.retry_delay
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                if self._client is None:
                    self._client = self._connect()
                self._client.send_message(message)
                return
            except smtplib.SMTPRecipientsRefused as exc:
                # every recipient refused; the codes say whether it may pass
                codes = [code for code, _ in exc.recipients.values()]
                if codes and all(400 <= code < 500 for code in codes):
                    last = exc
                    self._reset()
                    continue
                raise PermanentFailure(_describe(exc)) from exc
            except smtplib.SMTPResponseException as exc:
                if 500 <= exc.smtp_code < 600 and not isinstance(
                    exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError
                ):
                    self._reset()
                    raise PermanentFailure(_describe(exc)) from exc
                # 4xx, or our own sender/login refused (a configuration problem for every
                # message): try again, then give up on this pass
                last = exc
                self._drop()
            except (smtplib.SMTPException, OSError) as exc:
                last = exc
                self._drop()
        raise ChannelUnavailable(_describe(last)) from last

    def _reset(self) -> None:
        # after a refused transaction the connection is still good; RSET clears it
        if self._client is not None:
            try:
                self._client.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown SMTP error"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{rcpt}: {code} {reply.decode('utf-8', 'replace')}"
            for rcpt, (code, reply) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


def send_smtp(message: EmailMessage, smtp: SmtpSettings) -> None:
    """Send one message on its own connection; raises on failure (the caller records it)."""
    with SmtpSession(smtp) as session:
        session.send(message)


def write_eml(message: Message | bytes, outbox: Path, name: str) -> Path:
    """Write the message (or its bytes) to ``outbox/<name>.eml`` atomically; return its
    path.

    The name is the notice's identity, so writing the same notice again replaces the
    file instead of adding a second one.
    """
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{name}.eml"
    partial = path.with_suffix(".eml.partial")
    partial.write_bytes(message if isinstance(message, bytes) else bytes(message))
    partial.replace(path)
    return path
