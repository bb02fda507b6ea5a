"""Fixtures of the publish tests: the demo year built once, copied per module.

The calibrated pingluo-2021 deliveries are generated, loaded by the loader, tweaked (a
department without contact email, a project named like a formula), and built with dbt
once per test session; each module gets its own copy of that warehouse
(CREATE DATABASE ... TEMPLATE), so modules never see each other's notices. The modules
that use it share one xdist group, so the build happens once per test run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from publish_helpers import (
    POINTS,
    DemoYear,
    build,
    clone_database,
    load_landing,
    register_points,
    tweak_raw,
)

from budgetperf.generate import generate_scenario
from budgetperf.warehouse.migrate import migrate


@pytest.fixture(scope="session")
def demo_year(
    database_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> DemoYear:
    url = database_factory()
    migrate(url)
    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate_scenario("pingluo-2021", landing, overwrite=True)
    load_landing(url, landing)
    register_points(url, POINTS)
    tweaks = tweak_raw(url)
    build(url, tmp_path_factory.mktemp("build-home"))
    return DemoYear(url, tweaks, landing)


@pytest.fixture(scope="session")
def copy_demo(server_url: str, demo_year: DemoYear) -> Iterator[Callable[[], str]]:
    """Makes a fresh copy of the built demo warehouse; all copies dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = "bp_pub_" + uuid.uuid4().hex[:12]
        url = clone_database(server_url, demo_year.template_url, name)
        created.append(name)
        return url

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')
