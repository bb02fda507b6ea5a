"""Demo and benchmark data: delivery sets in the contract's format, calibrated to the
figures of Pingluo County's 2021 report (DOMAIN.md).

``generate_scenario("pingluo-2021", out)`` writes ``out/<YYYYMMDD>/<entity>.csv|xlsx``
and ``_manifest.json`` for the four deliveries of fiscal year 2021.
"""

from __future__ import annotations

from budgetperf.generate.calibration import PINGLUO_2021, ReportFigures
from budgetperf.generate.scenario import (
    DEFAULT_SEED,
    SCENARIOS,
    FileReport,
    GenerationReport,
    generate_scenario,
)

__all__ = [
    "DEFAULT_SEED",
    "PINGLUO_2021",
    "SCENARIOS",
    "FileReport",
    "GenerationReport",
    "ReportFigures",
    "generate_scenario",
]
