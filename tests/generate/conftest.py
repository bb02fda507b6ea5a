"""One generated pingluo-2021 landing, read back, shared by the generator's tests.

Each test module marks itself ``xdist_group("generate")`` so the landing is generated
once per test run, not once per worker. Shared names live in generate_readback.py, not
here: test modules import it by name, and another conftest may share this module name.
"""

from __future__ import annotations

import pytest
from generate_readback import Generated, read_landing

from budgetperf.generate import DEFAULT_SEED, generate_scenario


@pytest.fixture(scope="session")
def pingluo(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("pingluo") / "landing"
    messages: list[str] = []
    report = generate_scenario("pingluo-2021", out, seed=DEFAULT_SEED, progress=messages.append)
    return Generated(report, read_landing(out), messages)
