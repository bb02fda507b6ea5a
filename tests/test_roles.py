"""Least privilege in the warehouse, proven against a real PostgreSQL: each role can do
its stage's work and nothing else; no role the pipeline uses is a superuser."""

from __future__ import annotations

import psycopg
import pytest

from budgetperf.warehouse.roles import ROLES, role_name, role_url


def _as(url: str, role: str) -> psycopg.Connection:
    return psycopg.connect(role_url(url, role), autocommit=True)


def _refused(url: str, role: str, statement: str) -> None:
    with _as(url, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_no_pipeline_role_is_a_superuser_or_can_create_roles(warehouse_url: str) -> None:
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute(
            "select rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin from pg_roles "
            "where rolname like 'budgetperf\\_%' order by rolname"
        ).fetchall()
    assert [r[0] for r in rows] == sorted(role_name(r) for r in ROLES)
    for name, superuser, createrole, createdb, login in rows:
        assert (superuser, createrole, createdb, login) == (False, False, False, True), name


def test_an_analyst_reads_marts_and_nothing_else(warehouse_url: str) -> None:
    with _as(warehouse_url, "transformer") as conn:  # dbt's role creates the marts
        conn.execute("create table marts.example (x integer)")
        conn.execute("insert into marts.example values (1)")
    with _as(warehouse_url, "analyst") as conn:
        assert conn.execute("select x from marts.example").fetchall() == [(1,)]
    for statement in (
        "select * from raw.projects",
        "select * from raw.effective_projects",
        "select * from ops.loads",
        "select * from ops.notices",
        "select * from staging.anything",
        # no writes anywhere: not into the raw deliveries, the ledgers, nor the marts
        "insert into raw.projects (load_id, line_no) values (1, 1)",
        "insert into raw.departments (load_id, line_no, department_code, department_name,"
        " kind) values (1, 1, 'x', 'x', 'department')",
        "insert into ops.loads (entity) values ('projects')",
        "insert into ops.notices (kind, subject, content_hash) values ('summary', 's', 'h')",
        "insert into ops.run_summaries (run_id, checkpoint_date, status)"
        " values ('r', '2021-06-30', 'success')",
        "insert into marts.example values (2)",
        "update marts.example set x = 3",
        "delete from marts.example",
        "create table marts.mine (x integer)",
        "create table public.mine (x integer)",
        "drop table marts.example",
    ):
        with _as(warehouse_url, "analyst") as conn:
            with pytest.raises(
                (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable)
            ) as raised:
                conn.execute(statement)
            if isinstance(raised.value, psycopg.errors.UndefinedTable):
                # staging.anything: the schema itself is closed to analysts
                assert "staging" in statement


def test_the_loader_appends_to_raw_but_never_deletes_and_cannot_read_marts(
    warehouse_url: str,
) -> None:
    with _as(warehouse_url, "loader") as conn:
        load_id = conn.execute(
            "insert into ops.loads (entity, as_of, file_path, sha256, bytes, status) "
            "values ('departments', '2021-06-30', '20210630/departments.csv', 'x', 1, 'loaded') "
            "returning load_id"
        ).fetchone()[0]
        conn.execute(
            "insert into raw.departments values (%s, 2, '001', '教育体育局', 'department', "
            "null, null)",
            (load_id,),
        )
    _refused(warehouse_url, "loader", "delete from raw.departments")
    _refused(warehouse_url, "loader", "update raw.departments set department_name = 'x'")
    _refused(warehouse_url, "loader", "truncate raw.departments")
    with _as(warehouse_url, "transformer") as conn:
        conn.execute("create table marts.example (x integer)")
    _refused(warehouse_url, "loader", "select * from marts.example")


def test_the_publisher_reads_marts_writes_notices_and_cannot_touch_raw(
    warehouse_url: str,
) -> None:
    with _as(warehouse_url, "transformer") as conn:
        conn.execute("create table marts.example (x integer)")
    with _as(warehouse_url, "publisher") as conn:
        conn.execute("select * from marts.example")
        conn.execute(
            "insert into ops.notices (kind, subject, content_hash) values ('summary', 's', 'h')"
        )
    _refused(warehouse_url, "publisher", "select * from raw.projects")
    _refused(warehouse_url, "publisher", "insert into ops.loads (entity) values ('x')")
    _refused(warehouse_url, "publisher", "drop table marts.example")


def test_the_transformer_reads_raw_but_cannot_write_it(warehouse_url: str) -> None:
    with _as(warehouse_url, "transformer") as conn:
        conn.execute("select * from raw.effective_budget_execution")
    _refused(
        warehouse_url,
        "transformer",
        "insert into raw.departments (load_id, line_no, department_code, department_name, kind)"
        " values (1, 1, 'x', 'x', 'department')",
    )
    _refused(warehouse_url, "transformer", "delete from ops.loads")


def test_the_loader_analyses_raw_tables_through_the_owners_function_only(
    warehouse_url: str,
) -> None:
    # statistics right after a load (migration 0500): the loader may ANALYZE raw tables
    # through ops.analyze_raw_table, and nothing else through it
    def analysed(table: str) -> bool:
        with psycopg.connect(warehouse_url) as conn:
            row = conn.execute(
                "select last_analyze is not null from pg_stat_user_tables"
                " where schemaname = 'raw' and relname = %s",
                (table,),
            ).fetchone()
        return bool(row and row[0])

    with _as(warehouse_url, "loader") as conn:
        conn.execute("select ops.analyze_raw_table('budget_execution')")
        conn.execute("analyze raw.projects")  # as itself: PostgreSQL only warns, and skips
    assert analysed("budget_execution") and not analysed("projects")
    with _as(warehouse_url, "loader") as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("select ops.analyze_raw_table('loads')")  # ops.loads is not in raw
    _refused(warehouse_url, "analyst", "select ops.analyze_raw_table('projects')")


def test_the_loader_analyses_the_load_ledgers_through_the_owners_function(
    warehouse_url: str,
) -> None:
    # migration 0600: the few-row ledgers the effective views join get statistics
    def analysed() -> set[str]:
        with psycopg.connect(warehouse_url) as conn:
            found = conn.execute(
                "select relname from pg_stat_user_tables"
                " where schemaname = 'ops' and last_analyze is not null"
            ).fetchall()
        return {name for (name,) in found}

    with _as(warehouse_url, "loader") as conn:
        conn.execute("select ops.analyze_load_ledgers()")
    assert {"checkpoint_runs", "loads", "load_fiscal_years"} <= analysed()
    assert "notices" not in analysed()
    _refused(warehouse_url, "analyst", "select ops.analyze_load_ledgers()")
    _refused(warehouse_url, "publisher", "select ops.analyze_load_ledgers()")
