"""Why a pull failed, in words a data engineer can act on.

Every error names the source (``sql:budgetperf_source``), and where it applies the entity,
the row (1-based, in the order the source returned rows) and the reason. ``transient``
tells the sensor whether trying again later can help (a network outage, a 5xx, a source
that is not ready yet) or whether a person must fix something first (a wrong query, a
refused token, a value that cannot be written).
"""

from __future__ import annotations


class SourceError(Exception):
    """A pull that did not produce a delivery. Nothing was published."""

    transient = False

    def __init__(
        self,
        source: str,
        reason: str,
        *,
        entity: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source = source
        self.reason = reason
        self.entity = entity
        self.row = row
        where = [source]
        if entity:
            where.append(entity)
        if row is not None:
            where.append(f"row {row}")
        super().__init__(": ".join([*where, reason]))


class SourceConfigError(SourceError):
    """The configuration (YAML, environment, connection) is wrong or incomplete."""


class SourceRefused(SourceError):
    """The source refused the request (an HTTP 4xx, a missing privilege): fix, then re-run."""


class SourceDataError(SourceError):
    """The source answered with something that cannot become a delivery file."""


class SourceUnavailable(SourceError):
    """The source cannot be reached or failed on its side; a later attempt may succeed."""

    transient = True


class SourceNotReady(SourceUnavailable):
    """The source says its data for the point is not complete yet."""


class SourceBusy(SourceUnavailable):
    """Another pull is writing into the same landing right now."""
