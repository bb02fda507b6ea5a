"""How long a stage took and how much memory it used: recorded with every task's summary
(`_metrics`), so run summaries and `budgetperf bench pipeline` can report per stage."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_PAGE = 4096


def _rss_bytes() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class StageMetrics:
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    child_peak_rss_mb: float = 0.0  # dbt and other subprocesses (their own peak)
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "child_peak_rss_mb": round(self.child_peak_rss_mb, 1),
        }


@contextmanager
def measured(interval: float = 0.05) -> Iterator[StageMetrics]:
    """Time the block and sample this process's RSS while it runs."""
    metrics = StageMetrics()
    stop = threading.Event()
    peak = [_rss_bytes()]

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    sampler.start()
    try:
        yield metrics
    finally:
        stop.set()
        sampler.join()
        metrics.seconds = time.perf_counter() - started
        metrics.peak_rss_mb = max(peak[0], _rss_bytes()) / 2**20
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # ru_maxrss (KiB) is the largest child so far: it only tells us about this stage
        # when it grew during the stage
        if children_after > children_before:
            metrics.child_peak_rss_mb = children_after / 1024
