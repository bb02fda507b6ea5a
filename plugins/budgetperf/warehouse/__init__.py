"""The warehouse: which PostgreSQL we talk to, and its schema migrations.

``BUDGETPERF_WAREHOUSE_URL`` names an existing server; without it the embedded server
under ``$BUDGETPERF_HOME/warehouse`` is started on demand and reused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from budgetperf.settings import Settings, load_settings
from budgetperf.warehouse.embedded import EmbeddedWarehouse, WarehouseError

if TYPE_CHECKING:
    import psycopg

__all__ = ["EmbeddedWarehouse", "WarehouseError", "connect", "embedded", "resolve_url"]


def embedded(settings: Settings | None = None) -> EmbeddedWarehouse:
    settings = settings or load_settings()
    return EmbeddedWarehouse(settings.embedded_dir)


def resolve_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The warehouse URL: the configured one, or the embedded server's (started if needed)."""
    settings = settings or load_settings()
    if settings.warehouse_url:
        return settings.warehouse_url
    server = embedded(settings)
    return server.start() if start else server.url()


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection with the session settings every budgetperf connection uses."""
    import psycopg

    conn = psycopg.connect(url, autocommit=autocommit, application_name="budgetperf")
    return conn
