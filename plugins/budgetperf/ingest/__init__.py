"""Ingestion: deliveries from the landing folder into ``raw.*`` (DATA_CONTRACT.md section 1).

The DAG's load task calls :func:`load_landing`; the quality gate asserts that
``ops.checkpoint_reject_problems`` has no row for its checkpoint, or calls
:func:`reject_problems` for the same answer with messages people can act on.
"""

from __future__ import annotations

from budgetperf.ingest.entities import ENTITIES, ENTITY_ORDER
from budgetperf.ingest.gate import (
    RejectProblem,
    accept_rejects,
    reject_problems,
    rejected_rows,
    set_tolerance,
)
from budgetperf.ingest.landing import Finding, LandingError
from budgetperf.ingest.loader import FileResult, LoadReport, load_landing
from budgetperf.ingest.stream import Progress

__all__ = [
    "ENTITIES",
    "ENTITY_ORDER",
    "FileResult",
    "Finding",
    "LandingError",
    "LoadReport",
    "Progress",
    "RejectProblem",
    "accept_rejects",
    "load_landing",
    "reject_problems",
    "rejected_rows",
    "set_tolerance",
]
