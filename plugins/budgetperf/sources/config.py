"""Which source the pipeline pulls from, how to reach it, and what to ask it for.

Three layers, each from where it belongs:
- the choice (environment): ``BUDGETPERF_SOURCE`` = ``folder`` (default) | ``sql`` | ``http``,
  ``BUDGETPERF_SOURCE_CONN_ID`` (the Airflow connection, default ``budgetperf_source``),
  ``BUDGETPERF_SOURCE_CONFIG`` (the YAML file, default
  ``$BUDGETPERF_HOME/sources/source.yml``);
- the secrets (an Airflow connection, or ``BUDGETPERF_SOURCE_URL`` for the CLI and tests):
  host, port, account, password or token, TLS options;
- the mapping (YAML): per entity, the query or view and its columns (SQL), or the path,
  parameters and fields (HTTP); which entities pull incrementally, and by which column.

The YAML is checked strictly: an unknown key is an error naming the file and the key, so
a typo never silently becomes a default. The YAML holds no secret.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from budgetperf.ingest.entities import ENTITIES, ENTITY_ORDER
from budgetperf.sources.errors import SourceConfigError

SOURCE_KINDS = ("folder", "sql", "http")
PULL_KINDS = ("sql", "http")
DEFAULT_CONN_ID = "budgetperf_source"

# Records dated after the point are not part of the state "as of" the point: a payment
# made on 10-02 does not belong in the 09-30 delivery, even when the pull runs on 10-03.
# (The marts would ignore it for 09-30 anyway, but the file must say what it claims.)
DEFAULT_AS_OF_COLUMNS: dict[str, str] = {
    "budget_execution": "payment_date",
    "indicator_actuals": "as_of",
}
TEMPLATE_KEYS = ("as_of", "fiscal_year")


# -- the choice: environment ------------------------------------------------------------


@dataclass(frozen=True)
class SourceSettings:
    """The source the pipeline uses, read from the environment."""

    kind: str
    conn_id: str
    config_path: Path
    state_dir: Path  # pull state (snapshots, watermarks): $BUDGETPERF_HOME/sources
    url: str | None = field(default=None, repr=False)  # BUDGETPERF_SOURCE_URL, holds secrets

    @property
    def pulls(self) -> bool:
        return self.kind in PULL_KINDS


def source_settings(
    environ: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    kind: str | None = None,
    config_path: Path | None = None,
) -> SourceSettings:
    """The configured source; ``kind`` and ``config_path`` override the environment (CLI)."""
    env = os.environ if environ is None else environ
    if home is None:
        from budgetperf.settings import load_settings

        home = load_settings(dict(env)).home
    chosen = (kind or env.get("BUDGETPERF_SOURCE") or "folder").strip().lower()
    if chosen not in SOURCE_KINDS:
        raise SourceConfigError(
            "BUDGETPERF_SOURCE",
            f"{chosen!r} is not a source; choose one of {', '.join(SOURCE_KINDS)}",
        )
    state_dir = home / "sources"
    path = config_path or Path(env.get("BUDGETPERF_SOURCE_CONFIG") or state_dir / "source.yml")
    return SourceSettings(
        kind=chosen,
        conn_id=env.get("BUDGETPERF_SOURCE_CONN_ID") or DEFAULT_CONN_ID,
        config_path=Path(path).expanduser().resolve(),
        state_dir=state_dir,
        url=env.get("BUDGETPERF_SOURCE_URL") or None,
    )


# -- the secrets: a connection -----------------------------------------------------------


@dataclass(frozen=True)
class SourceConnection:
    """What an Airflow connection holds, without Airflow: the CLI and tests build one from
    a URL, the DAG from ``BaseHook.get_connection``. Password and extras never print."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None  # the database (SQL) or the URL scheme (HTTP, Airflow-style)
    path: str | None = None  # HTTP: the API's base path when not part of the host
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_airflow(cls, conn_id: str) -> SourceConnection:
        from airflow.sdk import BaseHook  # heavy: only where a connection is really read

        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # Airflow raises its own NotFound types per backend
            raise SourceConfigError(
                f"connection {conn_id}",
                f"cannot be read ({exc}); define the Airflow connection (or "
                f"AIRFLOW_CONN_{conn_id.upper()}) or set BUDGETPERF_SOURCE_CONN_ID",
            ) from None
        return cls(
            conn_id=conn_id,
            conn_type=str(conn.conn_type or ""),
            host=conn.host or None,
            port=int(conn.port) if conn.port else None,
            login=conn.login or None,
            password=conn.password or None,
            schema=conn.schema or None,
            extra=dict(conn.extra_dejson or {}),
        )

    @classmethod
    def from_url(cls, url: str, conn_id: str = "BUDGETPERF_SOURCE_URL") -> SourceConnection:
        """``postgresql://user:pw@host:5432/db?sslmode=require`` or
        ``https://:token@host/api/v1``: query parameters become extras."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("postgresql", "postgres"):
            conn_type, schema, path = "postgres", unquote(parts.path.lstrip("/")) or None, None
        elif scheme in ("http", "https"):
            conn_type, schema, path = "http", scheme, parts.path.rstrip("/") or None
        else:
            raise SourceConfigError(
                conn_id, f"unsupported URL scheme {scheme!r} (postgresql, http or https)"
            )
        try:
            port = parts.port
        except ValueError:
            raise SourceConfigError(conn_id, "the URL's port is not a number") from None
        return cls(
            conn_id=conn_id,
            conn_type=conn_type,
            host=parts.hostname,
            port=port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=schema,
            path=path,
            extra=dict(parse_qsl(parts.query)),
        )

    def identity(self) -> dict[str, Any]:
        """What makes this the same source system (no secrets): part of every snapshot's
        fingerprint, so pointing the connection elsewhere starts from a full pull."""
        return {
            "type": self.conn_type,
            "host": self.host,
            "port": self.port,
            "login": self.login,
            "schema": self.schema,
            "path": self.path,
        }


def connection_for(settings: SourceSettings) -> SourceConnection:
    if settings.url:
        return SourceConnection.from_url(settings.url)
    return SourceConnection.from_airflow(settings.conn_id)


# -- the mapping: YAML ------------------------------------------------------------------

_MISSING: Any = object()


class _Section:
    """A YAML mapping read strictly: every key taken is checked, and ``done`` refuses the
    rest. Errors name the file and the dotted key."""

    def __init__(self, data: Any, where: str, origin: str) -> None:
        if not isinstance(data, dict):
            raise SourceConfigError(origin, f"{where or 'the file'} must be a mapping")
        self.data = data
        self.where = where
        self.origin = origin
        self.taken: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, reason: str) -> SourceConfigError:
        return SourceConfigError(self.origin, f"{self._key(key)}: {reason}")

    def get(self, key: str, default: Any = _MISSING) -> Any:
        self.taken.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _MISSING:
            raise self.fail(key, "is required")
        return default

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, default)
        if value is not default and not isinstance(value, str):
            raise self.fail(key, f"must be text, not {value!r}")
        if isinstance(value, str) and not value.strip():
            raise self.fail(key, "is empty")
        return value

    def number(self, key: str, default: Any, *, minimum: float, integer: bool = False) -> Any:
        value = self.get(key, default)
        wrong_type = isinstance(value, bool) or not isinstance(
            value, int if integer else (int, float)
        )
        if wrong_type or value < minimum:
            wanted = "a whole number" if integer else "a number"
            raise self.fail(key, f"must be {wanted} of at least {minimum}, not {value!r}")
        return value

    def section(self, key: str, *, required: bool = False) -> _Section | None:
        value = self.get(key, _MISSING if required else None)
        if value is None:
            return None
        return _Section(value, self._key(key), self.origin)

    def text_map(self, key: str) -> dict[str, str]:
        value = self.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            raise self.fail(key, "must map names to text")
        return {k: str(v) for k, v in value.items()}

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            raise self.fail(
                unknown[0],
                f"unknown key (known here: {', '.join(sorted(self.taken))})",
            )


@dataclass(frozen=True)
class Incremental:
    """Pull only what changed since the last pull, by one column or field that grows."""

    column: str  # SQL: an output column (query) or a view column (view); HTTP: a field
    lookback_days: int = 1  # re-read this much before the watermark (late commits)
    param: str | None = None  # HTTP: the request parameter carrying the watermark


@dataclass(frozen=True)
class EntitySource:
    """How one entity is read. ``fingerprint`` changes whenever the answer could."""

    entity: str
    incremental: Incremental | None
    as_of_column: str | None
    fingerprint: str
    # SQL
    query: str | None = None
    schema: str | None = None
    view: str | None = None
    # both: contract column -> source column (SQL view) or field (HTTP)
    columns: dict[str, str] = field(default_factory=dict)
    # HTTP
    path: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    records: str | None = None


@dataclass(frozen=True)
class SqlConfig:
    origin: str
    entities: tuple[EntitySource, ...]
    fetch_rows: int = 5000
    statement_timeout_seconds: int = 1800
    ready_query: str | None = None


@dataclass(frozen=True)
class Pagination:
    style: str = "page"  # page | offset | next | none
    page_param: str = "page"
    size_param: str = "page_size"
    first_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    next_field: str = "next"
    next_param: str | None = None  # a token goes in this parameter; None: next is a URL


@dataclass(frozen=True)
class ResponseShape:
    records: str = "data"  # dotted path to the list of records; "" is the body itself
    total: str | None = None  # dotted path to the total count, when the API gives one
    code_field: str | None = None  # an application status inside a 200 answer
    ok_codes: tuple[str, ...] = ("0",)
    message_field: str | None = None


@dataclass(frozen=True)
class HttpConfig:
    origin: str
    entities: tuple[EntitySource, ...]
    page_size: int = 1000
    timeout_seconds: float = 60.0
    retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_pages: int = 100_000
    params: dict[str, str] = field(default_factory=dict)
    pagination: Pagination = field(default_factory=Pagination)
    response: ResponseShape = field(default_factory=ResponseShape)
    ready_path: str | None = None
    ready_field: str | None = None


def read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceConfigError(
            str(path), "no such file (set BUDGETPERF_SOURCE_CONFIG or pass --config)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(str(path), f"cannot be read ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceConfigError(str(path), f"is not valid YAML ({exc})") from None


def load_config(path: Path, kind: str) -> SqlConfig | HttpConfig:
    """Read and check the YAML for a ``sql`` or ``http`` source."""
    top = _Section(read_yaml(path), "", str(path))
    declared = top.text("source", kind)
    if declared != kind:
        raise top.fail("source", f"says {declared!r} but the configured source is {kind!r}")
    if kind == "sql":
        return _sql_config(top)
    return _http_config(top)


def _check_template(section: _Section, key: str, value: str) -> str:
    try:
        value.format_map(dict.fromkeys(TEMPLATE_KEYS, ""))
    except (KeyError, ValueError, IndexError) as exc:
        raise section.fail(
            key, f"{value!r}: only {{as_of}} and {{fiscal_year}} can be filled in ({exc})"
        ) from None
    return value


def _entity_sections(top: _Section) -> list[tuple[str, _Section, dict[str, Any]]]:
    entities = top.section("entities", required=True)
    assert entities is not None
    out = []
    for name in entities.data:
        if name not in ENTITIES:
            raise entities.fail(
                str(name), f"not an entity of the contract ({', '.join(ENTITY_ORDER)})"
            )
        section = entities.section(name, required=True)
        assert section is not None
        out.append((name, section, section.data))
    entities.done()
    if not out:
        raise top.fail("entities", "lists no entity")
    order = {name: i for i, name in enumerate(ENTITY_ORDER)}
    return sorted(out, key=lambda item: order[item[0]])


def _columns(section: _Section, entity: str) -> dict[str, str]:
    columns = section.text_map("columns")
    known = ENTITIES[entity].column_names
    for name in columns:
        if name not in known:
            raise section.fail(f"columns.{name}", f"not a column of {entity} ({', '.join(known)})")
    return columns


def _as_of_column(section: _Section, entity: str) -> str | None:
    if section.has("as_of_column"):
        value = section.get("as_of_column", None)
        if value is not None and value not in ENTITIES[entity].column_names:
            raise section.fail("as_of_column", f"{value!r} is not a column of {entity}")
        return str(value) if value is not None else None
    section.taken.add("as_of_column")
    return DEFAULT_AS_OF_COLUMNS.get(entity)


def _incremental(section: _Section, *, http: bool) -> Incremental | None:
    inc = section.section("incremental")
    if inc is None:
        return None
    result = Incremental(
        column=inc.text("field" if http else "column"),
        lookback_days=inc.number("lookback_days", 1, minimum=0, integer=True),
        param=inc.text("param") if http else None,
    )
    inc.done()
    return result


def _fingerprint(entity: str, data: dict[str, Any]) -> str:
    material = {"entity": entity, "columns": ENTITIES[entity].column_names, "config": data}
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sql_config(top: _Section) -> SqlConfig:
    entities = []
    for name, section, raw in _entity_sections(top):
        query = section.text("query", None)
        view = section.text("view", None)
        schema = section.text("schema", None)
        columns = _columns(section, name)
        incremental = _incremental(section, http=False)
        as_of_column = _as_of_column(section, name)
        section.done()  # a misspelt key first: it explains the checks below
        if (query is None) == (view is None):
            raise section.fail("query", "give either a query or a view (with its columns)")
        if query is not None and (schema or columns):
            raise section.fail("query", "a query names its own columns: drop schema/columns")
        if view is not None:
            missing = [c for c in ENTITIES[name].required_columns if c not in columns]
            if missing:
                raise section.fail(
                    "columns", f"maps no view column to required {', '.join(missing)}"
                )
        entities.append(
            EntitySource(
                entity=name,
                incremental=incremental,
                as_of_column=as_of_column,
                fingerprint=_fingerprint(name, raw),
                query=query.strip().rstrip(";").strip() if query else None,
                schema=schema,
                view=view,
                columns=columns,
            )
        )
    ready = top.section("ready")
    ready_query = None
    if ready is not None:
        ready_query = ready.text("query")
        ready.done()
    config = SqlConfig(
        origin=top.origin,
        entities=tuple(entities),
        fetch_rows=top.number("fetch_rows", 5000, minimum=1, integer=True),
        statement_timeout_seconds=top.number(
            "statement_timeout_seconds", 1800, minimum=0, integer=True
        ),
        ready_query=ready_query,
    )
    top.done()
    return config


def _http_config(top: _Section) -> HttpConfig:
    entities = []
    for name, section, raw in _entity_sections(top):
        params = section.text_map("params")
        path = section.text("path", None)
        entity = EntitySource(
            entity=name,
            incremental=_incremental(section, http=True),
            as_of_column=_as_of_column(section, name),
            fingerprint=_fingerprint(name, raw),
            columns=_columns(section, name),
            path=path,
            params=params,
            records=section.text("records", None),
        )
        section.done()  # a misspelt key first: it explains the checks below
        if path is None:
            raise section.fail("path", "is required (the endpoint, e.g. /payments)")
        for key, value in params.items():
            _check_template(section, f"params.{key}", value)
        entities.append(entity)
    params = top.text_map("params")
    for key, value in params.items():
        _check_template(top, f"params.{key}", value)

    pagination = Pagination()
    pag = top.section("pagination")
    if pag is not None:
        style = pag.text("style", "page")
        if style not in ("page", "offset", "next", "none"):
            raise pag.fail("style", f"{style!r}: choose page, offset, next or none")
        pagination = Pagination(
            style=style,
            page_param=pag.text("page_param", "page"),
            size_param=pag.text("size_param", "page_size"),
            first_page=pag.number("first_page", 1, minimum=0, integer=True),
            offset_param=pag.text("offset_param", "offset"),
            limit_param=pag.text("limit_param", "limit"),
            next_field=pag.text("next_field", "next"),
            next_param=pag.text("next_param", None),
        )
        pag.done()

    shape = ResponseShape()
    resp = top.section("response")
    if resp is not None:
        records = resp.get("records", "data")
        if not isinstance(records, str):
            raise resp.fail("records", "must be a dotted path such as data.records, or ''")
        ok = resp.get("ok_codes", ["0"])
        if not isinstance(ok, list) or not ok:
            raise resp.fail("ok_codes", "must be a list such as [0, 200]")
        shape = ResponseShape(
            records=records,
            total=resp.text("total", None),
            code_field=resp.text("code_field", None),
            ok_codes=tuple(str(code) for code in ok),
            message_field=resp.text("message_field", None),
        )
        resp.done()

    ready = top.section("ready")
    ready_path = ready_field = None
    if ready is not None:
        ready_path = ready.text("path")
        ready_field = ready.text("field")
        ready.done()

    config = HttpConfig(
        origin=top.origin,
        entities=tuple(entities),
        page_size=top.number("page_size", 1000, minimum=1, integer=True),
        timeout_seconds=float(top.number("timeout_seconds", 60, minimum=0.001)),
        retries=top.number("retries", 5, minimum=0, integer=True),
        backoff_seconds=float(top.number("backoff_seconds", 1, minimum=0)),
        max_backoff_seconds=float(top.number("max_backoff_seconds", 60, minimum=0)),
        max_pages=top.number("max_pages", 100_000, minimum=1, integer=True),
        params=params,
        pagination=pagination,
        response=shape,
        ready_path=ready_path,
        ready_field=ready_field,
    )
    top.done()
    return config
