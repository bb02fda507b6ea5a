"""Sources: where deliveries come from (issue 9).

- ``folder`` (default): the integration system's export job drops files into the landing;
  the DAG's sensor waits for a complete delivery (``pipeline/detect.py``).
- ``sql``: pulled from the integration system's reporting database (``sql.py``).
- ``http``: pulled from its JSON API (``http.py``).

A pull ends exactly where a drop does: ``<landing>/<as_of YYYYMMDD>/<entity>.csv`` plus
``_manifest.json``, loaded by the same loader. ``open_source`` builds the configured
source; ``pull_delivery`` pulls one delivery.
"""

from __future__ import annotations

from budgetperf.sources.base import Source
from budgetperf.sources.config import (
    SourceConnection,
    SourceSettings,
    connection_for,
    load_config,
    source_settings,
)
from budgetperf.sources.errors import (
    SourceBusy,
    SourceConfigError,
    SourceDataError,
    SourceError,
    SourceNotReady,
    SourceRefused,
    SourceUnavailable,
)
from budgetperf.sources.pull import EntityPull, PullResult, pull_delivery


def open_source(settings: SourceSettings, connection: SourceConnection | None = None) -> Source:
    """The configured pull source (``sql`` or ``http``), its YAML read and checked.
    ``connection`` defaults to ``BUDGETPERF_SOURCE_URL``, else the Airflow connection."""
    if not settings.pulls:
        raise SourceConfigError(
            "BUDGETPERF_SOURCE",
            f"the {settings.kind} source is not pulled: its files are dropped into the landing",
        )
    config = load_config(settings.config_path, settings.kind)
    conn = connection or connection_for(settings)
    if settings.kind == "sql":
        from budgetperf.sources.config import SqlConfig
        from budgetperf.sources.sql import SqlSource

        assert isinstance(config, SqlConfig)
        return SqlSource(config, conn)
    from budgetperf.sources.config import HttpConfig
    from budgetperf.sources.http import HttpSource

    assert isinstance(config, HttpConfig)
    return HttpSource(config, conn)


__all__ = [
    "EntityPull",
    "PullResult",
    "Source",
    "SourceBusy",
    "SourceConfigError",
    "SourceConnection",
    "SourceDataError",
    "SourceError",
    "SourceNotReady",
    "SourceRefused",
    "SourceSettings",
    "SourceUnavailable",
    "connection_for",
    "load_config",
    "open_source",
    "pull_delivery",
    "source_settings",
]
