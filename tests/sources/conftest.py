"""Fixtures of the source tests: the integration system as a real PostgreSQL database
(built once per worker as a template, copied per test) and as a local HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from source_system import ApiServer, build_source_database, year_end_rows

TOKEN = "tk-" + "7f3a9c2e" * 4


def _with(url: str, *, database: str, user: str | None = None, password: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if user is not None:
        netloc = f"{user}:{password}@{netloc}"
    elif "@" in parts.netloc:
        netloc = parts.netloc
    return urlunsplit(parts._replace(netloc=netloc, path="/" + database))


@dataclass(frozen=True)
class SourceDb:
    admin_url: str  # the source system's owner: changes data, switches the failure gate
    reader_url: str  # the read-only account the pulls use


@pytest.fixture(scope="session")
def source_rows() -> dict[str, list[dict[str, Any]]]:
    return year_end_rows()


@contextmanager
def built_source(
    server_url: str, rows: dict[str, list[dict[str, Any]]], copies: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """(database, reader role) of an integration system holding ``rows``; dropped
    afterwards, with the databases named in ``copies``."""
    suffix = uuid.uuid4().hex[:10]
    database, reader = f"bp_src_tpl_{suffix}", f"bp_src_reader_{suffix}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"create role \"{reader}\" login password '{reader}'")
        conn.execute(f'create database "{database}"')
    try:
        build_source_database(_with(server_url, database=database), rows, reader)
        yield database, reader
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            for name in [*(copies or []), database]:
                conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'drop role if exists "{reader}"')


def source_db_of(server_url: str, database: str, reader: str) -> SourceDb:
    return SourceDb(
        admin_url=_with(server_url, database=database),
        reader_url=_with(server_url, database=database, user=reader, password=reader),
    )


@pytest.fixture(scope="session")
def source_template(
    server_url: str, source_rows: dict[str, list[dict[str, Any]]]
) -> Iterator[tuple[str, str, list[str]]]:
    """(template database, reader role, databases copied from it) for this worker."""
    copies: list[str] = []
    with built_source(server_url, source_rows, copies) as (template, reader):
        yield template, reader, copies


def _copy(server_url: str, source_template: tuple[str, str, list[str]]) -> SourceDb:
    template, reader, copies = source_template
    name = "bp_src_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    copies.append(name)  # dropped with the template at the end of the session
    return source_db_of(server_url, name, reader)


@pytest.fixture
def source_db(server_url: str, source_template: tuple[str, str, list[str]]) -> SourceDb:
    """A copy of the integration system's reporting database of its own for one test."""
    return _copy(server_url, source_template)


@pytest.fixture
def api(source_rows: dict[str, list[dict[str, Any]]]) -> Iterator[ApiServer]:
    with ApiServer(source_rows, TOKEN) as server:
        yield server


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def shared_source_db(server_url: str, source_template: tuple[str, str, list[str]]) -> SourceDb:
    """One copy for the tests of a module that only read the source."""
    return _copy(server_url, source_template)
