"""Fixtures of the ingestion tests (helpers live in ingest_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """An empty landing folder."""
    path = tmp_path / "landing"
    path.mkdir()
    return path
