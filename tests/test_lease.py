"""The pipeline lease: one run writes the warehouse at a time."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from budgetperf.pipeline.lease import LeaseHeld, acquire, release
from budgetperf.warehouse.roles import role_url

JUNE = dt.date(2021, 6, 30)


def test_a_second_run_is_refused_until_the_first_gives_the_lease_back(warehouse_url: str) -> None:
    loader = role_url(warehouse_url, "loader")
    publisher = role_url(warehouse_url, "publisher")
    acquire(loader, "run-a", JUNE)
    acquire(loader, "run-a", JUNE)  # a retry of the same run keeps it
    with pytest.raises(LeaseHeld, match="run-a"):
        acquire(loader, "run-b", dt.date(2021, 9, 30))
    assert release(publisher, "run-b") is False  # never someone else's lease
    assert release(publisher, "run-a") is True
    acquire(loader, "run-b", JUNE)
    assert release(publisher) is True  # by hand, whoever holds it


def test_a_dead_runs_lease_expires(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loader = role_url(warehouse_url, "loader")
    acquire(loader, "dead-run", JUNE)
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("update ops.pipeline_lease set heartbeat_at = now() - interval '7 hours'")
    acquire(loader, "next-run", JUNE)
    monkeypatch.setenv("BUDGETPERF_RUN_LEASE_HOURS", "24")
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("update ops.pipeline_lease set heartbeat_at = now() - interval '7 hours'")
    with pytest.raises(LeaseHeld, match="next-run"):
        acquire(loader, "third-run", JUNE)
