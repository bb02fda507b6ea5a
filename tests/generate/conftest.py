"""One generated pingluo-2021 landing, read back, shared by the generator's tests.

Each test module marks itself ``xdist_group("generate")`` so the landing is generated
once per test run, not once per worker.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from budgetperf.generate import DEFAULT_SEED, GenerationReport, generate_scenario
from generate_readback import Landing, read_landing

FY = 2021
BY = 2022
POINTS = (dt.date(2021, 6, 30), dt.date(2021, 9, 30), dt.date(2021, 11, 30), dt.date(2021, 12, 31))
MONITORING_POINTS = POINTS[:3]
YEAR_END = POINTS[3]


@dataclass
class Generated:
    report: GenerationReport
    landing: Landing
    messages: list[str]


@pytest.fixture(scope="session")
def pingluo(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("pingluo") / "landing"
    messages: list[str] = []
    report = generate_scenario("pingluo-2021", out, seed=DEFAULT_SEED, progress=messages.append)
    return Generated(report, read_landing(out), messages)
