"""Defaults shared by every budgetperf DAG (owner, retries), in one place.

Read at DAG parse time, so only environment variables and constants: no I/O.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

OWNER = "budgetperf-data-engineering"


def _seconds(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def detect_poke_seconds() -> int:
    """How often the sensor looks for the delivery (default 5 minutes)."""
    return _seconds("BUDGETPERF_DELIVERY_POKE_SECONDS", 300)


def detect_timeout_seconds() -> int:
    """How long the sensor waits for a delivery before alerting (default 3 days)."""
    return _seconds("BUDGETPERF_DELIVERY_TIMEOUT_SECONDS", 3 * 24 * 3600)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": _seconds("BUDGETPERF_TASK_RETRIES", 2),
    "retry_delay": timedelta(seconds=_seconds("BUDGETPERF_RETRY_DELAY_SECONDS", 120)),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}
