"""The dbt unit tests (one per rule edge of DOMAIN.md R1–R9) run here, in CI, on empty
relations of a real PostgreSQL; the pipeline's builds skip them, as dbt advises."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetperf.settings import load_settings
from budgetperf.transform import run_dbt
from budgetperf.warehouse.roles import role_url


@pytest.mark.xdist_group("dbt")
def test_every_rule_unit_test_passes(bp_home: Path, warehouse_url: str) -> None:
    settings = load_settings()
    url = role_url(warehouse_url, "transformer")
    run_dbt(settings, url, ["seed"], echo=False)
    run_dbt(settings, url, ["run", "--empty"], echo=False)
    output = run_dbt(settings, url, ["test", "--select", "test_type:unit"], echo=False)
    summary = next(line for line in output.splitlines() if "Done. PASS=" in line)
    passed = int(summary.split("PASS=")[1].split()[0])
    assert passed >= 16, summary
    assert "ERROR=0" in summary and "WARN=0" in summary, summary
