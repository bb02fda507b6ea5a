"""Schema migrations: numbered SQL files applied once each, in order, safe to re-run.

Each file runs in its own transaction under an advisory lock, so two processes migrating
the same warehouse at once do not race. An applied file whose text later changed is
reported rather than silently re-applied.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from budgetperf.warehouse import connect
from budgetperf.warehouse.roles import manages_passwords, set_role_passwords

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
GRANTS = Path(__file__).resolve().parent / "grants.sql"
_LOCK_KEY = 8_240_517  # arbitrary constant shared by every budgetperf process


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration(p.stem, p) for p in sorted(directory.glob("*.sql"))]


class MigrationDrift(RuntimeError):
    """An applied migration file was edited after it ran."""


def _apply_grants(conn: psycopg.Connection) -> None:
    """grants.sql and the role passwords. Roles live in the whole cluster, so migrations of
    two databases of one server can collide on them ("tuple concurrently updated"): the
    statements are idempotent, so a collision is simply retried."""
    for attempt in range(6):
        try:
            with conn.transaction():
                conn.execute(GRANTS.read_text(encoding="utf-8").encode("utf-8"))
                if manages_passwords():
                    set_role_passwords(conn)
            return
        except (
            psycopg.errors.InternalError_,
            psycopg.errors.DuplicateObject,
            psycopg.errors.UniqueViolation,
        ):
            if attempt == 5:
                raise
            time.sleep(0.05 * (attempt + 1) + random.random() * 0.1)


def migrate(url: str) -> list[str]:
    """Apply pending migrations; return the versions applied now."""
    applied_now: list[str] = []
    with connect(url) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute("create schema if not exists ops")
            conn.execute(
                """
                create table if not exists ops.schema_migrations (
                    version     text primary key,
                    checksum    text not null,
                    applied_at  timestamptz not null default now()
                )
                """
            )
            conn.commit()
            applied = conn.execute("select version, checksum from ops.schema_migrations")
            done: dict[str, str] = dict(applied.fetchall())
            for migration in available_migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationDrift(
                            f"migration {migration.version} changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode("utf-8"))
                    conn.execute(
                        "insert into ops.schema_migrations (version, checksum) values (%s, %s)",
                        (migration.version, migration.checksum),
                    )
                applied_now.append(migration.version)
            # Privileges are re-applied every time, so objects of new migrations are covered.
            _apply_grants(conn)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
            conn.commit()
    return applied_now
