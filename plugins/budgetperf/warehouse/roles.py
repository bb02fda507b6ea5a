"""The warehouse's login roles and how budgetperf reaches them.

``grants.sql`` creates the roles and their privileges. For a warehouse budgetperf manages
(the embedded one, or any server whose owner URL it is given), each role's password is
derived from the owner's: HMAC-SHA256(owner password, role). Every process that knows the
owner URL computes the same passwords, so there is no secrets file to share and no race
between processes; knowing a role's password reveals nothing about the owner's. In
production a DBA chooses them instead: ``BUDGETPERF_<ROLE>_PASSWORD`` for each role, given
to ``budgetperf migrate`` (which sets them) and to the Airflow connections; or
``BUDGETPERF_MANAGE_ROLE_PASSWORDS=false`` when the DBA sets them by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from psycopg import sql

ROLES = ("loader", "transformer", "quality", "publisher", "analyst")


def role_name(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown warehouse role {role!r}; roles are {', '.join(ROLES)}")
    return f"budgetperf_{role}"


def role_password(owner_password: str, role: str) -> str:
    """``BUDGETPERF_<ROLE>_PASSWORD`` when set (a DBA's choice), else derived from the owner's."""
    configured = os.environ.get(f"BUDGETPERF_{role.upper()}_PASSWORD")
    if configured:
        return configured
    return hmac.new(owner_password.encode(), role.encode(), hashlib.sha256).hexdigest()[:32]


def role_url(owner_url: str, role: str) -> str:
    """The URL of ``role`` on the owner URL's server and database."""
    parts = urlsplit(owner_url)
    host = parts.hostname or "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    user = quote(role_name(role), safe="")
    owner_password = unquote(parts.password or "")
    password = quote(role_password(owner_password, role), safe="")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}{port}"))


def manages_passwords() -> bool:
    return os.environ.get("BUDGETPERF_MANAGE_ROLE_PASSWORDS", "true").lower() != "false"


def set_role_passwords(conn: object) -> None:
    """Give every role its derived password (idempotent; needs CREATEROLE or superuser)."""
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    owner_password = conn.info.password or ""
    for role in ROLES:
        conn.execute(
            sql.SQL("alter role {} with login password {}").format(
                sql.Identifier(role_name(role)), sql.Literal(role_password(owner_password, role))
            )
        )
