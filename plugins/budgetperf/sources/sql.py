"""SQL source: the integration system's reporting database, through a read-only account.

Each entity is a ``query`` from the YAML (its output columns named after the contract, in
English or by the Chinese label) or a ``view`` with a column mapping, from which the
select is built with quoted identifiers (``psycopg.sql``), never by formatting strings.
All entities are read in one ``REPEATABLE READ READ ONLY`` transaction: one consistent
snapshot of the source, so a payment never refers to a project the same pull missed.
Rows are streamed through a server-side (named) cursor, ``fetch_rows`` at a time.

Queries get the parameters ``%(as_of)s`` (the point, a date) and ``%(fiscal_year)s``; a
literal ``%`` in a query is written ``%%``. An incremental entity is filtered on its
column (``>= %(since)s``): a query is wrapped as a subquery (PostgreSQL pushes the filter
into the view), a view gets the condition directly.

Speaks the PostgreSQL protocol (PostgreSQL and compatible systems such as KingbaseES or
openGauss in PostgreSQL mode).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import Conninfo

from budgetperf.ingest.entities import ENTITIES
from budgetperf.sources.base import Extract, SourceRow
from budgetperf.sources.cells import ColumnPlan, pick, plan_columns
from budgetperf.sources.config import EntitySource, SourceConnection, SqlConfig
from budgetperf.sources.errors import (
    SourceConfigError,
    SourceError,
    SourceRefused,
    SourceUnavailable,
)
from budgetperf.sources.watermark import Watermark

log = logging.getLogger("budgetperf.sources")

_CURSOR_ALIAS = "bp_incremental"


def _libpq_keywords() -> frozenset[str]:
    return frozenset(
        option.keyword.decode() for option in Conninfo.get_defaults() if option.keyword
    )


def _classify(name: str, exc: psycopg.Error, entity: str | None, what: str) -> SourceError:
    """Connection trouble, cancellations and serialization conflicts (a standby replaying
    WAL cancels long reads) pass; everything else needs a person."""
    detail = (exc.diag.message_primary or str(exc)).strip() if exc.diag else str(exc).strip()
    reason = f"{what} failed: {detail}"
    if exc.sqlstate:
        reason += f" (SQLSTATE {exc.sqlstate})"
    if isinstance(exc, psycopg.OperationalError):
        return SourceUnavailable(name, reason, entity=entity)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return SourceRefused(name, reason, entity=entity)
    if isinstance(exc, psycopg.ProgrammingError):
        return SourceConfigError(name, reason, entity=entity)
    return SourceError(name, reason, entity=entity)


class SqlSource:
    def __init__(self, config: SqlConfig, connection: SourceConnection) -> None:
        self.config = config
        self.connection = connection
        self.name = f"sql:{connection.conn_id}"
        self.entities = config.entities
        if connection.conn_type not in ("postgres", "postgresql", ""):
            raise SourceConfigError(
                self.name,
                f"the connection is of type {connection.conn_type!r}; the SQL source needs "
                "a postgres connection (PostgreSQL protocol)",
            )

    def identity(self) -> dict[str, Any]:
        return self.connection.identity()

    def conninfo(self) -> str:
        conn = self.connection
        if not conn.host:
            raise SourceConfigError(self.name, "the connection has no host")
        keywords = _libpq_keywords()
        # Airflow's postgres extras may carry keys of their own (cursor, iam...): only
        # what libpq knows goes through
        extra = {k: str(v) for k, v in conn.extra.items() if k in keywords}
        params: dict[str, Any] = {
            "host": conn.host,
            "port": conn.port,
            "dbname": conn.schema,
            "user": conn.login,
            "password": conn.password,
            "application_name": "budgetperf-pull",
            "connect_timeout": 30,
            **extra,
        }
        return psycopg.conninfo.make_conninfo(
            "", **{k: v for k, v in params.items() if v is not None}
        )

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.conninfo())
        except psycopg.Error as exc:
            raise _classify(self.name, exc, None, "connecting") from None
        # one consistent, read-only snapshot for every entity of the pull
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn

    def not_ready(self, as_of: dt.date) -> str | None:
        if self.config.ready_query is None:
            return None
        with self._connect() as conn:
            try:
                row = conn.execute(
                    sql.SQL(self.config.ready_query),
                    {"as_of": as_of, "fiscal_year": as_of.year},
                ).fetchone()
            except psycopg.Error as exc:
                raise _classify(self.name, exc, None, "the ready query") from None
            finally:
                conn.rollback()
        if row is None or not row[0]:
            return f"the ready query answered {row[0] if row else 'no row'!r}"
        return None

    @contextmanager
    def session(self) -> Iterator[SqlSession]:
        conn = self._connect()
        try:
            if self.config.statement_timeout_seconds:
                conn.execute(
                    "select set_config('statement_timeout', %s, false)",
                    (f"{self.config.statement_timeout_seconds}s",),
                )
            yield SqlSession(self, conn)
        finally:
            try:
                conn.rollback()  # nothing to keep: the account only reads
            finally:
                conn.close()


class SqlSession:
    def __init__(self, source: SqlSource, conn: psycopg.Connection[Any]) -> None:
        self.source = source
        self.conn = conn

    def statement(self, spec: EntitySource, since: Watermark | None) -> sql.SQL | sql.Composed:
        cursor = spec.incremental.column if spec.incremental else None
        if spec.query is not None:
            base = sql.SQL(spec.query)
            if since is None:
                return base
            return sql.SQL(
                "select * from ({}) as bp_source where bp_source.{} >= %(since)s"
            ).format(base, sql.Identifier(cursor or ""))
        assert spec.view is not None
        items = [
            sql.SQL("{} as {}").format(sql.Identifier(source_col), sql.Identifier(column))
            for column, source_col in spec.columns.items()
        ]
        if cursor is not None:
            items.append(
                sql.SQL("{} as {}").format(sql.Identifier(cursor), sql.Identifier(_CURSOR_ALIAS))
            )
        relation = (
            sql.Identifier(spec.schema, spec.view) if spec.schema else sql.Identifier(spec.view)
        )
        statement = sql.SQL("select {} from {}").format(sql.SQL(", ").join(items), relation)
        if since is not None:
            statement = sql.SQL("{} where {} >= %(since)s").format(
                statement, sql.Identifier(cursor or "")
            )
        return statement

    def extract(self, spec: EntitySource, as_of: dt.date, since: Watermark | None) -> Extract:
        name = self.source.name
        statement = self.statement(spec, since)
        params = {
            "as_of": as_of,
            "fiscal_year": as_of.year,
            "since": since.typed() if since is not None else None,
        }
        origin = Path(self.source.config.origin).name
        described = (
            f"view {spec.schema + '.' if spec.schema else ''}{spec.view}"
            if spec.view
            else f"the query of entities.{spec.entity} in {origin}"
        )
        cursor = self.conn.cursor(name=f"bp_pull_{spec.entity}")
        cursor.itersize = self.source.config.fetch_rows
        try:
            cursor.execute(statement, params)
        except psycopg.Error as exc:
            cursor.close()
            raise _classify(name, exc, spec.entity, described) from None
        except (TypeError, ValueError, IndexError) as exc:
            # psycopg refuses a query's placeholders before sending it
            cursor.close()
            raise SourceConfigError(
                name,
                f"{described}: {exc} (parameters are %(as_of)s and %(fiscal_year)s; "
                "write a literal % as %%)",
                entity=spec.entity,
            ) from None
        names = [d.name for d in cursor.description or ()]
        incremental_name = None
        if spec.incremental is not None:
            incremental_name = spec.incremental.column if spec.query else _CURSOR_ALIAS
        try:
            plan = plan_columns(names, ENTITIES[spec.entity], cursor=incremental_name)
        except ValueError as exc:
            cursor.close()
            raise SourceConfigError(name, f"{described}: {exc}", entity=spec.entity) from None
        return Extract(self._batches(cursor, plan, spec, described), described)

    def _batches(
        self,
        cursor: psycopg.ServerCursor[Any],
        plan: ColumnPlan,
        spec: EntitySource,
        described: str,
    ) -> Iterator[list[SourceRow]]:
        size = self.source.config.fetch_rows
        read = 0
        try:
            while True:
                try:
                    rows = cursor.fetchmany(size)
                except psycopg.Error as exc:
                    raise _classify(
                        self.source.name, exc, spec.entity, f"{described} (after {read:,} rows)"
                    ) from None
                if not rows:
                    return
                read += len(rows)
                yield [pick(row, plan) for row in rows]
        finally:
            if not cursor.closed and not self.conn.closed:
                # the transaction may be aborted already; closing the session ends it anyway
                with contextlib.suppress(psycopg.Error):
                    cursor.close()
