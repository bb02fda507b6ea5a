"""HTTP API source: JSON over HTTPS, token auth, pagination, retries.

The base URL and the token come from the Airflow connection (host with scheme or the
connection's ``schema`` as scheme, port, password = token or extra ``token``; extras
``auth_header`` (default ``Authorization``), ``auth_scheme`` (default ``Bearer``, empty
for a bare token), ``verify`` (a CA bundle path or false), ``base_path``, ``allow_http``).
Plain HTTP is refused unless the host is this machine or ``allow_http`` is set: a token
must not cross a network in clear text.

Each request is retried on a timeout, a connection failure, 408, 429 or 5xx, waiting
``backoff_seconds * 2**attempt`` (at most ``max_backoff_seconds``, or what ``Retry-After``
asks); any other 4xx fails at once, naming the endpoint, the status and the start of the
body. Numbers in JSON are read as exact decimals, never floats.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import logging
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from budgetperf.ingest.entities import ENTITIES, Entity
from budgetperf.sources.base import Extract, SourceRow
from budgetperf.sources.cells import contract_name
from budgetperf.sources.config import EntitySource, HttpConfig, SourceConnection
from budgetperf.sources.errors import (
    SourceConfigError,
    SourceDataError,
    SourceRefused,
    SourceUnavailable,
)
from budgetperf.sources.watermark import Watermark

log = logging.getLogger("budgetperf.sources")

_RETRY_STATUSES = frozenset({408, 429})
_EXCERPT = 300


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    # JSON error bodies often escape Chinese (\u65e0...): show it as people read it
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dig(document: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.records``); ``""`` is the document itself."""
    if not path:
        return document
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y")


class HttpSource:
    def __init__(self, config: HttpConfig, connection: SourceConnection) -> None:
        self.config = config
        self.connection = connection
        self.name = f"http:{connection.conn_id}"
        self.entities = config.entities
        if connection.conn_type not in ("http", "https", ""):
            raise SourceConfigError(
                self.name,
                f"the connection is of type {connection.conn_type!r}; the HTTP source needs "
                "an http connection",
            )
        self.base_url = self._base_url()

    def identity(self) -> dict[str, Any]:
        return {**self.connection.identity(), "base_url": self.base_url}

    def _base_url(self) -> str:
        conn = self.connection
        host = (conn.host or "").strip()
        if not host:
            raise SourceConfigError(self.name, "the connection has no host")
        if "://" in host:
            parts = urlsplit(host)
            scheme, hostname, path = parts.scheme, parts.hostname or "", parts.path
            port = parts.port or conn.port
        else:
            scheme = (conn.schema or "https").lower()
            hostname, path, port = host.split("/", 1)[0], "", conn.port
            if "/" in host:
                path = "/" + host.split("/", 1)[1]
        if scheme not in ("http", "https"):
            raise SourceConfigError(self.name, f"scheme {scheme!r} is not http or https")
        path = (conn.path or str(conn.extra.get("base_path") or "") or path).rstrip("/")
        if (
            scheme == "http"
            and not _is_local(hostname)
            and not _flag(conn.extra.get("allow_http", ""))
        ):
            raise SourceConfigError(
                self.name,
                f"plain http to {hostname} would send the token in clear text; use https "
                '(or set the connection extra "allow_http": true on a trusted network)',
            )
        netloc = f"[{hostname}]" if ":" in hostname else hostname
        if port:
            netloc += f":{port}"
        return f"{scheme}://{netloc}{path}"

    def _headers(self) -> dict[str, str]:
        conn = self.connection
        token = conn.password or conn.extra.get("token")
        if not token:
            raise SourceConfigError(
                self.name,
                'no token: put it in the connection\'s password (or extra "token")',
            )
        header = str(conn.extra.get("auth_header") or "Authorization")
        scheme = conn.extra.get("auth_scheme", "Bearer")
        value = f"{scheme} {token}" if scheme else str(token)
        return {header: value, "Accept": "application/json", "User-Agent": "budgetperf-pull"}

    def _verify(self) -> bool | ssl.SSLContext:
        """TLS verification: on (default), off, or against a CA bundle (a bureau's
        private CA): httpx takes the latter as an SSL context."""
        verify = self.connection.extra.get("verify", True)
        if isinstance(verify, bool):
            return verify
        text = str(verify).strip()
        if text.lower() in ("false", "0", "no"):
            return False
        if text.lower() in ("true", "1", "yes", ""):
            return True
        try:
            return ssl.create_default_context(cafile=text)
        except (OSError, ssl.SSLError) as exc:
            raise SourceConfigError(
                self.name, f'the connection extra "verify" names {text}: {exc}'
            ) from None

    @contextmanager
    def session(self) -> Iterator[HttpSession]:
        client = httpx.Client(
            headers=self._headers(),
            timeout=self.config.timeout_seconds,
            verify=self._verify(),
            follow_redirects=False,  # a redirect elsewhere must not receive the token
        )
        try:
            yield HttpSession(self, client)
        finally:
            client.close()

    def not_ready(self, as_of: dt.date) -> str | None:
        if self.config.ready_path is None:
            return None
        with self.session() as session:
            document = session.get_json(self.config.ready_path, {}, None)
        value = dig(document, self.config.ready_field)
        if value is True:
            return None
        if isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                day = None
            if day is not None and day >= as_of:
                return None
        return f"{self.config.ready_path} {self.config.ready_field} is {value!r}"


class HttpSession:
    def __init__(self, source: HttpSource, client: httpx.Client) -> None:
        self.source = source
        self.client = client
        self.config = source.config

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.source.base_url + "/" + path.lstrip("/")

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.source.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def get_json(self, path: str, params: Mapping[str, Any], entity: str | None) -> Any:
        """GET one page, retrying what may pass; the decoded body."""
        url = self.url(path)
        shown = url + ("?" + urlencode(params) if params else "")
        name = self.source.name
        attempt = 0
        while True:
            reason: str
            wait: float | None = None
            try:
                response = self.client.get(url, params=dict(params))
            except httpx.TimeoutException:
                reason = f"GET {shown} timed out after {self.config.timeout_seconds:g} s"
            except httpx.TransportError as exc:
                if _untrusted(exc):
                    # not a network hiccup: retrying cannot make the certificate trusted
                    raise SourceConfigError(
                        name,
                        f"GET {shown}: the server's TLS certificate is not trusted ({exc}); "
                        'set the connection extra "verify" to the CA bundle that signed it',
                        entity=entity,
                    ) from None
                reason = f"GET {shown} failed: {exc.__class__.__name__}: {exc}"
            else:
                status = response.status_code
                if status < 300:
                    return self._decode(response, shown, entity)
                body = _excerpt(response.content)
                reason = f"GET {shown} answered {status} {response.reason_phrase}: {body}"
                if status < 500 and status not in _RETRY_STATUSES:
                    raise SourceRefused(name, reason, entity=entity)
                wait = _retry_after(response.headers.get("Retry-After"))
            if attempt >= self.config.retries:
                raise SourceUnavailable(
                    name, f"{reason} (gave up after {attempt + 1} attempts)", entity=entity
                )
            delay = min(self.config.max_backoff_seconds, self.config.backoff_seconds * 2**attempt)
            if wait is not None:
                delay = min(self.config.max_backoff_seconds, max(delay, wait))
            log.warning("budgetperf: %s; retrying in %.1f s", reason, delay)
            time.sleep(delay)
            attempt += 1

    def _decode(self, response: httpx.Response, shown: str, entity: str | None) -> Any:
        name = self.source.name
        try:
            document = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise SourceDataError(
                name,
                f"GET {shown} answered {response.status_code} with something that is not "
                f"JSON: {_excerpt(response.content)}",
                entity=entity,
            ) from None
        shape = self.config.response
        if shape.code_field is not None:
            code = dig(document, shape.code_field)
            if str(code) not in shape.ok_codes:
                message = dig(document, shape.message_field) if shape.message_field else None
                raise SourceRefused(
                    name,
                    f"GET {shown} answered {shape.code_field}={code!r}"
                    + (f": {message}" if message else ""),
                    entity=entity,
                )
        return document

    def extract(self, spec: EntitySource, as_of: dt.date, since: Watermark | None) -> Extract:
        assert spec.path is not None
        fill = {"as_of": as_of.isoformat(), "fiscal_year": str(as_of.year)}
        params = {k: v.format_map(fill) for k, v in {**self.config.params, **spec.params}.items()}
        if since is not None and spec.incremental is not None and spec.incremental.param:
            params[spec.incremental.param] = since.text
        described = f"GET {self.url(spec.path)}"
        return Extract(self._records(spec, params), described)

    def _pages(self, spec: EntitySource, params: dict[str, Any]) -> Iterator[list[Any]]:
        """The records of each page, in order, until the last page."""
        pag, size, name = self.config.pagination, self.config.page_size, self.source.name
        records_at = spec.records if spec.records is not None else self.config.response.records
        path: str = spec.path or ""
        # "next" paging: the page size on the first request; then the API's token (with
        # the size) or its link (which carries everything)
        page_params: dict[str, Any] = {pag.size_param: size} if pag.style == "next" else {}
        seen = 0
        last_digest = b""
        for number in range(self.config.max_pages):
            if pag.style == "page":
                page_params = {pag.page_param: pag.first_page + number, pag.size_param: size}
            elif pag.style == "offset":
                page_params = {pag.offset_param: seen, pag.limit_param: size}
            document = self.get_json(path, {**params, **page_params}, spec.entity)
            records = dig(document, records_at)
            if records is None and number > 0 and pag.style == "next":
                records = []
            if not isinstance(records, list):
                raise SourceDataError(
                    name,
                    f"GET {self.url(path)}: no list of records at {records_at or 'the top'!r} "
                    f"(page {number + 1}); set response.records in the YAML",
                    entity=spec.entity,
                )
            # the first and last records stand for the page: an API that ignores the
            # paging parameters repeats them, a real next page does not
            digest = hashlib.sha256(
                json.dumps(records[:1] + records[-1:], sort_keys=True, default=str).encode()
            ).digest()
            if records and digest == last_digest:
                raise SourceDataError(
                    name,
                    f"GET {self.url(path)} returned the same page twice (page {number + 1}): "
                    "the API ignores the pagination parameters of the YAML",
                    entity=spec.entity,
                )
            last_digest = digest
            seen += len(records)
            yield records
            if pag.style == "none" or not records:
                return
            if pag.style in ("page", "offset"):
                total = _count(dig(document, self.config.response.total))
                if len(records) < size or (total is not None and seen >= total):
                    return
                continue
            following = dig(document, pag.next_field)
            if following in (None, "", False):
                return
            if pag.next_param:
                page_params = {pag.size_param: size, pag.next_param: following}
            else:
                target = urljoin(self.url(path), str(following))
                if not self._same_origin(target):
                    raise SourceDataError(
                        name,
                        f"the next page is on another server ({target}); the token is "
                        "only sent to the connection's host",
                        entity=spec.entity,
                    )
                path, params, page_params = target, {}, {}
        raise SourceDataError(
            name,
            f"GET {self.url(spec.path or '')}: more than max_pages={self.config.max_pages} pages",
            entity=spec.entity,
        )

    def _records(self, spec: EntitySource, params: dict[str, Any]) -> Iterator[list[SourceRow]]:
        entity = ENTITIES[spec.entity]
        fields = _FieldMap(entity, spec, self.source.name)
        row = 0
        for records in self._pages(spec, params):
            batch: list[SourceRow] = []
            for record in records:
                row += 1
                batch.append(fields.row(record, row))
            if row and not fields.checked:
                fields.check_required(row)
            yield batch


class _FieldMap:
    """Which record field feeds which contract column: the YAML's ``columns`` first, then
    fields named after the contract (English name or Chinese label); other fields of the
    API are ignored. Records may omit fields (null), so the map grows as fields appear."""

    def __init__(self, entity: Entity, spec: EntitySource, source: str) -> None:
        self.entity = entity
        self.source = source
        self.spec = spec
        self.by_field: dict[str, int] = {
            field: entity.column_names.index(column) for column, field in spec.columns.items()
        }
        self.seen: set[str] = set(self.by_field)
        self.cursor = spec.incremental.column if spec.incremental else None
        self.filled: set[int] = set()
        self.checked = False
        self.plans: dict[tuple[str, ...], list[tuple[str, int]]] = {}

    def _learn(self, key: str) -> None:
        self.seen.add(key)
        if key in self.spec.columns.values():
            return
        column = contract_name(key, self.entity)
        if column is None or column in self.spec.columns:
            return  # an API field of its own, or the YAML maps this column elsewhere
        index = self.entity.column_names.index(column)
        if index in self.by_field.values():
            return
        self.by_field[key] = index

    def _plan(self, keys: tuple[str, ...]) -> list[tuple[str, int]]:
        """(field, column index) for records with exactly these keys; records of one API
        share a handful of key sets, so this runs a handful of times."""
        plan = self.plans.get(keys)
        if plan is None:
            for key in keys:
                if key not in self.seen:
                    self._learn(key)
            plan = [(k, self.by_field[k]) for k in keys if k in self.by_field]
            self.plans[keys] = plan
        return plan

    def row(self, record: Any, number: int) -> SourceRow:
        if not isinstance(record, dict):
            raise SourceDataError(
                self.source,
                f"a record is not a JSON object but {type(record).__name__}",
                entity=self.entity.name,
                row=number,
            )
        values: list[Any] = [None] * len(self.entity.columns)
        for key, index in self._plan(tuple(record)):
            values[index] = record[key]
        if not self.checked:
            self.filled.update(i for i, v in enumerate(values) if v is not None)
        return tuple(values), (record.get(self.cursor) if self.cursor else None)

    def check_required(self, rows: int) -> None:
        """After the first page: a required column no record ever filled is a mapping
        mistake, not data; say so before a whole file of rejects is written."""
        self.checked = True
        names = self.entity.column_names
        missing = [c for c in self.entity.required_columns if names.index(c) not in self.filled]
        if missing:
            raise SourceConfigError(
                self.source,
                f"no field of the first {rows:,} records gives required {', '.join(missing)}; "
                f"fields seen: {', '.join(sorted(self.seen)) or 'none'}; map them under "
                f"entities.{self.entity.name}.columns",
                entity=self.entity.name,
            )


def _untrusted(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the exponential backoff is good enough
